import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

final class TrainerTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-trainer-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    /// A run with every source of state a resume must restore: shuffling, dropout masks, batch-norm
    /// statistics, momentum buffers, a schedule, augmentation-free data.
    func makeTrainer(epochs: Int = 4, steps: Int? = nil, checkpoint: String, everySteps: Int? = nil) throws -> Trainer {
        let (train, test) = try DatasetSource.parse("synthetic:spirals").load(seed: 3)
        let description = try XCTUnwrap(BuiltinModels.description("fcnet:32,32", inputShape: train.sampleShape, outputCount: 3,
                                                                   options: .init(normalization: "batchnorm", dropout: 0.3)))
        var generator = RandomGenerator(seed: 11)
        let model = try description.build(inputShape: train.sampleShape, using: &generator).model
        let optimizer = try SGD(model.parameters, learningRate: 0.1, momentum: 0.9, weightDecay: 1e-3)
        let schedule = try StepLR(optimizer, stepSize: 2, gamma: 0.5)
        var configuration = TrainerConfiguration()
        configuration.epochs = epochs
        configuration.steps = steps
        configuration.checkpointDirectory = directory.appendingPathComponent(checkpoint)
        configuration.checkpointEverySteps = everySteps
        configuration.quiet = true
        let loader = DataLoader(dataset: train, batchSize: 32, seed: 5)
        return try Trainer(model: model, optimizer: optimizer, schedule: schedule, trainLoader: loader, test: test,
                           configuration: configuration, runIdentity: "spirals")
    }

    func testResumeAtAnEpochBoundaryReproducesTheUninterruptedRun() throws {
        let full = try makeTrainer(checkpoint: "full")
        let reference = try full.fit()
        XCTAssertEqual(reference.epochs.count, 4)

        _ = try makeTrainer(epochs: 2, checkpoint: "split").fit()
        let second = try makeTrainer(epochs: 4, checkpoint: "split")
        try second.resume(from: XCTUnwrap(second.checkpointURL))
        XCTAssertEqual(second.progress.epoch, 2)
        let resumed = try second.fit()
        XCTAssertEqual(resumed.epochs.map(\.epoch), [3, 4])
        XCTAssertEqual(second.model.stateDict(), full.model.stateDict(), "resumed weights differ from the uninterrupted run")
        XCTAssertEqual(second.optimizer.stateDict(), full.optimizer.stateDict())
        XCTAssertEqual(resumed.epochs.last?.trainLoss, reference.epochs.last?.trainLoss)
    }

    func testResumeMidEpochReproducesTheUninterruptedRun() throws {
        let full = try makeTrainer(checkpoint: "full")
        _ = try full.fit()
        // Stop after 7 steps: the spirals set (240 training samples, batch 32) has 8 steps per epoch.
        let first = try makeTrainer(steps: 7, checkpoint: "split")
        _ = try first.fit()
        XCTAssertEqual(first.progress.epoch, 0)
        XCTAssertEqual(first.progress.stepInEpoch, 7)
        let second = try makeTrainer(checkpoint: "split")
        try second.resume(from: XCTUnwrap(second.checkpointURL))
        _ = try second.fit()
        XCTAssertEqual(second.model.stateDict(), full.model.stateDict())
    }

    func testResumeRefusesAnotherConfiguration() throws {
        _ = try makeTrainer(epochs: 1, checkpoint: "a").fit()
        let (train, _) = try DatasetSource.parse("synthetic:spirals").load(seed: 3)
        let model = Sequential<Float>([Linear(2, 3)])
        var configuration = TrainerConfiguration()
        configuration.quiet = true
        let other = try Trainer(model: model, optimizer: try SGD(model.parameters, learningRate: 0.1),
                                trainLoader: DataLoader(dataset: train, batchSize: 32), configuration: configuration,
                                runIdentity: "something else")
        XCTAssertThrowsError(try other.resume(from: directory.appendingPathComponent("a/checkpoint.safetensors"))) {
            XCTAssertTrue("\($0)".contains("different configuration"), "\($0)")
        }
    }

    func testDivergenceStopsBeforeTouchingTheWeightsAndNamesTheStep() throws {
        let (train, _) = try DatasetSource.parse("synthetic:line?n=64").load(seed: 1)
        var generator = RandomGenerator(seed: 2)
        let model = Sequential<Float>([Linear(1, 16, using: &generator), ReLU(), Linear(16, 1, using: &generator)])
        var configuration = TrainerConfiguration()
        configuration.loss = .meanSquaredError
        configuration.quiet = true
        configuration.epochs = 50
        configuration.checkpointDirectory = directory.appendingPathComponent("diverge")
        let trainer = try Trainer(model: model, optimizer: try SGD(model.parameters, learningRate: 1e6),
                                  trainLoader: DataLoader(dataset: train, batchSize: 64, shuffle: false), configuration: configuration)
        XCTAssertThrowsError(try trainer.fit()) { error in
            let message = "\(error)"
            XCTAssertEqual((error as? NablaError)?.kind, .nonFinite)
            XCTAssertTrue(message.hasPrefix("training diverged at epoch "), message)
            XCTAssertTrue(message.contains("the last good checkpoint is"), message)
            XCTAssertFalse(message.contains("\n"))
        }
        XCTAssertTrue(model.parameters.allSatisfy { $0.value.isFinite }, "weights were corrupted by the diverging step")
        // The last checkpoint on disk still loads.
        XCTAssertNoThrow(try Checkpoint.read(from: XCTUnwrap(trainer.checkpointURL)))
    }

    func testSkippingNonFiniteStepsKeepsTraining() throws {
        let (train, _) = try DatasetSource.parse("synthetic:line?n=64").load(seed: 1)
        var generator = RandomGenerator(seed: 2)
        let model = Sequential<Float>([Linear(1, 1, using: &generator)])
        var configuration = TrainerConfiguration()
        configuration.loss = .meanSquaredError
        configuration.quiet = true
        configuration.epochs = 3
        configuration.skipNonFinite = true
        var inputs = train.inputs
        inputs.scalars[0] = .infinity
        let poisoned = Dataset(name: "poisoned", inputs: inputs, targets: train.targets)
        let trainer = try Trainer(model: model, optimizer: try SGD(model.parameters, learningRate: 0.01),
                                  trainLoader: DataLoader(dataset: poisoned, batchSize: 8, shuffle: false), configuration: configuration)
        _ = try trainer.fit()
        XCTAssertEqual(trainer.skippedSteps, 3, "the batch with the infinite input is skipped once per epoch")
        XCTAssertTrue(model.parameters.allSatisfy { $0.value.isFinite })
    }

    func testLogsAreWrittenPerEpoch() throws {
        let trainer = try makeTrainer(epochs: 2, checkpoint: "logs")
        var configuration = trainer.configuration
        configuration.logDirectory = directory.appendingPathComponent("tb")
        let logged = try Trainer(model: trainer.model, optimizer: trainer.optimizer, schedule: trainer.schedule,
                                 trainLoader: trainer.trainLoader, test: trainer.test, configuration: configuration)
        _ = try logged.fit()
        let csv = try String(contentsOf: directory.appendingPathComponent("tb/metrics.csv"), encoding: .utf8)
        let lines = csv.split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].hasPrefix("epoch,step,lr,train_loss,train_accuracy"))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent("tb").path)
        XCTAssertTrue(files.contains { $0.hasPrefix("events.out.tfevents.") }, "\(files)")
        XCTAssertTrue(files.contains("metrics.jsonl"))
    }
}
