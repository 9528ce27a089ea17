import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// Learning-rate sequences of 50 steps from `torch.optim.lr_scheduler` (two parameter groups with
/// base rates 0.1 and 0.05), state save/restore, and hyper-parameter errors.
final class ScheduleTests: XCTestCase {
    /// The optimizer every schedule fixture uses: SGD with groups at lr 0.1 and 0.05.
    func makeOptimizer() throws -> SGD<Double> {
        let p0 = Variable(Tensor<Double>(zeros: [2]), requiresGradient: true)
        let p1 = Variable(Tensor<Double>(zeros: [3]), requiresGradient: true)
        return try SGD([ParameterGroup([p0]), ParameterGroup([p1], learningRate: 0.05)], learningRate: 0.1)
    }

    /// Each fixture's schedule, configured as in gen_optimizers.py.
    func makeSchedule(_ name: String, _ o: SGD<Double>) throws -> any LearningRateSchedule {
        switch name {
        case "step": return try StepLR(o, stepSize: 7, gamma: 0.5)
        case "multistep": return try MultiStepLR(o, milestones: [10, 25, 25, 40], gamma: 0.3)
        case "exponential": return try ExponentialLR(o, gamma: 0.93)
        case "cosine": return try CosineAnnealingLR(o, maximumSteps: 15, minimumLearningRate: 0.001)
        case "cosine_long": return try CosineAnnealingLR(o, maximumSteps: 50)
        case "linear_warmup": return try LinearLR(o, startFactor: 0.25, totalSteps: 8)
        case "linear_decay": return try LinearLR(o, startFactor: 1.0, endFactor: 0.1, totalSteps: 30)
        case "sequential_warmup_cosine":
            return try SequentialLR(o, schedules: [try LinearLR(o, startFactor: 0.1, totalSteps: 5),
                                                   try CosineAnnealingLR(o, maximumSteps: 45, minimumLearningRate: 1e-4)],
                                    milestones: [5])
        case "sequential_three":
            return try SequentialLR(o, schedules: [try LinearLR(o, startFactor: 0.5, totalSteps: 4),
                                                   try StepLR(o, stepSize: 6, gamma: 0.7), try ExponentialLR(o, gamma: 0.9)],
                                    milestones: [4, 20])
        case "plateau_min": return try ReduceLROnPlateau(o, factor: 0.5, patience: 3)
        case "plateau_min_abs_cooldown":
            return try ReduceLROnPlateau(o, factor: 0.3, patience: 2, threshold: 0.01, thresholdMode: .absolute,
                                         cooldown: 3, minimumLearningRates: [0.002, 0.004])
        case "plateau_max":
            return try ReduceLROnPlateau(o, mode: .max, factor: 0.7, patience: 1, threshold: 0.05, minimumLearningRate: 0.01)
        default: throw NablaError(.invalidArgument, "no schedule for fixture \(name)")
        }
    }

    var scheduleNames: [String] {
        Fixtures.names("optimizers").filter { $0.hasPrefix("schedule_") }.map { String($0.dropFirst("schedule_".count)) }
    }

    func testFixturesCoverEverySchedule() {
        XCTAssertEqual(Set(scheduleNames), [
            "step", "multistep", "exponential", "cosine", "cosine_long", "linear_warmup", "linear_decay",
            "sequential_warmup_cosine", "sequential_three", "plateau_min", "plateau_min_abs_cooldown", "plateau_max",
        ])
    }

    func testLearningRateSequencesMatchPyTorch() throws {
        for name in scheduleNames {
            let fixture = try Fixtures.load("optimizers", "schedule_" + name)
            let expected = fixture.tensor("lrs", as: Double.self)
            let metrics = fixture.tensors["metrics"].map { $0.tensor(as: Double.self).scalars }
            let optimizer = try makeOptimizer()
            let schedule = try makeSchedule(name, optimizer)
            XCTAssertEqual(schedule.requiresMetric, metrics != nil, name)
            var actual = optimizer.learningRates
            XCTAssertEqual(schedule.lastLearningRates, optimizer.learningRates, name)
            for epoch in 0..<50 {
                if let metrics { schedule.step(metric: metrics[epoch]) } else { schedule.step() }
                XCTAssertEqual(schedule.lastLearningRates, optimizer.learningRates, "\(name) epoch \(epoch + 1)")
                actual += optimizer.learningRates
            }
            assertClose(Tensor(shape: [51, 2], scalars: actual), expected, relative: 1e-12, absolute: 1e-15, name)
        }
    }

