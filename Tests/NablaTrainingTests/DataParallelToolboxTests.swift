import Foundation
import XCTest
@testable import NablaTraining
import NablaTensor
import NablaNN
import NablaIO
import NablaDistributed
import NablaTestSupport

/// The training toolbox on `K` ranks (threads, ``ThreadProcessGroup``) is the single-process run:
/// SAM averages both gradient passes across the ranks, gradient accumulation reduces each group's
/// local sum once with every batch weighted by its global share, Lookahead and weight averaging see
/// the same weights on every rank (SWA's `update_bn` with synchronized batch norm recomputes the
/// single-process statistics), and keep-best chooses the same epochs (rank 0 writes the file).
final class DataParallelToolboxTests: XCTestCase {
    /// As ``DataParallelTests/relativeTolerance``: float sums in another order, a few ulps per step.
    static let relativeTolerance = 1e-4, absoluteTolerance = 1e-6

    /// 63 spirals samples in batches of 12: the last batch of 3 splits 2+1 on two ranks, 1+1+1 on three.
    private var base: TrainingPlan {
        var plan = TrainingPlan(model: .init(name: "fcnet:12,10"), data: .init(spec: "synthetic:spirals?n=21"))
        plan.batchSize = 12
        plan.steps = 8
        plan.seed = 7
        plan.optimizer = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 0.2, "momentum": 0.9, "weight_decay": 1e-3])
        plan.output.quiet = true
        return plan
    }

    private struct Run {
        var state: [String: Tensor<Float>]
        var average: [String: Tensor<Float>]?
        var kept: [Int]?
        var writesFiles: Bool?
    }

    private func train(_ plan: TrainingPlan, group: (any ProcessGroup)? = nil) throws -> Run {
        let session = try plan.prepare(group: group)
        _ = try session.trainer.fit()
        let keep = session.trainer.callbacks.lazy.compactMap { $0 as? BestCheckpointCallback }.first
        return Run(state: session.model.stateDict(), average: session.weightAveraging?.average.stateDict(),
                   kept: keep?.kept.map(\.epoch), writesFiles: keep?.writesFiles)
    }

    private func assertClose(_ actual: [String: Tensor<Float>], _ expected: [String: Tensor<Float>], _ label: String) {
        XCTAssertEqual(Set(actual.keys), Set(expected.keys), label)
        for (key, value) in expected where !key.hasSuffix("num_batches_tracked") {
            guard let other = actual[key] else { continue }
            NablaTestSupport.assertClose(other, value, relative: Self.relativeTolerance, absolute: Self.absoluteTolerance, "\(label): \(key)")
        }
    }

    /// Each toolbox setting on 2 and 3 ranks reaches the single-process weights (and averaged weights).
    func testToolboxOnRanksTrainsTheSingleProcessWeights() throws {
        var variants: [(String, TrainingPlan)] = []
        var sam = base
        sam.sam = 0.05
        variants.append(("sam", sam))
        var samLookahead = base
        samLookahead.sam = 0.1
        samLookahead.lookahead = LookaheadSetting(syncPeriod: 3, alpha: 0.5)
        samLookahead.model.normalization = "batchnorm"
        samLookahead.syncBatchNorm = true
        variants.append(("sam + lookahead + sync-bn", samLookahead))
        var accumulate = base
        accumulate.accumulationSteps = 2  // groups of 24, 24 and 15 samples
        variants.append(("accumulate 2", accumulate))
        var accumulateEMA = base
        accumulateEMA.accumulationSteps = 4  // groups of 48 and 15 samples
        accumulateEMA.emaDecay = 0.8
        variants.append(("accumulate 4 + ema", accumulateEMA))
        var swa = base
        swa.steps = nil
        swa.epochs = 3
        swa.swa = "2"  // epochs 2 and 3 averaged, then update_bn over the (sharded, synchronized) batches
        swa.model.normalization = "batchnorm"
        swa.syncBatchNorm = true
        variants.append(("swa + sync-bn", swa))

        for (label, plan) in variants {
            let single = try train(plan)
            for ranks in [2, 3] {
                let runs = try ThreadProcessGroup.run(ranks: ranks) { group in try self.train(plan, group: group) }
                let name = "\(label), \(ranks) ranks"
                assertClose(runs[0].state, single.state, name)
                if let average = single.average {
                    assertClose(runs[0].average ?? [:], average, "\(name), averaged weights")
                }
                for run in runs.dropFirst() {
                    XCTAssertEqual(run.state.mapValues(\.scalars), runs[0].state.mapValues(\.scalars), "\(name): replicas differ")
                }
            }
        }
    }

    /// Keep-best on 2 ranks keeps the single-process epochs; rank 0 writes the file, the same weights.
    func testKeepBestOnRanksKeepsTheSingleProcessEpochs() throws {
        var plan = base
        plan.steps = nil
        plan.epochs = 3
        plan.data.validationFraction = 0.25
        plan.keepBest = "val_accuracy"
        plan.keepTopK = 2
        let directories = try (0..<2).map { _ in try DataTestSupport.temporaryDirectory(self) }
        var single = plan
        single.output.checkpointDirectory = directories[0].path
        var parallel = plan
        parallel.output.checkpointDirectory = directories[1].path
        let reference = try train(single)
        let runs = try ThreadProcessGroup.run(ranks: 2) { group in try self.train(parallel, group: group) }
        XCTAssertEqual(runs.map(\.kept), [reference.kept, reference.kept])
        XCTAssertEqual(runs.map(\.writesFiles), [true, false], "rank 0 alone writes")
        let file = "best-val_accuracy.safetensors"
        let expected = try SafeTensorsFile.read(from: directories[0].appendingPathComponent(file))
        let actual = try SafeTensorsFile.read(from: directories[1].appendingPathComponent(file))
        XCTAssertEqual(actual.metadata["nabla.epoch"], expected.metadata["nabla.epoch"])
        assertClose(actual.tensors.mapValues { $0.tensor(as: Float.self) }, expected.tensors.mapValues { $0.tensor(as: Float.self) },
                    "keep-best file")
    }
}
