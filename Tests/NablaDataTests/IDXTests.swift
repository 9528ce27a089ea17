import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// IDX parsing and the MNIST-family loader: good files raw and gzip, every kind of bad file, and the
/// real Fashion-MNIST when Debian's package is installed.
final class IDXTests: XCTestCase {
    private func pixel(_ n: Int, _ r: Int, _ c: Int) -> UInt8 { UInt8((n * 11 + r * 7 + c * 3) % 256) }

    private func images(_ count: Int, _ height: Int = 4, _ width: Int = 3) -> [UInt8] {
        let payload = (0..<count).flatMap { n in (0..<height).flatMap { r in (0..<width).map { c in pixel(n, r, c) } } }
        return DataTestSupport.idx([count, height, width], payload)
    }

    private func labels(_ values: [UInt8]) -> [UInt8] { DataTestSupport.idx([values.count], values) }

    /// A directory with the four MNIST files (train: 5 samples, test: 3), raw or gzip.
    private func mnistDirectory(gzip: Bool, trainLabels: [UInt8] = [0, 1, 2, 3, 4]) throws -> URL {
        let dir = try DataTestSupport.temporaryDirectory(self)
        let files: [(String, [UInt8])] = [("train-images-idx3-ubyte", images(5)), ("train-labels-idx1-ubyte", labels(trainLabels)),
                                          ("t10k-images-idx3-ubyte", images(3)), ("t10k-labels-idx1-ubyte", labels([9, 8, 7]))]
        for (name, bytes) in files {
            try DataTestSupport.write(gzip ? DataTestSupport.gzipStored(bytes) : bytes,
                                      to: dir.appendingPathComponent(gzip ? name + ".gz" : name))
        }
        return dir
    }

    func testParsesRawAndGzipIdentically() throws {
        let raw = try IDXFile.parse(images(2), name: "a", expectedRank: 3)
        let gz = try IDXFile.parse(DataTestSupport.gzipStored(images(2)), name: "a.gz", expectedRank: 3)
        XCTAssertEqual(raw, gz)
        XCTAssertEqual(raw.dimensions, [2, 4, 3])
        XCTAssertEqual(raw.bytes[12 + 2 * 3 + 1], pixel(1, 2, 1))
    }

    func testMNISTLoaderBothEncodings() throws {
        for gzip in [false, true] {
            let (train, test) = try DatasetSource.parse("mnist:" + mnistDirectory(gzip: gzip).path).load()
            XCTAssertEqual(train.name, "mnist/train")
            XCTAssertEqual(train.inputs.shape, [5, 1, 4, 3])
            XCTAssertEqual(train.inputs[3, 0, 2, 1], Float(pixel(3, 2, 1)) / 255)
            XCTAssertEqual(train.targets, .classes([0, 1, 2, 3, 4], classCount: 10))
            XCTAssertEqual(test?.inputs.shape, [3, 1, 4, 3])
            XCTAssertEqual(test?.targets, .classes([9, 8, 7], classCount: 10))
            XCTAssertEqual(train.inputs.max(), Float(train.inputs.scalars.max()!))
            XCTAssertTrue(train.inputs.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        }
    }

    func testCommittedGzipFixtureFromPython() throws {
        let (train, test) = try MNIST.load(directory: DataTestSupport.fixture("mnist-tiny"))
        XCTAssertEqual(train.inputs.shape, [5, 1, 4, 3])
        XCTAssertEqual(train.inputs[4, 0, 3, 2], Float(pixel(4, 3, 2)) / 255)
        XCTAssertEqual(test?.count, 3)
    }

    func testTestSplitIsOptionalButNotHalfPresent() throws {
        let dir = try mnistDirectory(gzip: false)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("t10k-labels-idx1-ubyte"))
        assertNablaError(try MNIST.load(directory: dir), "only one of t10k-images")
        try FileManager.default.removeItem(at: dir.appendingPathComponent("t10k-images-idx3-ubyte"))
        XCTAssertNil(try MNIST.load(directory: dir).test)
    }

    func testTestSplitErrorsAndShapeMismatch() throws {
        let dir = try mnistDirectory(gzip: false)
        let testImages = dir.appendingPathComponent("t10k-images-idx3-ubyte")
        try DataTestSupport.write(Array(images(3)[..<20]), to: testImages)
        assertNablaError(try MNIST.load(directory: dir), "t10k-images-idx3-ubyte: not a valid IDX file")
        try DataTestSupport.write(images(3, 4, 4), to: testImages)
        assertNablaError(try MNIST.load(directory: dir), "test images are [1, 4, 4], training images [1, 4, 3]")
    }

    func testMissingDirectoryAndFiles() throws {
        assertNablaError(try DatasetSource.parse("mnist:/nonexistent/dir").load(), "/nonexistent/dir: no such directory")
        let empty = try DataTestSupport.temporaryDirectory(self)
        assertNablaError(try MNIST.load(directory: empty), empty.path, "missing train-images-idx3-ubyte[.gz]")
    }

