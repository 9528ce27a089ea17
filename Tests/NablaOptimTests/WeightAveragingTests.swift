import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// `AveragedModel`, `update_bn` and `SWALR` against `torch.optim.swa_utils`
/// (Scripts/fixtures/gen_toolbox.py: `average_*`, `update_bn`, `schedule_swalr_*`).
final class WeightAveragingTests: XCTestCase {
    /// The fixtures' models: Linear(3, 8) → Tanh → Linear(8, 1), or with a BatchNorm1d(8) after the first Linear.
    func makeModel(batchNorm: Bool) -> Sequential<Double> {
        var g = RandomGenerator(seed: 0)
        return batchNorm
            ? Sequential([Linear(3, 8, using: &g), BatchNorm1d(8), Tanh(), Linear(8, 1, using: &g)])
            : Sequential([Linear(3, 8, using: &g), Tanh(), Linear(8, 1, using: &g)])
    }

    /// The model's state at trajectory row `t` of a fixture (`prefix` = `model` or `averaged`).
    func state(_ file: SafeTensorsFile, _ prefix: String, row t: Int, keys: [String]) -> [String: Tensor<Double>] {
        var dict: [String: Tensor<Double>] = [:]
        for key in keys {
            let all = file.tensor("\(prefix).\(key)", as: Double.self)
            dict[key] = all.row(t).reshaped(to: Array(all.shape.dropFirst()))
        }
        return dict
    }

    /// Each fixture's averaging rule and buffer handling.
    let cases: [(name: String, rule: AveragedModel<Double>.Rule, buffers: Bool, batchNorm: Bool, relative: Double)] = [
        ("ema_multi", .exponential(decay: 0.9), false, false, 0),
        ("ema", .exponential(decay: 0.9), false, false, 1e-14),   // decay·a + (1−decay)·w: a different rounding
        ("swa", .equal, false, false, 0),
        ("ema_multi_bn_buffers", .exponential(decay: 0.9), true, true, 0),
        ("ema_multi_bn_no_buffers", .exponential(decay: 0.9), false, true, 0),
        ("swa_bn_buffers", .equal, true, true, 0),
    ]

    /// Driving the average with PyTorch's own trajectory of the live model, every averaged tensor and
    /// `n_averaged` equal PyTorch's after every update (bit for bit where the rounding is the same).
    func testAveragesMatchPyTorch() throws {
        for c in cases {
            let f = try Fixtures.load("toolbox", "average_\(c.name)")
            let model = makeModel(batchNorm: c.batchNorm)
            let keys = model.stateKeys
            try model.loadStateDict(state(f, "model", row: 0, keys: keys))
            let averaged = try AveragedModel(model, rule: c.rule, includesBuffers: c.buffers)
            let counts = f.ints("n_averaged")
            for t in 0..<8 {
                try model.loadStateDict(state(f, "model", row: t + 1, keys: keys))
                averaged.update(from: model)
                XCTAssertEqual(averaged.averagedCount, counts[t], c.name)
                let expected = state(f, "averaged", row: t, keys: keys)
                for key in keys {
                    if c.relative == 0 {
                        XCTAssertEqual(averaged.modelStateDict[key]!, expected[key]!, "\(c.name) step \(t + 1) \(key)")
                    } else {
                        assertClose(averaged.modelStateDict[key]!, expected[key]!, relative: c.relative, absolute: 1e-300, "\(c.name) step \(t + 1) \(key)")
                    }
                }
            }
            if c.buffers {
                // PyTorch truncates the averaged int64 counter: it stays 1 while the model's reaches 8.
                XCTAssertEqual(averaged.modelStateDict["1.num_batches_tracked"]!.scalars, [1], c.name)
            }
        }
    }

    /// Nabla's SGD on the fixtures' problem reproduces PyTorch's live trajectory, and averaging it as
    /// it trains gives PyTorch's averages (to the float-order differences of the matrix products).
    func testAveragingWhileTrainingMatchesPyTorch() throws {
        for c in cases where c.name == "ema_multi" || c.name == "swa_bn_buffers" {
            let f = try Fixtures.load("toolbox", "average_\(c.name)")
            let model = makeModel(batchNorm: c.batchNorm)
            try model.loadStateDict(state(f, "model", row: 0, keys: model.stateKeys))
            let averaged = try AveragedModel(model, rule: c.rule, includesBuffers: c.buffers)
            let optimizer = try SGD(model.parameters, learningRate: 0.1)
            let x = f.tensor("x", as: Double.self), y = f.tensor("y", as: Double.self)
            for _ in 0..<8 {
                optimizer.zeroGrad()
                meanSquaredError(model(Variable(x)), y).backward()
                optimizer.step()
                averaged.update(from: model)
            }
            let expected = state(f, "averaged", row: 7, keys: model.stateKeys)
            for key in model.stateKeys {
                assertClose(averaged.modelStateDict[key]!, expected[key]!, relative: 1e-12, absolute: 1e-14, "\(c.name) \(key)")
            }
        }
    }

