import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaOptim
import NablaTestSupport

/// Golden 10-step trajectories (Scripts/fixtures/gen_toolbox.py) of Adadelta, Adamax, NAdam and
/// RAdam from `torch.optim`, and of Lion and LAMB from their papers' algorithm boxes, on the
/// quadratic-plus-noise objective of the other trajectory tests: every variant with and without
/// weight decay, two parameter groups, skipped gradients; the final state under PyTorch's names; a
/// state-dict round trip in the middle of the run; torch's validation messages.
final class ToolboxOptimizerTests: XCTestCase {
    static let optimizers = ["adadelta", "adamax", "nadam", "radam", "lion", "lamb"]

    func testFixturesCoverEveryOptimizerWithDecayGroupsAndSkips() {
        let names = Set(toolboxTrajectoryNames(Self.optimizers))
        for optimizer in Self.optimizers {
            for suffix in ["plain_nodecay", "plain_decay", "groups", "skip"] {
                XCTAssertTrue(names.contains("traj_\(optimizer)_\(suffix)"), "missing traj_\(optimizer)_\(suffix)")
            }
        }
        XCTAssertGreaterThanOrEqual(names.count, 50)
    }

    func testDoubleTrajectoriesMatchTheReference() throws {
        let objective = try QuadraticObjective<Double>()
        for name in toolboxTrajectoryNames(Self.optimizers) {
            let fixture = try Fixtures.load("toolbox", name)
            let parameters = initialParameters(Double.self, fixture)
            let optimizer = try makeToolboxOptimizer(fixture.metadata, groups(parameters, fixture.metadata))
            let mask = fixture.tensor("grad_mask", as: Double.self)
            let expected = [fixture.tensor("trajectory0", as: Double.self), fixture.tensor("trajectory1", as: Double.self)]
            for t in 0..<QuadraticObjective<Double>.steps {
                objective.setGradients(parameters, step: t, mask: mask)
                optimizer.step()
                for k in 0..<2 {
                    assertClose(parameters[k].value, slice(expected[k], t + 1), relative: 1e-9, absolute: 1e-12,
                                "\(name): parameter \(k) after step \(t + 1)")
                }
            }
            let state = optimizer.stateDict().filter { $0.key.hasPrefix("state.") }
            let golden = fixture.tensors.keys.filter { $0.hasPrefix("state.") }
            XCTAssertEqual(Set(state.keys), Set(golden), "\(name): state keys")
            for key in golden where state[key] != nil {
                assertClose(state[key]!, fixture.tensor(key, as: Double.self), relative: 1e-9, absolute: 1e-12, "\(name): \(key)")
            }
        }
    }

    /// In Float the trajectories stay within Float rounding of the float64 reference.
    func testFloatTrajectoriesTrackTheReference() throws {
        let objective = try QuadraticObjective<Float>()
        for name in toolboxTrajectoryNames(Self.optimizers) where !name.hasPrefix("traj_lion") {
            let fixture = try Fixtures.load("toolbox", name)
            let parameters = initialParameters(Float.self, fixture)
            let optimizer = try makeToolboxOptimizer(fixture.metadata, groups(parameters, fixture.metadata))
            let mask = fixture.tensor("grad_mask", as: Float.self)
            for t in 0..<QuadraticObjective<Float>.steps {
                objective.setGradients(parameters, step: t, mask: mask)
                optimizer.step()
            }
            for k in 0..<2 {
                let expected = slice(fixture.tensor("trajectory\(k)", as: Float.self), QuadraticObjective<Float>.steps)
                assertClose(parameters[k].value, expected, relative: 1e-4, absolute: 1e-5, "\(name) (Float): parameter \(k)")
            }
        }
    }

    /// Saving the state after 5 steps and loading it into a fresh optimizer over copies of the
    /// weights continues the run exactly.
    func testStateDictRoundTripContinuesTheRunExactly() throws {
        let objective = try QuadraticObjective<Double>()
        for name in toolboxTrajectoryNames(Self.optimizers) where name.hasSuffix("groups") || name.hasSuffix("skip") {
            let fixture = try Fixtures.load("toolbox", name)
            let mask = fixture.tensor("grad_mask", as: Double.self)
            let parameters = initialParameters(Double.self, fixture)
            let first = try makeToolboxOptimizer(fixture.metadata, groups(parameters, fixture.metadata))
            for t in 0..<5 {
                objective.setGradients(parameters, step: t, mask: mask)
                first.step()
            }
            let copies = parameters.map { Variable($0.value, requiresGradient: true) }
            let second = try makeToolboxOptimizer(fixture.metadata, groups(copies, fixture.metadata))
            try second.loadStateDict(first.stateDict())
            XCTAssertEqual(second.stateDict(), first.stateDict(), name)
            for t in 5..<10 {
                objective.setGradients(parameters, step: t, mask: mask)
                objective.setGradients(copies, step: t, mask: mask)
                first.step()
                second.step()
            }
            XCTAssertEqual(copies.map(\.value), parameters.map(\.value), name)
        }
    }

