import XCTest
@testable import NablaTensor
@testable import NablaData
@testable import NablaTraining

/// A finite loss that explodes stops the run with advice (unless allowed); ordinary training never trips it.
final class DivergenceGuardTests: XCTestCase {
    func session(_ model: String, _ data: String, lr: Double, epochs: Int = 5, loss: String = "cross-entropy",
                 optimizer: String = "sgd", allow: Bool = false) throws -> TrainingSession {
        var plan = TrainingPlan(model: .init(name: model), data: .init(spec: data))
        plan.optimizer = OptimizerSpecification(name: optimizer, hyperparameters: ["lr": .number(lr)])
        plan.loss = loss
        plan.epochs = epochs
        plan.batchSize = 32
        plan.allowDivergence = allow
        plan.output.quiet = true
        return try plan.prepare()
    }

    func testAnExplodingFiniteLossStopsWithAdvice() throws {
        for (model, data, lr) in [("fcnet:32", "synthetic:spirals", 100.0), ("fcnet:16,16", "synthetic:blobs", 50.0)] {
            let trainer = try session(model, data, lr: lr).trainer
            XCTAssertThrowsError(try trainer.fit(), "\(model) at lr \(lr)") { error in
                XCTAssertEqual((error as? NablaError)?.kind, .nonFinite)
                let message = "\(error)"
                for fragment in ["training diverged at epoch ", "smoothed training loss", "over 4× its starting value",
                                 "--lr", "--clip-norm", "--allow-divergence"] {
                    XCTAssertTrue(message.contains(fragment), "\(fragment) not in: \(message)")
                }
                XCTAssertFalse(message.contains("\n"))
            }
            XCTAssertLessThan(trainer.progress.globalStep, 5 * trainer.trainLoader.batchCount, "stopped before the budget")
            XCTAssertNoThrow(try session(model, data, lr: lr, allow: true).trainer.fit(), "--allow-divergence trains on")
        }
    }

    func testOrdinaryTrainingIsNeverStopped() throws {
        let cases: [(String, String, Double, String, String)] = [
            ("fcnet:32", "synthetic:spirals", 0.1, "cross-entropy", "sgd"), ("fcnet:32", "synthetic:spirals", 0.01, "cross-entropy", "adam"),
            ("fcnet:16,16", "synthetic:blobs", 1.0, "cross-entropy", "adadelta"), ("line-mlp", "synthetic:line", 0.05, "mse", "sgd"),
            ("line-mlp", "synthetic:line", 0.001, "mse", "rmsprop"), ("fcnet:32", "synthetic:spirals", 1e-4, "cross-entropy", "lion"),
        ]
        for (model, data, lr, loss, optimizer) in cases {
            XCTAssertNoThrow(try session(model, data, lr: lr, epochs: 20, loss: loss, optimizer: optimizer).trainer.fit(),
                             "\(model) on \(data) with \(optimizer) at lr \(lr)")
        }
    }

    /// The rule itself, on loss sequences: reference = the first loss, smoothed with β = 0.9 (bias-corrected).
    func testTheRule() throws {
        let trainer = try session("fcnet:8", "synthetic:spirals", lr: 0.1).trainer
        func trips(_ losses: [Double]) -> Int? {
            let guardian = DivergenceGuard()
            for (i, loss) in losses.enumerated() {
                do { try guardian.stepDidEnd(trainer, loss: loss) } catch { return i + 1 }
            }
            return nil
        }
        XCTAssertNil(trips([1] + Array(repeating: 3.9, count: 200)), "below 4× forever")
        XCTAssertEqual(trips([1, 10]), 2, "(0.09·1 + 0.1·10) / 0.19 = 5.7 > 4")
        XCTAssertEqual(trips([1, 5, 5, 5]), 4, "smoothed 3.1, 3.8, then 4.15 > 4")
        XCTAssertNil(trips([2.3, 2.0, 1.5, 1.0, 0.5, 0.1, 0.01, 0.2, 0.3]), "a falling loss with noise")
        XCTAssertNil(trips([0, 5, 50, 500]), "a reference of 0 disables the check")
        XCTAssertEqual(trips([1, 1, 1, 1, 1, 50]), 6, "a sudden spike: smoothed 11.5 at step 6")
    }

    func testItsStateSurvivesACheckpoint() throws {
        let trainer = try session("fcnet:8", "synthetic:spirals", lr: 0.1).trainer
        let first = DivergenceGuard()
        for loss in [2.0, 1.5, 1.2] { try first.stepDidEnd(trainer, loss: loss) }
        let second = DivergenceGuard()
        try second.restore(checkpointState: first.checkpointState())
        XCTAssertEqual(second.steps, 3)
        XCTAssertEqual(second.reference, 2.0)
        XCTAssertEqual(second.smoothedLoss, first.smoothedLoss)
        XCTAssertNoThrow(try DivergenceGuard().restore(checkpointState: [:]), "a checkpoint written without the guard")
        XCTAssertThrowsError(try DivergenceGuard().restore(checkpointState: ["steps": Tensor(1.5), "warmup_sum": Tensor(1.0), "average": Tensor(1.0)]))
        XCTAssertThrowsError(try DivergenceGuard().restore(checkpointState: ["steps": Tensor(1.0)]))
        XCTAssertTrue(trainer.callbacks.contains { $0 is DivergenceGuard }, "a plan adds the guard")
        XCTAssertFalse(try session("fcnet:8", "synthetic:spirals", lr: 0.1, allow: true).trainer.callbacks.contains { $0 is DivergenceGuard })
    }
}
