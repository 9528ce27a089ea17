import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// Records the hooks it sees and counts steps; the count is its checkpoint state.
final class RecordingCallback: TrainingCallback {
    let name: String
    var events: [String] = []
    var steps = 0
    var stopAfterSteps: Int?

    init(name: String = "recorder", stopAfterSteps: Int? = nil) {
        self.name = name
        self.stopAfterSteps = stopAfterSteps
    }

    func trainingWillBegin(_ trainer: Trainer) throws { events.append("begin") }
    func batchWillBegin(_ trainer: Trainer, batch: Batch) throws { events.append("batch") }
    func gradientsDidCompute(_ trainer: Trainer) throws {
        events.append("gradients")
        XCTAssertTrue(trainer.model.parameters.allSatisfy { $0.grad != nil }, "gradients are there when the hook runs")
    }
    func stepDidEnd(_ trainer: Trainer, loss: Double) throws {
        events.append("step")
        steps += 1
        if let stopAfterSteps, trainer.progress.globalStep == stopAfterSteps { trainer.requestStop(reason: "asked to stop") }
    }
    func epochDidEnd(_ trainer: Trainer, report: EpochReport) throws { events.append("epoch") }
    func trainingDidEnd(_ trainer: Trainer, result: TrainingResult) throws { events.append("end") }
    func checkpointState() -> [String: Tensor<Double>] { ["steps": Tensor(Double(steps))] }
    func restore(checkpointState: [String: Tensor<Double>]) throws {
        guard let steps = checkpointState["steps"]?.scalars.first else { throw NablaError(.missingKey, "recorder: no steps") }
        self.steps = Int(steps)
    }
}

final class TrainingCallbackTests: XCTestCase {
    func plan(directory: URL? = nil) -> TrainingPlan {
        var plan = TrainingPlan(model: .init(name: "fcnet:8"), data: .init(spec: "synthetic:spirals?n=20"))
        plan.optimizer = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 0.1, "momentum": 0.9])
        plan.epochs = 2
        plan.batchSize = 20
        plan.output.quiet = true
        plan.output.checkpointDirectory = directory?.path
        return plan
    }

    func testHooksRunInOrderAroundEveryStep() throws {
        let session = try plan().prepare()
        let recorder = RecordingCallback()
        session.trainer.callbacks = [recorder]
        _ = try session.trainer.fit()
        let perStep = ["batch", "gradients", "step"]
        let epoch = Array(repeating: perStep, count: 3).flatMap { $0 } + ["epoch"]      // 60 samples, batches of 20
        XCTAssertEqual(recorder.events, ["begin"] + epoch + epoch + ["end"])
    }

    /// A stop requested mid-epoch checkpoints where it stopped; resuming (with the callback's state)
    /// ends with the weights of a run that never stopped.
    func testAStopRequestCheckpointsAndResumesExactly() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-callback-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let reference = try plan().prepare()
        _ = try reference.trainer.fit()

        let first = try plan(directory: directory).prepare()
        first.trainer.callbacks = [RecordingCallback(stopAfterSteps: 4)]
        let stopped = try first.trainer.fit()
        XCTAssertEqual(stopped.stopReason, "asked to stop")
        XCTAssertEqual(first.trainer.progress.globalStep, 4)

        let second = try plan(directory: directory).prepare()
        let recorder = RecordingCallback()
        second.trainer.callbacks = [recorder]
        try second.trainer.resume(from: second.trainer.checkpointURL!)
        XCTAssertEqual(recorder.steps, 4, "the callback's state came back from the checkpoint")
        _ = try second.trainer.fit()
        XCTAssertEqual(recorder.steps, 6)
        XCTAssertEqual(second.model.stateDict(), reference.model.stateDict())

        // A checkpoint with a callback's state cannot be resumed by a run without that callback.
        let third = try plan(directory: directory).prepare()
        assertNablaError(try third.trainer.resume(from: third.trainer.checkpointURL!), "'recorder'")
    }
}
