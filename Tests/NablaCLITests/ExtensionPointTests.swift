import XCTest
import Nabla
import NablaTestSupport

// An optimizer, a schedule and a dataset defined outside Nabla — each one type (or form) plus one
// registration line — selected by name exactly as `nabla train` selects the built-ins.

/// Signum: SGD on the sign of a momentum (Bernstein et al., "signSGD", ICML 2018):
/// `m ← μ·m + (1 − μ)·g;  θ ← θ − γ·sign(m)`. Defaults `lr` 1e-3, `momentum` 0. State: `momentum_buffer`.
final class Signum<Scalar: TensorScalar>: PerParameterOptimizer {
    static var name: String { "signum" }
    static var displayName: String { "Signum" }
    static var summary: String { "SGD on the sign of a momentum (Bernstein et al., ICML 2018)" }

    struct Options: OptimizerOptions {
        var learningRate = 1e-3
        var momentum = 0.0
        enum CodingKeys: String, CodingKey { case learningRate = "lr", momentum }
        init() {}
        func validate(group: Int) throws {
            try HyperparameterCheck.nonNegative(learningRate, "Invalid learning rate", group: group)
            try HyperparameterCheck.beta(momentum, index: 0, group: group)
        }
    }

    struct State: OptimizerState {
        var momentumBuffer: [Scalar]
        func entries(shape: [Int]) -> [(name: String, value: Tensor<Double>)] {
            [("momentum_buffer", Tensor(shape: shape, scalars: momentumBuffer.map(Double.init)))]
        }
    }

    let core: OptimizerCore<Options, State>
    init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
        core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
    }
    static func makeState(count: Int, options: Options) -> State { State(momentumBuffer: Array(repeating: 0, count: count)) }
    static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State {
        State(momentumBuffer: try reader.buffer("momentum_buffer"))
    }
    static func update(_ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
                       state: inout State, options: Options) {
        let mu = Scalar(options.momentum), rate = Scalar(options.learningRate)
        for i in 0..<parameter.count {
            let m = mu * state.momentumBuffer[i] + (1 - mu) * gradient[i]
            state.momentumBuffer[i] = m
            parameter[i] = parameter[i] - rate * (m > 0 ? 1 : (m < 0 ? -1 : 0))
        }
    }
}

/// lr × 0.5 every `every` epochs, from the schedule's base learning rate.
final class HalvingSchedule: EpochSchedule {
    let every: Int
    init(_ optimizer: any Optimizer, every: Int) {
        self.every = every
        super.init(optimizer)
    }
    override func nextLearningRates() -> [Double] {
        lastEpoch > 0 && lastEpoch % every == 0 ? currentLearningRates.map { $0 / 2 } : currentLearningRates
    }
    override func closedFormLearningRates() -> [Double] {
        baseLearningRates.map { $0 * pow(0.5, Double(lastEpoch / every)) }
    }
}

final class ExtensionPointTests: XCTestCase {
    override class func setUp() {
        super.setUp()
        OptimizerRegistry.register(Signum<Float>.self)
        ScheduleRegistry.register(ScheduleKind("halfstep", grammar: "halfstep:EVERY", summary: "lr × 0.5 every EVERY epochs") { fields in
            try fields.allow(atMost: 2)
            let every = try fields.positiveInteger(1, "EVERY")
            return ParsedSchedule(length: every) { HalvingSchedule($0, every: every) }
        })
        // `halfplane:N`: N points uniform in [−1, 1]², labelled by x₀ + x₁ > 0, and N/4 test points.
        DatasetRegistry.register(DatasetForm(.scheme("halfplane"), grammar: "halfplane:N",
                                             summary: "N points in [−1, 1]² labelled by x₀ + x₁ > 0") { spec in
            guard let count = Int(spec.body), count >= 4 else {
                throw NablaError(.invalidArgument, "--data \(spec.spec): N must be an integer ≥ 4")
            }
            return .custom(CustomDataset(spec: spec.spec) { seed in
                var generator = RandomGenerator(seed: seed)
                func split(_ n: Int, _ name: String) -> Dataset {
                    let x = (0..<2 * n).map { _ in Float(2 * generator.nextUnit() - 1) }
                    let labels = (0..<n).map { x[2 * $0] + x[2 * $0 + 1] > 0 ? 1 : 0 }
                    return Dataset(name: name, inputs: Tensor(shape: [n, 2], scalars: x), targets: .classes(labels, classCount: 2))
                }
                return (split(count, "halfplane/train"), split(count / 4, "halfplane/test"))
            })
        })
    }

