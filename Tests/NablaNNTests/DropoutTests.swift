import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// Dropout: the statistics of the masks, the exact gradient, the vanilla/inverted conventions, the
/// edge probabilities, validation, and the layer's owned generator.
final class DropoutTests: XCTestCase {
    func testDroppedFractionAndMeanOverAMillionElementsInvertedTraining() {
        let x = Variable(Tensor<Float>(ones: [1000, 1000]))
        for (p, seed) in [(0.1, 1 as UInt64), (0.5, 2), (0.8, 3)] {
            var generator = RandomGenerator(seed: seed)
            let y = dropout(x, probability: p, training: true, using: &generator).value
            let dropped = Double(y.scalars.lazy.filter { $0 == 0 }.count) / Double(y.count)
            XCTAssertEqual(dropped, p, accuracy: 0.005 * p, "dropped fraction within 0.5% of p=\(p)")
            let keptValue = Float(1 / (1 - p))
            XCTAssertTrue(y.scalars.allSatisfy { $0 == 0 || $0 == keptValue }, "kept units are scaled by 1/(1−p)")
            let mean = y.scalars.reduce(0.0) { $0 + Double($1) } / Double(y.count)
            XCTAssertEqual(mean, 1, accuracy: 0.005, "inverted dropout preserves the mean at p=\(p)")
        }
    }

    func testVanillaTrainingMeanMatchesEvaluation() {
        var generator = RandomGenerator(seed: 4)
        let x = Variable(Tensor<Float>(uniform: [1000, 1000], lower: 1, upper: 3, using: &generator))
        let p = 0.3
        let train = dropout(x, probability: p, training: true, mode: .vanilla, using: &generator).value
        let eval = dropout(x, probability: p, training: false, mode: .vanilla, using: &generator).value
        let dropped = Double(train.scalars.lazy.filter { $0 == 0 }.count) / Double(train.count)
        XCTAssertEqual(dropped, p, accuracy: 0.005 * p)
        XCTAssertTrue(zip(train.scalars, x.value.scalars).allSatisfy { $0 == 0 || $0 == $1 }, "vanilla training does not scale")
        assertClose(eval, x.value * Float(1 - p), relative: 1e-6)
        func mean(_ t: Tensor<Float>) -> Double { t.scalars.reduce(0.0) { $0 + Double($1) } / Double(t.count) }
        XCTAssertEqual(mean(train), mean(eval), accuracy: 0.005 * mean(eval),
                       "vanilla: training expectation equals the evaluation output")
    }

    func testGradientIsTheMaskOverKeepProbability() {
        var generator = RandomGenerator(seed: 5)
        let p = 0.35
        let x = Variable(Tensor<Double>(normal: [300, 200], using: &generator), requiresGradient: true)
        var replay = generator
        let expectedMask: Tensor<Double> = dropoutMask(shape: x.shape, probability: p, using: &replay)
        let y = dropout(x, probability: p, training: true, using: &generator)
        XCTAssertEqual(generator, replay, "the op draws exactly one mask")
        y.sum().backward()
        XCTAssertEqual(x.grad, expectedMask / (1 - p), "∂x = mask/(1−p), elementwise")
        XCTAssertEqual(y.value, x.value * (expectedMask * (1 / (1 - p))))
    }

    func testMasksArePerElementNotPerUnit() {
        // Seed 001's point: each sample drops its own units; a column is not dropped for the whole batch.
        var generator = RandomGenerator(seed: 6)
        let y = dropout(Variable(Tensor<Float>(ones: [64, 32])), probability: 0.5, training: true, using: &generator).value
        var mixedColumns = 0
        for j in 0..<32 {
            let column = (0..<64).map { y[$0, j] }
            if column.contains(0) && column.contains(2) { mixedColumns += 1 }
        }
        XCTAssertEqual(mixedColumns, 32)
    }

    func testMatchesPyTorchWithFixedMasks() throws {
        let file = try Fixtures.load("regularization", "dropout_masks")
        let p = file.number("p")!
        let x = Variable(file.tensor("x", as: Double.self), requiresGradient: true)
        let mask = file.tensor("mask", as: Double.self)
        let upstream = file.tensor("upstream", as: Double.self)

        let inverted = dropout(x, mask: mask, probability: p)
        assertClose(inverted.value, file.tensor("inverted"), relative: 1e-12, absolute: 1e-14)
        inverted.backward(seed: upstream)
        assertClose(x.grad!, file.tensor("grad_inverted"), relative: 1e-12, absolute: 1e-14)

        x.zeroGrad()
        let vanilla = dropout(x, mask: mask, probability: p, mode: .vanilla)
        assertClose(vanilla.value, file.tensor("vanilla"), relative: 1e-12, absolute: 1e-14)
        vanilla.backward(seed: upstream)
        assertClose(x.grad!, file.tensor("grad_vanilla"), relative: 1e-12, absolute: 1e-14)

        var unused = RandomGenerator(seed: 0)
        assertClose(dropout(x, probability: p, training: false, mode: .vanilla, using: &unused).value,
                    file.tensor("vanilla_eval"), relative: 1e-12, absolute: 1e-14)

        // Float run of the same op at the SPEC's 1e-5 bar.
        let xf = Variable(Tensor<Float>(x.value), requiresGradient: true)
        let yf = dropout(xf, mask: Tensor<Float>(mask), probability: p)
        assertClose(yf.value, Tensor<Float>(file.tensor("inverted", as: Double.self)), relative: 1e-5)
    }

