import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// Optimizer state survives save → load → continue with an identical trajectory, also through a
/// safetensors file, and bad state dictionaries are rejected with one-line errors.
final class OptimizerCheckpointTests: XCTestCase {
    /// For every trajectory configuration: 4 steps, checkpoint, then 6 more steps both in the
    /// original optimizer and in a fresh one restored from the checkpoint — bit-identical.
    func testSaveLoadContinueIsIdenticalForEveryConfiguration() throws {
        let objective = try QuadraticObjective<Double>()
        for name in trajectoryFixtureNames() {
            let fixture = try Fixtures.load("optimizers", name)
            let mask = fixture.tensor("grad_mask", as: Double.self)
            let (original, parameters) = try makeTrajectoryOptimizer(Double.self, fixture: fixture, objective: objective)
            for t in 0..<4 {
                objective.setGradients(parameters, step: t, mask: mask)
                original.step()
            }
            // Through the file format the trainer uses for checkpoints.
            let file = SafeTensorsFile(tensors: original.stateDict().mapValues { SafeTensor($0) })
            let restoredDict = try SafeTensorsFile.parse(file.serialized(), name: name).tensors.mapValues { $0.tensor(as: Double.self) }

            let (resumed, resumedParameters) = try makeTrajectoryOptimizer(Double.self, fixture: fixture, objective: objective)
            for (p, q) in zip(parameters, resumedParameters) { q.value = p.value }
            try resumed.loadStateDict(restoredDict)
            XCTAssertEqual(resumed.stateDict(), original.stateDict(), name)
            for t in 4..<QuadraticObjective<Double>.steps {
                objective.setGradients(parameters, step: t, mask: mask)
                objective.setGradients(resumedParameters, step: t, mask: mask)
                original.step()
                resumed.step()
                for k in 0..<2 {
                    XCTAssertEqual(resumedParameters[k].value, parameters[k].value, "\(name): parameter \(k) after step \(t + 1)")
                }
            }
            // And the continued run is still PyTorch's uninterrupted trajectory.
            for k in 0..<2 {
                assertClose(resumedParameters[k].value, slice(fixture.tensor("trajectory\(k)", as: Double.self), 10),
                            relative: 1e-9, absolute: 1e-12, name)
            }
        }
    }

    /// Without the state, the continued trajectory differs — the round trip test can fail.
    func testDroppingTheStateChangesTheTrajectory() throws {
        let objective = try QuadraticObjective<Double>()
        let fixture = try Fixtures.load("optimizers", "traj_adam_amsgrad_decay")
        let (original, parameters) = try makeTrajectoryOptimizer(Double.self, fixture: fixture, objective: objective)
        for t in 0..<4 { objective.setGradients(parameters, step: t, mask: nil); original.step() }
        let (fresh, freshParameters) = try makeTrajectoryOptimizer(Double.self, fixture: fixture, objective: objective)
        for (p, q) in zip(parameters, freshParameters) { q.value = p.value }
        objective.setGradients(parameters, step: 4, mask: nil)
        objective.setGradients(freshParameters, step: 4, mask: nil)
        original.step(); fresh.step()
        XCTAssertNotEqual(freshParameters[0].value, parameters[0].value)
    }

    func testStateDictLayout() throws {
        let a = Variable(Tensor<Float>(zeros: [2, 3]), requiresGradient: true), b = Variable(Tensor<Float>(zeros: [4]), requiresGradient: true)
        let adam = try Adam([ParameterGroup([a]), ParameterGroup([b], learningRate: 0.01)], learningRate: 0.1, amsgrad: true)
        a.grad = Tensor(repeating: 1, shape: [2, 3])
        adam.step()
        let dict = adam.stateDict()
        XCTAssertEqual(Set(dict.keys), [
            "state.0.step", "state.0.exp_avg", "state.0.exp_avg_sq", "state.0.max_exp_avg_sq",
            "param_groups.0.lr", "param_groups.0.betas", "param_groups.0.eps", "param_groups.0.weight_decay",
            "param_groups.0.amsgrad", "param_groups.0.maximize", "param_groups.0.decoupled_weight_decay", "param_groups.0.params",
            "param_groups.1.lr", "param_groups.1.betas", "param_groups.1.eps", "param_groups.1.weight_decay",
            "param_groups.1.amsgrad", "param_groups.1.maximize", "param_groups.1.decoupled_weight_decay", "param_groups.1.params",
        ])
        XCTAssertEqual(dict["state.0.step"], Tensor(1.0))
        XCTAssertEqual(dict["state.0.exp_avg"]?.shape, [2, 3])
        XCTAssertEqual(dict["param_groups.0.betas"], Tensor([0.9, 0.999]))
        XCTAssertEqual(dict["param_groups.1.lr"], Tensor(0.01))
        XCTAssertEqual(dict["param_groups.0.amsgrad"], Tensor(1.0))
        XCTAssertEqual(dict["param_groups.1.params"], Tensor([1.0]))
    }

