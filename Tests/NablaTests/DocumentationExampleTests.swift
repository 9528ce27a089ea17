import Foundation
import XCTest
import Nabla
import NablaTestSupport

// The Swift samples of the DocC articles in Sources/Nabla/Nabla.docc, verbatim between the
// `// Article:` markers (plus the assertions the articles leave out), so the documentation cannot
// drift from the API. Keep each sample and its article in step.

// Article: WritingALayer.md, "The operation: one tape node".

/// PReLU with one learned slope: `y = x` for `x > 0`, else `a·x` (PyTorch `F.prelu`).
/// Backward: `∂x = ∂y` for `x > 0`, else `a·∂y`; `∂a = Σ_{x ≤ 0} x·∂y`.
/// - Precondition: `slope` has shape `[1]`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func prelu<Scalar: TensorScalar>(_ x: Variable<Scalar>, slope: Variable<Scalar>) -> Variable<Scalar> {
    precondition(slope.shape == [1], "prelu: slope of shape \(slope.shape), expected [1]")
    let input = x.value, a = slope.value.scalars[0]
    let output = input.map { $0 > 0 ? $0 : a * $0 }
    return Variable(output, inputs: [x, slope]) { g in
        if x.requiresGradient { x.accumulate(input.zipWith(g) { $0 > 0 ? $1 : a * $1 }) }
        if slope.requiresGradient { slope.accumulate(Tensor([input.zipWith(g) { $0 > 0 ? 0 : $0 * $1 }.sum()])) }
    }
}

// Article: WritingALayer.md, "The layer: a module that owns the parameters".

/// PReLU with one learned slope (PyTorch `nn.PReLU()`): state `weight`, shape `[1]`, initially 0.25.
public final class PReLU<Scalar: TensorScalar>: Module<Scalar> {
    /// The slope `a` of the negative part, shape `[1]`.
    public let weight: Variable<Scalar>

    /// A PReLU whose slope starts at `initial` (PyTorch's `init`, default 0.25).
    public init(initial: Scalar = 0.25) {
        weight = Variable(Tensor([initial]), requiresGradient: true)
        super.init()
        registerParameter("weight", weight)
    }

    /// `y = x` for `x > 0`, else `a·x`; see `prelu(_:slope:)`.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { prelu(input, slope: weight) }

    /// PyTorch's `PReLU.extra_repr`.
    public override var configurationDescription: String { "num_parameters=1" }
}

// Article: WritingAnOptimizer.md, "State and update".

/// Adadelta (Zeiler, 2012), PyTorch's `torch.optim.Adadelta` (`_single_tensor_adadelta`):
/// `v ← ρv + (1 − ρ)g²`, `Δ = √(u + ε)/√(v + ε)·g`, `u ← ρu + (1 − ρ)Δ²`, `θ ← θ − γΔ`, with coupled
/// weight decay `g ← g + λθ`. Defaults: `lr` 1, `rho` 0.9, `eps` 1e-6, `weight_decay` 0.
/// State: `step`, `square_avg` (v), `acc_delta` (u).
public final class MyAdadelta<Scalar: TensorScalar>: PerParameterOptimizer {
    public static var name: String { "my-adadelta" }
    public static var displayName: String { "Adadelta" }
    public static var summary: String { "a per-coordinate step from the ratio of two running RMS (Zeiler, 2012)" }

    public struct Options: OptimizerOptions {
        public var learningRate = 1.0
        public var rho = 0.9
        public var epsilon = 1e-6
        public var weightDecay = 0.0
        public var maximize = false

        enum CodingKeys: String, CodingKey {
            case learningRate = "lr", rho, epsilon = "eps", weightDecay = "weight_decay", maximize
        }

        public init() {}

        public func validate(group: Int) throws {
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
            guard rho >= 0 && rho <= 1 else {
                throw NablaError(.invalidArgument, "Invalid rho value: \(rho)\(HyperparameterCheck.location(group))")
            }
            try HyperparameterCheck.nonNegative(epsilon, "Invalid epsilon value", group: group)
            try HyperparameterCheck.nonNegative(weightDecay, "Invalid weight_decay value", group: group)
        }
    }

