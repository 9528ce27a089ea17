import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaOptim
@testable import NablaTraining

/// HParams session records: bytes equal to the `tensorboard` package's own protobuf classes', and a
/// plan's settings as the hyper-parameters of `nabla train --logdir` runs.
final class HParamsLoggerTests: XCTestCase {
    static func bytes(hex: String) -> [UInt8] {
        var result: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            result.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return result
    }

    /// Expected: `Event(wall_time=1.5, step=1, summary=Summary(value=[Summary.Value(tag=…, metadata=
    /// SummaryMetadata(plugin_data=PluginData(plugin_name="hparams", content=HParamsPluginData(
    /// session_start_info=ssi).SerializeToString())))])).SerializeToString()` with one hyper-parameter
    /// of each kind (protobuf maps have no defined order, so one entry per record).
    func testRecordsMatchTensorBoardsProtobufClasses() {
        let golden: [(String, HParamValue, String)] = [
            ("lr", .number(0.1), "09000000000000f83f10012a4b0a490a1c5f68706172616d735f2f73657373696f6e5f73746172745f696e666f4a290a270a0768706172616d73121c1a1a0a0f0a026c721209119a9999999999b93f29000000000000f83f"),
            ("model", .string("lenet-bn"), "09000000000000f83f10012a4f0a4d0a1c5f68706172616d735f2f73657373696f6e5f73746172745f696e666f4a2d0a2b0a0768706172616d7312201a1e0a130a056d6f64656c120a1a086c656e65742d626e29000000000000f83f"),
            ("nesterov", .bool(true), "09000000000000f83f10012a4a0a480a1c5f68706172616d735f2f73657373696f6e5f73746172745f696e666f4a280a260a0768706172616d73121b1a190a0e0a086e65737465726f761202200129000000000000f83f"),
        ]
        for (key, value, hex) in golden {
            let event = TensorBoardEvent(wallTime: 1.5, step: 1, payload: .summary([HParamsPlugin.sessionStart(hparams: [(key, value)], groupName: nil, startTime: 1.5)]))
            XCTAssertEqual(event.encoded, Self.bytes(hex: hex), key)
        }
        // SessionEndInfo(status=STATUS_SUCCESS, end_time_secs=2.0) at step 7.
        let end = TensorBoardEvent(wallTime: 2, step: 7, payload: .summary([HParamsPlugin.sessionEnd(status: .success, endTime: 2)]))
        XCTAssertEqual(end.encoded, Self.bytes(hex: "09000000000000004010072a3a0a380a1a5f68706172616d735f2f73657373696f6e5f656e645f696e666f4a1a0a180a0768706172616d73120d220b0801110000000000000040"))
    }

    func testAPlansSettingsAreItsHyperparameters() {
        var plan = TrainingPlan(model: .init(name: "fcnet:32"), data: .init(spec: "synthetic:spirals"))
        plan.optimizer = OptimizerSpecification(name: "sgd", hyperparameters: ["lr": 0.1, "momentum": 0.9, "nesterov": true])
        plan.augmentation = "flip"
        plan.output.logDirectory = "runs/a"
        plan.output.save = "w.safetensors"
        plan.output.checkpointDirectory = "ckpt"
        let hparams = Dictionary(uniqueKeysWithValues: plan.tensorBoardHyperparameters.map { ($0.name, $0.value) })
        XCTAssertEqual(hparams["model"], .string("fcnet:32"))
        XCTAssertEqual(hparams["data"], .string("synthetic:spirals"))
        XCTAssertEqual(hparams["optimizer"], .string("sgd"))
        XCTAssertEqual(hparams["lr"], .number(0.1))
        XCTAssertEqual(hparams["momentum"], .number(0.9))
        XCTAssertEqual(hparams["nesterov"], .bool(true))
        XCTAssertEqual(hparams["augment"], .string("flip"))
        XCTAssertEqual(hparams["seed"], .number(0))
        for output in ["logdir", "save", "checkpoint-dir"] { XCTAssertNil(hparams[output], output) }
    }

    func testARunThatLogsWritesItsHyperparameters() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-hparams-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var plan = TrainingPlan(model: .init(name: "fcnet:8"), data: .init(spec: "synthetic:spirals?n=60"))
        plan.epochs = 1
        plan.output.quiet = true
        plan.output.logDirectory = directory.path
        let trainer = try plan.prepare().trainer
        XCTAssertFalse(trainer.callbacks.contains { $0 is HParamsLogger }, "nabla train adds it; the studies write their own sessions")
        trainer.callbacks.append(HParamsLogger(directory: directory, hyperparameters: plan.tensorBoardHyperparameters))
        _ = try trainer.fit()
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".hparams") }
        XCTAssertEqual(files.count, 1, "\(files)")
        let data = try Data(contentsOf: directory.appendingPathComponent(files[0]))
        for tag in [HParamsPlugin.sessionStartTag, HParamsPlugin.sessionEndTag, "fcnet:8"] {
            XCTAssertNotNil(data.range(of: Data(tag.utf8)), "\(tag) not in the .hparams event file")
        }
        // TensorBoard itself reads them back (where a Python with `tensorboard` is found).
        guard let python = TensorBoardPython.find() else { throw XCTSkip("NOTICE: no Python with `tensorboard`") }
        let report = try TensorBoardPython.run(python, arguments: [TensorBoardPython.script.path, directory.path])
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: Any])
        let hparams = try XCTUnwrap(json["hparams"] as? [String: Any], report)
        XCTAssertEqual(hparams["model"] as? String, "fcnet:8")
        XCTAssertEqual(hparams["epochs"] as? Double, 1)
        XCTAssertEqual(json["hparams_status"] as? String, "STATUS_SUCCESS")
    }
}