    func testCountMismatchBetweenImagesAndLabels() throws {
        let dir = try mnistDirectory(gzip: true, trainLabels: [0, 1, 2, 3])
        assertNablaError(try MNIST.load(directory: dir), "train-labels-idx1-ubyte.gz: 4 labels but", "has 5 images")
    }

    func testLabelOutOfRange() throws {
        let dir = try mnistDirectory(gzip: false, trainLabels: [0, 1, 12, 3, 4])
        assertNablaError(try MNIST.load(directory: dir), "label 12 at index 2 is out of range 0..<10")
        XCTAssertEqual(try MNIST.load(directory: dir, classCount: 13).train.classCount, 13)
        XCTAssertEqual(try DatasetSource.parse("mnist:\(dir.path)?classes=13").load().train.classCount, 13)
    }

    func testBadFilesTable() throws {
        let good = images(2)
        let cases: [(String, [UInt8], String)] = [
            ("empty", [], "the file is empty"),
            ("short magic", [0, 0, 8], "truncated inside the 4-byte magic"),
            ("wrong magic", [0x50, 0x4B, 3, 4] + Array(good[4...]), "wrong magic 0x504B0304, expected 0x00000803"),
            ("label magic for images", labels([1, 2]), "declares rank 1, expected 0x00000803"),
            ("float elements", [0, 0, 0x0D, 3] + Array(good[4...]), "element type 0x0D"),
            ("truncated dims", Array(good[..<10]), "truncated inside the 3 dimension sizes"),
            ("truncated data", Array(good[..<(good.count - 1)]), "declare 24 bytes of data but only 23 follow"),
            ("trailing bytes", good + [0], "1 bytes follow the data"),
            ("huge dims", DataTestSupport.idx([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], [1, 2, 3]), "but only 3 follow"),
            ("huge dims gzip", DataTestSupport.gzipStored(DataTestSupport.idx([60_000_000, 280, 280], [])), "can hold at most"),
        ]
        for (label, bytes, fragment) in cases {
            try assertFast {
                let message = assertNablaError(try IDXFile.parse(bytes, name: "bad.idx", expectedRank: 3), "bad.idx: ", fragment)
                if message == nil { XCTFail("case \(label)") }
            }
        }
    }

    func testTruncatedAtEveryOffsetRawAndGzip() throws {
        let good = images(2)
        for cut in 0..<good.count {
            assertNablaError(try IDXFile.parse(Array(good[..<cut]), name: "t", expectedRank: 3), "t: not a valid IDX file")
        }
        let gz = DataTestSupport.gzipStored(good)
        for cut in 0..<gz.count {
            assertNablaError(try IDXFile.parse(Array(gz[..<cut]), name: "t.gz", expectedRank: 3), "t.gz")
        }
    }

    func testBadGzipInsideDirectory() throws {
        let dir = try mnistDirectory(gzip: true)
        let url = dir.appendingPathComponent("train-images-idx3-ubyte.gz")
        var bytes = [UInt8](try Data(contentsOf: url))
        bytes[30] ^= 0xFF
        try DataTestSupport.write(bytes, to: url)
        assertNablaError(try MNIST.load(directory: dir), url.path, "corrupt gzip data")
    }

    /// The real Fashion-MNIST from Debian's `dataset-fashion-mnist` (60000 + 10000 images, 28×28).
    func testRealFashionMNIST() throws {
        guard FileManager.default.fileExists(atPath: MNIST.fashionMNISTDirectory + "/train-images-idx3-ubyte.gz") else {
            throw XCTSkip("Fashion-MNIST is not installed at \(MNIST.fashionMNISTDirectory) (apt-get install dataset-fashion-mnist)")
        }
        let (train, test) = try DatasetSource.parse("fashion-mnist").load()
        XCTAssertEqual(train.inputs.shape, [60000, 1, 28, 28])
        XCTAssertEqual(test?.inputs.shape, [10000, 1, 28, 28])
        guard case .classes(let labels, 10) = train.targets, case .classes(let testLabels, 10)? = test?.targets else {
            return XCTFail("Fashion-MNIST targets are not 10 classes")
        }
        XCTAssertEqual(Set(labels), Set(0..<10))
        XCTAssertEqual(labels.filter { $0 == 3 }.count, 6000)  // balanced: 6000 per class
        XCTAssertEqual(testLabels.filter { $0 == 9 }.count, 1000)
        XCTAssertEqual(Array(labels.prefix(5)), [9, 0, 0, 3, 0])  // the published first labels
        var (low, high) = (Float.infinity, -Float.infinity)
        train.inputs.withUnsafeBufferPointer { x in
            for i in 0..<x.count { low = Swift.min(low, x[i]); high = Swift.max(high, x[i]) }
        }
        XCTAssertEqual(low, 0)
        XCTAssertEqual(high, 1)
        let stats = train.channelStatistics()
        XCTAssertEqual(stats.mean[0], 0.2860, accuracy: 1e-4)  // the widely quoted 0.2860 / 0.3530
        XCTAssertEqual(stats.std[0], 0.3530, accuracy: 1e-4)
    }
}