    public struct State: OptimizerState {
        var step = 0
        var squareAverage: [Scalar]
        var accumulatedDelta: [Scalar]

        public func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("step", Tensor(Double(step))),
             ("square_avg", Tensor(shape: shape, scalars: squareAverage.map(Double.init))),
             ("acc_delta", Tensor(shape: shape, scalars: accumulatedDelta.map(Double.init)))]
        }
    }

    public let core: OptimizerCore<Options, State>

    public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }

    public static func makeState(count: Int, options: Options) -> State {
        State(squareAverage: Array(repeating: 0, count: count), accumulatedDelta: Array(repeating: 0, count: count))
    }

    public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(step: try reader.step(), squareAverage: try reader.buffer("square_avg"),
              accumulatedDelta: try reader.buffer("acc_delta"))
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func update(_ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
                              state: inout State, options: Options) {
        state.step += 1
        let rate = Scalar(options.learningRate), rho = Scalar(options.rho), eps = Scalar(options.epsilon)
        let decay = Scalar(options.weightDecay), sign: Scalar = options.maximize ? -1 : 1
        for i in 0..<parameter.count {
            var g = sign * gradient[i]
            if decay != 0 { g += decay * parameter[i] }
            let v = rho * state.squareAverage[i] + (1 - rho) * g * g
            let delta = (state.accumulatedDelta[i] + eps).squareRoot() / (v + eps).squareRoot() * g
            state.squareAverage[i] = v
            state.accumulatedDelta[i] = rho * state.accumulatedDelta[i] + (1 - rho) * delta * delta
            parameter[i] -= rate * delta
        }
    }
}

final class DocumentationExampleTests: XCTestCase {
    func testUsingNablaAsALibrary() throws {
        // Article: UsingNablaAsALibrary.md, "A minimal training loop".
        let (train, test) = try DatasetSource.parse("synthetic:spirals").load(seed: 0)
        var generator = RandomGenerator(seed: 0)
        let hidden = Linear<Float>(2, 64, using: &generator)
        let output = Linear<Float>(64, 3, using: &generator)
        let model = Sequential<Float>(hidden, ReLU(), output)
        let optimizer = try SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        let loader = DataLoader(dataset: train, batchSize: 32, seed: 0)

        for epoch in 0..<20 {
            model.train()
            for batch in loader.epoch(epoch) {
                guard case .classes(let labels, _) = batch.targets else { continue }
                optimizer.zeroGrad()
                let loss = crossEntropy(logits: model(Variable(batch.inputs)), labels: labels)
                loss.backward()
                optimizer.step()
            }
        }

        model.eval()
        var measured: Double?
        if let test, case .classes(let truth, _) = test.targets {
            let predicted = model(test.inputs).argmax(alongAxis: 1)
            let accuracy = Double(zip(predicted, truth).filter { $0 == $1 }.count) / Double(truth.count)
            print("test accuracy:", accuracy)
            measured = accuracy
        }
        // The article stops here; the test checks that the loop really learns.
        XCTAssertGreaterThan(try XCTUnwrap(measured), 0.8)
    }

    func testWritingALayerRegistry() throws {
        if LayerRegistry.factories["prelu"] == nil {  // once per process: a second registration traps
            // Article: WritingALayer.md, "The layer registry: model files".
            LayerRegistry.register(LayerFactory("PReLU") { arguments, shape, _ in
                let initial = try arguments.double("init", default: 0.25)
                return (PReLU<Float>(initial: Float(initial)), shape)
            })
        }

        let description = try ModelDescription.parse("""
            layers:
              - Linear: {in_features: 2, out_features: 16}
              - PReLU: {init: 0.1}
              - Linear: {in_features: 16, out_features: 3}
            """, name: "prelu-net")
        var generator = RandomGenerator(seed: 0)
        let built = try description.build(inputShape: [2], using: &generator)
        print(built.summary)

        XCTAssertEqual(built.outputShape, [3])
        XCTAssertEqual(built.model.stateDict()["1.weight"]?.scalars, [0.1])
        XCTAssertEqual(built.layers[1].description, "PReLU(num_parameters=1)")
        XCTAssertThrowsError(try ModelDescription.parse("layers:\n  - PReLU: {int: 0.1}\n", name: "typo")
            .build(inputShape: [2], using: &generator))
    }

