import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// Image-batch augmentations: geometric identities, PyTorch golden values (bilinear resize,
/// padded crops, brightness/contrast), determinism under a seed, and the sampling rules.
final class AugmentationTests: XCTestCase {
    func images(_ shape: [Int] = [3, 2, 5, 6], seed: UInt64 = 1) -> Tensor<Float> {
        var generator = RandomGenerator(seed: seed)
        return Tensor(uniform: shape, using: &generator)
    }

    func testFlips() {
        let x = Tensor<Float>(shape: [1, 1, 2, 3], scalars: [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(flippedHorizontally(x).scalars, [3, 2, 1, 6, 5, 4])
        XCTAssertEqual(flippedVertically(x).scalars, [4, 5, 6, 1, 2, 3])
        let batch = images()
        XCTAssertEqual(flippedHorizontally(flippedHorizontally(batch)), batch, "flip twice is the identity")
        XCTAssertEqual(flippedVertically(flippedVertically(batch)), batch)

        var generator = RandomGenerator(seed: 2)
        let big = images([400, 1, 2, 2])
        let flipped = randomHorizontalFlip(big, probability: 0.5, using: &generator)
        let mirrored = flippedHorizontally(big)
        var count = 0
        for n in 0..<400 {
            if flipped.row(n) == mirrored.row(n) { count += 1 } else { XCTAssertEqual(flipped.row(n), big.row(n)) }
        }
        XCTAssertEqual(Double(count) / 400, 0.5, accuracy: 0.08)
        XCTAssertEqual(randomVerticalFlip(big, probability: 1, using: &generator), flippedVertically(big))
        XCTAssertEqual(randomVerticalFlip(big, probability: 0, using: &generator), big)
    }

    func testCropWithPaddingAtOffsetPaddingIsIdentity() {
        let x = images()
        for mode in PaddingMode.allCases {
            for padding in [0, 1, 4] where mode == .zero || padding < 5 {
                let offsets = Array(repeating: (top: padding, left: padding), count: 3)
                XCTAssertEqual(paddedCrop(x, offsets: offsets, height: 5, width: 6, padding: padding, mode: mode), x,
                               "\(mode) padding \(padding)")
            }
        }
        var generator = RandomGenerator(seed: 3)
        XCTAssertEqual(randomCrop(x, padding: 0, using: &generator), x, "no padding, full size: the only window")
    }

    func testPaddedCropMatchesPyTorchPad() throws {
        let file = try Fixtures.load("regularization", "padded_crop")
        let x = file.tensor("x", as: Double.self)
        let flat = file.ints("offsets")
        let offsets = [(top: flat[0], left: flat[1]), (top: flat[2], left: flat[3])]
        let padding = Int(file.number("padding")!)
        for mode in PaddingMode.allCases {
            XCTAssertEqual(paddedCrop(x, offsets: offsets, height: 4, width: 5, padding: padding, mode: mode),
                           file.tensor(mode.rawValue), "\(mode)")
        }
    }

    func testRandomCropIsDeterministicAndInsideThePaddedImage() {
        let x = Tensor<Float>(ones: [200, 1, 8, 8])
        var a = RandomGenerator(seed: 4), b = RandomGenerator(seed: 4), c = RandomGenerator(seed: 5)
        let first = randomCrop(x, padding: 2, using: &a)
        XCTAssertEqual(first, randomCrop(x, padding: 2, using: &b))
        XCTAssertNotEqual(first, randomCrop(x, padding: 2, using: &c))
        // Each sample keeps an (8 − |dy|)·(8 − |dx|) block of ones; offsets cover all 25 positions.
        var seen = Set<Int>()
        for n in 0..<200 { seen.insert(Int(first.row(n).sum())) }
        XCTAssertTrue(seen.isSubset(of: Set([64, 56, 48, 49, 42, 36])), "\(seen)")
        XCTAssertTrue(seen.contains(64) && seen.contains(36))
        XCTAssertEqual(randomCrop(x, height: 5, width: 3, padding: 0, using: &a).shape, [200, 1, 5, 3])
    }

    func testTranslation() {
        let x = Tensor<Float>(shape: [1, 1, 3, 3], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        XCTAssertEqual(translated(x, offsets: [(dx: 1, dy: 0)]).scalars, [0, 1, 2, 0, 4, 5, 0, 7, 8])
        XCTAssertEqual(translated(x, offsets: [(dx: -1, dy: 1)]).scalars, [0, 0, 0, 2, 3, 0, 5, 6, 0])
        var generator = RandomGenerator(seed: 6)
        let batch = images([50, 1, 10, 10])
        XCTAssertEqual(randomTranslation(batch, horizontal: 0, vertical: 0, using: &generator), batch)
        let shifted = randomTranslation(batch, horizontal: 0.2, vertical: 0.2, using: &generator)
        var moved = 0
        for n in 0..<50 {
            // Identify the offset by brute force; it must exist with |dx|, |dy| ≤ 2.
            var found = false
            for dy in -2...2 { for dx in -2...2 where translated(batch.row(n).reshaped(to: [1, 1, 10, 10]), offsets: [(dx, dy)]) == shifted.row(n).reshaped(to: [1, 1, 10, 10]) {
                found = true
                if dx != 0 || dy != 0 { moved += 1 }
            } }
            XCTAssertTrue(found, "sample \(n) is a translation by at most 2 pixels")
        }
        XCTAssertGreaterThan(moved, 25)
    }

    func testBilinearResizeMatchesPyTorchInterpolate() throws {
        let file = try Fixtures.load("regularization", "resize_bilinear")
        let x = file.tensor("x", as: Double.self)
        for name in ["up", "down", "mixed", "tall", "one", "same"] {
            let size = file.metadata[name]!.split(separator: "x").map { Int($0)! }
            let expected = file.tensor(name, as: Double.self)
            assertClose(resizeBilinear(x, height: size[0], width: size[1]), expected, relative: 1e-12, absolute: 1e-13, name)
            assertClose(resizeBilinear(Tensor<Float>(x), height: size[0], width: size[1]), Tensor<Float>(expected),
                        relative: 1e-5, absolute: 1e-6, "\(name) (Float)")
        }
        let b = file.ints("boxes")
        let boxes = [CropBox(top: b[0], left: b[1], height: b[2], width: b[3]), CropBox(top: b[4], left: b[5], height: b[6], width: b[7])]
        assertClose(resizedCrops(x, boxes: boxes, height: 6, width: 5), file.tensor("resized_crops"), relative: 1e-12, absolute: 1e-13)
    }

    func testRandomResizedCropSampling() {
        var generator = RandomGenerator(seed: 7)
        var fallbacks = 0
        for _ in 0..<500 {
            let box = randomResizedCropBox(height: 20, width: 30, using: &generator)
            XCTAssertTrue(box.top >= 0 && box.left >= 0 && box.top + box.height <= 20 && box.left + box.width <= 30, "\(box)")
            if box == CropBox(top: 0, left: 1, height: 20, width: 27) { fallbacks += 1; continue }
            let area = Double(box.height * box.width) / 600
            XCTAssertTrue(area > 0.06 && area < 1.1, "area fraction \(area)")
        }
        XCTAssertLessThan(fallbacks, 20)
        // An impossible scale forces the centre-crop fallback with the ratio clamped to 4/3.
        XCTAssertEqual(randomResizedCropBox(height: 20, width: 30, scale: 2...3, using: &generator),
                       CropBox(top: 0, left: 1, height: 20, width: 27), "wide image: w = round(20 · 4/3)")
        XCTAssertEqual(randomResizedCropBox(height: 30, width: 10, scale: 2...3, using: &generator),
                       CropBox(top: 8, left: 0, height: 13, width: 10), "tall image: h = round(10 / (3/4))")
        XCTAssertEqual(randomResizedCropBox(height: 10, width: 12, scale: 2...3, using: &generator),
                       CropBox(top: 0, left: 0, height: 10, width: 12), "ratio inside the range: the whole image")

        let x = images([6, 3, 12, 12])
        var a = RandomGenerator(seed: 8), b = RandomGenerator(seed: 8)
        let out = randomResizedCrop(x, height: 8, width: 8, using: &a)
        XCTAssertEqual(out.shape, [6, 3, 8, 8])
        XCTAssertEqual(out, randomResizedCrop(x, height: 8, width: 8, using: &b), "deterministic under a seed")
        var replay = RandomGenerator(seed: 8)
        let boxes = (0..<6).map { _ in randomResizedCropBox(height: 12, width: 12, using: &replay) }
        XCTAssertEqual(out, resizedCrops(x, boxes: boxes, height: 8, width: 8))
    }

    func testRandomErasing() {
        let x = Tensor<Float>(ones: [300, 3, 16, 16])
        var a = RandomGenerator(seed: 9), b = RandomGenerator(seed: 9)
        let erased = randomErasing(x, probability: 1, using: &a)
        XCTAssertEqual(erased, randomErasing(x, probability: 1, using: &b), "deterministic under a seed")
        var erasedSamples = 0
        for n in 0..<300 {
            let sample = erased.row(n)
            let zeros = sample.scalars.filter { $0 == 0 }.count
            guard zeros > 0 else { continue }
            erasedSamples += 1
            XCTAssertEqual(zeros % 3, 0, "the same rectangle in every channel")
            let fraction = Double(zeros / 3) / 256
            XCTAssertTrue(fraction >= 0.01 && fraction <= 0.40, "erased area fraction \(fraction)")
            // The zeros form one axis-aligned rectangle.
            let plane = sample.row(0)
            let rows = (0..<16).filter { i in (0..<16).contains { plane[i, $0] == 0 } }
            let cols = (0..<16).filter { j in (0..<16).contains { plane[$0, j] == 0 } }
            XCTAssertEqual(rows.count * cols.count, zeros / 3)
            XCTAssertEqual(rows.last! - rows.first! + 1, rows.count)
        }
        XCTAssertGreaterThan(erasedSamples, 280, "p = 1 erases almost every sample (unless 10 attempts fail)")
        XCTAssertEqual(randomErasing(x, probability: 0, using: &a), x)
        let coloured = randomErasing(Tensor<Float>(zeros: [4, 3, 8, 8]), probability: 1, value: .perChannel([1, 2, 3]), using: &a)
        for n in 0..<4 {
            let counts = (0..<3).map { c in coloured.row(n).row(c).scalars.filter { $0 == Float(c + 1) }.count }
            XCTAssertTrue(counts[0] == counts[1] && counts[1] == counts[2])
        }
        let noisy = randomErasing(Tensor<Float>(zeros: [4, 1, 8, 8]), probability: 1, value: .normal, using: &a)
        XCTAssertGreaterThan(noisy.scalars.filter { $0 != 0 }.count, 0)
    }

    func testBrightnessAndContrastMatchTorchvision() throws {
        let file = try Fixtures.load("regularization", "color")
        func apply(_ key: String, _ body: (UnsafeMutableBufferPointer<Double>, Int) -> Void) -> Tensor<Double> {
            var x = file.tensor(key, as: Double.self)
            let channels = x.shape[1], size = x.count / x.shape[0], count = x.shape[0]
            x.withUnsafeMutableBufferPointer { all in
                for n in 0..<count { body(UnsafeMutableBufferPointer(rebasing: all[(n * size)..<((n + 1) * size)]), channels) }
            }
            return x
        }
        assertClose(apply("rgb") { image, _ in adjustBrightness(image, factor: 1.4) }, file.tensor("rgb_brightness_1.4"), relative: 1e-12)
        for factor in [0.6, 1.7] {
            assertClose(apply("rgb") { adjustContrast($0, channels: $1, factor: factor) }, file.tensor("rgb_contrast_\(factor)"),
                        relative: 1e-12, absolute: 1e-14)
        }
        assertClose(apply("gray") { adjustContrast($0, channels: $1, factor: 0.6) }, file.tensor("gray_contrast_0.6"),
                    relative: 1e-12, absolute: 1e-14)
    }

    func testColorJitterDeterminismAndRange() {
        let x = images([20, 3, 4, 4])
        var a = RandomGenerator(seed: 10), b = RandomGenerator(seed: 10)
        let jittered = colorJitter(x, brightness: 0.5, contrast: 0.5, using: &a)
        XCTAssertEqual(jittered, colorJitter(x, brightness: 0.5, contrast: 0.5, using: &b))
        XCTAssertNotEqual(jittered, x)
        XCTAssertTrue(jittered.scalars.allSatisfy { $0 >= 0 && $0 <= 1 })
        XCTAssertEqual(colorJitter(x, brightness: 0, contrast: 0, using: &a), x)
    }

    func testChannelNormalization() {
        var generator = RandomGenerator(seed: 11)
        let x = Tensor<Double>(normal: [50, 3, 4, 4], mean: 0, standardDeviation: 1, using: &generator) * Tensor([2, 3, 0.5]).reshaped(to: [1, 3, 1, 1])
            + Tensor([1, -1, 5]).reshaped(to: [1, 3, 1, 1])
        let stats = channelStatistics(of: x)
        let normalized = normalizedPerChannel(x, mean: stats.mean, standardDeviation: stats.standardDeviation)
        let after = channelStatistics(of: normalized)
        for c in 0..<3 {
            XCTAssertEqual(after.mean[c], 0, accuracy: 1e-12)
            XCTAssertEqual(after.standardDeviation[c], 1, accuracy: 1e-12)
        }
        XCTAssertEqual(normalizedPerChannel(Tensor<Float>(shape: [1, 2, 1, 1], scalars: [1, 3]), mean: [0.5], standardDeviation: [0.5, 2]).scalars,
                       [1, 1.25])
    }

    func testPipelineParsingAndDeterminism() throws {
        let pipeline = try AugmentationPipeline(parsing: "crop:4,flip,jitter:0.2,erase:0.5")
        XCTAssertEqual(pipeline.steps, [.randomCrop(padding: 4, mode: .zero), .horizontalFlip(probability: 0.5),
                                        .colorJitter(brightness: 0.2, contrast: 0.2), .randomErasing(probability: 0.5)])
        XCTAssertEqual(try AugmentationPipeline(parsing: pipeline.description), pipeline, "round trip")
        let full = try AugmentationPipeline(parsing: " crop:2:reflect , hflip:0.3, vflip, translate:0.1:0.2, rrc:0.5, rrc:0.2:0.9:0.5:2, normalize:0.5:0.25/0.5/1 ")
        XCTAssertEqual(full.steps, [.randomCrop(padding: 2, mode: .reflect), .horizontalFlip(probability: 0.3), .verticalFlip(probability: 0.5),
                                    .translation(horizontal: 0.1, vertical: 0.2), .randomResizedCrop(scale: 0.5...1, ratio: 0.75...(4.0 / 3)),
                                    .randomResizedCrop(scale: 0.2...0.9, ratio: 0.5...2), .normalize(mean: [0.5], standardDeviation: [0.25, 0.5, 1])])
        XCTAssertEqual(try AugmentationPipeline(parsing: full.description), full)
        XCTAssertEqual(try AugmentationPipeline(parsing: "none").steps, [])
        XCTAssertEqual(try AugmentationPipeline(parsing: "").steps, [])

        let x = images([8, 3, 8, 8])
        var a = RandomGenerator(seed: 12), b = RandomGenerator(seed: 12)
        let out = full(x, using: &a)
        XCTAssertEqual(out.shape, x.shape)
        XCTAssertEqual(out, full(x, using: &b))
        XCTAssertNoThrow(try full.validate(imageShape: [3, 8, 8]))
        XCTAssertThrowsError(try full.validate(imageShape: [3, 2, 8])) {
            XCTAssertEqual(($0 as? NablaError)?.message, "augmentation 'crop:2:reflect': reflect padding 2 needs images larger than 2×8")
        }
        XCTAssertThrowsError(try full.validate(imageShape: [1, 8, 8])) {
            XCTAssertEqual(($0 as? NablaError)?.kind, .shapeMismatch)
        }
    }

    func testPipelineSpecErrors() {
        let cases = [
            ("crop:4,blur", "augmentation 'blur': unknown name 'blur' (known: crop, flip, hflip, vflip, jitter, translate, rrc, erase, normalize, rotate, affine, randaugment, trivialaugment)"),
            ("flip:1.5", "augmentation 'flip:1.5': probability 1.5 is out of range [0.0, 1.0]"),
            ("crop:x", "augmentation 'crop:x': padding 'x' is not a number"),
            ("crop:2.5", "augmentation 'crop:2.5': padding 2.5 is not an integer"),
            ("crop:4:mirror", "augmentation 'crop:4:mirror': padding mode 'mirror' is not zero or reflect"),
            ("jitter", "augmentation 'jitter': missing brightness"),
            ("jitter:-0.1", "augmentation 'jitter:-0.1': brightness -0.1 is out of range [0.0, ∞]"),
            ("erase:0.5:1", "augmentation 'erase:0.5:1': too many values (at most 1)"),
            ("translate:2", "augmentation 'translate:2': fraction 2 is out of range [0.0, 1.0]"),
            ("rrc:0.5:0.2", "augmentation 'rrc:0.5:0.2': maximum scale 0.2 is out of range [0.5, 1.0]"),
            ("rrc:0.5:1:0.5", "augmentation 'rrc:0.5:1:0.5': give both ratio bounds"),
            ("normalize:0.5", "augmentation 'normalize:0.5': missing standard deviation"),
            ("normalize:0.5:0", "augmentation 'normalize:0.5:0': standard deviations must be positive"),
            ("normalize:1/2:1/2/3", "augmentation 'normalize:1/2:1/2/3': 2 means but 3 standard deviations"),
            ("flip,,crop", "augmentation '': unknown name '' (known: crop, flip, hflip, vflip, jitter, translate, rrc, erase, normalize, rotate, affine, randaugment, trivialaugment)"),
            ("normalize:0.5:0.5,jitter:0.1", "augmentation 'normalize:0.5:0.5,jitter:0.1': 'jitter' must come before 'normalize'"),
        ]
        for (spec, message) in cases {
            XCTAssertThrowsError(try AugmentationPipeline(parsing: spec), spec) { error in
                XCTAssertEqual((error as? NablaError)?.kind, .invalidArgument, spec)
                XCTAssertEqual((error as? NablaError)?.message, message, spec)
            }
        }
    }
}
