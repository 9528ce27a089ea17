import XCTest
@testable import NablaTensor
@testable import NablaNN
import NablaTestSupport

/// Model files accept PyTorch's constructor keywords that do not change a layer's mathematics
/// (`inplace`, `device`/`dtype` naming the CPU and float32, `Identity`'s ignored arguments, string
/// paddings, `None` sizes), build the bias-free variants PyTorch has, resolve `Softmax`'s `dim=None`
/// as PyTorch does, and refuse keywords that would change the maths with a message naming them.
final class TorchKeywordTests: XCTestCase {
    func build(_ yaml: String, input: [Int]) throws -> BuiltModel {
        var g = RandomGenerator(seed: 0)
        return try ModelDescription.parse(yaml, name: "m.yaml").build(inputShape: input, using: &g)
    }

    func testKeywordsThatDoNotChangeTheMathsAreAccepted() throws {
        let yaml = """
            layers:
              - Conv2d: {in_channels: 1, out_channels: 4, kernel_size: 3, padding: same, device: cpu, dtype: torch.float32}
              - BatchNorm2d: {num_features: 4, device: null, dtype: float32}
              - ReLU: {inplace: true}
              - Conv2d: {in_channels: 4, out_channels: 4, kernel_size: 3, padding: valid, bias: false}
              - LeakyReLU: {negative_slope: 0.2, inplace: true}
              - AdaptiveAvgPool2d: {output_size: [null, 2]}
              - Dropout: {p: 0.1, inplace: true}
              - Identity: {some: 54, other: [1, 2]}
              - Flatten: {}
              - Linear: {in_features: 48, out_features: 5, device: cpu, dtype: float}
              - GELU: {approximate: none}
              - LogSoftmax: {dim: 1}
            """
        let built = try build(yaml, input: [1, 8, 8])
        XCTAssertEqual(built.layers.map(\.outputShape), [[4, 8, 8], [4, 8, 8], [4, 8, 8], [4, 6, 6], [4, 6, 6], [4, 6, 2],
                                                          [4, 6, 2], [4, 6, 2], [48], [5], [5], [5]])
        let y = built.model(Tensor<Float>(normal: [2, 1, 8, 8], using: &generator))
        XCTAssertEqual(y.shape, [2, 5])
        // log-probabilities: each row's probabilities sum to 1.
        for n in 0..<2 { XCTAssertEqual(y.row(n).exp().sum(), 1, accuracy: 1e-5) }
    }

    var generator = RandomGenerator(seed: 9)

    /// `padding='same'` is the symmetric padding that keeps the size; `'valid'` is no padding.
    func testStringPaddingsEqualTheirIntegers() throws {
        let same = try build("layers:\n  - Conv2d: {in_channels: 2, out_channels: 3, kernel_size: [3, 5], dilation: [1, 2], padding: same}", input: [2, 9, 11])
        let explicit = try build("layers:\n  - Conv2d: {in_channels: 2, out_channels: 3, kernel_size: [3, 5], dilation: [1, 2], padding: [1, 4]}", input: [2, 9, 11])
        XCTAssertEqual(same.outputShape, [3, 9, 11])
        try explicit.model.loadStateDict(same.model.stateDict())
        let x = Tensor<Float>(normal: [2, 2, 9, 11], using: &generator)
        XCTAssertEqual(same.model(x), explicit.model(x))
        let valid = try build("layers:\n  - Conv1d: {in_channels: 2, out_channels: 3, kernel_size: 4, padding: valid}", input: [2, 10])
        XCTAssertEqual(valid.outputShape, [3, 7])
        XCTAssertEqual(try build("layers:\n  - Conv1d: {in_channels: 2, out_channels: 3, kernel_size: 5, padding: same}", input: [2, 10]).outputShape, [3, 10])
    }