    func testWritingALayerGradientCheck() {
        // Article: WritingALayer.md, "A gradient check in Double".
        let check = GradientCheckCase.module("PReLU", input: [4, 5], kinkMargin: 0.05) { _ in PReLU<Double>() }
        let result = check.run()
        assert(result.maxRelativeError < GradientCheckSuite.threshold)

        var generator = RandomGenerator(seed: 1)
        let x = Tensor<Double>(normal: [3, 4], using: &generator)
        let opResult = checkGradients(at: [x, Tensor([0.25])]) { prelu($0[0], slope: $0[1]) }
        assert(opResult.maxRelativeError < GradientCheckSuite.threshold)
        // `assert` is compiled out of release test builds; the test asserts again.
        XCTAssertLessThan(result.maxRelativeError, GradientCheckSuite.threshold)
        XCTAssertLessThan(opResult.maxRelativeError, GradientCheckSuite.threshold)
    }

    func testWritingALayerGoldenValues() throws {
        // Article: WritingALayer.md, "Golden values from PyTorch".
        let fixture = try Fixtures.load("foundation", "leaky_relu")
        let x = Variable(fixture.tensor("x", as: Double.self), requiresGradient: true)
        let y = prelu(x, slope: Variable(Tensor([0.2])))
        assertClose(y.value, fixture.tensor("y"), relative: 1e-10, absolute: 1e-12)
        y.backward(seed: fixture.tensor("g"))
        assertClose(x.grad!, fixture.tensor("grad_x"), relative: 1e-10, absolute: 1e-12)
    }

