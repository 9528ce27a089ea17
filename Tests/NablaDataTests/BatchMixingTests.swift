import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// Mixup and CutMix on images and labels against torchvision.transforms.v2 `MixUp` / `CutMix`
/// (Scripts/fixtures/gen_toolbox.py: `mixup*`, `cutmix_*`), the random batch mixing's consistency
/// between pixels and soft labels, and the Beta sampler.
final class BatchMixingTests: XCTestCase {
    func testMixupMatchesTorchvisionOnImagesAndLabels() throws {
        for name in ["mixup", "mixup_permutation"] {
            let f = try Fixtures.load("toolbox", name)
            let images = f.tensor("images", as: Double.self), labels = f.ints("labels")
            let partners = f.ints("perm"), lambda = f.number("lam")!
            if name == "mixup" { XCTAssertEqual(rolledPartners(count: 4), partners, "torchvision pairs sample i with i − 1") }
            XCTAssertEqual(mixedRows(images, partners: partners, lambda: lambda), f.tensor("mixed"), name)
            XCTAssertEqual(mixedRows(oneHot(labels, classCount: 5, as: Double.self), partners: partners, lambda: lambda), f.tensor("targets"), name)
            if name == "mixup" {
                // Class indices become float32 soft targets, as torchvision's one_hot(…).float().
                XCTAssertEqual(mixedRows(oneHot(labels, classCount: 5, as: Float.self), partners: partners, lambda: lambda),
                               Tensor<Float>(f.tensor("targets_from_indices", as: Double.self)))
            }
        }
    }

    /// The box from λ and the centre (inside, clipped at the border, empty), the pasted pixels, and
    /// the labels weighted by the adjusted λ.
    func testCutMixMatchesTorchvisionOnImagesAndLabels() throws {
        for name in ["cutmix_inside", "cutmix_clipped", "cutmix_empty_box"] {
            let f = try Fixtures.load("toolbox", name)
            let images = f.tensor("images", as: Double.self), labels = f.ints("labels"), partners = f.ints("perm")
            let centre = f.ints("centre"), expectedBox = f.ints("box")
            let box = cutMixBox(height: 8, width: 10, lambda: f.number("lam")!, center: (centre[0], centre[1]))
            XCTAssertEqual([box.x1, box.y1, box.x2, box.y2], expectedBox, name)
            XCTAssertEqual(box.adjustedLambda, f.number("lam_adjusted")!, name)
            XCTAssertEqual(pastedBoxes(images, partners: partners, box: (box.x1, box.y1, box.x2, box.y2)), f.tensor("mixed"), name)
            XCTAssertEqual(mixedRows(oneHot(labels, classCount: 5, as: Double.self), partners: partners, lambda: box.adjustedLambda),
                           f.tensor("targets"), name)
            XCTAssertEqual(mixedRows(oneHot(labels, classCount: 5, as: Float.self), partners: partners, lambda: box.adjustedLambda),
                           Tensor<Float>(f.tensor("targets_from_indices", as: Double.self)), name)
        }
    }

