import XCTest
@testable import NablaTensor
@testable import NablaTraining
import NablaTestSupport

/// The HParams summaries: their protobuf bytes, and TensorBoard's own HParams backend reading an
/// experiment with sessions (Scripts/check_tensorboard_hparams.py, when a Python with `tensorboard`
/// is available).
final class TensorBoardHParamsTests: XCTestCase {
    func testSessionStartIsThePluginDataProtoTensorBoardExpects() {
        let value = HParamsPlugin.sessionStart(hparams: [("lr", .number(0.5)), ("opt", .string("sgd")), ("bn", .bool(true))],
                                               groupName: "g", startTime: 2)
        guard case .pluginData(let tag, let plugin, let content) = value else { return XCTFail("\(value)") }
        XCTAssertEqual(tag, "_hparams_/session_start_info")
        XCTAssertEqual(plugin, "hparams")
        // HParamsPluginData { session_start_info (3) { hparams (1): map entries {key (1), value (2): Value} …, group_name (4), start_time_secs (5) } }
        let lr: [UInt8] = [0x0A, 0x0F, 0x0A, 0x02] + Array("lr".utf8) + [0x12, 0x09, 0x11] + [0, 0, 0, 0, 0, 0, 0xE0, 0x3F]
        let opt: [UInt8] = [0x0A, 0x0C, 0x0A, 0x03] + Array("opt".utf8) + [0x12, 0x05, 0x1A, 0x03] + Array("sgd".utf8)
        let bn: [UInt8] = [0x0A, 0x08, 0x0A, 0x02] + Array("bn".utf8) + [0x12, 0x02, 0x20, 0x01]
        let info = lr + opt + bn + [0x22, 0x01, UInt8(ascii: "g"), 0x29, 0, 0, 0, 0, 0, 0, 0, 0x40]
        XCTAssertEqual(content, [0x1A, UInt8(info.count)] + info)
        let event = TensorBoardEvent(wallTime: 0, step: 0, payload: .summary([value])).encoded
        // Summary.Value { tag (1), metadata (9) { plugin_data (1) { plugin_name (1), content (2) } } }, no value.
        XCTAssertTrue(event.contains(0x4A), "metadata field 9 (wire type 2) is written")
    }

    func testRealTensorBoardListsTheExperimentAndItsSessions() throws {
        guard let python = TensorBoardPython.find() else {
            throw XCTSkip("NOTICE: no Python with the `tensorboard` package; the HParams round trip is skipped")
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-hparams-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let experiment = HParamsExperiment(
            hparams: [.init(name: "variant", example: .string(""), values: [.string("baseline"), .string("dropout")]),
                      .init(name: "lr", example: .number(0)), .init(name: "seed", example: .number(0))],
            metrics: [.init(tag: "final/test_accuracy", datasetType: 2)])
        let top = try SummaryWriter(logDirectory: root)
        try top.addHParamsExperiment(experiment)
        try top.close()
        for (variant, seed, accuracy) in [("baseline", 0, 0.81), ("baseline", 1, 0.83), ("dropout", 0, 0.85)] {
            let writer = try SummaryWriter(logDirectory: root.appendingPathComponent("\(variant)/seed-\(seed)"))
            try writer.addScalar("loss/train", value: 1, step: 1)
            try writer.addHParams([("variant", .string(variant)), ("lr", .number(0.05)), ("seed", .number(Double(seed)))],
                                  metrics: [("final/test_accuracy", accuracy)], step: 10, groupName: variant,
                                  status: variant == "dropout" ? .failure : .success)
            try writer.close()
        }
        let script = TensorBoardPython.script.deletingLastPathComponent().appendingPathComponent("check_tensorboard_hparams.py")
        let output = try TensorBoardPython.run(python, arguments: [script.path, root.path])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        let exp = try XCTUnwrap(json["experiment"] as? [String: Any])
        let names = try XCTUnwrap(exp["hparams"] as? [[String: String]]).map { $0["name"]! }
        XCTAssertEqual(Set(names), ["variant", "lr", "seed"])
        XCTAssertEqual(exp["metrics"] as? [String], ["final/test_accuracy"])
        let sessions = try XCTUnwrap(json["sessions"] as? [[String: Any]])
        XCTAssertEqual(sessions.count, 3)
        let dropout = try XCTUnwrap(sessions.first { ($0["hparams"] as? [String: Any])?["variant"] as? String == "dropout" })
        XCTAssertEqual(dropout["status"] as? String, "STATUS_FAILURE")
        XCTAssertEqual((dropout["metrics"] as? [String: Double])?["final/test_accuracy"] ?? 0, 0.85, accuracy: 1e-6)
        XCTAssertEqual((dropout["hparams"] as? [String: Any])?["lr"] as? Double, 0.05)
        XCTAssertEqual(Set(sessions.compactMap { $0["group"] as? String }), ["baseline", "dropout"])
    }
}