    func testEdgeProbabilities() {
        var generator = RandomGenerator(seed: 7)
        let x = Variable(Tensor<Double>(normal: [5, 4], using: &generator), requiresGradient: true)
        let zeros = dropout(x, probability: 1, training: true, using: &generator)
        XCTAssertEqual(zeros.value, Tensor(zeros: [5, 4]), "p = 1 yields zeros")
        zeros.sum().backward()
        XCTAssertEqual(x.grad, Tensor(zeros: [5, 4]), "and a zero (finite) gradient")
        let vanillaZeros = dropout(x, probability: 1, training: true, mode: .vanilla, using: &generator)
        XCTAssertEqual(vanillaZeros.value, Tensor(zeros: [5, 4]))

        let before = generator
        XCTAssertTrue(dropout(x, probability: 0, training: true, using: &generator) === x, "p = 0 is the identity")
        XCTAssertTrue(dropout(x, probability: 0.5, training: false, using: &generator) === x, "inverted eval is the identity")
        XCTAssertEqual(generator, before, "neither draws random numbers")
    }

    func testValidationThrowsForUserInput() {
        for p in [1.5, -0.1, Double.nan, Double.infinity] {
            XCTAssertThrowsError(try Dropout<Float>.validate(probability: p)) { error in
                XCTAssertEqual((error as? NablaError)?.kind, .invalidArgument)
                XCTAssertEqual((error as? NablaError)?.message, "Dropout: p=\(p) is out of range [0, 1]")
            }
        }
        XCTAssertThrowsError(try Dropout2d<Float>.validate(probability: 2)) { error in
            XCTAssertEqual((error as? NablaError)?.message, "Dropout2d: p=2.0 is out of range [0, 1]")
        }
        XCTAssertThrowsError(try DropPath<Float>.validate(probability: -1))
        for p in [0.0, 0.5, 1.0] { XCTAssertNoThrow(try Dropout<Float>.validate(probability: p)) }
    }

    func testLayerFollowsModeAndOwnsAResumableGenerator() throws {
        var seedGenerator = RandomGenerator(seed: 8)
        let model = Sequential<Float>([Dropout(0.5, using: &seedGenerator), Dropout(0.2, mode: .vanilla, using: &seedGenerator)])
        let x = Tensor<Float>(ones: [16, 16])

        let saved = model.randomGeneratorStates()
        XCTAssertEqual(Set(saved.keys), ["0", "1"])
        XCTAssertNotEqual(saved["0"], saved["1"], "layers built from one generator get independent streams")
        let first = model(x), second = model(x)
        XCTAssertNotEqual(first, second, "a fresh mask every forward pass")
        try model.restoreRandomGenerators(saved)
        XCTAssertEqual(model(x), first, "restoring the generators replays the masks exactly")

        model.eval()
        XCTAssertEqual(model(x), x * 0.8, "eval: identity, then vanilla's (1−p) scale")

        XCTAssertThrowsError(try model.restoreRandomGenerators(["0": saved["0"]!])) { error in
            XCTAssertEqual((error as? NablaError)?.message, "random generator state is missing module '1'")
        }
        XCTAssertThrowsError(try model.restoreRandomGenerators(saved.merging(["2": saved["0"]!]) { a, _ in a }))
        XCTAssertEqual(model.description, "Sequential(\n  (0): Dropout(p=0.5)\n  (1): Dropout(p=0.2, mode=vanilla)\n)")
    }

    func testSameSeedSameMasks() {
        func run(_ seed: UInt64) -> Tensor<Float> {
            manualSeed(seed)
            let layer = Dropout<Float>(0.4)
            return layer(Tensor<Float>(ones: [8, 8]))
        }
        XCTAssertEqual(run(9), run(9))
        XCTAssertNotEqual(run(9), run(10))
    }

    func testMaskStreamIsStable() {
        // Pins the documented bit layout (two 32-bit draws per 64-bit word, low half first).
        var generator = RandomGenerator(seed: 42)
        var words = generator
        let mask: Tensor<Double> = dropoutMask(shape: [5], probability: 0.5, using: &generator)
        var expected: [Double] = []
        for _ in 0..<3 {
            let r = words.next()
            expected.append((r & 0xFFFF_FFFF) < 1 << 31 ? 0 : 1)
            expected.append((r >> 32) < 1 << 31 ? 0 : 1)
        }
        XCTAssertEqual(mask.scalars, Array(expected.prefix(5)))
        XCTAssertEqual(generator, words)
    }

    func testLargeMasksDrawnInParallelPartsAreTheSerialStream() {
        // Masks of a few parts' worth of elements (odd counts, partial last blocks) on 1–4 threads:
        // every element gets the bits of the serial layout above, and the generator ends where
        // drawing them one by one leaves it.
        let savedThreads = Parallelism.threadCount
        defer { Parallelism.setThreadCount(savedThreads) }
        for (count, p, seed) in [(100_001, 0.5, 7 as UInt64), (131_072, 0.2, 8), (70_145, 0.9, 9)] {
            var words = RandomGenerator(seed: seed)
            let threshold = UInt64((p * 4_294_967_296).rounded())
            var expected = [Float](repeating: 0, count: count)
            for i in stride(from: 0, to: count, by: 2) {
                let r = words.next()
                expected[i] = (r & 0xFFFF_FFFF) < threshold ? 0 : 1
                if i + 1 < count { expected[i + 1] = (r >> 32) < threshold ? 0 : 1 }
            }
            for threads in 1...4 {
                Parallelism.setThreadCount(threads)
                var generator = RandomGenerator(seed: seed)
                let mask: Tensor<Float> = dropoutMask(shape: [count], probability: p, using: &generator)
                let scalars = mask.scalars
                XCTAssertEqual(scalars.count, count)
                XCTAssertNil(scalars.indices.first { scalars[$0] != expected[$0] },
                             "first element off the serial stream: \(count) elements, p = \(p), \(threads) threads")
                XCTAssertEqual(generator, words, "generator after \(count) elements, \(threads) threads")
            }
        }
    }
}
