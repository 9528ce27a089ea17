import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// Conv2d / Conv1d against PyTorch golden values (`Scripts/fixtures/gen_convolution.py`), under every
/// blocking strategy of the kernels, plus the layer's initialization, repr, validation and workspace.
final class ConvolutionTests: XCTestCase {
    static let convolutionFixtures = Fixtures.names("convolution").filter { $0.hasPrefix("conv") }

    /// These tests are about the lowering + BLAS path; the direct kernels have DirectConvolutionTests.
    override func invokeTest() {
        withConvolutionAlgorithm(.gemm) { super.invokeTest() }
    }

    override func tearDown() {
        ConvolutionTuning.columnBlockElements = 1 << 21
        ConvolutionTuning.perSampleProducts = true
        ConvolutionTuning.splitBatchAcrossWorkers = true
        ConvolutionTuning.parallelThreshold = 1 << 18
        ConvolutionTuning.rowShiftedLowering = true
        ConvolutionTuning.rowShiftedMinimumDepth = 16
        super.tearDown()
    }

    func testFixturesArePresent() {
        XCTAssertGreaterThanOrEqual(Self.convolutionFixtures.count, 13, "fixtures: \(Self.convolutionFixtures)")
    }

    func testMatchesPyTorchInDouble() throws {
        for name in Self.convolutionFixtures {
            try checkConvolutionFixture(name, as: Double.self, relative: 1e-10, absolute: 1e-12)
        }
    }

    func testMatchesPyTorchInFloat() throws {
        for name in Self.convolutionFixtures {
            try checkConvolutionFixture(name, as: Float.self, relative: 1e-5, absolute: 1e-5)
        }
    }

    /// Small blocks force several blocks per batch, a zero threshold splits even these small batches
    /// over the cores; every combination of GEMM shape (per sample or per block) and threading must agree.
    func testEveryBlockingStrategyMatchesPyTorch() throws {
        ConvolutionTuning.parallelThreshold = 0
        for split in [true, false] {
            for (elements, perSample) in [(200, true), (200, false), (2000, false), (1 << 21, false), (1 << 21, true)] {
                ConvolutionTuning.splitBatchAcrossWorkers = split
                ConvolutionTuning.columnBlockElements = elements
                ConvolutionTuning.perSampleProducts = perSample
                for name in Self.convolutionFixtures {
                    try checkConvolutionFixture(name, as: Double.self, relative: 1e-10, absolute: 1e-12,
                                            "split \(split), block \(elements), perSample \(perSample)")
                }
            }
        }
    }

    /// With no minimum depth every unit-stride "same-width" fixture (padding 1 or 2, dilation, odd and
    /// non-square inputs) takes the row-shifted lowering, on one core and split over several; the
    /// results must still be PyTorch's.
    func testRowShiftedLoweringMatchesPyTorch() throws {
        ConvolutionTuning.rowShiftedMinimumDepth = 1
        var eligible: [String] = []
        for name in Self.convolutionFixtures {
            let file = try Fixtures.load("convolution", name)
            let meta = file.metadata
            guard meta["op"] != "conv1d" else { continue }
            let geometry = try Convolution2DGeometry(
                operation: "conv2d", input: file.tensor("input", as: Double.self).shape,
                weight: file.tensor("weight", as: Double.self).shape, bias: nil, stride: fixturePair(meta["stride"]),
                padding: fixturePair(meta["padding"]), dilation: fixturePair(meta["dilation"]), groups: Int(meta["groups"]!)!)
            if geometry.usesRowShiftedLowering { eligible.append(name) }
        }
        XCTAssertGreaterThanOrEqual(eligible.count, 2, "fixtures on the row-shifted path: \(eligible)")
        for threshold in [1 << 18, 0] {
            ConvolutionTuning.parallelThreshold = threshold
            for name in eligible {
                try checkConvolutionFixture(name, as: Double.self, relative: 1e-10, absolute: 1e-12, "row-shifted")
                try checkConvolutionFixture(name, as: Float.self, relative: 1e-5, absolute: 1e-5, "row-shifted")
            }
        }
    }