    /// Closed forms (used when SequentialLR switches schedules) agree with the recursive forms.
    func testClosedFormsAgreeWithRecursiveForms() throws {
        for name in ["step", "multistep", "exponential", "cosine", "cosine_long", "linear_warmup", "linear_decay"] {
            let schedule = try makeSchedule(name, try makeOptimizer()) as! EpochSchedule
            for epoch in 1...50 {
                schedule.step()
                let closed = schedule.closedFormLearningRates()
                for (a, b) in zip(closed, schedule.lastLearningRates) {
                    XCTAssertEqual(a, b, accuracy: 1e-12 + 1e-9 * abs(b), "\(name) epoch \(epoch)")
                }
            }
        }
    }

    /// Save after 17 steps, restore into a freshly built schedule and optimizer, continue: the rest
    /// of the sequence is identical to an uninterrupted run.
    func testStateDictRoundTripContinuesTheSequence() throws {
        for name in scheduleNames {
            let fixture = try Fixtures.load("optimizers", "schedule_" + name)
            let metrics = fixture.tensors["metrics"].map { $0.tensor(as: Double.self).scalars }
            let optimizer = try makeOptimizer()
            let schedule = try makeSchedule(name, optimizer)
            func advance(_ s: any LearningRateSchedule, _ epoch: Int) {
                if let metrics { s.step(metric: metrics[epoch]) } else { s.step() }
            }
            for epoch in 0..<17 { advance(schedule, epoch) }
            let saved = schedule.stateDict()
            let resumedOptimizer = try makeOptimizer()
            let resumed = try makeSchedule(name, resumedOptimizer)
            try resumed.loadStateDict(saved)
            XCTAssertEqual(resumedOptimizer.learningRates, optimizer.learningRates, name)
            XCTAssertEqual(resumed.lastEpoch, schedule.lastEpoch, name)
            for epoch in 17..<50 {
                advance(schedule, epoch)
                advance(resumed, epoch)
                XCTAssertEqual(resumedOptimizer.learningRates, optimizer.learningRates, "\(name) epoch \(epoch + 1)")
            }
        }
    }

    func testLoadingRejectsMissingUnexpectedAndMalformedEntries() throws {
        let schedule = try StepLR(try makeOptimizer(), stepSize: 3)
        var dict = schedule.stateDict()
        dict["last_epoch"] = nil
        XCTAssertThrowsError(try schedule.loadStateDict(dict)) { XCTAssertEqual(($0 as? NablaError)?.kind, .missingKey) }
        dict = schedule.stateDict()
        dict["gamma"] = Tensor(0.5)
        XCTAssertThrowsError(try schedule.loadStateDict(dict)) { XCTAssertEqual(($0 as? NablaError)?.kind, .unexpectedKey) }
        dict = schedule.stateDict()
        dict["base_lrs"] = Tensor([0.1])
        XCTAssertThrowsError(try schedule.loadStateDict(dict)) { XCTAssertEqual(($0 as? NablaError)?.kind, .shapeMismatch) }
        XCTAssertEqual(schedule.baseLearningRates, [0.1, 0.05], "a failed load changes nothing")

        let o = try makeOptimizer()
        let sequential = try SequentialLR(o, schedules: [try LinearLR(o), try ExponentialLR(o, gamma: 0.9)], milestones: [5])
        dict = sequential.stateDict()
        dict["_schedulers.2.last_epoch"] = Tensor(1.0)
        XCTAssertThrowsError(try sequential.loadStateDict(dict)) { XCTAssertEqual(($0 as? NablaError)?.kind, .unexpectedKey) }
        dict = sequential.stateDict()
        dict["_schedulers.1._step_count"] = nil
        XCTAssertThrowsError(try sequential.loadStateDict(dict)) { XCTAssertEqual(($0 as? NablaError)?.kind, .missingKey) }

        let plateau = try ReduceLROnPlateau(try makeOptimizer())
        dict = plateau.stateDict()
        dict["num_bad_epochs"] = Tensor(1.5)
        XCTAssertThrowsError(try plateau.loadStateDict(dict)) { XCTAssertEqual(($0 as? NablaError)?.kind, .invalidArgument) }
    }

