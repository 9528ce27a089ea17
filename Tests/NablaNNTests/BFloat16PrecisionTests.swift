import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// `Precision.bfloat16`: the ops compute what the doc comments say (bf16 operands and results, Float
/// sums), their gradients pass the bf16 gradient check, and a small network matches PyTorch's
/// `torch.autocast("cpu", dtype=torch.bfloat16)` far more closely than float32 does.
final class BFloat16PrecisionTests: XCTestCase {
    func testBFloat16GradientCheckSuitePasses() {
        for testCase in GradientCheckSuite.bfloat16 {
            let result = testCase.run()
            XCTAssertLessThan(result.maxRelativeError, GradientCheckSuite.bfloat16Threshold,
                              "\(testCase.name) \(testCase.shapes): relative error \(result.maxRelativeError)")
            // The bf16 rounding shows: float32 gradients are ~1e-7 from exact, bf16 ones far more.
            XCTAssertGreaterThan(result.maxRelativeError, 1e-5, "\(testCase.name): no bf16 rounding visible")
        }
    }

    func testBFloat16GradientCheckCanFail() {
        var generator = RandomGenerator(seed: 1)
        let inputs = [[4, 6], [3, 6]].map { Tensor<Double>(normal: $0, using: &generator) }
        // The Float side forgets the transpose's partner: a different function, caught.
        let result = checkBFloat16Gradients(at: inputs, float: { linear($0[0], weight: $0[1], bias: nil) * 1.05 },
                                            double: { linear($0[0], weight: $0[1], bias: nil) })
        XCTAssertGreaterThan(result.maxRelativeError, GradientCheckSuite.bfloat16Threshold)
    }