    /// The row-shifted path against im2col on `convnet`-sized layers (more samples than workers, both
    /// gradients, either one alone), and which geometries take it.
    func testRowShiftedLoweringAgreesWithIm2Col() {
        var generator = RandomGenerator(seed: 12)
        ConvolutionTuning.parallelThreshold = 0  // five samples split over the workers
        // (channels in, out, input H, kernel, padding): "same" 3×3, 5×5 on an odd input, no padding in H.
        for (cin, cout, size, kernel, padding) in [(32, 32, 16, 3, (1, 1)), (8, 6, 9, 5, (2, 2)), (16, 4, 7, 3, (0, 1))] {
            let x = Tensor<Double>(normal: [5, cin, size, size + 1], using: &generator)
            let w = Tensor<Double>(normal: [cout, cin, kernel, kernel], using: &generator)
            let b = Tensor<Double>(normal: [cout], using: &generator)
            let outShape = [5, cout, size + 2 * padding.0 - kernel + 1, size + 1 + 2 * padding.1 - kernel + 1]
            let seed = Tensor<Double>(normal: outShape, using: &generator)
            let label = "\(cin)→\(cout) \(kernel)×\(kernel) padding \(padding)"
            ConvolutionTuning.rowShiftedLowering = true
            XCTAssertTrue(try Convolution2DGeometry(operation: "conv2d", input: x.shape, weight: w.shape, bias: nil,
                                                    stride: (1, 1), padding: padding, dilation: (1, 1), groups: 1)
                .usesRowShiftedLowering, label)
            for (inputGradient, weightGradient) in [(true, true), (true, false), (false, true)] {
                var results: [[Tensor<Double>?]] = []
                for shifted in [true, false] {
                    ConvolutionTuning.rowShiftedLowering = shifted
                    let xv = Variable(x, requiresGradient: inputGradient), wv = Variable(w, requiresGradient: weightGradient)
                    let y = conv2d(xv, weight: wv, bias: Variable(b), padding: padding)
                    y.backward(seed: seed)
                    results.append([y.value, xv.grad, wv.grad])
                }
                for (part, (shifted, reference)) in ["output", "∂x", "∂W"].enumerated().map({ ($0.element, (results[0][$0.offset], results[1][$0.offset])) }) {
                    XCTAssertEqual(shifted == nil, reference == nil, "\(label) \(part)")
                    if let shifted, let reference {
                        assertClose(shifted, reference, relative: 1e-11, absolute: 1e-11,
                                    "\(label) \(part), ∂x \(inputGradient) ∂W \(weightGradient)")
                    }
                }
                XCTAssertEqual(results[0][1] != nil, inputGradient, label)
                XCTAssertEqual(results[0][2] != nil, weightGradient, label)
            }
        }
        ConvolutionTuning.rowShiftedLowering = true
        func geometry(_ input: [Int], _ weight: [Int], stride: Int = 1, padding: Int = 1, groups: Int = 1) throws -> Convolution2DGeometry {
            try Convolution2DGeometry(operation: "conv2d", input: input, weight: weight, bias: nil, stride: (stride, stride),
                                      padding: (padding, padding), dilation: (1, 1), groups: groups)
        }
        XCTAssertTrue(try geometry([64, 32, 32, 32], [32, 32, 3, 3]).usesRowShiftedLowering, "convnet 32→32")
        XCTAssertTrue(try geometry([64, 64, 16, 16], [64, 64, 3, 3]).usesRowShiftedLowering, "convnet 64→64")
        XCTAssertFalse(try geometry([64, 3, 32, 32], [32, 3, 3, 3]).usesRowShiftedLowering, "C·kW = 9 is too shallow")
        XCTAssertFalse(try geometry([4, 32, 8, 8], [32, 32, 3, 3], stride: 2).usesRowShiftedLowering, "stride 2")
        XCTAssertFalse(try geometry([4, 32, 8, 8], [32, 16, 3, 3], groups: 2).usesRowShiftedLowering, "groups")
        XCTAssertFalse(try geometry([4, 32, 8, 8], [32, 32, 3, 3], padding: 0).usesRowShiftedLowering, "Wo < W")
        XCTAssertFalse(try geometry([4, 32, 8, 8], [32, 32, 1, 3]).usesRowShiftedLowering, "kH = 1")
    }

