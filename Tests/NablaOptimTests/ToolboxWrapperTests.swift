import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaOptim
import NablaTestSupport

/// SAM and Lookahead around torch's SGD and Adam against the golden trajectories of
/// Scripts/fixtures/gen_toolbox.py: with and without weight decay, two parameter groups, skipped
/// gradients, the perturbed weights and gradient norms (SAM), the slow weights (Lookahead), and a
/// state-dict round trip.
final class ToolboxWrapperTests: XCTestCase {
    func testSAMMatchesTheReferenceStepForStep() throws {
        let objective = try QuadraticObjective<Double>()
        let names = toolboxTrajectoryNames(["sam"])
        XCTAssertEqual(names.count, 6)
        for name in names {
            let fixture = try Fixtures.load("toolbox", name)
            let parameters = initialParameters(Double.self, fixture)
            let base = try makeToolboxOptimizer(fixture.metadata, groups(parameters, fixture.metadata))
            let sam = try SharpnessAwareMinimization(base, rho: try XCTUnwrap(fixture.number("rho")))
            let mask = fixture.tensor("grad_mask", as: Double.self), norms = fixture.tensor("grad_norm", as: Double.self)
            let perturbed = [fixture.tensor("perturbed0", as: Double.self), fixture.tensor("perturbed1", as: Double.self)]
            for t in 0..<10 {
                objective.setGradients(parameters, step: t, mask: mask)
                try sam.step {
                    for k in 0..<2 where mask.scalars[2 * t + k] != 0 {
                        assertClose(parameters[k].value, slice(perturbed[k], t), relative: 1e-9, absolute: 1e-12, "\(name): perturbed \(k), step \(t)")
                    }
                    // Like a trainer's backward pass, the closure sets every gradient; SAM drops
                    // the ones that had none in the first pass.
                    objective.setGradients(parameters, step: t, mask: nil)
                }
                XCTAssertEqual(sam.lastGradientNorm, norms.scalars[t], accuracy: 1e-12 * norms.scalars[t], "\(name): norm, step \(t)")
                for k in 0..<2 {
                    assertClose(parameters[k].value, slice(fixture.tensor("trajectory\(k)", as: Double.self), t + 1),
                                relative: 1e-9, absolute: 1e-12, "\(name): parameter \(k) after step \(t + 1)")
                }
            }
            let state = sam.stateDict()
            for key in fixture.tensors.keys where key.hasPrefix("state.") {
                assertClose(try XCTUnwrap(state[key], "\(name): \(key)"), fixture.tensor(key, as: Double.self), relative: 1e-9, absolute: 1e-12)
            }
            XCTAssertEqual(state["param_groups.0.rho"], Tensor(fixture.number("rho")!))
        }
    }

    func testLookaheadMatchesTheReferenceIncludingSlowWeights() throws {
        let objective = try QuadraticObjective<Double>()
        let names = toolboxTrajectoryNames(["lookahead"])
        XCTAssertEqual(names.count, 6)
        for name in names {
            let fixture = try Fixtures.load("toolbox", name)
            let parameters = initialParameters(Double.self, fixture)
            let base = try makeToolboxOptimizer(fixture.metadata, groups(parameters, fixture.metadata))
            let lookahead = try Lookahead(base, syncPeriod: Int(fixture.number("k")!), alpha: fixture.number("alpha")!)
            let mask = fixture.tensor("grad_mask", as: Double.self)
            for t in 0..<10 {
                objective.setGradients(parameters, step: t, mask: mask)
                lookahead.step()
                for k in 0..<2 {
                    assertClose(parameters[k].value, slice(fixture.tensor("trajectory\(k)", as: Double.self), t + 1),
                                relative: 1e-9, absolute: 1e-12, "\(name): parameter \(k) after step \(t + 1)")
                    let slow = Tensor(shape: parameters[k].value.shape, scalars: lookahead.slowWeights[k])
                    assertClose(slow, slice(fixture.tensor("slow_trajectory\(k)", as: Double.self), t + 1),
                                relative: 1e-9, absolute: 1e-12, "\(name): slow \(k) after step \(t + 1)")
                }
            }
            let state = lookahead.stateDict()
            XCTAssertEqual(Set(state.keys.filter { $0.hasPrefix("state.") }), Set(fixture.tensors.keys.filter { $0.hasPrefix("state.") }), name)
            for key in fixture.tensors.keys where key.hasPrefix("state.") {
                assertClose(state[key]!, fixture.tensor(key, as: Double.self), relative: 1e-9, absolute: 1e-12, "\(name): \(key)")
            }
            XCTAssertEqual(state["param_groups.0.lookahead_step"], Tensor(fixture.number("lookahead_step")!))
        }
    }

