import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaOptim
import NablaTestSupport

/// OneCycleLR, CosineAnnealingWarmRestarts, PolynomialLR and CyclicLR against
/// `torch.optim.lr_scheduler` (Scripts/fixtures/gen_toolbox.py): both groups' learning rates (and
/// the cycled momentum or β₁) after construction and after each of 30–50 steps, over SGD with and
/// without momentum and Adam with two parameter groups (lr 0.1 and 0.05); state-dict round trips in
/// the middle of a run; torch's validation messages.
final class ToolboxScheduleTests: XCTestCase {
    static let prefixes = ["schedule_onecycle", "schedule_warm_restarts", "schedule_polynomial", "schedule_cyclic"]

    var fixtureNames: [String] { Fixtures.names("toolbox").filter { name in Self.prefixes.contains { name.hasPrefix($0) } } }

    /// The optimizer of `gen_toolbox.py`'s `schedule_optimizer(kind)`: p0 [2] at lr 0.1, p1 [3] at 0.05.
    func makeOptimizer(_ kind: String) throws -> any Optimizer<Double> {
        let groups = [ParameterGroup([Variable(Tensor<Double>(zeros: [2]), requiresGradient: true)]),
                      ParameterGroup([Variable(Tensor<Double>(zeros: [3]), requiresGradient: true)], learningRate: 0.05)]
        switch kind {
        case "sgd": return try SGD(groups, learningRate: 0.1)
        case "sgd_momentum": return try SGD(groups, learningRate: 0.1, momentum: 0.9)
        case "adam": return try Adam(groups, learningRate: 0.1)
        default: throw NablaError(.invalidArgument, "unknown optimizer kind \(kind)")
        }
    }

    /// The schedule a fixture's metadata describes, attached to `optimizer`.
    func makeSchedule(_ meta: [String: String], _ optimizer: any Optimizer<Double>) throws -> EpochSchedule {
        func numbers(_ key: String) -> [Double]? { meta[key].map { $0.split(separator: ",").map { Double($0)! } } }
        func number(_ key: String, _ fallback: Double) -> Double { numbers(key)?.first ?? fallback }
        func flag(_ key: String, _ fallback: Bool) -> Bool { meta[key].map { $0 == "True" } ?? fallback }
        switch meta["scheduler"] {
        case "OneCycleLR":
            return try OneCycleLR(optimizer, maximumLearningRates: numbers("max_lr")!, totalSteps: Int(number("total_steps", 0)),
                                  percentStart: number("pct_start", 0.3),
                                  annealing: OneCycleLR.Annealing(rawValue: meta["anneal_strategy"] ?? "cos")!,
                                  cycleMomentum: flag("cycle_momentum", true), baseMomentum: number("base_momentum", 0.85),
                                  maximumMomentum: number("max_momentum", 0.95), divisionFactor: number("div_factor", 25),
                                  finalDivisionFactor: number("final_div_factor", 1e4), threePhase: flag("three_phase", false))
        case "CosineAnnealingWarmRestarts":
            return try CosineAnnealingWarmRestarts(optimizer, firstPeriod: Int(number("T_0", 0)), periodMultiplier: Int(number("T_mult", 1)),
                                                   minimumLearningRate: number("eta_min", 0))
        case "PolynomialLR":
            return try PolynomialLR(optimizer, totalIterations: Int(number("total_iters", 5)), power: number("power", 1))
        case "CyclicLR":
            return try CyclicLR(optimizer, baseLearningRates: numbers("base_lr")!, maximumLearningRates: numbers("max_lr")!,
                                stepSizeUp: Int(number("step_size_up", 2000)), stepSizeDown: numbers("step_size_down").map { Int($0[0]) },
                                mode: CyclicLR.Mode(rawValue: meta["mode"] ?? "triangular")!, gamma: number("gamma", 1),
                                cycleMomentum: flag("cycle_momentum", true))
        default:
            throw NablaError(.invalidArgument, "unknown scheduler \(meta["scheduler"] ?? "nil")")
        }
    }

    func momenta(_ optimizer: any Optimizer<Double>) -> [Double] {
        (0..<2).map { g in
            switch optimizer.hyperparameter("betas", group: g) ?? optimizer.hyperparameter("momentum", group: g) {
            case .pair(let beta1, _)?: return beta1
            case .number(let momentum)?: return momentum
            default: return .nan
            }
        }
    }