    /// RAdam takes the rectified branch exactly where torch did (`rectified` per step and parameter).
    func testRAdamSwitchesToTheRectifiedBranchWhereTorchDid() throws {
        for name in toolboxTrajectoryNames(["radam"]) {
            let fixture = try Fixtures.load("toolbox", name)
            let mask = fixture.tensor("grad_mask", as: Double.self), rectified = fixture.tensor("rectified", as: Double.self)
            let beta2 = [fixture.metadata["betas"], fixture.metadata["group1.betas"] ?? fixture.metadata["betas"]]
                .map { Double($0!.split(separator: ",")[1])! }
            var counts = [0, 0]
            for t in 0..<10 {
                for k in 0..<2 where mask.scalars[2 * t + k] != 0 {
                    counts[k] += 1
                    XCTAssertEqual(RAdam<Double>.isRectified(step: counts[k], beta2: beta2[k]), rectified.scalars[2 * t + k] == 1,
                                   "\(name): step \(t), parameter \(k)")
                }
            }
        }
        XCTAssertFalse(RAdam<Double>.isRectified(step: 5, beta2: 0.999))
        XCTAssertTrue(RAdam<Double>.isRectified(step: 6, beta2: 0.999))
        XCTAssertFalse(RAdam<Double>.isRectified(step: 1000, beta2: 0.6))
    }

    /// LAMB's trust ratio per step; a parameter that starts at zero takes ratio 1 on its first step.
    func testLAMBTrustRatiosMatchIncludingTheZeroNormCase() throws {
        let objective = try QuadraticObjective<Double>()
        for name in toolboxTrajectoryNames(["lamb"]) {
            let fixture = try Fixtures.load("toolbox", name)
            let parameters = initialParameters(Double.self, fixture)
            let optimizer = try XCTUnwrap(try makeToolboxOptimizer(fixture.metadata, groups(parameters, fixture.metadata)) as? LAMB<Double>)
            let mask = fixture.tensor("grad_mask", as: Double.self), ratios = fixture.tensor("trust_ratio", as: Double.self)
            for t in 0..<10 {
                objective.setGradients(parameters, step: t, mask: mask)
                optimizer.step()
                for k in 0..<2 where mask.scalars[2 * t + k] != 0 {
                    let expected = ratios.scalars[2 * t + k], ours = optimizer.state(ofParameter: k)!.lastTrustRatio
                    XCTAssertEqual(ours, expected, accuracy: 1e-9 * abs(expected), "\(name): step \(t), parameter \(k)")
                }
            }
            if name.hasPrefix("traj_lamb_zero_init") { XCTAssertEqual(ratios.scalars[1], 1) }
        }
    }

    /// Invalid hyper-parameters fail with the message torch raised (validation.json), and PyTorch's
    /// defaults (defaults.json) are the options' defaults.
    func testValidationMessagesAndDefaultsAreTorchs() throws {
        let validation = try jsonFixture("validation.json")
        for optimizer in ["Adadelta", "Adamax", "NAdam", "RAdam"] {
            let cases = try XCTUnwrap(validation[optimizer] as? [[String: Any]], optimizer)
            for row in cases {
                let call = row["call"] as! String, message = row["message"] as! String
                let parts = call.split(separator: "=", maxSplits: 1).map(String.init)
                let value: Hyperparameters.Value
                if parts[1].hasPrefix("(") {
                    let numbers = parts[1].dropFirst().dropLast().split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces))! }
                    value = .pair(numbers[0], numbers[1])
                } else {
                    value = .number(Double(parts[1])!)
                }
                var hyperparameters = Hyperparameters()
                hyperparameters[parts[0]] = value
                // Python prints an int argument as `-1`; it reaches Nabla as the Double -1.0.
                let expected = Int(parts[1]).map { message.replacingOccurrences(of: ": \($0)", with: ": \(Double($0))") } ?? message
                let p = Variable(Tensor<Double>([0, 0]), requiresGradient: true)
                assertNablaError(try makeToolboxOptimizer(["optimizer": optimizer], [ParameterGroup([p], hyperparameters)]), expected)
            }
        }
        let defaults = try jsonFixture("defaults.json")
        let expected: [(String, Hyperparameters)] = [
            ("Adadelta", Adadelta<Float>.Options.defaultHyperparameters), ("Adamax", Adamax<Float>.Options.defaultHyperparameters),
            ("NAdam", NAdam<Float>.Options.defaultHyperparameters), ("RAdam", RAdam<Float>.Options.defaultHyperparameters),
            ("Lion", Lion<Float>.Options.defaultHyperparameters), ("LAMB", LAMB<Float>.Options.defaultHyperparameters),
        ]
        for (name, ours) in expected {
            let torch = try XCTUnwrap(defaults[name] as? [String: Any], name)
            for (key, value) in ours.entries {
                let theirs = torch[key]
                switch value {
                case .number(let x): XCTAssertEqual((theirs as? NSNumber)?.doubleValue, x, "\(name).\(key)")
                case .flag(let b): XCTAssertEqual(theirs as? Bool, b, "\(name).\(key)")
                case .pair(let a, let b): XCTAssertEqual((theirs as? [NSNumber])?.map(\.doubleValue), [a, b], "\(name).\(key)")
                }
            }
        }
    }

    /// A trajectory check can fail: NAdam's first steps are not Adam's, Adamax's not Adam's.
    func testTheComparisonSeparatesNeighbouringOptimizers() throws {
        let objective = try QuadraticObjective<Double>()
        let nadam = try Fixtures.load("toolbox", "traj_nadam_plain_nodecay")
        let parameters = initialParameters(Double.self, nadam)
        let adam = try Adam(parameters, learningRate: 0.05)
        objective.setGradients(parameters, step: 0, mask: nil)
        adam.step()
        let expected = slice(nadam.tensor("trajectory0", as: Double.self), 1)
        XCTAssertGreaterThan(zip(parameters[0].value.scalars, expected.scalars).map { abs($0 - $1) }.max()!, 1e-4)
    }
}