    func testStateDictHasPyTorchKeysAndRoundTrips() throws {
        let model = makeModel(batchNorm: true)
        let averaged = try AveragedModel(model, rule: .equal)
        averaged.update(from: model)
        for p in model.parameters { p.value = p.value + 1 }
        averaged.update(from: model)
        let dict = averaged.stateDict()
        XCTAssertEqual(Set(dict.keys), Set(["n_averaged"] + model.stateKeys.map { "module." + $0 }))
        XCTAssertEqual(dict["n_averaged"]!.scalars, [2])
        let restored = try AveragedModel(makeModel(batchNorm: true), rule: .equal)
        try restored.loadStateDict(dict)
        XCTAssertEqual(restored.averagedCount, 2)
        for key in model.stateKeys { XCTAssertEqual(restored.modelStateDict[key], averaged.modelStateDict[key], key) }
        // Loading into the model gives the model the averaged weights.
        try averaged.copy(into: model)
        XCTAssertEqual(model.stateDict(), averaged.modelStateDict)

        var bad = dict
        bad["module.0.weight"] = Tensor(zeros: [2])
        XCTAssertThrowsError(try restored.loadStateDict(bad)) { XCTAssertEqual(($0 as? NablaError)?.kind, .shapeMismatch) }
        bad = dict
        bad["module.extra"] = Tensor(zeros: [1])
        XCTAssertThrowsError(try restored.loadStateDict(bad)) { XCTAssertEqual(($0 as? NablaError)?.kind, .unexpectedKey) }
        bad = dict
        bad["n_averaged"] = Tensor(-1)
        XCTAssertThrowsError(try restored.loadStateDict(bad)) { XCTAssertEqual(($0 as? NablaError)?.kind, .invalidArgument) }
        XCTAssertEqual(restored.averagedCount, 2, "a failed load changes nothing")
        for decay in [-0.1, 1.5, .nan] {
            XCTAssertThrowsError(try AveragedModel(model, rule: .exponential(decay: decay))) { error in
                XCTAssertTrue("\(error)".contains("Invalid decay value"), "\(error)")
            }
        }
    }

    /// `update_bn`: reset, cumulative average with every batch weighted equally (sizes 16, 16, 8),
    /// momentum and evaluation mode restored.
    func testUpdateBatchNormStatisticsMatchesPyTorch() throws {
        let f = try Fixtures.load("toolbox", "update_bn")
        let model = makeModel(batchNorm: true)
        var weights: [String: Tensor<Double>] = [:]
        for key in model.stateKeys { weights[key] = f.tensor("weights.\(key)", as: Double.self) }
        try model.loadStateDict(weights)
        model.eval()
        let bn = model.children[1].module as! BatchNorm<Double>
        XCTAssertEqual(bn.runningMean!.value, f.tensor("before.running_mean"))
        let batches = (0..<3).map { f.tensor("batch\($0)", as: Double.self) }
        updateBatchNormStatistics(of: model, inputs: batches)
        assertClose(bn.runningMean!.value, f.tensor("after.running_mean"), relative: 1e-13, absolute: 1e-15)
        assertClose(bn.runningVariance!.value, f.tensor("after.running_var"), relative: 1e-13, absolute: 1e-15)
        XCTAssertEqual(bn.batchesTracked!.value.scalars, [3])
        XCTAssertEqual(bn.momentum, 0.1)
        XCTAssertFalse(model.isTraining)
        XCTAssertFalse(bn.isTraining)
        // A model without batch normalization is untouched and the inputs are not read.
        let plain = makeModel(batchNorm: false)
        let before = plain.stateDict()
        updateBatchNormStatistics(of: plain, inputs: AnySequence<Tensor<Double>> { () -> AnyIterator<Tensor<Double>> in
            XCTFail("update_bn read the inputs of a model without batch normalization")
            return AnyIterator { nil }
        })
        XCTAssertEqual(plain.stateDict(), before)
        XCTAssertTrue(plain.isTraining)
    }

    func makeOptimizer() throws -> SGD<Double> {
        let p0 = Variable(Tensor<Double>(zeros: [2]), requiresGradient: true)
        let p1 = Variable(Tensor<Double>(zeros: [3]), requiresGradient: true)
        return try SGD([ParameterGroup([p0]), ParameterGroup([p1], learningRate: 0.05)], learningRate: 0.1)
    }