    /// Random mixing keeps images and labels consistent: with distinct labels, each sample's soft
    /// target puts on its own class exactly the share of the image that is still its own (CutMix:
    /// the pixels outside the box; mixup: λ, recovered from the pixels).
    func testRandomMixingKeepsPixelsAndLabelsConsistent() {
        let count = 6, classes = 6
        // Sample n is the constant image n + 1, so every output pixel tells whose it is.
        let images = Tensor<Float>(shape: [count, 1, 7, 9], scalars: (0..<count).flatMap { n in [Float](repeating: Float(n + 1), count: 63) })
        let labels = Array(0..<count)
        for method in [BatchMixing(cutMixAlpha: 1), BatchMixing(mixupAlpha: 0.4), BatchMixing(mixupAlpha: 1, cutMixAlpha: 1)] {
            var cutMixBatches = 0, mixupBatches = 0
            for seed in 0..<40 as Range<UInt64> {
                var inputs = images, targets = Targets.classes(labels, classCount: classes)
                var generator = RandomGenerator(seed: seed)
                method.apply(to: &inputs, targets: &targets, using: &generator)
                guard case .probabilities(let soft) = targets else { return XCTFail("mixing must give probability targets") }
                XCTAssertEqual(soft.shape, [count, classes])
                let pixels = (0..<count).map { inputs.row($0).scalars }
                let isCutMix = pixels.allSatisfy { $0.allSatisfy { $0 == $0.rounded() } } && pixels.contains { Set($0).count > 1 }
                if isCutMix || method.mixupAlpha == nil { cutMixBatches += 1 } else { mixupBatches += 1 }
                for n in 0..<count {
                    let own = Float(n + 1), partner = Float((n + count - 1) % count + 1)
                    let row = soft.row(n).scalars
                    XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-6)
                    let ownShare: Double
                    if method.mixupAlpha == nil || isCutMix {
                        ownShare = Double(pixels[n].filter { $0 == own }.count) / 63
                        XCTAssertEqual(pixels[n].filter { $0 != own && $0 != partner }.count, 0)
                    } else {
                        ownShare = Double((pixels[n][0] - partner) / (own - partner))
                    }
                    XCTAssertEqual(Double(row[n]), ownShare, accuracy: 1e-5, "seed \(seed) sample \(n)")
                    XCTAssertEqual(Double(row[(n + count - 1) % count]), 1 - ownShare, accuracy: 1e-5)
                }
                // Same seed, same batch.
                var again = images, againTargets = Targets.classes(labels, classCount: classes)
                var replay = RandomGenerator(seed: seed)
                method.apply(to: &again, targets: &againTargets, using: &replay)
                XCTAssertEqual(again, inputs)
                XCTAssertEqual(againTargets, targets)
            }
            if method.mixupAlpha != nil && method.cutMixAlpha != nil {
                XCTAssertGreaterThan(cutMixBatches, 5, "both methods are chosen")
                XCTAssertGreaterThan(mixupBatches, 5, "both methods are chosen")
            }
        }
    }

    /// Mixing soft targets again mixes them as they are; regression targets are refused by the
    /// training plan before they get here.
    func testMixingSoftTargetsAndTheLoader() throws {
        let dataset = Dataset(name: "t", inputs: Tensor<Float>(uniform: [10, 2, 4, 4], using: &generator),
                              targets: .classes([0, 1, 2, 0, 1, 2, 0, 1, 2, 0], classCount: 3))
        var loader = DataLoader(dataset: dataset, batchSize: 4, seed: 5, prefetchDepth: 0)
        loader.mixing = BatchMixing(mixupAlpha: 0.2)
        let first = Array(loader.epoch(0)), second = Array(loader.epoch(0))
        XCTAssertEqual(first.map(\.inputs), second.map(\.inputs), "a batch depends only on (seed, epoch, batch)")
        for batch in first {
            guard case .probabilities(let t) = batch.targets else { return XCTFail("the loader's batches carry soft targets") }
            XCTAssertEqual(t.shape, [batch.indices.count, 3])
        }
        loader.prefetchDepth = 2
        XCTAssertEqual(Array(loader.epoch(1)).map(\.targets), Array({ var l = loader; l.prefetchDepth = 0; return l }().epoch(1)).map(\.targets))
        XCTAssertThrowsError(try BatchMixing.validate(alpha: 0, flag: "mixup")) {
            XCTAssertEqual(($0 as? NablaError)?.message, "--mixup 0.0: α must be a positive number")
        }
    }

    var generator = RandomGenerator(seed: 3)

    /// The Beta sampler has the distribution's mean `½` and variance `1/(4(2α + 1))` for `Beta(α, α)`.
    func testBetaSampler() {
        for alpha in [0.2, 1.0, 4.0] {
            var g = RandomGenerator(seed: 17)
            let draws = (0..<20_000).map { _ in g.nextBeta(alpha, alpha) }
            XCTAssertTrue(draws.allSatisfy { $0 >= 0 && $0 <= 1 })
            let mean = draws.reduce(0, +) / Double(draws.count)
            let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count)
            XCTAssertEqual(mean, 0.5, accuracy: 0.01, "α \(alpha)")
            XCTAssertEqual(variance, 1 / (4 * (2 * alpha + 1)), accuracy: 0.006, "α \(alpha)")
        }
    }
}
