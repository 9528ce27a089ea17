import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// CRC-32C against published check values, the slicing-by-8 path against a bit-by-bit reference,
/// and TFRecord's masking against values computed by TensorBoard's own Python implementation.
final class CRCTests: XCTestCase {
    /// The textbook bit-at-a-time CRC-32C, independent of the tables.
    private func referenceCRC(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        }
        return ~crc
    }

    func testCheckValue() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
    }

    /// RFC 3720 (iSCSI) appendix B.4 test vectors.
    func testRFC3720Vectors() {
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }), 0x113F_DB5C)
    }

    func testSlicingByEightMatchesBitwiseReferenceAtEveryLengthAndAlignment() {
        var generator = RandomGenerator(seed: 7)
        let data = (0..<300).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        for start in 0..<9 {
            for length in [0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 64, 100, 291 - start] {
                let slice = Array(data[start..<start + length])
                XCTAssertEqual(CRC32C.checksum(slice), referenceCRC(slice), "start \(start), length \(length)")
            }
        }
    }

    func testIncrementalUpdateEqualsOneShot() {
        let a = Array("The quick brown fox ".utf8), b = Array("jumps over the lazy dog".utf8)
        let partial = a.withUnsafeBytes { CRC32C.update(0, $0) }
        let whole = b.withUnsafeBytes { CRC32C.update(partial, $0) }
        XCTAssertEqual(whole, CRC32C.checksum(a + b))
        XCTAssertEqual(whole, referenceCRC(a + b))
    }

    /// Expected values from `tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c`.
    func testMaskingMatchesTensorBoard() {
        XCTAssertEqual(CRC32C.masked(CRC32C.checksum(Array("123456789".utf8))), 0xC78A_B0E5)
        let length24: [UInt8] = [24, 0, 0, 0, 0, 0, 0, 0]
        XCTAssertEqual(CRC32C.masked(CRC32C.checksum(length24)), 0x224B_7FA3)
        for crc: UInt32 in [0, 1, 0xE306_9283, 0xFFFF_FFFF, 0x8000_0000] {
            XCTAssertEqual(CRC32C.unmasked(CRC32C.masked(crc)), crc)
        }
        // The mask is a rotation by 15 plus a constant, as TFRecord specifies.
        XCTAssertEqual(CRC32C.masked(0), 0xA282_EAD8)
        XCTAssertEqual(CRC32C.masked(1 << 15), 1 &+ 0xA282_EAD8)
    }
}
