import XCTest
@testable import NablaTensor
@testable import NablaIO
import NablaTestSupport

final class SafeTensorsTests: XCTestCase {
    func testRoundTripKeepsDtypesShapesAndMetadata() throws {
        var file = SafeTensorsFile(metadata: ["format": "pt", "quote\"key": "v\n"])
        file.tensors["w"] = SafeTensor(Tensor<Float>(shape: [2, 3], scalars: [1, -2, 3.5, 4, 5, 6]))
        file.tensors["d"] = SafeTensor(Tensor<Double>([1e-300, -0.0]))
        file.tensors["n"] = SafeTensor(int64: [7, -1], shape: [2])
        file.tensors["empty"] = SafeTensor(Tensor<Float>(zeros: [0, 4]))
        let parsed = try SafeTensorsFile.parse(file.serialized(), name: "mem")
        XCTAssertEqual(parsed, file)
        XCTAssertEqual(parsed.tensors["w"]!.tensor(as: Float.self).scalars, [1, -2, 3.5, 4, 5, 6])
        XCTAssertEqual(parsed.tensors["n"]!.intValues, [7, -1])
        XCTAssertEqual(file.serialized().count % 8, 0)
    }

    /// The fixtures were written by PyTorch's `safetensors.torch.save_file`.
    func testReadsFilesWrittenByPyTorch() throws {
        let f = try Fixtures.load("foundation", "cross_entropy")
        XCTAssertEqual(f.tensors["labels"]?.dtype, .i64)
        XCTAssertEqual(f.tensors["x"]?.dtype, .f64)
        XCTAssertEqual(f.tensors["x"]?.shape, [8, 5])
    }

    func header(_ json: String, data: [UInt8] = []) -> [UInt8] {
        let h = Array(json.utf8)
        var out = [UInt8]()
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { out.append(contentsOf: $0) }
        return out + h + data
    }

    func testMalformedFilesThrowOneLineErrors() {
        let cases: [(String, [UInt8], String)] = [
            ("empty", [], "shorter than the 8-byte header length"),
            ("huge header", [255, 255, 255, 255, 255, 255, 255, 127, 0], "exceeds"),
            ("not json", header("{nope"), "not valid JSON"),
            ("array", header("[1,2]"), "not a JSON object"),
            ("bad dtype", header(#"{"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "unsupported dtype 'Q9'"),
            ("offsets out", header(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}}"#, data: [0, 0, 0, 0]), "outside"),
            ("shape mismatch", header(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "needs 8 bytes"),
            ("negative shape", header(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "invalid shape"),
            ("overflow shape", header(#"{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}"#, data: [0, 0, 0, 0]), "larger than the file"),
            ("overlap", header(#"{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}"#,
                               data: [0, 0, 0]), "overlap"),
            ("missing dtype", header(#"{"a":{"shape":[1],"data_offsets":[0,1]}}"#, data: [0]), "no dtype"),
            ("bad metadata", header(#"{"__metadata__":{"k":1}}"#), "not a string"),
        ]
        for (name, bytes, expected) in cases {
            XCTAssertThrowsError(try SafeTensorsFile.parse(bytes, name: "f.safetensors"), name) { error in
                let message = (error as? NablaError)?.message ?? ""
                XCTAssertTrue(message.hasPrefix("f.safetensors: not a valid safetensors file"), "\(name): \(message)")
                XCTAssertTrue(message.contains(expected), "\(name): \(message)")
                XCTAssertFalse(message.contains("\n"), name)
            }
        }
    }

    func testMissingFileIsAnIOError() {
        XCTAssertThrowsError(try SafeTensorsFile.read(from: URL(fileURLWithPath: "/nonexistent/x.safetensors"))) { error in
            XCTAssertEqual((error as? NablaError)?.message, "/nonexistent/x.safetensors: cannot read file (no such file)")
        }
    }

    func testAtomicWriteReplacesAndFailedWriteKeepsThePreviousFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-atomic-\(UUID().uuidString)")
        defer {
            chmod(dir.path, 0o755)
            try? FileManager.default.removeItem(at: dir)
        }
        let url = dir.appendingPathComponent("a.bin")
        try AtomicFile.write(Data([1, 2, 3]), to: url)
        try AtomicFile.write(Data([4, 5]), to: url)
        XCTAssertEqual(try Data(contentsOf: url), Data([4, 5]))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["a.bin"], "temporary file left behind")
        if getuid() != 0 {   // root ignores directory permissions
            chmod(dir.path, 0o555)
            XCTAssertThrowsError(try AtomicFile.write(Data([9]), to: url))
            XCTAssertEqual(try Data(contentsOf: url), Data([4, 5]))
        }
    }
}