    /// Loading restores hyper-parameters too (PyTorch replaces `param_groups` options on load).
    func testLoadingRestoresHyperparameters() throws {
        let p = Variable(Tensor([1.0]), requiresGradient: true)
        let source = try RMSprop([p], learningRate: 0.02, alpha: 0.9, momentum: 0.5)
        let target = try RMSprop([Variable(Tensor([1.0]), requiresGradient: true)], learningRate: 0.5, alpha: 0.9, momentum: 0.5)
        try target.loadStateDict(source.stateDict())
        XCTAssertEqual(target.learningRate, 0.02)
    }

    func testLoadingRejectsBadStateDictionaries() throws {
        let a = Variable(Tensor<Double>(zeros: [3]), requiresGradient: true), b = Variable(Tensor<Double>(zeros: [2]), requiresGradient: true)
        let sgd = try SGD([a, b], learningRate: 0.1, momentum: 0.9)
        a.grad = Tensor([1, 2, 3]); b.grad = Tensor([1, 1])
        sgd.step()
        let good = sgd.stateDict()
        func expect(_ kind: NablaError.Kind, _ fragment: String, _ edit: (inout [String: Tensor<Double>]) -> Void,
                    line: UInt = #line) {
            var dict = good
            edit(&dict)
            XCTAssertThrowsError(try sgd.loadStateDict(dict), line: line) { error in
                let error = error as? NablaError
                XCTAssertEqual(error?.kind, kind, line: line)
                XCTAssertTrue(error?.message.contains(fragment) ?? false, "\(String(describing: error))", line: line)
            }
        }
        expect(.missingKey, "'param_groups.0.momentum'") { $0["param_groups.0.momentum"] = nil }
        expect(.missingKey, "'state.1.momentum_buffer'") { $0["state.1.momentum_buffer"] = nil; $0["state.1.extra"] = Tensor(0.0) }
        expect(.unexpectedKey, "'state.2.momentum_buffer'") { $0["state.2.momentum_buffer"] = Tensor([1.0]) }
        expect(.unexpectedKey, "'param_groups.1.lr'") { $0["param_groups.1.lr"] = Tensor(0.1) }
        expect(.shapeMismatch, "has shape [2], parameter has [3]") { $0["state.0.momentum_buffer"] = Tensor([1.0, 2.0]) }
        expect(.shapeMismatch, "holds parameters [0]") { $0["param_groups.0.params"] = Tensor([0.0]) }
        expect(.invalidArgument, "Invalid learning rate: -1.0") { $0["param_groups.0.lr"] = Tensor(-1.0) }
        expect(.invalidArgument, "expected 0 or 1") { $0["param_groups.0.nesterov"] = Tensor(0.5) }
        // A failed load leaves the optimizer as it was.
        XCTAssertEqual(sgd.stateDict(), good)

        let adam = try Adam([a, b])
        XCTAssertThrowsError(try adam.loadStateDict(good)) { XCTAssertEqual(($0 as? NablaError)?.kind, .missingKey) }
        a.grad = Tensor([1, 2, 3]); adam.step()
        var stepless = adam.stateDict()
        stepless["state.0.step"] = Tensor(-1.0)
        XCTAssertThrowsError(try adam.loadStateDict(stepless)) { XCTAssertEqual(($0 as? NablaError)?.kind, .invalidArgument) }
    }
}