    func testSWALRMatchesPyTorch() throws {
        let configurations: [(String, [Double], Int, SWALR.Annealing)] = [
            ("swalr_cos", [0.01, 0.02], 5, .cosine), ("swalr_linear", [0.02], 10, .linear), ("swalr_zero_epochs", [0.03], 0, .cosine),
        ]
        for (name, rates, epochs, annealing) in configurations {
            let f = try Fixtures.load("toolbox", "schedule_" + name)
            let optimizer = try makeOptimizer()
            let schedule = try SWALR(optimizer, swaLearningRates: rates, annealingEpochs: epochs, annealing: annealing)
            var actual = optimizer.learningRates
            for _ in 0..<50 {
                schedule.step()
                actual += optimizer.learningRates
            }
            XCTAssertEqual(Tensor(shape: [51, 2], scalars: actual), f.tensor("lrs", as: Double.self), name)
        }
        let optimizer = try makeOptimizer()
        XCTAssertThrowsError(try SWALR(optimizer, swaLearningRates: [0.1, 0.2, 0.3])) { error in
            XCTAssertEqual("\(error)", "swa_lr must have the same length as optimizer.param_groups. swa_lr has 3 values, param_groups has 2.")
        }
        XCTAssertThrowsError(try SWALR(optimizer, swaLearningRates: [0.1], annealingEpochs: -1)) { error in
            XCTAssertEqual("\(error)", "anneal_epochs must be equal or greater than 0, got -1")
        }
    }

    /// The averaging phase schedule is PyTorch's SWA loop: the regular schedule for `start − 1` epochs,
    /// then a SWALR constructed at that point and stepped from then on; it survives a checkpoint in
    /// either phase.
    func testAveragingPhaseScheduleFollowsTheSWARecipe() throws {
        for start in [1, 4] {
            for annealingEpochs in [0, 3] {
                let optimizer = try makeOptimizer()
                let phased = try AveragingPhaseSchedule(optimizer, regular: try CosineAnnealingLR(optimizer, maximumSteps: 10),
                                                        startEpoch: start, swaLearningRates: [0.02], annealingEpochs: annealingEpochs)
                let reference = try makeOptimizer()
                let cosine = try CosineAnnealingLR(reference, maximumSteps: 10)
                var swalr: SWALR? = start == 1 ? try SWALR(reference, swaLearningRates: [0.02], annealingEpochs: annealingEpochs) : nil
                XCTAssertEqual(optimizer.learningRates, reference.learningRates)
                for epoch in 1...12 {
                    phased.step()
                    if epoch >= start { swalr!.step() } else {
                        cosine.step()
                        if epoch == start - 1 { swalr = try SWALR(reference, swaLearningRates: [0.02], annealingEpochs: annealingEpochs) }
                    }
                    XCTAssertEqual(optimizer.learningRates, reference.learningRates, "start \(start) anneal \(annealingEpochs) epoch \(epoch)")
                    XCTAssertEqual(phased.lastLearningRates, optimizer.learningRates)
                }
                XCTAssertEqual(optimizer.learningRates, [0.02, 0.02])
            }
        }
        for saveAt in [2, 6] {
            let optimizer = try makeOptimizer()
            let make = { (o: SGD<Double>) in
                try AveragingPhaseSchedule(o, regular: try StepLR(o, stepSize: 2, gamma: 0.5), startEpoch: 4, swaLearningRates: [0.01, 0.02],
                                           annealingEpochs: 4, annealing: .linear)
            }
            let schedule = try make(optimizer)
            for _ in 0..<saveAt { schedule.step() }
            let resumedOptimizer = try makeOptimizer()
            let resumed = try make(resumedOptimizer)
            try resumed.loadStateDict(schedule.stateDict())
            XCTAssertEqual(resumedOptimizer.learningRates, optimizer.learningRates)
            for epoch in saveAt..<12 {
                schedule.step()
                resumed.step()
                XCTAssertEqual(resumedOptimizer.learningRates, optimizer.learningRates, "saved at \(saveAt), epoch \(epoch + 1)")
            }
        }
        var state = try AveragingPhaseSchedule(try makeOptimizer(), regular: nil, startEpoch: 3, swaLearningRates: [0.1]).stateDict()
        state["regular.last_epoch"] = Tensor(1)
        XCTAssertThrowsError(try AveragingPhaseSchedule(try makeOptimizer(), regular: nil, startEpoch: 3, swaLearningRates: [0.1]).loadStateDict(state))
        XCTAssertThrowsError(try AveragingPhaseSchedule(try makeOptimizer(), regular: nil, startEpoch: 0, swaLearningRates: [0.1]))
    }
}
