import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// The optimizer registry and its lingua franca: typed options encode to PyTorch's keys, the
/// built-ins are registered with torch's defaults, and an optimizer defined in this test target
/// (``SignumTest``) becomes selectable by name with one registration line.
final class OptimizerRegistryTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        OptimizerRegistry.register(SignumTest<Float>.self)
    }

    func testBuiltInsAreRegisteredWithTorchKeysAndDefaults() throws {
        XCTAssertEqual(Array(OptimizerRegistry.names.prefix(5)), ["sgd", "adagrad", "rmsprop", "adam", "adamw"])
        // The keys are the param_groups keys the state dict has always had.
        let keys: [String: Set<String>] = [
            "sgd": ["lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize"],
            "adagrad": ["lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps", "maximize"],
            "rmsprop": ["lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize"],
            "adam": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"],
            "adamw": ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"],
        ]
        for (name, expected) in keys {
            XCTAssertEqual(Set(try OptimizerRegistry.registration(named: name).keys), expected, name)
        }
        let rates = try ["sgd", "adagrad", "rmsprop", "adam", "adamw"].map { try OptimizerRegistry.registration(named: $0).defaultLearningRate }
        XCTAssertEqual(rates, [1e-3, 1e-2, 1e-2, 1e-3, 1e-3])
        XCTAssertEqual(try OptimizerRegistry.registration(named: "adamw").defaults["weight_decay"], .number(0.01))
        XCTAssertEqual(try OptimizerRegistry.registration(named: "adam").defaults["betas"], .pair(0.9, 0.999))
        XCTAssertEqual(try OptimizerRegistry.registration(named: "AdamW").displayName, "AdamW", "lookups ignore case")
        assertNablaError(try OptimizerRegistry.registration(named: "lbfgs"),
                         "unknown optimizer 'lbfgs' (known: sgd, adagrad, rmsprop, adam, adamw", kind: .invalidArgument)
    }

    func testOptionsEncodeToPyTorchKeysAndDecodeBack() throws {
        let options = Adam<Float>.Options(learningRate: 0.01, betas: (0.8, 0.9), amsgrad: true)
        let hyperparameters = options.hyperparameters
        XCTAssertEqual(hyperparameters.keys, ["lr", "betas", "eps", "weight_decay", "amsgrad", "maximize", "decoupled_weight_decay"])
        XCTAssertEqual(hyperparameters["betas"], .pair(0.8, 0.9))
        XCTAssertEqual(hyperparameters["amsgrad"], .flag(true))
        XCTAssertEqual(try hyperparameters.decode(Adam<Float>.Options.self, context: "Adam"), options)
        // A resolved group: constructor options overridden by the group's keys, in PyTorch's terms.
        let resolved = try SGD<Float>.Options(learningRate: 0.1, momentum: 0.9)
            .applying(["momentum": 0.5, "nesterov": true], optimizer: "SGD", group: 2)
        XCTAssertEqual(resolved, SGD<Float>.Options(learningRate: 0.1, momentum: 0.5, nesterov: true))
        assertNablaError(try SGD<Float>.Options().applying(["nesterov": 0.5], optimizer: "SGD", group: 1),
                         "SGD option 'nesterov' must be a flag (true or false), got 0.5 (parameter group 1)")
        assertNablaError(try SGD<Float>.Options().applying(["nesterov": true], optimizer: "SGD", group: 0),
                         "Nesterov momentum requires a momentum")
        // Hyper-parameters as JSON, the form of configuration files.
        let json = try JSONEncoder().encode(["lr": 0.1, "nesterov": true, "betas": .pair(0.9, 0.99)] as Hyperparameters)
        let decoded = try JSONDecoder().decode(Hyperparameters.self, from: json)
        XCTAssertEqual(decoded, ["betas": .pair(0.9, 0.99), "nesterov": true, "lr": 0.1], "equality ignores key order")
        XCTAssertEqual(decoded.description, "betas=(0.9, 0.99), lr=0.1, nesterov=True")
    }

    func testAKeyTheOptimizerDoesNotReadNamesTheKeysItReads() throws {
        let registration = try OptimizerRegistry.registration(named: "sgd")
        let p = Variable(Tensor<Float>([1]), requiresGradient: true)
        assertNablaError(try registration.make([ParameterGroup([p])], hyperparameters: ["betas": .pair(0.9, 0.99)]),
                         "optimizer sgd has no hyper-parameter 'betas' (sgd reads lr, momentum, dampening, weight_decay, nesterov, maximize)")
        assertNablaError(try registration.make([ParameterGroup([p])], hyperparameters: ["lr": -1]), "Invalid learning rate: -1.0")
        let adamW = try make("adamw", [p], [:])
        XCTAssertEqual(adamW.stateDict()["param_groups.0.weight_decay"], Tensor(0.01))
    }

    func make(_ name: String, _ parameters: [Variable<Float>], _ hyperparameters: Hyperparameters) throws -> any Optimizer<Float> {
        try OptimizerRegistry.registration(named: name).make([ParameterGroup(parameters)], hyperparameters: hyperparameters)
    }

    /// SignumTest, defined in this test target and registered in `setUp`, is built by name like any
    /// built-in, takes the right first steps, keeps PyTorch-shaped state and trains a model.
    func testAnOptimizerDefinedOutsideNablaIsBuiltByNameAndTrains() throws {
        XCTAssertTrue(OptimizerRegistry.names.contains("signum-test"))
        OptimizerRegistry.register(SignumTest<Float>.self)   // registering again is harmless
        XCTAssertEqual(OptimizerRegistry.names.filter { $0 == "signum-test" }.count, 1)

        let p = Variable(Tensor<Float>([1, -2]), requiresGradient: true)
        let lion = try make("SIGNUM-test", [p], ["lr": 0.1, "weight_decay": 0.5])
        XCTAssertTrue(lion is SignumTest<Float>)
        p.grad = Tensor([0.5, -0.25])
        lion.step()
        // θ·(1 − 0.1·0.5) − 0.1·sign(0.1·g): [0.95 − 0.1, −1.9 + 0.1]
        assertClose(p.value, Tensor([0.85, -1.8]), relative: 1e-6)
        let dict = lion.stateDict()
        XCTAssertEqual(Set(dict.keys), ["state.0.exp_avg", "param_groups.0.lr", "param_groups.0.betas",
                                        "param_groups.0.weight_decay", "param_groups.0.params"])
        XCTAssertEqual(dict["param_groups.0.betas"], Tensor([0.9, 0.99]))
        assertClose(dict["state.0.exp_avg"]!, Tensor([0.005, -0.0025]), relative: 1e-6)
        let restored = try make("signum-test", [Variable(Tensor<Float>([0, 0]), requiresGradient: true)], [:])
        try restored.loadStateDict(dict)
        XCTAssertEqual(restored.stateDict(), dict)
        assertNablaError(try make("signum-test", [p], ["momentum": 0.9]),
                         "optimizer signum-test has no hyper-parameter 'momentum' (signum-test reads lr, betas, weight_decay)")

        // A small regression, full batch: the loss falls.
        var generator = RandomGenerator(seed: 3)
        let model = Sequential<Float>(Linear(2, 8, using: &generator), Tanh(), Linear(8, 1, using: &generator))
        let x = Tensor<Float>(normal: [64, 2], mean: 0, standardDeviation: 1, using: &generator)
        let y = Tensor<Float>(shape: [64, 1], scalars: (0..<64).map { x.scalars[2 * $0] - 0.5 * x.scalars[2 * $0 + 1] })
        let optimizer = try make("signum-test", model.parameters, ["lr": 0.01])
        var losses: [Float] = []
        for _ in 0..<200 {
            optimizer.zeroGrad()
            let loss = meanSquaredError(model(Variable(x)), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.value.scalar)
        }
        XCTAssertLessThan(losses.last!, 0.1 * losses.first!, "\(losses.first!) → \(losses.last!)")
    }
}
