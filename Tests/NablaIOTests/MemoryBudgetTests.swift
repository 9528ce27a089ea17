import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
import NablaTestSupport

/// The memory budget: its spellings, its message, and the caps it puts on decompression and on
/// reading whole files.
final class MemoryBudgetTests: XCTestCase {
    func testSpellingsOfASize() throws {
        let cases: [(String, Int)] = [("1000000", 1_000_000), ("64k", 65536), ("64KiB", 65536), ("512M", 512 << 20), ("512mb", 512 << 20),
                                      ("1.5G", 3 << 29), ("2GiB", 2 << 30), ("1T", 1 << 40), ("100b", 100), (" 3g ", 3 << 30)]
        for (spec, bytes) in cases { XCTAssertEqual(try MemoryBudget(parsing: spec).bytes, bytes, spec) }
        let half = try MemoryBudget(parsing: "50%")
        XCTAssertEqual(Double(half.bytes), Double(MemoryBudget.availableBytes) / 2, accuracy: 1)
        for bad in ["", "G", "-1G", "0", "0.1", "1e400", "nan", "5X", "150%", "0%", "x%", "1.5.2G"] {
            assertNablaError(try MemoryBudget(parsing: bad), "--max-memory \(bad): expected a size", kind: .invalidArgument)
        }
    }

    func testTheDefaultIsAStatedFractionOfWhatTheProcessMayUse() {
        XCTAssertLessThanOrEqual(MemoryBudget.availableBytes, MemoryBudget.physicalBytes)
        XCTAssertGreaterThan(MemoryBudget.physicalBytes, 1 << 26)
        XCTAssertEqual(MemoryBudget.default.bytes, Int(Double(MemoryBudget.availableBytes) * 0.75))
        XCTAssertTrue(MemoryBudget.default.origin.hasPrefix("75% of the "), MemoryBudget.default.origin)
    }

    func testCheckNamesTheSubjectTheEstimateAndTheCap() throws {
        let budget = MemoryBudget(bytes: 1 << 30, origin: "--max-memory 1G")
        XCTAssertNoThrow(try budget.check(1 << 30, "fits"))
        let message = assertNablaError(try budget.check(3 << 29, "--model m at batch size 8", detail: "largest: layer 0"),
                                       kind: .invalidArgument)
        XCTAssertEqual(message, "--model m at batch size 8: needs about 1.50 GiB (largest: layer 0), more than the memory cap of 1.00 GiB (--max-memory 1G)")
        XCTAssertEqual(MemoryBudget.format(512), "512 B")
        XCTAssertEqual(MemoryBudget.format(40_200_000_000), "37.4 GiB")
        XCTAssertEqual(MemoryBudget.format(Int.max), "8.00 EiB")
    }

    /// A gzip stream of zeros declares far more than a ratio of 256 allows, or more than the budget.
    func testDecompressionHasRatioAndSizeCaps() throws {
        let zeros = try gzip([UInt8](repeating: 0, count: 32 << 20))
        XCTAssertLessThan(zeros.count, 64 << 10, "zlib compresses zeros about 1000:1")
        let inflater = try Inflater(zeros, format: .gzip, name: "bomb.gz")
        let message = assertNablaError(try inflater.read(count: 32 << 20, what: "the data"), "bomb.gz: declares 32.0 MiB of data in ",
                                       "a ratio above 256:1; refused as a likely decompression bomb", kind: .invalidFile)
        XCTAssertNotNil(message)
        // Below the 16 MiB floor the ratio does not matter.
        let small = try gzip([UInt8](repeating: 0, count: 4 << 20))
        XCTAssertEqual(try Inflater(small, format: .gzip, name: "small.gz").read(count: 4 << 20, what: "data").count, 4 << 20)
        // The size cap: a budget smaller than the declared output.
        try MemoryBudget.$current.withValue(MemoryBudget(bytes: 1 << 20, origin: "--max-memory 1M")) {
            assertNablaError(try Inflater(small, format: .gzip, name: "small.gz").read(count: 4 << 20, what: "data"),
                             "small.gz: declares 4.00 MiB of decompressed data, more than the memory cap of 1.00 MiB (--max-memory 1M)")
        }
    }

    func testWholeFileReadsStayWithinTheBudget() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-budget-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("x.bin")
        try Data(count: 4096).write(to: file)
        XCTAssertEqual(try FileBytes.read(file).count, 4096)
        try MemoryBudget.$current.withValue(MemoryBudget(bytes: 1000, origin: "--max-memory 1000")) {
            assertNablaError(try FileBytes.read(file), "x.bin: the file holds 4.00 KiB, more than the memory cap of 1000 B (--max-memory 1000)", kind: .io)
            // An endless device is cut off at the budget instead of filling memory.
            assertNablaError(try FileBytes.read(URL(fileURLWithPath: "/dev/zero")), "/dev/zero: the file holds more than 1000 B")
        }
        // A FIFO nobody writes to reads as empty instead of hanging.
        let fifo = directory.appendingPathComponent("fifo")
        XCTAssertEqual(mkfifo(fifo.path, 0o644), 0)
        XCTAssertEqual(try FileBytes.read(fifo), [])
        assertNablaError(try FileBytes.read(directory), "is a directory, expected a file")
        assertNablaError(try FileBytes.read(directory.appendingPathComponent("missing")), "missing: no such file")
    }

    /// `bytes` compressed by the system's `gzip -9`.
    private func gzip(_ bytes: [UInt8]) throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-gzip-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: file)
            try? FileManager.default.removeItem(at: file.appendingPathExtension("gz"))
        }
        try Data(bytes).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-9", "-k", file.path]
        try process.run()
        process.waitUntilExit()
        return [UInt8](try Data(contentsOf: file.appendingPathExtension("gz")))
    }
}
