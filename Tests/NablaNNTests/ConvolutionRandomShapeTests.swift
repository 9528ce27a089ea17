import XCTest
@testable import NablaTensor
@testable import NablaNN
import NablaTestSupport

/// Every convolution algorithm against the BLAS path on shapes drawn at random, in `Double`: the
/// hand-picked shapes of `DirectConvolutionTests` and `WinogradConvolutionTests` cover the cases their
/// authors thought of; these draw new ones (kernels 1, 3 and 5 in either direction, paddings up to the
/// kernel's reach, dilation 1 or 2, planes from one pixel to wider than two vectors, channels that leave
/// partial register tiles), each under a kernel family and kernel choices drawn at random too (vector
/// width, register file, one core or the batch split, and the test switches that force the alternative
/// kernels on or off).
final class ConvolutionRandomShapeTests: XCTestCase {
    override func tearDown() {
        DirectConvolutionTests.resetKernelChoices()
        super.tearDown()
    }

    /// A shape the direct kernels take (unit stride, padding at most the dilated kernel's reach minus
    /// one), drawn from `generator`.
    static func randomShape(using generator: inout RandomGenerator) -> DirectConvolutionTests.Shape {
        func draw(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }
        while true {
            // Half of the shapes are 3×3 undilated, the ones Winograd takes.
            let winogradShape = Bool.random(using: &generator)
            let kernel = winogradShape ? (3, 3) : ([1, 3, 5].randomElement(using: &generator)!, [1, 3, 5].randomElement(using: &generator)!)
            let dilation = winogradShape ? (1, 1) : (draw(1...2), draw(1...2))
            let padding = (draw(0...dilation.0 * (kernel.0 - 1)), draw(0...dilation.1 * (kernel.1 - 1)))
            let shape: DirectConvolutionTests.Shape = (draw(1...20), draw(1...40), draw(1...21), draw(1...37),
                                                       kernel, padding, dilation, draw(1...3))
            if DirectConvolutionTests.geometry(shape).supportsDirectConvolution { return shape }
        }
    }

    /// Sets a random vector width, register file, threading and kernel choices; returns their description.
    static func randomKernelChoices(using generator: inout RandomGenerator) -> String {
        func choice<T>(_ options: [T]) -> T { options.randomElement(using: &generator)! }
        let bits = choice(DirectConvolutionTests.widths), registers = choice(DirectConvolutionTests.registerFiles)
        let split = Bool.random(using: &generator)
        DirectConvolution.vectorBitsOverride = bits
        DirectConvolutionSupport.registerCount = registers
        ConvolutionTuning.parallelThreshold = split ? 0 : Int.max
        let switches: [Bool?] = [nil, true, false]
        DirectConvolution.columnSplitOverride = choice(switches)
        DirectConvolution.channelVectorOverride = choice(switches)
        DirectConvolution.columnMaskOverride = choice(switches)
        DirectConvolution.batchVectorOverride = choice(switches)
        DirectConvolution.rowReuseOverride = choice(switches)
        DirectConvolution.outerKernels = Bool.random(using: &generator)
        let forced: [(String, Bool?)] = [
            ("column split", DirectConvolution.columnSplitOverride), ("channel vectors", DirectConvolution.channelVectorOverride),
            ("column masks", DirectConvolution.columnMaskOverride), ("batch vectors", DirectConvolution.batchVectorOverride),
            ("row reuse", DirectConvolution.rowReuseOverride), ("outer kernels", DirectConvolution.outerKernels),
        ]
        return (["\(bits)-bit vectors", "\(registers) registers", split ? "split" : "one core"]
            + forced.map { "\($0.0) \($0.1.map(String.init) ?? "by rule")" }).joined(separator: ", ")
    }

    /// `direct`, `winograd`, `winograd4x4` and `auto` give the BLAS path's output and gradients to 1e-12
    /// per element, the bound of the hand-picked shapes (`WinogradConvolutionTests`): the direct kernels
    /// differ from it only in summation order, Winograd by its transforms' few extra roundings. `NABLA_RANDOM_SHAPES` sets how many shapes
    /// (default 48), `NABLA_RANDOM_SHAPES_SEED` the seed (default 2026), to sweep further by hand.
    func testEveryAlgorithmAgreesWithTheBLASPathOnRandomShapes() {
        let environment = ProcessInfo.processInfo.environment
        let count = environment["NABLA_RANDOM_SHAPES"].flatMap { Int($0) } ?? 48
        var generator = RandomGenerator(seed: environment["NABLA_RANDOM_SHAPES_SEED"].flatMap { UInt64($0) } ?? 2026)
        for index in 0..<count {
            let shape = Self.randomShape(using: &generator)
            let run = DirectConvolutionTests.convolution(shape, using: &generator, seed: UInt64(index))
            DirectConvolutionTests.resetKernelChoices()
            let reference = run(.gemm)
            let choices = Self.randomKernelChoices(using: &generator)
            for algorithm in [ConvolutionAlgorithm.direct, .winograd, .winograd4x4, .auto] {
                for (part, (actual, expected)) in zip(["output", "∂x", "∂W", "∂b"], zip(run(algorithm), reference)) {
                    assertClose(actual, expected, relative: 1e-12, absolute: 1e-12,
                                "shape \(index) \(shape), \(algorithm), \(choices): \(part)")
                }
            }
        }
    }
}
