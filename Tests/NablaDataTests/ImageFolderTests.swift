import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// PNG decoding through libpng, checked against torchvision's loader, and the class-folder layouts
/// of `--data images:DIR`.
final class ImageFolderTests: XCTestCase {
    /// Writes a `width × height` PNG whose pixel `p`, channel `c`, is `(seed + 7p + 3c) mod 256`.
    @discardableResult
    static func writePNG(_ url: URL, width: Int = 6, height: Int = 4, channels: Int = 1, seed: Int = 0) throws -> PNGImage {
        let pixels = (0..<(width * height * channels)).map { UInt8((seed + 7 * ($0 / channels) + 3 * ($0 % channels)) % 256) }
        let image = PNGImage(width: width, height: height, channels: channels, pixels: pixels)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(try image.encoded()).write(to: url)
        return image
    }

    // MARK: Decoding

    /// Every kind of PNG (bit depths 1–16, palette, alpha) decodes to what torchvision's
    /// `ToTensor()(Image.open(f).convert(MODE))` gives (`Scripts/fixtures/gen_png.py`).
    func testDecodingMatchesTorchvisionsLoader() throws {
        let expected = try Fixtures.load("png", "expected")
        var checked = 0
        for key in expected.tensors.keys.sorted() {
            let parts = key.split(separator: ".")
            let (name, mode) = (String(parts[0]), String(parts[1]))
            let bytes = [UInt8](try Data(contentsOf: Fixtures.root.appendingPathComponent("png/\(name).png")))
            let image = try PNGImage.decode(bytes, name: name, color: mode == "RGB")
            var values = [Float](repeating: 0, count: image.pixels.count)
            values.withUnsafeMutableBufferPointer { image.writeFloats(into: $0) }
            let want = expected.tensor(key, as: Double.self)
            XCTAssertEqual([image.channels, image.height, image.width], want.shape, key)
            XCTAssertEqual(values, want.scalars.map { Float($0) }, key)
            let header = try PNGImage.header(of: bytes, name: name)
            XCTAssertEqual([header.width, header.height], [7, 5], key)
            XCTAssertEqual(header.isColor, ["rgb8", "rgba", "palette"].contains(name), key)
            checked += 1
        }
        XCTAssertEqual(checked, 11)
    }

    func testEncodeDecodeRoundTripsGrayAndColor() throws {
        for channels in [1, 3] {
            let pixels = (0..<(9 * 5 * channels)).map { UInt8(($0 * 37) % 256) }
            let image = PNGImage(width: 9, height: 5, channels: channels, pixels: pixels)
            let decoded = try PNGImage.decode(try image.encoded(), name: "x.png", color: channels == 3)
            XCTAssertEqual(decoded, image)
        }
        // A gray image read as color repeats its one channel three times.
        let gray = PNGImage(width: 2, height: 1, channels: 1, pixels: [10, 200])
        XCTAssertEqual(try PNGImage.decode(try gray.encoded(), name: "g.png", color: true).pixels, [10, 10, 10, 200, 200, 200])
    }

    /// Files that are not PNG images fail with one line naming the file and libpng's reason.
    func testCorruptFilesAreOneLineErrors() throws {
        let good = try PNGImage(width: 4, height: 4, channels: 1, pixels: [UInt8](repeating: 9, count: 16)).encoded()
        var badCRC = good
        badCRC[30] ^= 0xFF
        let cases: [([UInt8], String)] = [
            ([], "not a PNG image (the file is empty)"), (Array("GIF89a....".utf8), "not a valid PNG image (libpng: "),
            (Array(good.prefix(40)), "not a valid PNG image"), (badCRC, "not a valid PNG image"),
        ]
        for (bytes, fragment) in cases {
            assertNablaError(try PNGImage.decode(bytes, name: "bad.png", color: false), "bad.png: ", fragment, kind: .invalidFile)
        }
        // A header declaring 2³⁰ pixels is refused before any pixel memory is allocated.
        var huge = good
        huge.replaceSubrange(16..<24, with: DataTestSupport.bigEndian(1 << 15) + DataTestSupport.bigEndian(1 << 15))
        let crc = Array(huge[12..<29]).withUnsafeBytes { crc32Checksum($0) }
        huge.replaceSubrange(29..<33, with: DataTestSupport.bigEndian(crc))
        assertNablaError(try PNGImage.decode(huge, name: "huge.png", color: false), "huge.png: a 32768×32768 PNG image is larger than")
    }

    // MARK: Folders