    func testGradientOnlyForTheInputsThatNeedIt() throws {
        let file = try Fixtures.load("convolution", "conv_groups2")
        let x = Variable(file.tensor("input", as: Double.self))
        let w = Variable(file.tensor("weight", as: Double.self), requiresGradient: true)
        let b = Variable(file.tensor("bias", as: Double.self))
        let y = conv2d(x, weight: w, bias: b, padding: (1, 1), groups: 2)
        y.backward(seed: file.tensor("grad_output"))
        XCTAssertNil(x.grad)
        XCTAssertNil(b.grad)
        assertClose(w.grad!, file.tensor("grad_weight"), relative: 1e-10, absolute: 1e-12)
    }

    func testLayerMatchesPyTorchWithLoadedWeights() throws {
        let file = try Fixtures.load("convolution", "conv_mixed")
        let layer = Conv2d<Double>(3, 6, kernelSize: [3, 2], stride: [2, 1], padding: [1, 0], dilation: [1, 2], groups: 3)
        try layer.loadStateDict(["weight": file.tensor("weight"), "bias": file.tensor("bias")])
        let x = Variable(file.tensor("input", as: Double.self), requiresGradient: true)
        let y = layer(x)
        assertClose(y.value, file.tensor("output"), relative: 1e-10, absolute: 1e-12)
        y.backward(seed: file.tensor("grad_output"))
        assertClose(x.grad!, file.tensor("grad_input"), relative: 1e-10, absolute: 1e-12)
        assertClose(layer.weight.grad!, file.tensor("grad_weight"), relative: 1e-10, absolute: 1e-12)
        assertClose(layer.bias!.grad!, file.tensor("grad_bias"), relative: 1e-10, absolute: 1e-12)

        let file1d = try Fixtures.load("convolution", "conv1d_groups_stride")
        let layer1d = Conv1d<Float>(4, 6, kernelSize: 3, stride: 2, padding: 1, groups: 2)
        try layer1d.loadStateDict(["weight": file1d.tensor("weight"), "bias": file1d.tensor("bias")])
        assertClose(layer1d(file1d.tensor("input", as: Float.self)), file1d.tensor("output"), relative: 1e-5, absolute: 1e-5)
    }

    func testDefaultInitializationIsPyTorchs() {
        var generator = RandomGenerator(seed: 3)
        let layer = Conv2d<Double>(8, 16, kernelSize: 3, groups: 2, using: &generator)
        XCTAssertEqual(layer.namedParameters().map(\.name), ["weight", "bias"])
        XCTAssertEqual(layer.weight.shape, [16, 4, 3, 3])
        XCTAssertEqual(layer.bias!.shape, [16])
        let bound = 1 / (4.0 * 9).squareRoot()   // fan_in = in/groups·kH·kW = 36
        for tensor in [layer.weight.value, layer.bias!.value] {
            let largest = tensor.scalars.map(abs).max()!
            XCTAssertLessThanOrEqual(largest, bound)
            XCTAssertGreaterThan(largest, 0.8 * bound)
        }
        // U(−b, b) has variance b²/3.
        let variance = layer.weight.value.scalars.map { $0 * $0 }.reduce(0, +) / Double(layer.weight.value.count)
        XCTAssertEqual(variance, bound * bound / 3, accuracy: 0.2 * bound * bound / 3)
        XCTAssertNil(Conv2d<Float>(3, 4, kernelSize: 3, bias: false).bias)
        XCTAssertEqual(Conv1d<Float>(4, 6, kernelSize: 5, groups: 2).weight.shape, [6, 2, 5])
    }

