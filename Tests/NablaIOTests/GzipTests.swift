import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
import NablaTestSupport

/// The zlib-backed ``Inflater``: gzip and raw DEFLATE, exact reads, trailer checks, hostile input.
final class GzipTests: XCTestCase {
    private let payload: [UInt8] = (0..<300).map { UInt8(($0 * 37 + 11) % 256) }

    private func inflateAll(_ bytes: [UInt8], count: Int, format: Inflater.Format = .gzip) throws -> [UInt8] {
        let inflater = try Inflater(bytes, format: format, name: "test.gz")
        let out = try inflater.read(count: count, what: "the payload")
        try inflater.finish()
        return out
    }

    func testStoredBlocksRoundTrip() throws {
        XCTAssertEqual(try inflateAll(DataTestSupport.gzipStored(payload), count: payload.count), payload)
        XCTAssertEqual(try inflateAll(DataTestSupport.gzipStored([]), count: 0), [])
    }

    func testMultiBlockStoredStream() throws {
        let big: [UInt8] = (0..<150_000).map { (i: Int) -> UInt8 in UInt8(truncatingIfNeeded: (i &* 2_654_435_761) >> 13) }
        XCTAssertEqual(try inflateAll(DataTestSupport.gzipStored(big), count: big.count), big)
    }

    func testCompressedFileWrittenByPythonGzip() throws {
        // 4 + 3·4 header bytes + 5 images of 4×3 pixels, compressed by Python's gzip module.
        let bytes = [UInt8](try Data(contentsOf: DataTestSupport.fixture("mnist-tiny/train-images-idx3-ubyte.gz")))
        XCTAssertTrue(Inflater.isGzip(bytes))
        let out = try inflateAll(bytes, count: 16 + 60)
        XCTAssertEqual(Array(out[0..<4]), [0, 0, 8, 3])
        let offset: Int = 16 + 12 + 3 + 2  // image 1, row 1, column 2
        let expected: Int = (11 + 7 + 6) % 256
        XCTAssertEqual(Int(out[offset]), expected)
    }

    func testConcatenatedMembersReadAsOneStream() throws {
        let joined = DataTestSupport.gzipStored(Array(payload[..<100])) + DataTestSupport.gzipStored(Array(payload[100...]))
        XCTAssertEqual(try inflateAll(joined, count: payload.count), payload)
    }

    func testPartialReadsAcrossCalls() throws {
        let inflater = try Inflater(DataTestSupport.gzipStored(payload), format: .gzip, name: "x.gz")
        let a = try inflater.read(count: 7, what: "a"), b = try inflater.read(count: 293, what: "b")
        try inflater.finish()
        XCTAssertEqual(a + b, payload)
        XCTAssertEqual(inflater.producedCount, 300)
    }

    func testRawDeflateStoredBlock() throws {
        let gzip = DataTestSupport.gzipStored(payload)
        let raw = Array(gzip[10..<(gzip.count - 8)])  // strip the gzip header and trailer
        XCTAssertEqual(try inflateAll(raw, count: payload.count, format: .rawDeflate), payload)
    }

    func testTruncatedAtEveryByteThrows() throws {
        let gzip = DataTestSupport.gzipStored(payload)
        for cut in 0..<gzip.count {
            assertNablaError(try inflateAll(Array(gzip[..<cut]), count: payload.count), "test.gz", kind: .invalidFile)
        }
    }

    func testCorruptPayloadFailsTheChecksum() throws {
        var gzip = DataTestSupport.gzipStored(payload)
        gzip[40] ^= 0x55
        assertNablaError(try inflateAll(gzip, count: payload.count), "test.gz: corrupt gzip data", "incorrect data check")
    }

    func testCorruptLengthTrailer() throws {
        var gzip = DataTestSupport.gzipStored(payload)
        gzip[gzip.count - 1] ^= 1
        assertNablaError(try inflateAll(gzip, count: payload.count), "corrupt gzip data", "incorrect length check")
    }

    func testBadBlockTypeIsCorruptData() throws {
        var gzip = DataTestSupport.gzipStored(payload)
        gzip[10] = 0x07  // BTYPE = 11, reserved
        assertNablaError(try inflateAll(gzip, count: payload.count), "corrupt gzip data", "invalid block type")
    }

    func testMoreOutputThanDeclaredIsRejected() throws {
        assertNablaError(try inflateAll(DataTestSupport.gzipStored(payload), count: 299),
                         "holds more than the 299 bytes its header declares")
    }

    func testTrailingGarbageIsRejectedButZeroPaddingAccepted() throws {
        let gzip = DataTestSupport.gzipStored(payload)
        assertNablaError(try inflateAll(gzip + [1, 2, 3], count: payload.count), "3 unexpected bytes after the gzip data")
        XCTAssertEqual(try inflateAll(gzip + [0, 0, 0, 0], count: payload.count), payload)
    }

    func testNotGzipAtAll() throws {
        XCTAssertFalse(Inflater.isGzip([0, 0, 8, 1]))
        assertNablaError(try inflateAll([0x1F, 0x8B, 9, 0, 0, 0, 0, 0, 0, 0xFF, 1, 2], count: 1), "corrupt gzip data")
    }

    func testOutputBoundFollowsDeflateRatio() throws {
        let inflater = try Inflater(DataTestSupport.gzipStored(payload), format: .gzip, name: "x.gz")
        XCTAssertEqual(inflater.maximumOutputCount, (10 + 5 + payload.count + 8) * 1032 + 65_536)
    }
}