    func testEveryScheduleMatchesPyTorchStepForStep() throws {
        XCTAssertEqual(fixtureNames.count, 17)
        for name in fixtureNames {
            let fixture = try Fixtures.load("toolbox", name)
            let optimizer = try makeOptimizer(fixture.metadata["optimizer"]!)
            let schedule = try makeSchedule(fixture.metadata, optimizer)
            let lrs = fixture.tensor("lrs", as: Double.self), momentum = fixture.tensors["momentum"].map { $0.tensor(as: Double.self) }
            for row in 0..<lrs.shape[0] {
                if row > 0 { schedule.step() }
                for g in 0..<2 {
                    let expected = lrs.scalars[2 * row + g]
                    XCTAssertEqual(optimizer.learningRates[g], expected, accuracy: 1e-12 * abs(expected) + 1e-16, "\(name): lr, row \(row), group \(g)")
                    if let momentum {
                        XCTAssertEqual(momenta(optimizer)[g], momentum.scalars[2 * row + g], accuracy: 1e-12, "\(name): momentum, row \(row), group \(g)")
                    }
                }
                XCTAssertEqual(schedule.lastLearningRates, optimizer.learningRates, name)
            }
            if let beta2 = fixture.metadata["final_beta2"] {
                let expected = beta2.split(separator: ",").map { Double($0)! }
                for g in 0..<2 {
                    guard case .pair(_, let b2)? = optimizer.hyperparameter("betas", group: g) else { return XCTFail("\(name): no betas") }
                    XCTAssertEqual(b2, expected[g], "\(name): β₂ is left alone")
                }
            }
        }
    }

    /// A schedule restored from its state dict in the middle of a run continues it exactly,
    /// learning rates and momenta alike (the optimizer's state carries the momentum).
    func testStateDictRoundTripContinuesExactly() throws {
        for name in fixtureNames {
            let fixture = try Fixtures.load("toolbox", name)
            let kind = fixture.metadata["optimizer"]!
            let optimizer = try makeOptimizer(kind), schedule = try makeSchedule(fixture.metadata, optimizer)
            for _ in 0..<17 { schedule.step() }
            let other = try makeOptimizer(kind), restored = try makeSchedule(fixture.metadata, other)
            try other.loadStateDict(optimizer.stateDict())
            try restored.loadStateDict(schedule.stateDict())
            XCTAssertEqual(restored.stateDict(), schedule.stateDict(), name)
            for _ in 17..<fixture.tensor("lrs", as: Double.self).shape[0] - 1 {
                schedule.step()
                restored.step()
                XCTAssertEqual(other.learningRates, optimizer.learningRates, name)
                XCTAssertEqual(momenta(other), momenta(optimizer), name)
            }
        }
        // Warm restarts keep T_i and T_cur beside the common entries.
        let optimizer = try makeOptimizer("sgd")
        let restarts = try CosineAnnealingWarmRestarts(optimizer, firstPeriod: 5, periodMultiplier: 2)
        for _ in 0..<7 { restarts.step() }
        XCTAssertEqual(restarts.stateDict()["T_i"], Tensor(10))
        XCTAssertEqual(restarts.stateDict()["T_cur"], Tensor(2))
        var bad = restarts.stateDict()
        bad["T_cur"] = Tensor(12)
        assertNablaError(try restarts.loadStateDict(bad), "T_cur 12 outside [0, T_i = 10)")
    }

