import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport

/// One hostile command line: what it is, the arguments, and a fragment the one-line error must hold
/// (normally the offending file or flag and what is wrong with it).
struct HostileCase {
    let label: String
    let arguments: [String]
    let expected: String
}

/// Bad inputs through the real `nabla` executable — corrupt, truncated and lying data files of every
/// format, hostile model files, broken checkpoints and initial weights, nonsense flags (the cases are
/// in `HostileDataInputTests.swift` and `HostileModelInputTests.swift`; `CLITests` holds 24 more).
///
/// Each must end with exit status 1 or 2 and exactly one line `nabla: …` on standard error that
/// contains the expected fragment, within ``timeLimit`` seconds. Peak memory was checked once by hand
/// (`/usr/bin/time -v` on every case: at most ~40 MB RSS, the size of the process itself), since
/// each file is at most a few KB and every parser validates declared sizes before allocating.
final class HostileInputTests: XCTestCase {
    var directory: URL!
    /// A case that takes longer than this is hanging or allocating what the file does not justify.
    let timeLimit: TimeInterval = 20

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-hostile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    /// The path of `name` in the scratch directory.
    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Writes `bytes` to `name` (creating folders) and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let url = directory.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return url.path
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Array(text.utf8)) }

    /// A bundled fixture's bytes (`Fixtures/<relative>`).
    func fixture(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: Fixtures.root.appendingPathComponent("\(relative)")))
    }

    /// Runs every case and checks the contract; returns how many ran.
    func check(_ cases: [HostileCase], file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(Set(cases.map(\.label)).count, cases.count, "duplicate case labels", file: file, line: line)
        for c in cases {
            let start = Date()
            let r = try CLI.run(c.arguments, timeout: timeLimit)
            let seconds = Date().timeIntervalSince(start)
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
            XCTAssertTrue(r.status == 1 || r.status == 2, "\(c.label): status \(r.status), stderr \(r.stderr)", file: file, line: line)
            XCTAssertEqual(lines.count, 1, "\(c.label): \(r.stderr)", file: file, line: line)
            XCTAssertTrue(r.stderr.hasPrefix("nabla: "), "\(c.label): \(r.stderr)", file: file, line: line)
            XCTAssertTrue(r.stderr.contains(c.expected), "\(c.label): expected '\(c.expected)' in \(r.stderr)", file: file, line: line)
            XCTAssertLessThan(seconds, timeLimit, "\(c.label) took \(seconds) s", file: file, line: line)
        }
    }

    func testCorruptDataFiles() throws { try check(try dataFileCases()) }

    func testHostileModelFilesCheckpointsWeightsAndFlags() throws { try check(try modelCheckpointAndFlagCases()) }

    func testTheTableHoldsAtLeastFortyCases() throws {
        XCTAssertGreaterThanOrEqual(try dataFileCases().count + modelCheckpointAndFlagCases().count, 40)
    }

    // MARK: Building hostile files

    /// An IDX file: magic `00 00 08 rank`, big-endian dimensions, then `payload`.
    static func idx(_ dimensions: [UInt32], _ payload: [UInt8], magic: [UInt8]? = nil) -> [UInt8] {
        var bytes = magic ?? [0, 0, 0x08, UInt8(dimensions.count)]
        for d in dimensions { bytes += [UInt8(d >> 24), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
        return bytes + payload
    }

    /// A version 1.0 `.npy` file with the given header fields and raw data.
    static func npy(descr: String, shape: String, _ data: [UInt8], fortran: Bool = false) -> [UInt8] {
        var header = "{'descr': '\(descr)', 'fortran_order': \(fortran ? "True" : "False"), 'shape': \(shape), }"
        while (10 + header.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let length = UInt16(header.utf8.count)
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8) + data
    }

    /// Little-endian bytes of `Float`s.
    static func floats(_ values: [Float]) -> [UInt8] { values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } } }

    /// Little-endian bytes of `Int64`s.
    static func int64s(_ values: [Int64]) -> [UInt8] { values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } } }

    /// A zip archive of stored (uncompressed) entries, as `np.savez` writes them.
    static func storedZip(_ entries: [(String, [UInt8])]) -> [UInt8] {
        func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(v >> (8 * $0) & 0xFF) } }
        var out: [UInt8] = [], directory: [UInt8] = []
        for (name, data) in entries {
            let crc = data.withUnsafeBytes { crc32Checksum($0) }
            let common = le16(20) + le16(0) + le16(0) + le16(0) + le16(0) + le32(crc) + le32(UInt32(data.count)) + le32(UInt32(data.count))
                + le16(name.utf8.count) + le16(0)
            directory += le32(0x0201_4B50) + le16(20) + common + le16(0) + le16(0) + le16(0) + le32(0) + le32(UInt32(out.count)) + Array(name.utf8)
            out += le32(0x0403_4B50) + common + Array(name.utf8) + data
        }
        let offset = out.count
        return out + directory + le32(0x0605_4B50) + le16(0) + le16(0) + le16(entries.count) + le16(entries.count)
            + le32(UInt32(directory.count)) + le32(UInt32(offset)) + le16(0)
    }

    /// A safetensors file with a hand-written JSON header.
    static func safetensors(header: String, data: [UInt8]) -> [UInt8] {
        let json = Array(header.utf8)
        return int64s([Int64(json.count)]) + json + data
    }
}
