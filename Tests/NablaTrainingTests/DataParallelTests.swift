import Foundation
import XCTest
@testable import NablaTraining
import NablaTensor
import NablaNN
import NablaData
import NablaDistributed
import NablaTestSupport

/// Data-parallel training with ranks as threads of this process (``ThreadProcessGroup``): `K` ranks
/// train the single-process weights (the sums of the gradient reduction only run in another order),
/// a fixed `K` is bitwise deterministic, the replicas stay identical, and checkpoints resume exactly
/// with the same `K` and refuse another. `DistributedTrainingTests` runs the same over `mpirun`.
final class DataParallelTests: XCTestCase {
    /// Stated tolerance for K ranks against one process after 8 SGD steps with momentum:
    /// float sums in another order (and per-rank partial sums) drift by a few ulps per step.
    static let relativeTolerance = 1e-4, absoluteTolerance = 1e-6

    /// 63 spirals samples in batches of 12: the last batch of 3 splits 2+1 on two ranks, 1+1+1 on three.
    private func plan(norm: String? = nil, dropout: Double? = nil, syncBatchNorm: Bool = false, n: Int = 21) -> TrainingPlan {
        var plan = TrainingPlan(model: .init(name: "fcnet:12,10"), data: .init(spec: "synthetic:spirals?n=\(n)"))
        plan.model.normalization = norm
        plan.model.dropout = dropout
        plan.syncBatchNorm = syncBatchNorm
        plan.batchSize = 12
        plan.steps = 8
        plan.seed = 5
        plan.optimizer = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 0.2, "momentum": 0.9, "weight_decay": 1e-3])
        plan.output.quiet = true
        return plan
    }

    /// Small buckets, so the reduction runs in many buckets launched during backward.
    private var smallBuckets: DataParallel.Configuration {
        var configuration = DataParallel.Configuration()
        configuration.firstBucketBytes = 200
        configuration.bucketBytes = 400
        return configuration
    }

    private func train(_ plan: TrainingPlan, group: (any ProcessGroup)? = nil,
                       parallelism: DataParallel.Configuration = .init()) throws -> (state: [String: Tensor<Float>], result: TrainingResult) {
        let session = try plan.prepare(group: group, parallelism: parallelism)
        let result = try session.trainer.fit()
        return (session.model.stateDict(), result)
    }

    private func assertSameWeights(_ actual: [String: Tensor<Float>], _ expected: [String: Tensor<Float>], _ label: String,
                                   file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(Set(actual.keys), Set(expected.keys), label, file: file, line: line)
        for (key, value) in expected where key != "num_batches_tracked" && !key.hasSuffix(".num_batches_tracked") {
            guard let other = actual[key] else { continue }
            assertClose(other, value, relative: Self.relativeTolerance, absolute: Self.absoluteTolerance, "\(label): \(key)", file: file, line: line)
        }
    }

    /// K = 2, 3, 4 ranks reach the single-process weights and metrics: without batch norm, and
    /// with batch norm synchronized across ranks; with overlapped small buckets and without overlap.
    func testRanksTrainTheSingleProcessWeights() throws {
        for (label, base) in [("plain", plan()), ("sync-bn", plan(norm: "batchnorm", syncBatchNorm: true))] {
            let single = try train(base)
            for ranks in [2, 3, 4] {
                // 63 samples leave a last batch of 3, fewer than 4 ranks: drop it there.
                let plan = ranks == 4 ? { var p = base; p.dropLast = true; return p }() : base
                let reference = ranks == 4 ? try train(plan) : single
                for overlap in [true, false] {
                    var parallelism = smallBuckets
                    parallelism.overlapsBackward = overlap
                    let runs = try ThreadProcessGroup.run(ranks: ranks) { group in try self.train(plan, group: group, parallelism: parallelism) }
                    let name = "\(label), \(ranks) ranks, overlap \(overlap)"
                    assertSameWeights(runs[0].state, reference.state, name)
                    XCTAssertEqual(runs[0].result.epochs.count, reference.result.epochs.count, name)
                    for (a, b) in zip(runs[0].result.epochs, reference.result.epochs) {
                        XCTAssertEqual(a.trainLoss, b.trainLoss, accuracy: 1e-5, name)
                        XCTAssertEqual(a.testLoss ?? 0, b.testLoss ?? 0, accuracy: 1e-5, name)
                        XCTAssertEqual(a.testAccuracy ?? 0, b.testAccuracy ?? 0, accuracy: 1e-9, name)
                    }
                    for run in runs.dropFirst() {
                        XCTAssertEqual(run.state.mapValues(\.scalars), runs[0].state.mapValues(\.scalars), "\(name): replicas differ")
                    }
                }
            }
        }
    }

    /// A fixed K is bitwise deterministic, with dropout (each rank its own stream) and batch norm
    /// without synchronization (each rank its own statistics, rank 0's running statistics kept).
    func testFixedRankCountIsBitwiseDeterministic() throws {
        let plan = plan(norm: "batchnorm", dropout: 0.3, n: 22)
        let first = try ThreadProcessGroup.run(ranks: 2) { group in try self.train(plan, group: group).state.mapValues(\.scalars) }
        let second = try ThreadProcessGroup.run(ranks: 2) { group in try self.train(plan, group: group).state.mapValues(\.scalars) }
        XCTAssertEqual(first[0], second[0])
        XCTAssertEqual(first[1], first[0], "the replicas must end with rank 0's weights and buffers")
        let single = try train(plan).state.mapValues(\.scalars)
        XCTAssertNotEqual(single, first[0], "dropout on two ranks draws other masks than one process")
    }

    /// A 2-rank run with dropout stopped at step 6 and resumed from its checkpoint ends with the
    /// uninterrupted run's weights, bit for bit (rank 1's generators come back from rank 0's file);
    /// a checkpoint is refused by another number of ranks.
    func testResumeWithTheSameRanksIsExactAndOtherRanksAreRefused() throws {
        let directory = try DataTestSupport.temporaryDirectory(self)
        var plan = plan(dropout: 0.3)
        plan.steps = 10
        let straight = try ThreadProcessGroup.run(ranks: 2) { group in try self.train(plan, group: group).state.mapValues(\.scalars) }

        var first = plan
        first.steps = 6
        first.output.checkpointDirectory = directory.path
        first.output.checkpointEvery = 3
        _ = try ThreadProcessGroup.run(ranks: 2) { group in try self.train(first, group: group) }
        let url = directory.appendingPathComponent("checkpoint.safetensors")
        let checkpoint = try Checkpoint.read(from: url)
        XCTAssertEqual(DataParallel.worldSize(of: checkpoint), 2)
        XCTAssertEqual(checkpoint.progress.globalStep, 6)

        var second = plan
        second.output.checkpointDirectory = directory.path
        let resumed = try ThreadProcessGroup.run(ranks: 2) { group -> [String: [Float]] in
            let session = try second.prepare(group: group)
            try session.trainer.resume(from: checkpoint, source: url)
            _ = try session.trainer.fit()
            return session.model.stateDict().mapValues(\.scalars)
        }
        XCTAssertEqual(resumed[0], straight[0])
        XCTAssertEqual(resumed[1], straight[0])

        let errors = try ThreadProcessGroup.run(ranks: 3) { group -> String in
            var three = second
            three.batchSize = 12
            let session = try three.prepare(group: group)
            do { try session.trainer.resume(from: checkpoint, source: url); return "resumed" } catch { return "\(error)" }
        }
        XCTAssertTrue(errors[0].contains("written by a run on 2 ranks and this is a run on 3 ranks; resume it with 2 ranks"), errors[0])
        let single = try second.prepare()
        XCTAssertThrowsError(try single.trainer.resume(from: checkpoint, source: url))
        XCTAssertEqual(DataParallel.worldSizeMismatch(saved: 2, current: 1)?.message,
                       "the checkpoint was written by a run on 2 ranks and this is a single-process run; resume it with 2 ranks (--world-size 2, or mpirun -np 2)")
        XCTAssertEqual(DataParallel.worldSizeMismatch(saved: 1, current: 4)?.message,
                       "the checkpoint was written by a single-process run and this is a run on 4 ranks; resume it without --world-size or mpirun")
    }

    /// The global batch must split evenly, and every batch must give each rank a sample.
    func testPlansThatCannotBeSharded() throws {
        var plan = plan()
        XCTAssertNoThrow(try plan.validate(ranks: 4, trainingSamples: 64))
        assertNablaError(try plan.validate(ranks: 5, trainingSamples: 60), "--batch-size 12 does not split evenly across 5 ranks",
                         kind: .invalidArgument)
        assertNablaError(try plan.validate(ranks: 4, trainingSamples: 63),
                         "the last batch of each epoch has 3 of the 63 training samples, fewer than the 4 ranks", kind: .invalidArgument)
        plan.dropLast = true
        XCTAssertNoThrow(try plan.validate(ranks: 4, trainingSamples: 63))
        // Without synchronized statistics, BatchNorm1d needs two samples per rank.
        var generator = RandomGenerator(seed: 1)
        let normalized = Sequential<Float>([Linear(2, 3, using: &generator), BatchNorm1d(3)])
        plan.dropLast = false
        assertNablaError(try plan.validate(ranks: 2, trainingSamples: 63, model: normalized),
                         "a rank's part of the last batch has 1 sample, too few for BatchNorm1d's batch statistics; use --sync-bn")
        assertNablaError(try plan.validate(ranks: 12, trainingSamples: 60, model: normalized), "a rank's part of a batch has 1 sample")
        XCTAssertNoThrow(try plan.validate(ranks: 2, trainingSamples: 66, model: normalized))
        plan.syncBatchNorm = true
        XCTAssertNoThrow(try plan.validate(ranks: 2, trainingSamples: 63, model: normalized))
        let errors = try ThreadProcessGroup.run(ranks: 5) { group -> String in
            do { _ = try self.plan().prepare(group: group); return "prepared" } catch { return "\(error)" }
        }
        XCTAssertTrue(errors.allSatisfy { $0.contains("does not split evenly across 5 ranks") }, "\(errors)")
    }

    /// Buckets hold the parameters last to first, the first bucket small, an oversized parameter
    /// alone; they launch in order even when their parameters arrive out of order, and write back
    /// the reduced values (a parameter without a gradient gets one only if the reduction brings one).
    func testBucketLayoutAndOrder() {
        let sizes = [30, 5, 200, 5, 20, 1]  // floats; layer order
        let parameters = sizes.map { Variable(Tensor<Float>(repeating: 0, shape: [$0]), requiresGradient: true) }
        var launched: [Int] = []
        let buckets = GradientBuckets(parameters: parameters, bucketBytes: 160, firstBucketBytes: 80) { launched.append($0) }
        // Last to first: 1 float fills the 80-byte first bucket (1 + 20 would not fit), then 40-float
        // buckets: [20, 5] | [200] alone | [5, 30].
        XCTAssertEqual(buckets.ranges, [0..<1, 1..<26, 26..<226, 226..<261])
        buckets.begin()
        for (index, parameter) in parameters.enumerated() where index != 3 {
            parameter.grad = Tensor(repeating: Float(index + 1), shape: [sizes[index]])
        }
        buckets.gradientReady(parameters[2])
        XCTAssertEqual(launched, [], "bucket 2 waits for buckets 0 and 1")
        buckets.gradientReady(parameters[5])
        XCTAssertEqual(launched, [0])
        buckets.gradientReady(parameters[4])
        XCTAssertEqual(launched, [0])
        buckets.gradientReady(parameters[3])
        XCTAssertEqual(launched, [0, 1, 2])
        buckets.finish()
        XCTAssertEqual(launched, [0, 1, 2, 3])
        XCTAssertEqual(Array(buckets.buffer[1..<21]), [Float](repeating: 5, count: 20))
        XCTAssertEqual(Array(buckets.buffer[21..<26]), [Float](repeating: 0, count: 5), "no gradient: zeros")
        for i in 0..<buckets.elementCount { buckets.buffer[i] *= 2 }
        buckets.writeBack()
        XCTAssertEqual(parameters[0].grad?.scalars, [Float](repeating: 2, count: 30))
        XCTAssertNil(parameters[3].grad, "still no gradient after a reduction of zeros")
    }
}