    func testValidationMessagesAreTorchs() throws {
        let one = try SGD([Variable(Tensor<Double>([0]), requiresGradient: true)], learningRate: 0.1)
        let adagrad = try Adagrad([Variable(Tensor<Double>([0]), requiresGradient: true)], learningRate: 0.1)
        let validation = try jsonFixture("validation.json")
        func message(_ scheduler: String, _ call: String) -> String {
            let rows = validation[scheduler] as! [[String: Any]]
            return rows.first { ($0["call"] as! String) == call }!["message"] as! String
        }
        assertNablaError(try OneCycleLR(one, maximumLearningRates: [0.1], totalSteps: 0), message("OneCycleLR", "total_steps=0"))
        assertNablaError(try OneCycleLR(one, maximumLearningRates: [0.1], totalSteps: 10, percentStart: 1.5),
                         message("OneCycleLR", "pct_start=1.5"))
        assertNablaError(try OneCycleLR(one, maximumLearningRates: [0.1, 0.2, 0.3], totalSteps: 10),
                         message("OneCycleLR", "max_lr=[0.1, 0.2, 0.3] for 1 group"))
        assertNablaError(try OneCycleLR(adagrad, maximumLearningRates: [0.1], totalSteps: 10),
                         message("OneCycleLR", "Adagrad with cycle_momentum"))
        assertNablaError(try CyclicLR(adagrad, baseLearningRates: [0.01], maximumLearningRates: [0.1]),
                         message("CyclicLR", "Adagrad with cycle_momentum"))
        assertNablaError(try CyclicLR(one, baseLearningRates: [0.01, 0.02], maximumLearningRates: [0.1]),
                         message("CyclicLR", "base_lr list of wrong length"))
        assertNablaError(try CosineAnnealingWarmRestarts(one, firstPeriod: 0), message("CosineAnnealingWarmRestarts", "T_0=0"))
        assertNablaError(try CosineAnnealingWarmRestarts(one, firstPeriod: 5, periodMultiplier: 0),
                         message("CosineAnnealingWarmRestarts", "T_mult=0"))
        // PolynomialLR validates nothing: total_iters 0 keeps the rate, a negative power is accepted.
        let constant = try PolynomialLR(one, totalIterations: 0)
        for _ in 0..<3 { constant.step() }
        XCTAssertEqual(one.learningRate, 0.1)
        XCTAssertNoThrow(try PolynomialLR(one, totalIterations: 5, power: -1))
        // Without cycling, an optimizer without momentum is fine.
        XCTAssertNoThrow(try OneCycleLR(adagrad, maximumLearningRates: [0.1], totalSteps: 10, cycleMomentum: false))
    }

    /// The `--schedule` specs build these schedules; onecycle spans the run's optimizer steps and
    /// cycles momentum only where the optimizer has it; the per-step kinds say so.
    func testSpecsBuildTheSchedulesWithTheRunsSteps() throws {
        let sgd = try SGD([Variable(Tensor<Float>([0]), requiresGradient: true)], learningRate: 0.1, momentum: 0.9)
        let kind = try XCTUnwrap(ScheduleRegistry.kind(named: "onecycle"))
        XCTAssertEqual(kind.interval, .step)
        XCTAssertEqual(ScheduleRegistry.kind(named: "cyclic")?.interval, .step)
        XCTAssertEqual(ScheduleRegistry.kind(named: "cosine-restarts")?.interval, .epoch)
        XCTAssertEqual(ScheduleRegistry.kind(named: "poly")?.interval, .epoch)
        let parsed = try kind.parse(ScheduleFields("onecycle:0.4:0.25", spec: "onecycle:0.4:0.25"))
        let schedule = try XCTUnwrap(try parsed.build(sgd, ScheduleContext(optimizerSteps: 40)) as? OneCycleLR)
        XCTAssertEqual(schedule.totalSteps, 40)
        XCTAssertEqual(sgd.learningRate, 0.4 / 25, accuracy: 1e-12)
        XCTAssertEqual(sgd.groupOptions[0].momentum, 0.95)
        for _ in 0..<9 { schedule.step() }
        XCTAssertEqual(sgd.learningRate, 0.4, accuracy: 1e-12)       // phase 1 ends at 0.25·40 − 1 = 9
        XCTAssertEqual(sgd.groupOptions[0].momentum, 0.85, accuracy: 1e-12)
        let adagrad = try Adagrad([Variable(Tensor<Float>([0]), requiresGradient: true)], learningRate: 0.1)
        XCTAssertNoThrow(try parsed.build(adagrad, ScheduleContext(optimizerSteps: 10)))
        for (spec, message) in [("onecycle:0", "MAX_LR must be positive"), ("onecycle:0.1:1.5", "PCT_START must be between 0 and 1"),
                                ("cyclic:0.1", "missing MAX"), ("cosine-restarts:0", "T0 must be a positive integer"),
                                ("poly:10:x", "POWER 'x' is not a number")] {
            let fields = ScheduleFields(spec, spec: spec)
            assertNablaError(try ScheduleRegistry.kind(named: fields.name)!.parse(fields), "--schedule \(spec): \(message)")
        }
    }
}