// MARK: - Support shared with the wrapper tests

/// `traj_<optimizer>_*` fixture names of the toolbox family.
func toolboxTrajectoryNames(_ optimizers: [String]) -> [String] {
    Fixtures.names("toolbox").filter { name in optimizers.contains { name.hasPrefix("traj_\($0)_") } }
}

/// The fixture's row-0 weights (LAMB's zero-init case starts p1 at zero).
func initialParameters<Scalar: TensorScalar>(_ type: Scalar.Type, _ fixture: SafeTensorsFile) -> [Variable<Scalar>] {
    (0..<2).map { Variable(slice(fixture.tensor("trajectory\($0)", as: Scalar.self), 0), requiresGradient: true) }
}

/// One group, or two when the metadata has `group1.*` overrides.
func groups<Scalar>(_ parameters: [Variable<Scalar>], _ meta: [String: String]) -> [ParameterGroup<Scalar>] {
    let overrides = hyperparameters(meta, prefix: "group1.")
    guard !overrides.isEmpty else { return [ParameterGroup(parameters)] }
    return [ParameterGroup([parameters[0]]), ParameterGroup([parameters[1]], overrides)]
}

/// Metadata values under `prefix` as hyper-parameters: `True`/`False` flags, `a,b` pairs, numbers.
func hyperparameters(_ meta: [String: String], prefix: String = "") -> Hyperparameters {
    var skip: Set<String> = ["optimizer", "base_optimizer", "init1", "skipped_steps_p1", "torch_version", "aten_cpu_capability"]
    if meta["base_optimizer"] != nil { skip.formUnion(["rho", "k", "alpha", "norm_epsilon", "lookahead_step", "sync_steps"]) }
    var result = Hyperparameters()
    for (key, text) in meta.sorted(by: { $0.key < $1.key }) where key.hasPrefix(prefix) {
        let name = String(key.dropFirst(prefix.count))
        if prefix.isEmpty && (key.hasPrefix("group1.") || skip.contains(key)) { continue }
        if text == "True" || text == "False" {
            result[name] = .flag(text == "True")
        } else if text.contains(",") {
            let parts = text.split(separator: ",").map { Double($0)! }
            result[name] = .pair(parts[0], parts[1])
        } else {
            result[name] = .number(Double(text)!)
        }
    }
    return result
}

/// The optimizer the fixture metadata names (`optimizer`, or `base_optimizer` of a wrapper), with
/// every resolved hyper-parameter it records.
func makeToolboxOptimizer<Scalar: TensorScalar>(_ meta: [String: String], _ groups: [ParameterGroup<Scalar>]) throws -> any Optimizer<Scalar> {
    let options = hyperparameters(meta)
    func build<O: RegistrableOptimizer>(_ type: O.Type) throws -> any Optimizer<Scalar> where O.Scalar == Scalar {
        try O(groups, options: try O.Options().applying(options, optimizer: O.displayName, group: 0))
    }
    switch meta["base_optimizer"] ?? meta["optimizer"] {
    case "Adadelta": return try build(Adadelta<Scalar>.self)
    case "Adamax": return try build(Adamax<Scalar>.self)
    case "NAdam": return try build(NAdam<Scalar>.self)
    case "RAdam": return try build(RAdam<Scalar>.self)
    case "Lion": return try build(Lion<Scalar>.self)
    case "LAMB": return try build(LAMB<Scalar>.self)
    case "SGD": return try build(SGD<Scalar>.self)
    case "Adam": return try build(Adam<Scalar>.self)
    default: throw NablaError(.invalidArgument, "unknown optimizer \(meta["optimizer"] ?? "nil")")
    }
}

/// A JSON fixture of the toolbox family as a dictionary.
func jsonFixture(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: Fixtures.root.appendingPathComponent("toolbox/\(name)"))
    return try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}
