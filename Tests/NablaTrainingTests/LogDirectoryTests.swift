import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// A run never writes into another run's logs, and per-step scalars land on the global-step axis.
final class LogDirectoryTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-logs-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func touch(_ url: URL) throws {
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data().write(to: url)
    }

    func testARunIntoUsedLogsGetsAFreshSubdirectory() throws {
        let logs = directory.appendingPathComponent("logs")
        XCTAssertEqual(try LogDirectory.resolve(logs, identity: "a", resuming: false, overwrite: false), logs, "empty: used as is")
        try touch(logs.appendingPathComponent("events.out.tfevents.1.host"))
        XCTAssertEqual(try LogDirectory.resolve(logs, identity: "b", resuming: false, overwrite: false).lastPathComponent, "run-2")
        try touch(logs.appendingPathComponent("run-2/metrics.csv"))
        XCTAssertEqual(try LogDirectory.resolve(logs, identity: "c", resuming: false, overwrite: false).lastPathComponent, "run-3")
        // The same run, not resumed, is a new run too.
        try touch(logs.appendingPathComponent("run-3/metrics.jsonl"))
        XCTAssertEqual(try LogDirectory.resolve(logs, identity: "c", resuming: false, overwrite: false).lastPathComponent, "run-4")
        // A resumed run finds its own logs, wherever they went.
        XCTAssertEqual(try LogDirectory.resolve(logs, identity: "b", resuming: true, overwrite: false).lastPathComponent, "run-2")
        XCTAssertEqual(try LogDirectory.resolve(logs, identity: "a", resuming: true, overwrite: false), logs)
        // A resumed run whose logs are nowhere starts fresh logs (run-4 holds none yet).
        XCTAssertEqual(try LogDirectory.resolve(logs, identity: "z", resuming: true, overwrite: false).lastPathComponent, "run-4")
    }

    func testOverwriteDeletesOnlyTheOldLogs() throws {
        let logs = directory.appendingPathComponent("logs")
        for name in ["events.out.tfevents.1.host", "events.out.tfevents.2.host.steps", "metrics.csv", "metrics.jsonl", "notes.txt"] {
            try touch(logs.appendingPathComponent(name))
        }
        try touch(logs.appendingPathComponent("run-2/metrics.csv"))
        XCTAssertEqual(try LogDirectory.resolve(logs, identity: "new", resuming: false, overwrite: true), logs)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: logs.path).sorted(), ["notes.txt", "run-2", "run.json"])
        XCTAssertFalse(LogDirectory.holdsLogs(logs))
    }

    /// `StepLogger` writes loss, learning rate, gradient norm and throughput every N steps (at global
    /// steps N, 2N, …), and the gradient norm is the norm of the gradients the step used.
    func testStepLoggerWritesEveryNSteps() throws {
        let (train, _) = try DatasetSource.parse("synthetic:spirals?n=20").load(seed: 1)
        var generator = RandomGenerator(seed: 2)
        let model = try XCTUnwrap(BuiltinModels.description("fcnet:8", inputShape: [2], outputCount: 3)).build(inputShape: [2], using: &generator).model
        var configuration = TrainerConfiguration()
        configuration.epochs = 3
        configuration.quiet = true
        let trainer = try Trainer(model: model, optimizer: try SGD(model.parameters, learningRate: 0.1),
                                  trainLoader: DataLoader(dataset: train, batchSize: 16, seed: 0), configuration: configuration)
        let logger = try StepLogger(directory: directory, every: 2)
        final class Norms: TrainingCallback {
            let name = "norms"
            var norms: [Int: Double] = [:]
            func gradientsDidCompute(_ trainer: Trainer) throws {
                let sum = trainer.model.parameters.compactMap(\.grad).reduce(0.0) { $0 + $1.scalars.reduce(0.0) { $0 + Double($1) * Double($1) } }
                norms[trainer.progress.globalStep + 1] = sum.squareRoot()
            }
        }
        let norms = Norms()
        trainer.callbacks = [norms, logger]
        _ = try trainer.fit()       // 60 samples in batches of 16: 4 steps per epoch, 12 in all
        let file = try XCTUnwrap(FileManager.default.contentsOfDirectory(atPath: directory.path).first { $0.hasSuffix(".steps") })
        let records = try TFRecord.records(contentsOf: directory.appendingPathComponent(file))
        func count(_ tag: String) -> Int { records.filter { String(decoding: $0, as: UTF8.self).contains(tag) }.count }
        for tag in ["step/loss", "step/learning_rate", "step/gradient_norm", "step/samples_per_second"] {
            XCTAssertEqual(count(tag), 6, tag)
        }
        // Each scalar event carries its value as a float32: find step 4's gradient norm among them.
        let bits = Float(norms.norms[4]!).bitPattern
        let encoded = withUnsafeBytes(of: bits.littleEndian) { Array($0) }
        let found = records.contains { record in
            record.count >= 4 && (0...(record.count - 4)).contains { Array(record[$0..<($0 + 4)]) == encoded }
        }
        XCTAssertTrue(found, "the gradient norm of step 4 is logged")
    }
}