    func testTheCheckpointFormat() throws {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("nabla-doc-checkpoint-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (train, _) = try DatasetSource.parse("synthetic:spirals?n=20").load(seed: 0)
        var generator = RandomGenerator(seed: 0)
        let model = Sequential<Float>(Linear(2, 8, using: &generator), BatchNorm1d(8), ReLU(),
                                      Dropout(0.1, using: &generator), Linear(8, 3, using: &generator))
        let optimizer = try Adam(model.parameters, learningRate: 0.01)
        var configuration = TrainerConfiguration()
        configuration.epochs = 2
        configuration.quiet = true
        configuration.checkpointDirectory = directory
        let trainer = try Trainer(model: model, optimizer: optimizer,
                                  trainLoader: DataLoader(dataset: train, batchSize: 16, seed: 0, prefetchDepth: 0),
                                  configuration: configuration)
        _ = try trainer.fit()

        // Article: TheCheckpointFormat.md, "Reading a checkpoint".
        let checkpoint = try Checkpoint.read(from: directory.appendingPathComponent("checkpoint.safetensors"))
        print("epochs completed:", checkpoint.progress.epoch, "steps:", checkpoint.progress.globalStep)
        for key in checkpoint.model.keys.sorted() { print("model.\(key)", checkpoint.model[key]!.shape) }
        for key in checkpoint.optimizer.keys.sorted() { print("optimizer.\(key)", checkpoint.optimizer[key]!.shape) }

        // What the article's tables say the file holds.
        XCTAssertEqual(checkpoint.progress.epoch, 2)
        let file = try SafeTensorsFile.read(from: directory.appendingPathComponent("checkpoint.safetensors"))
        XCTAssertEqual(file.metadata["nabla.format"], "1")
        XCTAssertEqual(Set(file.metadata.keys), ["nabla.format", "nabla.progress", "nabla.generators", "nabla.configuration"])
        XCTAssertEqual(file.tensors["model.1.num_batches_tracked"]?.dtype, .i64)
        XCTAssertEqual(file.tensors["model.0.weight"]?.dtype, .f32)
        XCTAssertEqual(file.tensors["optimizer.param_groups.0.params"]?.doubleValues, [0, 1, 2, 3, 4, 5])
        XCTAssertEqual(file.tensors["optimizer.state.0.exp_avg"]?.shape, [8, 2])
        XCTAssertEqual(file.tensors["optimizer.state.0.step"]?.shape, [])
        XCTAssertEqual(file.tensors["optimizer.param_groups.0.betas"]?.shape, [2])
        XCTAssertTrue(file.tensors.keys.allSatisfy { $0.hasPrefix("model.") || $0.hasPrefix("optimizer.") })
        let generators = try JSONSerialization.jsonObject(with: Data(file.metadata["nabla.generators"]!.utf8)) as? [String: [String]]
        XCTAssertEqual(generators?.keys.sorted(), ["3"])
        XCTAssertEqual(generators?["3"]?.count, 4)
        let progress = try JSONSerialization.jsonObject(with: Data(file.metadata["nabla.progress"]!.utf8)) as? [String: Any]
        XCTAssertEqual(Set(progress?.keys.map { $0 } ?? []), ["epoch", "stepInEpoch", "globalStep", "history", "epochsWithoutImprovement", "firstLoss"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path))
    }
    func testWritingAnOptimizerUse() throws {
        var generator = RandomGenerator(seed: 0)
        let model = Sequential<Float>(Linear(3, 2, using: &generator))

        // Article: WritingAnOptimizer.md, "Use it".
        let adadelta = try MyAdadelta<Float>([ParameterGroup(model.parameters)], options: .init())

        OptimizerRegistry.register(MyAdadelta<Float>.self)
        let byName = try OptimizerSpecification(name: "my-adadelta", hyperparameters: ["lr": 0.5]).make(for: model)

        XCTAssertEqual(adadelta.learningRate, 1)
        XCTAssertEqual(byName.learningRate, 0.5)
        XCTAssertEqual(try OptimizerRegistry.registration(named: "my-adadelta").keys, ["lr", "rho", "eps", "weight_decay", "maximize"])
        for parameter in model.parameters { parameter.grad = Tensor(ones: parameter.shape) }
        byName.step()
        let keys = Set(byName.stateDict().keys)
        XCTAssertEqual(keys, ["state.0.step", "state.0.square_avg", "state.0.acc_delta",
                              "state.1.step", "state.1.square_avg", "state.1.acc_delta",
                              "param_groups.0.lr", "param_groups.0.rho", "param_groups.0.eps",
                              "param_groups.0.weight_decay", "param_groups.0.maximize", "param_groups.0.params"])
        XCTAssertThrowsError(try MyAdadelta<Float>([ParameterGroup(model.parameters)], options: { var o = MyAdadelta<Float>.Options(); o.rho = 1.5; return o }())) {
            XCTAssertEqual(($0 as? NablaError)?.message, "Invalid rho value: 1.5")
        }
    }

    func testWritingAnOptimizerUpdateRuleAndCheckpoint() throws {
        // The article's update rule, step by step, on f(θ) = θ² from θ = 1 (g = 2θ), in Double.
        let theta = Variable(Tensor<Double>([1]), requiresGradient: true)
        var options = MyAdadelta<Double>.Options()
        options.weightDecay = 0.1
        let optimizer = try MyAdadelta<Double>([ParameterGroup([theta])], options: options)
        var (expected, v, u) = (1.0, 0.0, 0.0)
        let (rho, eps, lambda) = (0.9, 1e-6, 0.1)
        for _ in 0..<3 {
            theta.grad = Tensor([2 * theta.value.scalars[0]])
            optimizer.step()
            let g = 2 * expected + lambda * expected
            v = rho * v + (1 - rho) * g * g
            let delta = (u + eps).squareRoot() / (v + eps).squareRoot() * g
            u = rho * u + (1 - rho) * delta * delta
            expected -= delta
            XCTAssertEqual(theta.value.scalars[0], expected, accuracy: 1e-15)
        }
        // A checkpoint round trip: the restored optimizer takes the same next step.
        let twin = Variable(theta.value, requiresGradient: true)
        let restored = try MyAdadelta<Double>([ParameterGroup([twin])], options: options)
        try restored.loadStateDict(optimizer.stateDict())
        theta.grad = Tensor([0.3])
        twin.grad = Tensor([0.3])
        optimizer.step()
        restored.step()
        XCTAssertEqual(twin.value.scalars, theta.value.scalars)
        XCTAssertEqual(restored.stateDict(), optimizer.stateDict())
    }
}