    func testOverloadsAgree() {
        let a = Conv2d<Float>(3, 4, kernelSize: (3, 1), stride: (2, 1), padding: (1, 0))
        let b = Conv2d<Float>(3, 4, kernelSize: [3, 1], stride: [2, 1], padding: [1, 0])
        let k = 3
        let c = Conv2d<Float>(3, 4, kernelSize: k, stride: 2)
        XCTAssertEqual(a.kernelSize, b.kernelSize)
        XCTAssertEqual(a.stride, b.stride)
        XCTAssertEqual(a.padding, b.padding)
        XCTAssertEqual(c.kernelSize, IntPair(3, 3))
        XCTAssertEqual(c.stride, 2)
    }

    func testDescriptionIsPyTorchsRepr() {
        XCTAssertEqual("\(Conv2d<Float>(3, 16, kernelSize: 3, padding: 1))",
                       "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))")
        XCTAssertEqual("\(Conv2d<Float>(4, 8, kernelSize: [3, 1], stride: [2, 1], dilation: 2, groups: 2, bias: false))",
                       "Conv2d(4, 8, kernel_size=(3, 1), stride=(2, 1), dilation=(2, 2), groups=2, bias=False)")
        XCTAssertEqual("\(Conv1d<Float>(4, 6, kernelSize: 3, stride: 2, padding: 1, groups: 2))",
                       "Conv1d(4, 6, kernel_size=(3,), stride=(2,), padding=(1,), groups=2)")
    }