    /// Both wrappers save their own state beside the base optimizer's and continue exactly after a
    /// round trip; a state dict of the plain base optimizer is rejected.
    func testWrapperStateRoundTripsAndIsRequired() throws {
        let objective = try QuadraticObjective<Double>()
        let fixture = try Fixtures.load("toolbox", "traj_lookahead_adam_groups")
        func run(_ wrap: (any Optimizer<Double>) throws -> any Optimizer<Double>) throws {
            let parameters = initialParameters(Double.self, fixture)
            let first = try wrap(try makeToolboxOptimizer(fixture.metadata, groups(parameters, fixture.metadata)))
            func step(_ optimizer: any Optimizer<Double>, _ params: [Variable<Double>], _ t: Int) throws {
                objective.setGradients(params, step: t, mask: nil)
                if let sam = optimizer as? any ClosureOptimizer<Double> {
                    try sam.step { objective.setGradients(params, step: t, mask: nil) }
                } else {
                    optimizer.step()
                }
            }
            for t in 0..<4 { try step(first, parameters, t) }
            let copies = parameters.map { Variable($0.value, requiresGradient: true) }
            let second = try wrap(try makeToolboxOptimizer(fixture.metadata, groups(copies, fixture.metadata)))
            try second.loadStateDict(first.stateDict())
            XCTAssertEqual(second.stateDict(), first.stateDict())
            for t in 4..<10 {
                try step(first, parameters, t)
                try step(second, copies, t)
            }
            XCTAssertEqual(copies.map(\.value), parameters.map(\.value))
            let bare = try makeToolboxOptimizer(fixture.metadata, groups(copies, fixture.metadata))
            XCTAssertThrowsError(try second.loadStateDict(bare.stateDict()))
        }
        try run { try Lookahead($0, syncPeriod: 3, alpha: 0.5) }
        try run { try SharpnessAwareMinimization($0, rho: 0.1) }
        try run { try SharpnessAwareMinimization(try Lookahead($0, syncPeriod: 3, alpha: 0.8), rho: 0.05) }
    }

    func testWrapperValidationMessages() throws {
        let p = Variable(Tensor<Double>([1, 2]), requiresGradient: true)
        let sgd = try SGD([p], learningRate: 0.1)
        assertNablaError(try SharpnessAwareMinimization(sgd, rho: -0.1), "Invalid rho, should be non-negative: -0.1")
        assertNablaError(try Lookahead(sgd, syncPeriod: 0, alpha: 0.5), "Invalid lookahead steps: 0")
        assertNablaError(try Lookahead(sgd, syncPeriod: 5, alpha: 1.5), "Invalid slow update rate: 1.5")
        // The wrappers forward learning rates and hyper-parameters to the base optimizer.
        let wrapped = try SharpnessAwareMinimization(try Lookahead(sgd, syncPeriod: 2), rho: 0.05)
        wrapped.learningRate = 0.5
        try wrapped.setHyperparameter("momentum", to: .number(0.9), group: 0)
        XCTAssertEqual(sgd.learningRate, 0.5)
        XCTAssertEqual(sgd.groupOptions[0].momentum, 0.9)
        assertNablaError(try wrapped.setHyperparameter("betas", to: .pair(0.9, 0.99), group: 0), "SGD has no option 'betas'")
    }
}