    /// PyTorch's `bias=False` on normalization layers keeps `weight`, drops `bias` (state keys and
    /// the `β = 0` output).
    func testBiasFreeNormalizationLayers() throws {
        let yaml = """
            layers:
              - BatchNorm1d: {num_features: 3, bias: false}
              - GroupNorm: {num_groups: 1, num_channels: 3, bias: false}
              - InstanceNorm1d: {num_features: 3, affine: true, bias: false}
            """
        let built = try build(yaml, input: [3, 4])
        XCTAssertEqual(built.model.stateKeys, ["0.weight", "1.weight", "2.weight",
                                               "0.running_mean", "0.running_var", "0.num_batches_tracked"])
        XCTAssertTrue(built.summary.contains("bias=False"), built.summary)
        let withBias = BatchNorm1d<Float>(3), without = BatchNorm1d<Float>(3, bias: false)
        let x = Tensor<Float>(normal: [5, 3], using: &generator)
        XCTAssertEqual(withBias(x), without(x), "β = 0 in both")
        // affine=False ignores bias, as in PyTorch.
        XCTAssertEqual(try build("layers:\n  - BatchNorm1d: {num_features: 3, affine: false, bias: false}", input: [3]).model.stateKeys,
                       ["0.running_mean", "0.running_var", "0.num_batches_tracked"])
    }

    /// `dim=None` (the default) is PyTorch's implicit dim: 1 for rank-2 and rank-4 inputs, 0 (the
    /// batch, refused) for rank 3.
    func testSoftmaxImplicitDimension() throws {
        let image = try build("layers:\n  - Softmax: {}", input: [3, 2, 2])
        let y = image.model(Tensor<Float>(normal: [2, 3, 2, 2], using: &generator))
        XCTAssertEqual(y.sum(alongAxes: [1]).scalars.map { Double($0) }, [Double](repeating: 1, count: 8), accuracy: 1e-6)
        let flat = try build("layers:\n  - LogSoftmax: {dim: null}", input: [4])
        XCTAssertEqual(flat.model(Tensor<Float>(normal: [3, 4], using: &generator)).exp().sum(alongAxes: [1]).scalars.map { Double($0) },
                       [1, 1, 1], accuracy: 1e-6)
        XCTAssertThrowsError(try build("layers:\n  - Softmax: {}", input: [3, 5])) { error in
            XCTAssertTrue("\(error)".contains("implicit dim 0, the batch axis; give dim explicitly"), "\(error)")
        }
    }

    func testKeywordsThatChangeTheMathsAreRefused() {
        let cases: [(String, [Int], String)] = [
            ("GELU: {approximate: tanh}", [3], "approximate='tanh' is not supported"),
            ("Linear: {in_features: 3, out_features: 2, dtype: torch.float64}", [3], "dtype 'torch.float64' is not supported"),
            ("Linear: {in_features: 3, out_features: 2, device: cuda}", [3], "device 'cuda' is not supported"),
            ("Conv2d: {in_channels: 1, out_channels: 1, kernel_size: 3, padding_mode: reflect}", [1, 5, 5], "padding_mode 'reflect' is not supported"),
            ("Conv2d: {in_channels: 1, out_channels: 1, kernel_size: 2, padding: same}", [1, 5, 5], "pads one pixel more on one side"),
            ("Conv2d: {in_channels: 1, out_channels: 1, kernel_size: 3, stride: 2, padding: same}", [1, 5, 5], "not supported for strided convolutions"),
            ("Conv2d: {in_channels: 1, out_channels: 1, kernel_size: 3, padding: full}", [1, 5, 5], "padding 'full' is not supported"),
            ("ReLU: {inplace: 1}", [3], "argument 'inplace' must be true or false"),
            ("Sigmoid: {inplace: true}", [3], "unknown argument 'inplace'"),
        ]
        for (layer, input, expected) in cases {
            XCTAssertThrowsError(try build("layers:\n  - " + layer, input: input), layer) { error in
                XCTAssertTrue("\(error)".contains(expected), "\(layer): \(error)")
            }
        }
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