    func testValidatorNamesTheLayerAndTheNumbers() {
        func message(_ body: () throws -> Void) -> String? {
            do { try body() } catch let error as NablaError {
                XCTAssertEqual(error.kind, .invalidArgument)
                return error.message
            } catch { XCTFail("unexpected \(error)") }
            return nil
        }
        XCTAssertNil(message { try Conv2d<Float>.validate(inChannels: 4, outChannels: 8, kernelSize: 3, groups: 2,
                                                          inputShape: [2, 4, 3, 3]) })
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 3, outChannels: 4, kernelSize: 3, groups: 2) },
                       "Conv2d(3, 4, kernel_size=(3, 3)): in_channels 3 is not divisible by groups 2")
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 4, outChannels: 6, kernelSize: 3, groups: 4) },
                       "Conv2d(4, 6, kernel_size=(3, 3)): out_channels 6 is not divisible by groups 4")
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 3, outChannels: 4, kernelSize: [0, 3]) },
                       "Conv2d(3, 4, kernel_size=(0, 3)): kernel_size (0, 3) must be positive")
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 3, outChannels: 4, kernelSize: 3, stride: 0) },
                       "Conv2d(3, 4, kernel_size=(3, 3)): stride (0, 0) must be positive")
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 3, outChannels: 4, kernelSize: 3, padding: -1) },
                       "Conv2d(3, 4, kernel_size=(3, 3)): padding (-1, -1) must be non-negative")
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 0, outChannels: 4, kernelSize: 3) },
                       "Conv2d(0, 4, kernel_size=(3, 3)): in_channels 0 and out_channels 4 must be positive")
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 3, outChannels: 4, kernelSize: 3, dilation: [1, 0]) },
                       "Conv2d(3, 4, kernel_size=(3, 3)): dilation (1, 0) must be positive")
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 3, outChannels: 4, kernelSize: 5, padding: 1,
                                                            inputShape: [1, 3, 2, 8]) },
                       "Conv2d(3, 4, kernel_size=(5, 5)): kernel 5×5 with dilation (1, 1) is larger than the padded input 4×10")
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 3, outChannels: 4, kernelSize: 3, inputShape: [1, 2, 8, 8]) },
                       "Conv2d(3, 4, kernel_size=(3, 3)): input has 2 channels, expected 3 (weight [4, 3, 3, 3], groups=1)")
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 3, outChannels: 4, kernelSize: 3, inputShape: [3, 8]) },
                       "Conv2d(3, 4, kernel_size=(3, 3)): input must be [N, C, H, W] or [C, H, W], got shape [3, 8]")
        XCTAssertEqual(message { try Conv2d<Float>.validate(inChannels: 3, outChannels: 4, kernelSize: 1, padding: 1,
                                                            inputShape: [2, 3, 0, 5]) },
                       "Conv2d(3, 4, kernel_size=(1, 1)): input of shape [2, 3, 0, 5] has an empty plane")
        XCTAssertEqual(message { try Conv1d<Float>.validate(inChannels: 4, outChannels: 6, kernelSize: 3, groups: 3) },
                       "Conv1d(4, 6, kernel_size=(3,)): in_channels 4 is not divisible by groups 3")
        XCTAssertEqual(message { try Conv1d<Float>.validate(inChannels: 4, outChannels: 6, kernelSize: 3, dilation: 3,
                                                            inputShape: [2, 4, 6]) },
                       "Conv1d(4, 6, kernel_size=(3,)): kernel 3 with dilation 3 is larger than the padded input length 6")
        XCTAssertEqual(message { try Conv1d<Float>.validate(inChannels: 4, outChannels: 6, kernelSize: 3, inputShape: [2, 5, 6]) },
                       "Conv1d(4, 6, kernel_size=(3,)): input has 5 channels, expected 4")
    }

    func testUnbatchedInput() throws {
        let file = try Fixtures.load("convolution", "conv_basic")
        let x = file.tensor("input", as: Double.self)
        let w = Variable(file.tensor("weight", as: Double.self)), b = Variable(file.tensor("bias", as: Double.self))
        let y = conv2d(Variable(x[1..<2].reshaped(to: [3, 7, 6])), weight: w, bias: b, padding: (1, 1))
        assertClose(y.value, file.tensor("output", as: Double.self)[1..<2].reshaped(to: [4, 7, 6]),
                    relative: 1e-10, absolute: 1e-12)
    }

    /// A training-like loop over two layers of different sizes, split over both cores so that two
    /// workers borrow buffers at once: after the first step the pool allocates nothing more.
    func testWorkspaceDoesNotGrowAcrossRepeatedCalls() {
        ConvolutionTuning.parallelThreshold = 0
        var generator = RandomGenerator(seed: 5)
        let model = Sequential<Float>(Conv2d(3, 8, kernelSize: 3, padding: 1, using: &generator), ReLU(),
                                      MaxPool2d(kernelSize: 2), Conv2d(8, 6, kernelSize: 3, groups: 2, using: &generator))
        let x = Variable(Tensor<Float>(normal: [4, 3, 12, 12], using: &generator), requiresGradient: true)
        let workspace = ConvolutionWorkspace.shared
        func step() {
            model.zeroGrad()
            model(x).sum().backward()
        }
        step()
        let bytes = workspace.allocatedByteCount, buffers = workspace.allocatedBufferCount
        XCTAssertGreaterThan(bytes, 0)
        for _ in 0..<8 { step() }
        XCTAssertEqual(workspace.allocatedByteCount, bytes)
        XCTAssertEqual(workspace.allocatedBufferCount, buffers)
    }

    func testEmptyBatch() {
        let x = Variable(Tensor<Float>(zeros: [0, 3, 8, 8]), requiresGradient: true)
        let conv = Conv2d<Float>(3, 4, kernelSize: 3, padding: 1)
        let y = AvgPool2d<Float>(kernelSize: 2)(MaxPool2d<Float>(kernelSize: 2)(conv(x)))
        XCTAssertEqual(y.shape, [0, 4, 2, 2])
        y.sum().backward()
        XCTAssertEqual(x.grad?.shape, [0, 3, 8, 8])
        XCTAssertEqual(conv.weight.grad, Tensor(zeros: [4, 3, 3, 3]))
        XCTAssertEqual(conv.bias?.grad, Tensor(zeros: [4]))
        XCTAssertEqual(adaptiveAvgPool2d(Variable(Tensor<Float>(zeros: [0, 2, 5, 5])), outputSize: (2, 2)).shape, [0, 2, 2, 2])
    }

    func testWorkspaceReusesAndBoundsItsBuffers() {
        let workspace = ConvolutionWorkspace(maximumCachedBufferCount: 2)
        workspace.withBuffer(of: Float.self, count: 1000) { _ in }
        XCTAssertEqual(workspace.allocatedBufferCount, 1)
        workspace.withBuffer(of: Double.self, count: 400) { _ in }   // fits in the idle 4 KiB buffer
        XCTAssertEqual(workspace.allocatedBufferCount, 1)
        workspace.withBuffer(of: Float.self, count: 10) { a in
            workspace.withBuffer(of: Float.self, count: 10) { b in
                workspace.withBuffer(of: Float.self, count: 10) { c in XCTAssertTrue(a != b && b != c && a != c) }
            }
        }
        XCTAssertEqual(workspace.allocatedBufferCount, 2, "only two idle buffers are kept")
        workspace.releaseCachedBuffers()
        XCTAssertEqual(workspace.allocatedByteCount, 0)
    }

    // MARK: Helpers

}