    /// Data, optimizer and schedule by spec, as `TrainCommand.run` builds them, then the Trainer.
    func testRegisteredOptimizerScheduleAndDatasetTrainByName() throws {
        let (train, test) = try DatasetSource.parse("halfplane:512").load(seed: 7)
        let description = try XCTUnwrap(BuiltinModels.description("fcnet:16", inputShape: train.sampleShape, outputCount: 2, options: .init()))
        var generator = RandomGenerator(seed: 7)
        let model = try description.build(inputShape: train.sampleShape, using: &generator).model

        let specification = OptimizerSpecification(name: "Signum", hyperparameters: ["lr": 0.05, "momentum": 0.9])
        let optimizer = try specification.make(for: model)
        XCTAssertTrue(optimizer is Signum<Float>)
        let schedule = try ScheduleSpecification(parsing: "warmup:2+halfstep:2").make(for: optimizer)
        XCTAssertTrue(schedule is SequentialLR)

        var configuration = TrainerConfiguration()
        configuration.epochs = 6
        configuration.quiet = true
        let trainer = try Trainer(model: model, optimizer: optimizer, schedule: schedule,
                                  trainLoader: DataLoader(dataset: train, batchSize: 32, seed: 7), test: test,
                                  configuration: configuration)
        let result = try trainer.fit()
        let rates = result.epochs.map(\.learningRate)
        for (rate, expected) in zip(rates, [0.005, 0.0275, 0.05, 0.05, 0.025, 0.025]) { XCTAssertEqual(rate, expected, accuracy: 1e-9) }
        XCTAssertLessThan(result.epochs.last!.trainLoss, 0.5 * result.epochs.first!.trainLoss)
        XCTAssertGreaterThan(try XCTUnwrap(result.epochs.last?.testAccuracy), 0.9)
        XCTAssertNotNil(optimizer.stateDict()["state.0.momentum_buffer"])

        // What a study writes to repeat the run, and the flags `nabla train --help` lists for it.
        XCTAssertEqual(specification.commandLineArguments, ["--optimizer", "Signum", "--lr", "0.05", "--momentum", "0.9"])
        XCTAssertEqual(OptimizerFlag.flags(of: try OptimizerRegistry.registration(named: "signum")).map(\.flag), ["lr", "momentum"])
        XCTAssertEqual(specification.description, "Signum(lr=0.05, momentum=0.9)")
    }

    /// The same one-line errors as the built-ins'.
    func testRegisteredExtensionsReportErrorsLikeTheBuiltIns() throws {
        var generator = RandomGenerator(seed: 0)
        let model = Sequential<Float>(Linear(2, 2, using: &generator))
        XCTAssertThrowsError(try OptimizerSpecification(name: "signum", hyperparameters: ["betas": .pair(0.9, 0.99)]).make(for: model)) {
            XCTAssertEqual(($0 as? NablaError)?.message, "optimizer signum has no hyper-parameter 'betas' (signum reads lr, momentum)")
        }
        XCTAssertThrowsError(try OptimizerSpecification(name: "signum", hyperparameters: ["momentum": 1.5]).make(for: model)) {
            XCTAssertEqual(($0 as? NablaError)?.message, "Invalid beta parameter at index 0: 1.5")
        }
        XCTAssertThrowsError(try ScheduleSpecification(parsing: "halfstep:0")) {
            XCTAssertEqual(($0 as? NablaError)?.message, "--schedule halfstep:0: EVERY must be a positive integer")
        }
        XCTAssertThrowsError(try ScheduleSpecification(parsing: "plateau+halfstep:2")) {
            XCTAssertEqual(($0 as? NablaError)?.message, "--schedule plateau+halfstep:2: plateau cannot be combined with '+'")
        }
        XCTAssertThrowsError(try ScheduleSpecification(parsing: "nope:1")) {
            let message = ($0 as? NablaError)?.message ?? ""
            XCTAssertTrue(message.hasPrefix("--schedule nope:1: unknown schedule 'nope' (expected step, multistep, exp, cosine, warmup, plateau, "), message)
            XCTAssertTrue(message.contains("halfstep"), message)
        }
        XCTAssertThrowsError(try DatasetSource.parse("halfplane:2")) {
            XCTAssertEqual(($0 as? NablaError)?.message, "--data halfplane:2: N must be an integer ≥ 4")
        }
        XCTAssertThrowsError(try DatasetSource.parse("imagenet")) {
            XCTAssertTrue(($0 as? NablaError)?.message.contains("synthetic:line|spirals|blobs[?key=value&...], ") ?? false)
            XCTAssertTrue(($0 as? NablaError)?.message.contains("halfplane:N") ?? false)
        }
    }
}
