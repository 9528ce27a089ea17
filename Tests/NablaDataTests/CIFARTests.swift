import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// CIFAR-10/100 binary batches built in the test: layout, labels, directory forms and bad files.
final class CIFARTests: XCTestCase {
    /// Record `n` of a file: label byte(s) then 3072 pixels `(n·5 + channel·3 + i) % 256`.
    private func records(_ labels: [[UInt8]]) -> [UInt8] {
        labels.enumerated().flatMap { n, label in
            label + (0..<3).flatMap { channel in (0..<1024).map { UInt8((n * 5 + channel * 3 + $0) % 256) } }
        }
    }

    private func cifar10Directory(labels: [UInt8] = [3, 9], in folder: String? = nil) throws -> URL {
        let root = try DataTestSupport.temporaryDirectory(self)
        let dir = folder.map { root.appendingPathComponent($0) } ?? root
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for b in 1...5 { try DataTestSupport.write(records(labels.map { [$0] }), to: dir.appendingPathComponent("data_batch_\(b).bin")) }
        try DataTestSupport.write(records([[7]]), to: dir.appendingPathComponent("test_batch.bin"))
        return root
    }

    func testCIFAR10LayoutAndLabels() throws {
        let (train, test) = try DatasetSource.parse("cifar10:" + cifar10Directory().path).load()
        XCTAssertEqual(train.name, "cifar10/train")
        XCTAssertEqual(train.inputs.shape, [10, 3, 32, 32])
        XCTAssertEqual(train.targets, .classes([3, 9, 3, 9, 3, 9, 3, 9, 3, 9], classCount: 10))
        // Sample 3 is record 1 of data_batch_2: channel 2, row 4, column 5 → pixel index 4·32 + 5.
        XCTAssertEqual(train.inputs[3, 2, 4, 5], Float((1 * 5 + 2 * 3 + 4 * 32 + 5) % 256) / 255)
        XCTAssertEqual(test?.targets, .classes([7], classCount: 10))
        XCTAssertEqual(test?.inputs[0, 1, 0, 0], Float(3) / 255)
    }

    func testArchiveFolderIsFoundInsideTheDirectory() throws {
        let root = try cifar10Directory(in: "cifar-10-batches-bin")
        XCTAssertEqual(try CIFAR.load(.cifar10, directory: root).train.count, 10)
    }

    func testCIFAR100UsesFineLabels() throws {
        let dir = try DataTestSupport.temporaryDirectory(self)
        try DataTestSupport.write(records([[19, 99], [0, 42]]), to: dir.appendingPathComponent("train.bin"))
        try DataTestSupport.write(records([[5, 55]]), to: dir.appendingPathComponent("test.bin"))
        let (train, test) = try DatasetSource.parse("cifar100:" + dir.path).load()
        XCTAssertEqual(train.targets, .classes([99, 42], classCount: 100))
        XCTAssertEqual(test?.targets, .classes([55], classCount: 100))
        XCTAssertEqual(train.inputs[1, 0, 0, 1], Float(1 * 5 + 1) / 255)
    }

    func testBadFiles() throws {
        let root = try cifar10Directory()
        let batch = root.appendingPathComponent("data_batch_3.bin")
        let good = [UInt8](try Data(contentsOf: batch))
        try DataTestSupport.write(Array(good[..<(good.count - 1)]), to: batch)
        assertNablaError(try CIFAR.load(.cifar10, directory: root), "data_batch_3.bin", "6145 bytes is not a whole number of 3073-byte records")
        try DataTestSupport.write([], to: batch)
        assertNablaError(try CIFAR.load(.cifar10, directory: root), "data_batch_3.bin", "the file is empty")
        try DataTestSupport.write(records([[10]]), to: batch)
        assertNablaError(try CIFAR.load(.cifar10, directory: root), "data_batch_3.bin: label 10 of record 0 is out of range 0..<10")
        try FileManager.default.removeItem(at: batch)
        assertNablaError(try CIFAR.load(.cifar10, directory: root), "data_batch_3.bin: no such file")
    }

    func testCIFAR100BadCoarseLabelAndWrongVariant() throws {
        let dir = try DataTestSupport.temporaryDirectory(self)
        try DataTestSupport.write(records([[20, 1]]), to: dir.appendingPathComponent("train.bin"))
        try DataTestSupport.write(records([[1, 1]]), to: dir.appendingPathComponent("test.bin"))
        assertNablaError(try CIFAR.load(.cifar100, directory: dir), "coarse label 20 of record 0 is out of range 0..<20")
        // CIFAR-10 records (3073 bytes) read as CIFAR-100 (3074) do not divide evenly.
        try DataTestSupport.write(records([[1], [2]]), to: dir.appendingPathComponent("train.bin"))
        assertNablaError(try CIFAR.load(.cifar100, directory: dir), "6146 bytes is not a whole number of 3074-byte records")
    }

    func testMissingDirectory() throws {
        assertNablaError(try CIFAR.load(.cifar10, directory: URL(fileURLWithPath: "/nonexistent")), "/nonexistent: no such directory")
        let empty = try DataTestSupport.temporaryDirectory(self)
        assertNablaError(try CIFAR.load(.cifar100, directory: empty), "no train.bin here or in cifar-100-binary/")
    }
}
