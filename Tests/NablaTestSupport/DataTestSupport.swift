import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO

/// Helpers shared by the data-format tests: temporary directories, hand-built gzip streams, the
/// committed data fixtures and an assertion for one-line user errors.
public enum DataTestSupport {
    /// A fresh empty directory, removed by the test's teardown block.
    public static func temporaryDirectory(_ test: XCTestCase) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// The committed fixture `Fixtures/data/<name>` (written by `Scripts/fixtures/gen_data.py`).
    public static func fixture(_ name: String) -> URL {
        Fixtures.root.appendingPathComponent("data/\(name)")
    }

    public static func write(_ bytes: [UInt8], to url: URL) throws {
        try Data(bytes).write(to: url)
    }

    /// A gzip member holding `payload` in DEFLATE stored blocks (RFC 1951 §3.2.4) — a valid gzip
    /// file built without a compressor, so tests can wrap arbitrary (also hostile) contents.
    public static func gzipStored(_ payload: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        var offset = 0
        repeat {
            let length = min(65_535, payload.count - offset)
            let final: UInt8 = offset + length == payload.count ? 1 : 0
            out += [final, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            out += payload[offset..<(offset + length)]
            offset += length
        } while offset < payload.count
        let crc = payload.withUnsafeBytes { crc32Checksum($0) }
        out += littleEndian(crc) + littleEndian(UInt32(truncatingIfNeeded: payload.count))
        return out
    }

    public static func littleEndian(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
    public static func bigEndian(_ v: UInt32) -> [UInt8] { (0..<4).reversed().map { UInt8((v >> (8 * $0)) & 0xFF) } }

    /// An IDX file of unsigned bytes with the given dimensions and payload.
    public static func idx(_ dimensions: [Int], _ payload: [UInt8]) -> [UInt8] {
        [0, 0, 8, UInt8(dimensions.count)] + dimensions.flatMap { bigEndian(UInt32($0)) } + payload
    }
}

/// Asserts `body` throws a ``NablaError`` whose message is one line containing every string of
/// `fragments`; returns the message.
@discardableResult
public func assertNablaError<T>(_ body: @autoclosure () throws -> T, _ fragments: String..., kind: NablaError.Kind? = nil,
                         file: StaticString = #filePath, line: UInt = #line) -> String? {
    do {
        _ = try body()
        XCTFail("expected a NablaError containing \(fragments)", file: file, line: line)
        return nil
    } catch let error as NablaError {
        XCTAssertFalse(error.message.contains("\n"), "error is not one line: \(error.message)", file: file, line: line)
        for fragment in fragments {
            XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' does not contain '\(fragment)'", file: file, line: line)
        }
        if let kind { XCTAssertEqual(error.kind, kind, error.message, file: file, line: line) }
        return error.message
    } catch {
        XCTFail("expected a NablaError, got \(error)", file: file, line: line)
        return nil
    }
}

/// Asserts `body` finishes within `seconds` (hostile sizes must fail fast, without allocating).
public func assertFast(_ seconds: Double = 0.5, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> Void) rethrows {
    let start = Date()
    try body()
    let elapsed = Date().timeIntervalSince(start)
    XCTAssertLessThan(elapsed, seconds, "took \(elapsed) s", file: file, line: line)
}
