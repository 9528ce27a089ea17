import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// TensorBoard event files: protobuf bytes against the real `tensorboard` protobuf classes, TFRecord
/// framing and corruption detection, the default histogram buckets, and — when a Python with
/// `tensorboard` is available — a full round trip through TensorBoard's own `EventAccumulator`.
final class TensorBoardTests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-tb-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    // MARK: Protobuf

    func testVarintsAndKeys() {
        var p = ProtobufEncoder()
        p.appendVarint(1); p.appendVarint(300); p.appendVarint(0)
        XCTAssertEqual(p.bytes, [0x01, 0xAC, 0x02, 0x00])
        var negative = ProtobufEncoder()
        negative.appendInt64(field: 2, -1)
        XCTAssertEqual(negative.bytes, [0x10] + [UInt8](repeating: 0xFF, count: 9) + [0x01])
        var float = ProtobufEncoder()
        float.appendFloat(field: 2, 0.125)
        XCTAssertEqual(float.bytes, [0x15, 0x00, 0x00, 0x00, 0x3E])
        var empty = ProtobufEncoder()
        empty.appendPackedDoubles(field: 6, [])
        XCTAssertEqual(empty.bytes, [])
    }

    /// Expected bytes are `event_pb2.Event(...).SerializeToString()` from the tensorboard package.
    func testEventsEncodeExactlyAsTensorBoardsProtobufClasses() {
        let version = TensorBoardEvent(wallTime: 1.5, step: 3, payload: .fileVersion("brain.Event:2"))
        XCTAssertEqual(hex(version.encoded), "09000000000000f83f10031a0d627261696e2e4576656e743a32")

        let scalar = TensorBoardEvent(wallTime: 1_700_000_000.25, step: -2,
                                      payload: .summary([.scalar(tag: "loss/train", value: 0.125)]))
        XCTAssertEqual(hex(scalar.encoded), "0900001040fc54d94110feffffffffffffffff012a130a110a0a6c6f73732f747261696e150000003e")

        let histogram = TensorBoardHistogram(min: -1, max: 2, count: 3, sum: 1.5, sumOfSquares: 5.25,
                                             bucketLimits: [-0.5, 1e-12, 2.2], bucketCounts: [1, 1, 1])
        let event = TensorBoardEvent(wallTime: 2, step: 7, payload: .summary([.histogram(tag: "w", histogram: histogram)]))
        XCTAssertEqual(hex(event.encoded),
                       "09000000000000004010072a680a660a01772a6109000000000000f0bf1100000000000000401900000000000008"
                       + "4021000000000000f83f2900000000000015403218000000000000e0bf11ea2d819997713d9a999999999901403a"
                       + "18000000000000f03f000000000000f03f000000000000f03f")
    }

    // MARK: TFRecord

    func testRecordFramingLayout() throws {
        let data = Array("hello, tensorboard".utf8)
        let record = TFRecord.frame(data)
        XCTAssertEqual(record.count, 8 + 4 + data.count + 4)
        XCTAssertEqual(Array(record[0..<8]), [UInt8(data.count), 0, 0, 0, 0, 0, 0, 0])
        let lengthCRC = record[8..<12].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        XCTAssertEqual(lengthCRC, CRC32C.masked(CRC32C.checksum(record[0..<8])))
        XCTAssertEqual(Array(record[12..<12 + data.count]), data)
        let dataCRC = record[(12 + data.count)...].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
        XCTAssertEqual(dataCRC, CRC32C.masked(CRC32C.checksum(data)))
        XCTAssertEqual(try TFRecord.records(in: record + TFRecord.frame([]) + TFRecord.frame([1, 2, 3])), [data, [], [1, 2, 3]])
    }

    func testCorruptOrTruncatedRecordsAreRejectedWithTheirPosition() {
        let stream = TFRecord.frame(Array("first".utf8)) + TFRecord.frame(Array("second".utf8))
        var flippedData = stream
        flippedData[stream.count - 6] ^= 0x01
        XCTAssertThrowsError(try TFRecord.records(in: flippedData, source: "x.tfevents")) { error in
            XCTAssertEqual((error as? NablaError)?.kind, .invalidFile)
            XCTAssertEqual((error as? NablaError)?.message, "x.tfevents: record 1 at byte 21 fails its data checksum")
        }
        var flippedLength = stream
        flippedLength[0] ^= 0x04
        XCTAssertThrowsError(try TFRecord.records(in: flippedLength)) { error in
            XCTAssertTrue("\(error)".contains("record 0 at byte 0 fails its length checksum"), "\(error)")
        }
        XCTAssertThrowsError(try TFRecord.records(in: Array(stream.dropLast(2)))) { error in
            XCTAssertTrue("\(error)".contains("record 1"), "\(error)")
        }
    }

    // MARK: Histograms

    func testDefaultBucketLimitsFollowTensorFlow() {
        let limits = TensorBoardHistogram.defaultBucketLimits
        XCTAssertEqual(limits.count, 1551)
        XCTAssertEqual(limits[775], 0)
        XCTAssertEqual(limits[776], 1e-12)
        XCTAssertEqual(limits[777], 1.1e-12, accuracy: 1e-24)
        XCTAssertEqual(limits.last, .greatestFiniteMagnitude)
        XCTAssertEqual(limits.first, -.greatestFiniteMagnitude)
        XCTAssertTrue(zip(limits, limits.dropFirst()).allSatisfy { $0 < $1 })
        XCTAssertEqual(limits[1550 - 1], -limits[1])
    }

    func testHistogramCountsStatisticsAndCollapsedEmptyRuns() {
        let values: [Double] = [0, 0, 1, 1.05, -2, 3.5, .nan, .infinity]
        let h = TensorBoardHistogram(values: values)
        XCTAssertEqual(h.count, 6)
        XCTAssertEqual(h.nonFiniteCount, 2)
        XCTAssertEqual(h.min, -2)
        XCTAssertEqual(h.max, 3.5)
        XCTAssertEqual(h.sum, 3.55, accuracy: 1e-12)
        XCTAssertEqual(h.sumOfSquares, 0 + 0 + 1 + 1.1025 + 4 + 12.25, accuracy: 1e-12)
        XCTAssertEqual(h.bucketCounts.reduce(0, +), 6)
        // Reference: count each value into [limit(i-1), limit(i)) by linear scan, then collapse.
        let limits = TensorBoardHistogram.defaultBucketLimits
        var expected = [Double](repeating: 0, count: limits.count)
        for v in values where v.isFinite { expected[limits.firstIndex(where: { $0 > v })!] += 1 }
        var rebuilt = [Double](repeating: 0, count: limits.count)
        for (limit, count) in zip(h.bucketLimits, h.bucketCounts) { rebuilt[limits.firstIndex(of: limit)!] += count }
        XCTAssertEqual(rebuilt, expected)
        // Runs of empty buckets are collapsed: no two empty buckets are adjacent.
        XCTAssertTrue(zip(h.bucketCounts, h.bucketCounts.dropFirst()).allSatisfy { $0 > 0 || $1 > 0 })
        XCTAssertLessThan(h.bucketLimits.count, 20)
        XCTAssertGreaterThan(h.bucketCounts.first!, 0, "no leading empty bucket")
        XCTAssertGreaterThan(h.bucketCounts.last!, 0, "no trailing empty bucket")
        XCTAssertEqual(h.bucketLimits.last, limits[limits.firstIndex { $0 > 3.5 }!])
        XCTAssertEqual(TensorBoardHistogram(values: [Double]()).bucketCounts, [])
    }

    // MARK: SummaryWriter

    func testWriterFileNameFirstEventAndBuffering() throws {
        let directory = try temporaryDirectory()
        let writer = try SummaryWriter(logDirectory: directory)
        let name = writer.fileURL.lastPathComponent
        XCTAssertTrue(name.range(of: #"^events\.out\.tfevents\.\d{10}\..+$"#, options: .regularExpression) != nil, name)
        XCTAssertTrue(name.hasSuffix("." + SummaryWriter.hostName()))
        let records = try TFRecord.records(contentsOf: writer.fileURL)
        XCTAssertEqual(records.count, 1)
        XCTAssertTrue(hex(records[0]).hasSuffix(hex(Array("brain.Event:2".utf8))))

        try writer.addScalar("loss", value: 0.5, step: 1)
        XCTAssertEqual(try TFRecord.records(contentsOf: writer.fileURL).count, 1, "scalar written before flush")
        try writer.flush()
        XCTAssertEqual(try TFRecord.records(contentsOf: writer.fileURL).count, 2)
        try writer.close()
        try writer.close()

        // A second writer in the same second gets its own file.
        let second = try SummaryWriter(logDirectory: directory)
        XCTAssertNotEqual(second.fileURL, writer.fileURL)
        try second.close()
    }

    func testUnwritableLogDirectoryThrowsIOErrorNamingThePath() throws {
        let directory = try temporaryDirectory()
        let file = directory.appendingPathComponent("not-a-directory")
        try Data("x".utf8).write(to: file)
        let target = file.appendingPathComponent("runs/baseline")
        XCTAssertThrowsError(try SummaryWriter(logDirectory: target)) { error in
            XCTAssertEqual((error as? NablaError)?.kind, .io)
            XCTAssertTrue("\(error)".hasPrefix(target.path), "\(error)")
        }
    }

    /// The real TensorBoard loads what the writer wrote: tags, steps, values and histogram statistics.
    func testRealTensorBoardReadsScalarsAndHistograms() throws {
        guard let python = TensorBoardPython.find() else {
            let notice = "NOTICE: no Python with the `tensorboard` package (tried \(TensorBoardPython.candidates)); "
                + "the real-TensorBoard round trip is skipped. Install it with `pip install tensorboard`."
            print(notice)
            throw XCTSkip(notice)
        }
        let directory = try temporaryDirectory()
        let writer = try SummaryWriter(logDirectory: directory)
        let losses = [2.3, 1.1, 0.7, 0.55, 0.5]
        for (step, loss) in losses.enumerated() {
            try writer.addScalars([("loss/train", loss), ("accuracy/test", 0.5 + 0.1 * Double(step))], step: step * 100)
            try writer.addScalar("lr", value: 0.1 / Double(step + 1), step: step * 100)
        }
        var generator = RandomGenerator(seed: 3)
        let weights = Tensor<Float>(normal: [64, 32], mean: 0, standardDeviation: 0.1, using: &generator)
        try writer.addHistogram("fc1.weight", values: weights, step: 0)
        try writer.addHistogram("fc1.weight", values: weights * 0.5, step: 100)
        try writer.addHistogram("fc1.bias/grad", values: [-1e-3, 0, 0, 2e-3, 5], step: 0)
        try writer.addHistogram("empty", values: [Double](), step: 0)
        try writer.close()

        let output = try TensorBoardPython.run(python, arguments: [TensorBoardPython.script.path, directory.path])
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
        XCTAssertEqual(json["file_version"] as? String, "brain.Event:2")
        let scalars = try XCTUnwrap(json["scalars"] as? [String: [[Double]]])
        XCTAssertEqual(Set(scalars.keys), ["loss/train", "accuracy/test", "lr"])
        XCTAssertEqual(scalars["loss/train"]?.map { $0[0] }, [0, 100, 200, 300, 400])
        for (read, written) in zip(scalars["loss/train"]!.map { $0[1] }, losses) {
            XCTAssertEqual(read, written, accuracy: 1e-6 * written)
        }
        XCTAssertEqual(scalars["lr"]?.last?[1] ?? 0, 0.02, accuracy: 1e-8)
        let histograms = try XCTUnwrap(json["histograms"] as? [String: [[String: Double]]])
        XCTAssertEqual(histograms["fc1.weight"]?.map { $0["step"]! }, [0, 100])
        let first = try XCTUnwrap(histograms["fc1.weight"]?.first)
        let expected = TensorBoardHistogram(weights)
        XCTAssertEqual(first["num"], 2048)
        XCTAssertEqual(first["bucket_total"], 2048)
        XCTAssertEqual(first["min"], expected.min)
        XCTAssertEqual(first["max"], expected.max)
        XCTAssertEqual(first["sum"]!, expected.sum, accuracy: 1e-9)
        XCTAssertEqual(first["sum_squares"]!, expected.sumOfSquares, accuracy: 1e-9)
        XCTAssertEqual(first["bucket_count"], Double(expected.bucketLimits.count))
        XCTAssertEqual(histograms["fc1.bias/grad"]?.first?["max"], 5)
        XCTAssertEqual(histograms["empty"]?.first?["num"], 0)
    }

    /// The script itself fails on a corrupted file, so the round trip above can fail.
    func testCheckScriptRejectsACorruptEventFile() throws {
        guard let python = TensorBoardPython.find() else { throw XCTSkip("NOTICE: no Python with `tensorboard`") }
        let directory = try temporaryDirectory()
        let writer = try SummaryWriter(logDirectory: directory)
        try writer.addScalar("loss", value: 1, step: 1)
        try writer.close()
        var bytes = try [UInt8](Data(contentsOf: writer.fileURL))
        bytes[bytes.count - 5] ^= 0xFF
        try Data(bytes).write(to: writer.fileURL)
        XCTAssertThrowsError(try TensorBoardPython.run(python, arguments: [TensorBoardPython.script.path, directory.path])) { error in
            XCTAssertTrue("\(error)".contains("corrupt or truncated"), "\(error)")
        }
    }
}

/// Finds and runs a Python that can `import tensorboard`.
enum TensorBoardPython {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Scripts/check_tensorboard.py")

    /// `$NABLA_PYTHON` if set, then `python3`, then the project's PyTorch environment.
    static var candidates: [String] {
        (ProcessInfo.processInfo.environment["NABLA_PYTHON"].map { [$0] } ?? []) + ["python3", "/work/torchenv/bin/python"]
    }

    static func find() -> String? {
        candidates.first { (try? run($0, arguments: ["-c", "import tensorboard"])) != nil }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `python arguments…` and returns its stdout; throws with stderr when the exit status is not 0.
    static func run(_ python: String, arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [python] + arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(python) exited with \(process.terminationStatus): \(String(decoding: stderr, as: UTF8.self))")
        }
        return String(decoding: stdout, as: UTF8.self)
    }
}
