import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// Each optimizer trains the same small MLP regression (3 → 8 tanh → 1, MSE, full batch, 60 steps)
/// through Nabla's layers and autograd, and its loss curve must be PyTorch's curve for *that*
/// optimizer — a helper that silently trained with another optimizer (mlx-swift's shadowing bug)
/// would land on another optimizer's curve and fail.
final class OptimizerConvergenceTests: XCTestCase {
    static let steps = 60

    func makeOptimizer(_ name: String, _ parameters: [Variable<Double>]) throws -> any Optimizer<Double> {
        switch name {
        case "sgd": return try SGD(parameters, learningRate: 0.1)
        case "momentum": return try SGD(parameters, learningRate: 0.05, momentum: 0.9, weightDecay: 1e-3)
        case "nesterov": return try SGD(parameters, learningRate: 0.05, momentum: 0.9, nesterov: true)
        case "adagrad": return try Adagrad(parameters, learningRate: 0.1)
        case "rmsprop": return try RMSprop(parameters, learningRate: 0.01)
        case "adam": return try Adam(parameters, learningRate: 0.02)
        case "adamw": return try AdamW(parameters, learningRate: 0.02, weightDecay: 0.05)
        default: throw NablaError(.invalidArgument, "unknown optimizer \(name)")
        }
    }

    static let names = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"]

    /// Trains from the fixture's initial weights; returns the loss before each step and after the last.
    func train(_ name: String, fixture: SafeTensorsFile) throws -> [Double] {
        var generator = RandomGenerator(seed: 0)
        let model = Sequential<Double>(Linear(3, 8, using: &generator), Tanh(), Linear(8, 1, using: &generator))
        var weights: [String: Tensor<Double>] = [:]
        for key in model.stateKeys { weights[key] = fixture.tensor("init." + key, as: Double.self) }
        try model.loadStateDict(weights)
        let x = Variable(fixture.tensor("x", as: Double.self)), y = fixture.tensor("y", as: Double.self)
        let optimizer = try makeOptimizer(name, model.parameters)
        var losses: [Double] = []
        for _ in 0..<Self.steps {
            optimizer.zeroGrad()
            let loss = meanSquaredError(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.value.scalar)
        }
        losses.append(meanSquaredError(model(x), y).value.scalar)
        return losses
    }

    func testEachOptimizerFollowsItsOwnPyTorchLossCurve() throws {
        let fixture = try Fixtures.load("optimizers", "regression")
        for name in Self.names {
            let losses = try train(name, fixture: fixture)
            let expected = fixture.tensor("loss_" + name, as: Double.self)
            assertClose(Tensor(losses), expected, relative: 1e-8, absolute: 1e-12, name)
            XCTAssertLessThan(losses.last!, 0.2 * losses.first!, "\(name) did not reduce the loss")
        }
    }

    /// The final losses differ between optimizers by far more than the tolerance, so matching
    /// the curve identifies the optimizer.
    func testFinalLossesIdentifyTheOptimizer() throws {
        let fixture = try Fixtures.load("optimizers", "regression")
        let finals = Self.names.map { fixture.tensor("loss_" + $0, as: Double.self).scalars.last! }
        for i in finals.indices {
            for j in finals.indices where j > i {
                XCTAssertGreaterThan(abs(finals[i] - finals[j]), 1e-4 * finals[i], "\(Self.names[i]) vs \(Self.names[j])")
            }
        }
        // And a curve checked against the wrong optimizer's reference fails.
        let adam = try train("adam", fixture: fixture)
        let adamW = fixture.tensor("loss_adamw", as: Double.self).scalars
        XCTAssertGreaterThan(abs(adam.last! - adamW.last!), 1e-6)
    }
}
