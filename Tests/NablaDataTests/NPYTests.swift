import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// `.npy` and `.npz` files written by real NumPy (Scripts/fixtures/gen_data.py), plus hostile variants.
final class NPYTests: XCTestCase {
    private let base: [Float] = [-1, -0.5, 0, 0.5, 1, 1.5]

    private func fixture(_ name: String) throws -> NumPyArray { try NumPyArray.read(from: DataTestSupport.fixture(name)) }
    private func bytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: DataTestSupport.fixture(name))) }

    func testEveryDtypeAndVersionWrittenByNumPy() throws {
        for name in ["f4.npy", "f8_big.npy", "v2.npy", "v3.npy"] {
            let array = try fixture(name)
            XCTAssertEqual(array.shape, [2, 3], name)
            XCTAssertEqual(array.floats(), base, name)
            XCTAssertNil(array.integers(), name)
        }
        XCTAssertTrue(try fixture("f8_big.npy").isBigEndian)
        XCTAssertEqual(try fixture("f8_big.npy").elementType, .float64)
        XCTAssertEqual(try fixture("i8.npy").integers(), [-2, -1, 0, 1, 2, 3])
        XCTAssertEqual(try fixture("i4_big.npy").integers(), [-2, -1, 0, 1, 2, 3])
        XCTAssertEqual(try fixture("u1.npy").integers(), [0, 7, 255, 128])
        XCTAssertEqual(try fixture("b1.npy").integers(), [1, 0, 1])
        XCTAssertEqual(try fixture("i1.npy").integers(), [-128, 0, 127])
        let scalar = try fixture("scalar.npy")
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.floats(), [3.25])
        XCTAssertEqual(try fixture("empty.npy").shape, [0, 4])
    }

    func testUnsupportedLayoutsAndTypesAreClearErrors() throws {
        assertNablaError(try fixture("fortran.npy"), "fortran.npy: not a valid .npy file: fortran_order arrays are not supported")
        assertNablaError(try fixture("u2.npy"), "dtype '<u2' is not supported", "<f4 <f8 <i8 <i4")
        assertNablaError(try fixture("structured.npy"), "structured dtypes are not supported")
    }

    func testTruncatedAtEveryByte() throws {
        let good = try bytes("f4.npy")
        for cut in 0..<good.count {
            assertNablaError(try NumPyArray.parse(Array(good[..<cut]), name: "cut.npy"), "cut.npy: not a valid .npy file")
        }
        assertNablaError(try NumPyArray.parse(good + [0], name: "long.npy"), "needs 24 data bytes, the file has 25")
    }

    /// A file of format `version` with `header` (padded to a multiple of 64 like NumPy) and `data`.
    private func npy(_ header: String, data: [UInt8] = [], version: UInt8 = 1) -> [UInt8] {
        let lengthBytes = version == 1 ? 2 : 4
        var text = Array(header.utf8)
        while (8 + lengthBytes + text.count + 1) % 64 != 0 { text.append(0x20) }
        text.append(0x0A)
        let length = DataTestSupport.littleEndian(UInt32(text.count)).prefix(lengthBytes)
        return [0x93] + Array("NUMPY".utf8) + [version, 0] + length + text + data
    }

    func testHostileHeaders() throws {
        let cases: [([UInt8], String)] = [
            ([], "the file is empty"),
            (Array("PK\u{3}\u{4}xxxxxxxx".utf8), "wrong magic"),
            ([0x93] + Array("NUMPY".utf8) + [4, 0, 0, 0], "unsupported format version 4.0"),
            ([0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0xFF], "header length 65535 exceeds the 0 bytes"),
            ([0x93] + Array("NUMPY".utf8) + [2, 0, 0xFF, 0xFF, 0xFF, 0x7F], "header length 2147483647 exceeds"),
            (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4294967296), }"), "needs more than the 0 data bytes"),
            (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"), "integer too large"),
            (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "shape is not a tuple of non-negative integers"),
            (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", data: [0, 0, 0, 0]), "needs 12 data bytes, the file has 4"),
            (npy("{'descr': '<f4', 'fortran_order': False}"), "header keys are"),
            (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}"), "header keys are"),
            (npy("{'descr': '<f4', 'descr': '<f4'}"), "repeats the key 'descr'"),
            (npy("{'descr': '<f4', 'fortran_order': Flase, 'shape': ()}"), "unknown word"),
            (npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': ()}"), "not a string, boolean, integer or tuple"),
            (npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,"), "ends inside a tuple"),
            (npy("{'descr': 'f4', 'fortran_order': False, 'shape': ()}"), "dtype 'f4' is not supported"),
            (npy("{'descr': '|f4', 'fortran_order': False, 'shape': ()}"), "has no byte order"),
            (npy("{'descr': '<O', 'fortran_order': False, 'shape': ()}"), "dtype '<O' is not supported"),
            (npy("{'descr': '<f4', 'fortran_order': False, 'shape': ()} junk"), "unexpected text after the dict"),
            (npy("not a dict"), "where '{' was expected"),
            (npy("{'descr': '<f4\\x', 'fortran_order': False, 'shape': ()}"), "escape sequence"),
            (npy("{'descr': 'é', 'fortran_order': False, 'shape': ()}"), "is not ASCII"),
        ]
        for (bytes, fragment) in cases {
            try assertFast { assertNablaError(try NumPyArray.parse(bytes, name: "h.npy"), "h.npy: not a valid .npy file", fragment) }
        }
    }

    func testPython2StyleLongIntegersAndDoubleQuotes() throws {
        let array = try NumPyArray.parse(npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1L, 2L), }", data: [1, 0, 0, 0, 2, 0, 0, 0]), name: "p")
        XCTAssertEqual(array.integers(), [1, 2])
        let v3 = try NumPyArray.parse(npy("{\"descr\": '|u1', 'fortran_order': False, 'shape': (1,)}", data: [5], version: 3), name: "v3")
        XCTAssertEqual(v3.integers(), [5])
    }

    // MARK: - npz

    func testStoredAndCompressedArchives() throws {
        let stored = try DatasetSource.parse(DataTestSupport.fixture("stored.npz").path).load()
        XCTAssertEqual(stored.train.inputs.shape, [4, 1, 2, 2])
        XCTAssertEqual(stored.train.inputs.scalars, (0..<16).map { Float($0) / 16 })
        XCTAssertEqual(stored.train.targets, .classes([0, 2, 1, 2], classCount: 3))
        XCTAssertNil(stored.test)
        XCTAssertEqual(stored.train.name, "stored/train")

        let compressed = try DatasetSource.parse(DataTestSupport.fixture("compressed.npz").path).load()
        XCTAssertEqual(compressed.train.inputs, stored.train.inputs)
        XCTAssertEqual(compressed.train.targets, .classes([0, 2, 1, 2], classCount: 4))  // y_test holds label 3
        XCTAssertEqual(compressed.test?.targets, .classes([3, 0], classCount: 4))
        XCTAssertEqual(compressed.test?.inputs.scalars, (0..<8).map { Float($0) / 16 + 1 })
    }

    func testRegressionTargetsAndKerasNames() throws {
        let regression = try DatasetSource.parse(DataTestSupport.fixture("regression.npz").path).load().train
        XCTAssertEqual(regression.inputs.shape, [5, 1])
        guard case .values(let y) = regression.targets else { return XCTFail("expected regression targets") }
        XCTAssertEqual(y.shape, [5, 1])
        XCTAssertEqual(y.scalars, [-1.5, -0.75, 0, 0.75, 1.5])
        let keras = try DatasetSource.parse(DataTestSupport.fixture("keras_names.npz").path).load()
        XCTAssertEqual(keras.train.count, 4)
        XCTAssertEqual(keras.test?.count, 1)
    }

    func testZipArchiveEntriesAndCRC() throws {
        let archive = try ZipArchive.read(from: DataTestSupport.fixture("compressed.npz"))
        XCTAssertEqual(archive.entries.map(\.name), ["x.npy", "y.npy", "x_test.npy", "y_test.npy"])
        XCTAssertTrue(archive.entries.allSatisfy { $0.method == 8 })
        let x = try NumPyArray.parse(try archive.contents(of: archive.entry(named: "x.npy")!), name: "x")
        XCTAssertEqual(x.shape, [4, 1, 2, 2])
    }

    func testNpzTruncatedAtEveryByteAndCorrupted() throws {
        for name in ["stored.npz", "compressed.npz"] {
            let good = try bytes(name)
            for cut in 0..<good.count {
                assertNablaError(try ArrayFileDatasets.parseNPZ(Array(good[..<cut]), file: "t.npz", name: "t"), "t.npz")
            }
            for position in 0..<good.count {
                var corrupt = good
                corrupt[position] ^= 0xA5
                // Either a clean error or (for bytes nobody checks, e.g. timestamps) a successful load.
                do { _ = try ArrayFileDatasets.parseNPZ(corrupt, file: "t.npz", name: "t") } catch is NablaError {}
            }
        }
    }

    func testNpzDataCorruptionIsCaughtByCRC() throws {
        var stored = try bytes("stored.npz")
        stored[200] ^= 0x01  // inside x.npy's float data
        assertNablaError(try ArrayFileDatasets.parseNPZ(stored, file: "t.npz", name: "t"), "entry 'x.npy': CRC-32 mismatch")
    }

    /// `compressed.npz` with the central-directory uncompressed size of every entry set to `size`.
    private func lyingArchive(size: UInt32) throws -> [UInt8] {
        let good = try bytes("compressed.npz")
        var patched = good
        var p = good.count - 22
        while p > 0 && good.littleEndianUInt32(at: p) != 0x0605_4B50 { p -= 1 }
        var entry = Int(good.littleEndianUInt32(at: p + 16))
        for _ in 0..<Int(good.littleEndianUInt16(at: p + 10)) {
            patched.replaceSubrange((entry + 24)..<(entry + 28), with: DataTestSupport.littleEndian(size))
            entry += 46 + Int(good.littleEndianUInt16(at: entry + 28)) + Int(good.littleEndianUInt16(at: entry + 30))
                + Int(good.littleEndianUInt16(at: entry + 32))
        }
        return patched
    }

    func testNpzLyingSizesFailFast() throws {
        let huge = try lyingArchive(size: 0xFFFF_FFFE), large = try lyingArchive(size: 800_000)
        try assertFast {
            assertNablaError(try ArrayFileDatasets.parseNPZ(huge, file: "t.npz", name: "t"), "beyond what the file can hold")
            assertNablaError(try ArrayFileDatasets.parseNPZ(large, file: "t.npz", name: "t"), "declares 800000 bytes", "deflated bytes can hold")
        }
    }

    func testNpzMissingArrays() throws {
        assertNablaError(try ArrayDataset.make(file: "f.npz", name: "f") { _ in nil }, "f.npz: has no array 'x'")
        assertNablaError(try ArrayDataset.make(file: "f.npz", name: "f") { $0 == "x" ? .floats(shape: [1], values: [0]) : nil },
                         "has 'x' but no 'y'")
        assertNablaError(try ZipArchive([UInt8](repeating: 0, count: 100), name: "zeros.npz"), "no end-of-central-directory record")
    }
}