    /// Classes are the sorted folder names; files within a class are taken in sorted order, hidden
    /// and non-PNG files skipped; pixels are scaled to [0, 1].
    func testClassFoldersBecomeSortedLabelsWithNames() throws {
        let root = try DataTestSupport.temporaryDirectory(self)
        let cat = try Self.writePNG(root.appendingPathComponent("cat/b.png"), seed: 1)
        try Self.writePNG(root.appendingPathComponent("cat/a.PNG"), seed: 2)
        try Self.writePNG(root.appendingPathComponent("ant/x.png"), seed: 3)
        try Data("notes".utf8).write(to: root.appendingPathComponent("cat/readme.txt"))
        try Self.writePNG(root.appendingPathComponent("cat/.hidden.png"), width: 2, seed: 4)
        try Self.writePNG(root.appendingPathComponent(".cache/z.png"), width: 3)
        let (train, test) = try DatasetSource.parse("images:\(root.path)").load()
        XCTAssertNil(test)
        XCTAssertEqual(train.classNames, ["ant", "cat"])
        XCTAssertEqual(train.targets, .classes([0, 1, 1], classCount: 2))
        XCTAssertEqual(train.inputs.shape, [3, 1, 4, 6])
        // cat/a.PNG sorts before cat/b.png, so b.png is the third sample.
        XCTAssertEqual(Array(train.inputs.scalars[48..<72]), cat.pixels.map { Float($0) / 255 })
    }

    /// `DIR/train` and `DIR/test` (or `DIR/val`) are splits labelled by the training classes; a
    /// test split with fewer classes keeps the training numbering.
    func testTrainAndTestSplitsShareTheTrainingClasses() throws {
        for testFolder in ["test", "val"] {
            let root = try DataTestSupport.temporaryDirectory(self)
            for (i, name) in ["dog", "cat", "bird"].enumerated() {
                try Self.writePNG(root.appendingPathComponent("train/\(name)/0.png"), channels: 3, seed: i)
            }
            try Self.writePNG(root.appendingPathComponent("\(testFolder)/dog/9.png"), seed: 5)   // gray: replicated to RGB
            let (train, test) = try DatasetSource.parse("images:\(root.path)").load()
            XCTAssertEqual(train.classNames, ["bird", "cat", "dog"])
            XCTAssertEqual(train.inputs.shape, [3, 3, 4, 6])
            XCTAssertEqual(test?.targets, .classes([2], classCount: 3))
            XCTAssertEqual(test?.classNames, ["bird", "cat", "dog"])
            XCTAssertEqual(test?.sampleShape, [3, 4, 6])
        }
    }

    func testFolderErrorsNameTheFile() throws {
        let root = try DataTestSupport.temporaryDirectory(self)
        assertNablaError(try ImageFolder.load(directory: root.appendingPathComponent("missing"), name: "x"), "missing: no such directory")
        assertNablaError(try ImageFolder.load(directory: root, name: "x"), "has no class folders")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("empty"), withIntermediateDirectories: true)
        try Self.writePNG(root.appendingPathComponent("full/a.png"))
        assertNablaError(try ImageFolder.load(directory: root, name: "x"), "empty: class 'empty' has no PNG images")
        try Self.writePNG(root.appendingPathComponent("empty/big.png"), width: 8)
        // The first file (in class order) sets the size: empty/big.png, then full/a.png does not match it.
        assertNablaError(try ImageFolder.load(directory: root, name: "x"), "full/a.png: a 6×4 image, but ", "empty/big.png is 8×4 (every image must have the same size)")
        try Data("not a png".utf8).write(to: root.appendingPathComponent("empty/big.png"))
        assertNablaError(try ImageFolder.load(directory: root, name: "x"), "big.png: not a valid PNG image")

        let split = try DataTestSupport.temporaryDirectory(self)
        try Self.writePNG(split.appendingPathComponent("train/a/0.png"))
        try Self.writePNG(split.appendingPathComponent("test/b/0.png"))
        assertNablaError(try ImageFolder.load(directory: split, name: "x"), "test/b: a class the training split")
        assertNablaError(try DatasetSource.parse("images:"), "images needs a directory")
        assertNablaError(try DatasetSource.parse("images:\(split.path)?size=3"), "size")
    }

    /// Prediction inputs: a folder's own PNG files, else its class folders' (and splits'), named by path.
    func testUnlabelledInputsFromAFolder() throws {
        let flat = try DataTestSupport.temporaryDirectory(self)
        try Self.writePNG(flat.appendingPathComponent("2.png"), seed: 2)
        try Self.writePNG(flat.appendingPathComponent("1.png"), seed: 1)
        let read = try UnlabelledInputs.read(flat.path)
        XCTAssertEqual(read.sampleNames, ["1.png", "2.png"])
        XCTAssertEqual(read.inputs.shape, [2, 1, 4, 6])
        XCTAssertEqual(try UnlabelledInputs.read(flat.path, color: true).inputs.shape, [2, 3, 4, 6])

        let nested = try DataTestSupport.temporaryDirectory(self)
        try Self.writePNG(nested.appendingPathComponent("train/b/0.png"))
        try Self.writePNG(nested.appendingPathComponent("a/0.png"))
        XCTAssertEqual(try UnlabelledInputs.read(nested.path).sampleNames, ["a/0.png", "train/b/0.png"])
        let empty = try DataTestSupport.temporaryDirectory(self)
        assertNablaError(try UnlabelledInputs.read(empty.path), "no PNG images here or in its sub-folders")
    }
}