    func testInvalidHyperparametersThrowWithTheValue() throws {
        let o = try makeOptimizer()
        let cases: [(String, () throws -> Any)] = [
            ("StepLR step size must be at least 1, got 0", { try StepLR(o, stepSize: 0) }),
            ("StepLR gamma must be a non-negative number, got -0.5", { try StepLR(o, stepSize: 2, gamma: -0.5) }),
            ("MultiStepLR milestones must be non-negative, got -3", { try MultiStepLR(o, milestones: [2, -3]) }),
            ("ExponentialLR gamma must be a non-negative number, got nan", { try ExponentialLR(o, gamma: .nan) }),
            ("CosineAnnealingLR maximum steps (T_max) must be at least 1, got 0", { try CosineAnnealingLR(o, maximumSteps: 0) }),
            ("CosineAnnealingLR minimum learning rate (eta_min) must be non-negative, got -0.1",
             { try CosineAnnealingLR(o, maximumSteps: 5, minimumLearningRate: -0.1) }),
            ("LinearLR start factor expected to be greater than 0 and less or equal to 1, got 0.0",
             { try LinearLR(o, startFactor: 0) }),
            ("LinearLR end factor expected to be between 0 and 1, got 1.5", { try LinearLR(o, endFactor: 1.5) }),
            ("LinearLR total steps must be at least 1, got 0", { try LinearLR(o, totalSteps: 0) }),
            ("SequentialLR expects at least one schedule, got none", { try SequentialLR(o, schedules: [], milestones: []) }),
            ("SequentialLR expects one milestone fewer than schedules, got 1 schedules and 1 milestones",
             { try SequentialLR(o, schedules: [try LinearLR(o)], milestones: [3]) }),
            ("SequentialLR milestones must be strictly increasing positive epochs, got [5, 5]",
             { try SequentialLR(o, schedules: [try LinearLR(o), try LinearLR(o), try LinearLR(o)], milestones: [5, 5]) }),
            ("Factor should be < 1.0, got 1.0", { try ReduceLROnPlateau(o, factor: 1.0) }),
            ("ReduceLROnPlateau patience must be non-negative, got -1", { try ReduceLROnPlateau(o, patience: -1) }),
            ("ReduceLROnPlateau cooldown must be non-negative, got -2", { try ReduceLROnPlateau(o, cooldown: -2) }),
            ("ReduceLROnPlateau threshold must be non-negative, got -0.1", { try ReduceLROnPlateau(o, threshold: -0.1) }),
            ("expected 2 min_lrs, got 3", { try ReduceLROnPlateau(o, minimumLearningRates: [0, 0, 0]) }),
            ("ReduceLROnPlateau minimum learning rate must be non-negative, got -1.0",
             { try ReduceLROnPlateau(o, minimumLearningRate: -1) }),
        ]
        for (message, make) in cases {
            XCTAssertThrowsError(try make(), message) { error in
                XCTAssertEqual((error as? NablaError)?.message, message)
                XCTAssertEqual((error as? NablaError)?.kind, .invalidArgument)
            }
        }
        let other = try makeOptimizer()
        XCTAssertThrowsError(try SequentialLR(o, schedules: [try LinearLR(o), try LinearLR(other)], milestones: [2])) {
            XCTAssertTrue(($0 as? NablaError)?.message.contains("index 1") ?? false, "\($0)")
        }
    }

    /// The first schedule records `initial_lr`; a second one bases itself on it, not on the rate
    /// the first one already changed (PyTorch's `setdefault`). It goes into the optimizer's state.
    func testInitialLearningRateIsRecordedOnceAndCheckpointed() throws {
        let optimizer = try makeOptimizer()
        _ = try LinearLR(optimizer, startFactor: 0.5)
        XCTAssertEqual(optimizer.learningRates, [0.05, 0.025])
        let second = try ExponentialLR(optimizer, gamma: 0.9)
        XCTAssertEqual(second.baseLearningRates, [0.1, 0.05])
        XCTAssertEqual(optimizer.initialLearningRates, [0.1, 0.05])
        XCTAssertEqual(optimizer.stateDict()["param_groups.1.initial_lr"]?.scalar, 0.05)
        let fresh = try makeOptimizer()
        try fresh.loadStateDict(optimizer.stateDict())
        XCTAssertEqual(fresh.initialLearningRates, [0.1, 0.05])
        XCTAssertEqual(fresh.learningRates, [0.05, 0.025])
    }
}