    /// `y = bf16(bf16(b) + Σ bf16(x)·bf16(W))` for every geometry class: equal to the Double
    /// convolution of the rounded operands, rounded once, up to one bf16 step where the Float sum lands
    /// next to a rounding boundary; every output and gradient element is a bf16 value.
    func testConvolutionAndLinearComputeTheRoundedDefinition() {
        var generator = RandomGenerator(seed: 9)
        func rounded(_ t: Tensor<Float>) -> Tensor<Float> { t.map(BFloat16Kernels.rounded) }
        func isBFloat16(_ t: Tensor<Float>) -> Bool { t.scalars.allSatisfy { BFloat16Kernels.rounded($0) == $0 } }
        func check(_ name: String, _ shapes: [[Int]], _ op: @escaping ([Variable<Float>]) -> Variable<Float>,
                   _ double: @escaping ([Variable<Double>]) -> Variable<Double>) {
            let values = shapes.map { Tensor<Float>(normal: $0, using: &generator) }
            let leaves = values.map { Variable($0, requiresGradient: true) }
            let y = withPrecision(.bfloat16) { op(leaves) }
            let g = Tensor<Float>(normal: y.shape, using: &generator)
            withPrecision(.bfloat16) { y.backward(seed: g) }
            XCTAssertTrue(isBFloat16(y.value), "\(name): output not bf16")
            // Reference: the Double op on rounded operands, then one rounding.
            let exactLeaves = values.map { Variable(Tensor<Double>(rounded($0)), requiresGradient: true) }
            let exact = double(exactLeaves)
            exact.backward(seed: Tensor<Double>(rounded(g)))
            let expected = Tensor<Float>(exact.value).map(BFloat16Kernels.rounded)
            let float32 = op(values.map { Variable($0) }).value
            // One bf16 step: at most 2⁻⁷ of the value (the bottom of a binade), plus a little at the output's scale.
            let scale = Double(expected.scalars.map(abs).max()!)
            assertClose(y.value, expected, relative: 0x1p-7, absolute: 0x1p-8 * scale * 0.01, "\(name) forward")
            XCTAssertGreaterThan(zip(float32.scalars, y.value.scalars).map { abs(Double($0 - $1)) }.max()!, 0, "\(name): same as float32")
            for (k, leaf) in leaves.enumerated() {
                let grad = leaf.grad!
                XCTAssertTrue(isBFloat16(grad), "\(name): gradient \(k) not bf16")
                let want = Tensor<Float>(exactLeaves[k].grad!).map(BFloat16Kernels.rounded)
                let gradScale = Double(want.scalars.map(abs).max()!)
                assertClose(grad, want, relative: 0x1p-7, absolute: 0x1p-8 * gradScale * 0.01, "\(name) gradient \(k)")
            }
        }
        check("linear", [[9, 70], [13, 70], [13]], { linear($0[0], weight: $0[1], bias: $0[2]) },
              { linear($0[0], weight: $0[1], bias: $0[2]) })
        check("conv2d 3×3 padding 1 (row-shifted in float32)", [[3, 8, 7, 6], [5, 8, 3, 3], [5]],
              { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) }, { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) })
        // 8-wide rows on 16 lanes: the tails of two rows share a vector (``PackedRowTails``) in the
        // forward pass and the input gradient (the bf16 kernels' 16 lanes; the layout packs whatever
        // its channel pairs).
        let packedShape: DirectConvolutionTests.Shape = (4, 6, 8, 8, (3, 3), (1, 1), (1, 1), 2)
        XCTAssertNotNil(PackedRowTails(DirectConvolutionLayout(forward: DirectConvolutionTests.geometry(packedShape), lanes: 16)))
        XCTAssertNotNil(PackedRowTails(DirectConvolutionLayout(inputGradient: DirectConvolutionTests.geometry(packedShape), lanes: 16)))
        check("conv2d 3×3 padding 1, packed row tails", [[2, 4, 8, 8], [6, 4, 3, 3], [6]],
              { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) }, { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) })
        check("conv2d stride 2 groups 2", [[2, 4, 9, 8], [6, 2, 3, 3], [6]],
              { conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), groups: 2) },
              { conv2d($0[0], weight: $0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), groups: 2) })
        check("conv2d 1×1 no bias", [[2, 6, 5, 5], [4, 6, 1, 1]],
              { conv2d($0[0], weight: $0[1], bias: nil) }, { conv2d($0[0], weight: $0[1], bias: nil) })
        check("conv2d 5×5 batch 5 (split over workers)", [[5, 3, 20, 20], [16, 3, 5, 5], [16]],
              { conv2d($0[0], weight: $0[1], bias: $0[2]) }, { conv2d($0[0], weight: $0[1], bias: $0[2]) })
        // The bf16 direct kernels' cases (with AVX512_BF16): 16-wide rows (row mode) with an odd channel
        // count and a partial block of outputs; flat mode with dilation; one input channel (LeNet's first
        // layer: half of every pair is zero); a batch large enough to split over the workers.
        check("conv2d 3×3 padding 1, 16 wide, 5 → 20 channels", [[2, 5, 16, 16], [20, 5, 3, 3], [20]],
              { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) }, { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) })
        check("conv2d 3×3 dilation 2 padding (2, 1), 9×11", [[2, 4, 9, 11], [7, 4, 3, 3], [7]],
              { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (2, 1), dilation: (2, 2)) },
              { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (2, 1), dilation: (2, 2)) })
        check("conv2d 5×5 1 → 6 channels, no bias", [[3, 1, 12, 12], [6, 1, 5, 5]],
              { conv2d($0[0], weight: $0[1], bias: nil) }, { conv2d($0[0], weight: $0[1], bias: nil) })
        check("conv2d 3×3 padding 1, batch 16, 8 → 8 channels (workers)", [[16, 8, 16, 16], [8, 8, 3, 3], [8]],
              { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) }, { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) })
        // The paired 3×3 weight gradient (≥ 64 taps): two vectors of channels and a last single one (40
        // outputs), odd output widths (the last pixel pair is half empty), dilation, no padding.
        check("conv2d 3×3 padding 1, 8 → 40 channels, 9 wide", [[2, 8, 5, 9], [40, 8, 3, 3], [40]],
              { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) }, { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) })
        check("conv2d 3×3 padding (1, 0) dilation (1, 2), 3 wide", [[3, 9, 6, 7], [17, 9, 3, 3], [17]],
              { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 0), dilation: (1, 2)) },
              { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 0), dilation: (1, 2)) })
    }

    /// With AVX512_BF16, unit-stride convolutions run on the bf16 direct kernels (not im2col + GEMM)
    /// unless `--conv-algorithm gemm` asks for the column path; strided and grouped ones never do.
    func testBFloat16DirectKernelsApplyToUnitStrideConvolutions() throws {
        try XCTSkipUnless(BFloat16Kernels.usesHardware, "no AVX512_BF16 on this CPU (or NABLA_DISABLE_BF16)")
        let unit = Convolution2DGeometry(batch: 2, inChannels: 3, inHeight: 8, inWidth: 8, outChannels: 4, kernelHeight: 3,
                                         kernelWidth: 3, strideHeight: 1, strideWidth: 1, paddingHeight: 1, paddingWidth: 1,
                                         dilationHeight: 1, dilationWidth: 1, groups: 1)
        XCTAssertTrue(BFloat16DirectConvolution.applies(to: unit, algorithm: .auto))
        XCTAssertTrue(BFloat16DirectConvolution.applies(to: unit, algorithm: .direct))
        XCTAssertFalse(BFloat16DirectConvolution.applies(to: unit, algorithm: .gemm))
        var strided = unit; strided.strideHeight = 2
        XCTAssertFalse(BFloat16DirectConvolution.applies(to: strided, algorithm: .auto))
        // Both paths compute the definition; they differ only in the order of Float additions.
        var generator = RandomGenerator(seed: 11)
        let x = Variable(Tensor<Float>(normal: [2, 6, 10, 10], using: &generator))
        let w = Variable(Tensor<Float>(normal: [5, 6, 3, 3], using: &generator))
        let direct = withPrecision(.bfloat16) { conv2d(x, weight: w, bias: nil, padding: (1, 1)) }.value
        let gemm = ConvolutionAlgorithm.$current.withValue(.gemm) {
            withPrecision(.bfloat16) { conv2d(x, weight: w, bias: nil, padding: (1, 1)) }.value
        }
        assertClose(direct, gemm, relative: 0x1p-7, absolute: 1e-3)
    }

    func testPrecisionIsTaskLocalAndParses() throws {
        XCTAssertEqual(Precision.current, .float32)
        withPrecision(.bfloat16) {
            XCTAssertEqual(Precision.current, .bfloat16)
            // Double ops ignore it: exactly the float32 arithmetic.
            let x = Variable(Tensor<Double>(shape: [1, 2], scalars: [1 + 0x1p-20, 2])), w = Variable(Tensor<Double>(shape: [1, 2], scalars: [1, 1]))
            XCTAssertEqual(linear(x, weight: w, bias: nil).value.scalars, [3 + 0x1p-20])
        }
        XCTAssertEqual(Precision.current, .float32)
        XCTAssertEqual(try Precision(parsing: "bf16"), .bfloat16)
        XCTAssertEqual(try Precision(parsing: "BFloat16"), .bfloat16)
        XCTAssertEqual(try Precision(parsing: "fp32"), .float32)
        assertNablaError(try Precision(parsing: "fp8"), "precision 'fp8'", "expected one of float32, bf16", kind: .invalidArgument)
        // The backward pass uses the forward pass's precision, whatever is current when it runs.
        let x = Variable(Tensor<Float>(shape: [1, 2], scalars: [1 + 0x1p-12, 3]), requiresGradient: true)
        let w = Variable(Tensor<Float>(shape: [1, 2], scalars: [1 + 0x1p-11, 1]), requiresGradient: true)
        let y = withPrecision(.bfloat16) { linear(x, weight: w, bias: nil) }
        y.backward(seed: Tensor<Float>(shape: [1, 1], scalars: [1]))
        XCTAssertEqual(w.grad!.scalars, [1, 3])   // bf16(1 + 2⁻¹²) = 1
        XCTAssertEqual(y.value.scalars, [4])
        let resolved = Precision.bfloat16.resolvedForHardware
        if BFloat16Kernels.usesHardware {
            XCTAssertEqual(resolved.precision, .bfloat16); XCTAssertNil(resolved.notice)
        } else {
            XCTAssertEqual(resolved.precision, .float32); XCTAssertNotNil(resolved.notice)
        }
        XCTAssertEqual(Precision.float32.resolvedForHardware.precision, .float32)
    }

    /// PyTorch's autocast on one network (Scripts/fixtures/gen_bf16.py: conv 3×3 + BN + ReLU + max-pool,
    /// conv 3×3 + BN + ReLU, linear; batch 8, train mode): the logits, the loss and every parameter
    /// gradient of Nabla's bf16 path against torch's bf16 (`bf16.*`) and, for scale, torch's float32
    /// (`fp32.*`). Both bf16 sides round the same operands and results; they differ only where their
    /// Float sums (oneDNN's order vs Nabla's) straddle a bf16 rounding boundary, one bf16 step (2⁻⁸
    /// relative) at a time, and in what follows from it. Float32 differs from bf16 at every element.
    func testMatchesPyTorchAutocastOnASmallConvNet() throws {
        let file = try Fixtures.load("bf16", "autocast_convnet")
        let description = try ModelDescription.parse(file.metadata["model"]!, name: "autocast_convnet")
        var generator = RandomGenerator(seed: 0)
        let model = try description.build(inputShape: [1, 12, 12], using: &generator).model
        var state: [String: Tensor<Float>] = [:]
        for key in file.tensors.keys where key.hasPrefix("init.") { state[String(key.dropFirst(5))] = file.tensor(key) }
        try model.loadStateDict(state)
        model.train()
        let x = file.tensor("x", as: Float.self), labels = file.ints("y")

        func run(_ precision: Precision) -> [String: Tensor<Float>] {
            model.zeroGrad()
            defer { model.zeroGrad() }
            return withPrecision(precision) {
                let logits = model(Variable(x))
                let loss = crossEntropy(logits: logits, labels: labels)
                loss.backward()
                var out = ["logits": logits.value, "loss": loss.value.reshaped(to: [1])]
                for (name, p) in model.namedParameters() { out["grad." + name] = p.grad! }
                return out
            }
        }
        let bf16 = run(.bfloat16), float32 = run(.float32)
        XCTAssertEqual(bf16.count, 2 + 10)
        for (key, ours) in bf16.sorted(by: { $0.key < $1.key }) {
            let torchBF16 = file.tensor("bf16." + key, as: Float.self), torchFP32 = file.tensor("fp32." + key, as: Float.self)
            func distance(_ a: Tensor<Float>, _ b: Tensor<Float>) -> Double {
                zip(a.scalars, b.scalars).map { abs(Double($0) - Double($1)) }.max()!
            }
            let scale = Double(torchBF16.scalars.map(abs).max()!)
            let toTorch = distance(ours, torchBF16), precisionGap = distance(torchFP32, torchBF16)
            print("bf16 autocast \(key): |nabla - torch bf16| = \(toTorch / scale) · max|x|, |torch fp32 - torch bf16| = \(precisionGap / scale) · max|x|, nabla fp32 vs torch fp32 \(distance(float32[key]!, torchFP32) / scale)")
            // Measured here: identical logits, and at most 1e-6·max|x| on any gradient.
            XCTAssertLessThanOrEqual(toTorch, 0x1p-8 * scale, "\(key): Nabla bf16 vs torch autocast")
            XCTAssertLessThan(toTorch, 0.25 * precisionGap, "\(key): no closer to torch's bf16 than float32 is")
            // Nabla's own float32 result is as far from torch's bf16 as torch's float32.
            XCTAssertGreaterThan(distance(float32[key]!, torchBF16), 0.5 * precisionGap, key)
        }
    }
}