/// Parses a fixture's `"2,1"` metadata pair.
func fixturePair(_ text: String?) -> (Int, Int) {
    let parts = (text ?? "").split(separator: ",").compactMap { Int($0) }
    precondition(parts.count == 2, "fixture metadata \(text ?? "nil") is not a pair")
    return (parts[0], parts[1])
}

extension ConvolutionTests {
    func testGradientCheckSuiteCoversConvolutionAndPooling() {
        let names = GradientCheckSuite.all.map(\.name)
        for required in ["conv2d(stride 2, odd input)", "conv2d(dilation 2)", "conv2d(groups 2)", "conv2d(non-square, no bias)",
                         "conv1d(stride 2, groups 2)", "Conv2d(3, 4, 3, padding 1)", "maxPool2d(3, stride 2, padding 1, ceil)",
                         "avgPool2d(exclude padding, ceil)", "adaptiveAvgPool2d(7×9 → 3×4)", "AdaptiveAvgPool2d((2, 3))"] {
            XCTAssertTrue(names.contains(required), "gradient check suite lacks \(required)")
        }
        for testCase in GradientCheckSuite.convolution {
            let result = testCase.run()
            XCTAssertLessThan(result.maxRelativeError, GradientCheckSuite.threshold,
                              "\(testCase.name) \(testCase.shapes): relative error \(result.maxRelativeError)")
        }
    }
}

extension XCTestCase {
    /// Runs the convolution fixture `name` forward and backward in `type` and checks every tensor.
    func checkConvolutionFixture<Scalar: TensorScalar>(
        _ name: String, as type: Scalar.Type, relative: Double, absolute: Double, _ context: String = "",
        file testFile: StaticString = #filePath, line: UInt = #line
    ) throws {
        let file = try Fixtures.load("convolution", name)
        let x = Variable(file.tensor("input", as: Scalar.self), requiresGradient: true)
        let w = Variable(file.tensor("weight", as: Scalar.self), requiresGradient: true)
        let b = file.tensors["bias"] == nil ? nil : Variable(file.tensor("bias", as: Scalar.self), requiresGradient: true)
        let meta = file.metadata, groups = Int(meta["groups"]!)!
        let y: Variable<Scalar>
        if meta["op"] == "conv1d" {
            y = conv1d(x, weight: w, bias: b, stride: Int(meta["stride"]!)!, padding: Int(meta["padding"]!)!,
                       dilation: Int(meta["dilation"]!)!, groups: groups)
        } else {
            y = conv2d(x, weight: w, bias: b, stride: fixturePair(meta["stride"]), padding: fixturePair(meta["padding"]),
                       dilation: fixturePair(meta["dilation"]), groups: groups)
        }
        let label = "\(name) \(Scalar.self) \(context)"
        assertClose(y.value, file.tensor("output"), relative: relative, absolute: absolute, "\(label) output",
                    file: testFile, line: line)
        y.backward(seed: file.tensor("grad_output"))
        assertClose(x.grad!, file.tensor("grad_input"), relative: relative, absolute: absolute, "\(label) grad_input",
                    file: testFile, line: line)
        assertClose(w.grad!, file.tensor("grad_weight"), relative: relative, absolute: absolute, "\(label) grad_weight",
                    file: testFile, line: line)
        if let b {
            assertClose(b.grad!, file.tensor("grad_bias"), relative: relative, absolute: absolute, "\(label) grad_bias",
                        file: testFile, line: line)
        }
    }
}
