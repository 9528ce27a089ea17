import NablaTensor

/// Gradient checking of the bf16 ops (``Precision/bfloat16``) against the exact function.
///
/// A bf16 op computes a rounded version of a smooth function, so it has no finite differences of its
/// own worth taking (a step of 1e-6 mostly does not move a bf16 value). The check instead compares
/// the op's analytic gradient, computed in `Float` under ``withPrecision(_:_:)`` `(.bfloat16)`, with
/// central differences of the same function in `Double` without any rounding, with the same random
/// projection `L = Σ f(x) ⊙ R` and the same max-norm relative error as ``checkGradients(at:epsilon:seed:_:)``.
/// Each operand and each product rounds to bf16 (a relative error of at most 2⁻⁹ each), so a correct
/// bf16 gradient lands within a few 2⁻⁹ of the exact one: ``GradientCheckSuite/bfloat16Threshold`` is 2⁻⁷.
/// A gradient computed from the wrong operand, or transposed, or a bf16 path that drops a term, is off by O(1).
public func checkBFloat16Gradients(
    at inputs: [Tensor<Double>], epsilon: Double = 1e-6, seed: UInt64 = 7,
    float: ([Variable<Float>]) -> Variable<Float>, double: ([Variable<Double>]) -> Variable<Double>
) -> GradientCheckResult {
    let leaves = inputs.map { Variable(Tensor<Float>($0), requiresGradient: true) }
    let out = withPrecision(.bfloat16) { float(leaves) }
    var generator = RandomGenerator(seed: seed)
    let projection = Tensor<Double>(normal: out.shape, using: &generator)
    withPrecision(.bfloat16) { out.backward(seed: Tensor<Float>(projection)) }
    let exact = inputs.map { Variable($0) }
    let analytic = zip(leaves, exact).map { leaf, value in leaf.grad.map { Tensor<Double>($0) } ?? Tensor(zeros: value.shape) }
    return compareWithCentralDifferences(analytic: analytic, leaves: exact, epsilon: epsilon) {
        withoutGradient { (double(exact).value * projection).sum() }
    }
}

/// One bf16 gradient-check case: the op in `Float` (run under bf16) and the same op in `Double`.
public struct BFloat16GradientCheckCase: Sendable {
    public let name: String
    public let shapes: [[Int]]
    let float: @Sendable ([Variable<Float>]) -> Variable<Float>
    let double: @Sendable ([Variable<Double>]) -> Variable<Double>

    /// Draws the inputs from N(0, 1) with `seed` and runs ``checkBFloat16Gradients(at:epsilon:seed:float:double:)``.
    public func run(seed: UInt64 = 11) -> GradientCheckResult {
        var generator = RandomGenerator(seed: seed)
        let inputs = shapes.map { Tensor<Double>(normal: $0, using: &generator) }
        return checkBFloat16Gradients(at: inputs, float: float, double: double)
    }
}

extension GradientCheckSuite {
    /// The relative error a bf16 gradient must stay under (2⁻⁷; see ``checkBFloat16Gradients(at:epsilon:seed:float:double:)``).
    public static let bfloat16Threshold = 1.0 / 128

    /// `linear` and `conv2d` under ``Precision/bfloat16``: every geometry class the bf16 path lowers
    /// (im2col with padding, stride, dilation, groups, pointwise, no bias, 1-D) and odd inner sizes (the
    /// kernel pads odd `k` with a zero term).
    public static var bfloat16: [BFloat16GradientCheckCase] {
        [
            .init(name: "linear(bf16)", shapes: [[5, 7], [3, 7], [3]],
                  float: { linear($0[0], weight: $0[1], bias: $0[2]) }, double: { linear($0[0], weight: $0[1], bias: $0[2]) }),
            .init(name: "linear(bf16, 3-D input, 70 → 66, no bias)", shapes: [[2, 3, 70], [66, 70]],
                  float: { linear($0[0], weight: $0[1], bias: nil) }, double: { linear($0[0], weight: $0[1], bias: nil) }),
            .init(name: "conv2d(bf16, padding 1)", shapes: [[2, 3, 5, 4], [4, 3, 3, 3], [4]],
                  float: { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) },
                  double: { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) }),
            .init(name: "conv2d(bf16, 8 channels, padding 1)", shapes: [[2, 8, 6, 6], [5, 8, 3, 3], [5]],
                  float: { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) },
                  double: { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1)) }),
            .init(name: "conv2d(bf16, stride 2, dilation 2, no bias)", shapes: [[1, 2, 9, 8], [3, 2, 3, 3]],
                  float: { conv2d($0[0], weight: $0[1], bias: nil, stride: (2, 2), padding: (2, 1), dilation: (2, 2)) },
                  double: { conv2d($0[0], weight: $0[1], bias: nil, stride: (2, 2), padding: (2, 1), dilation: (2, 2)) }),
            .init(name: "conv2d(bf16, groups 2)", shapes: [[2, 4, 5, 5], [6, 2, 3, 3], [6]],
                  float: { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1), groups: 2) },
                  double: { conv2d($0[0], weight: $0[1], bias: $0[2], padding: (1, 1), groups: 2) }),
            .init(name: "conv2d(bf16, 1×1)", shapes: [[2, 5, 3, 3], [4, 5, 1, 1], [4]],
                  float: { conv2d($0[0], weight: $0[1], bias: $0[2]) }, double: { conv2d($0[0], weight: $0[1], bias: $0[2]) }),
            .init(name: "conv1d(bf16, stride 2)", shapes: [[2, 3, 9], [4, 3, 3], [4]],
                  float: { conv1d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1) },
                  double: { conv1d($0[0], weight: $0[1], bias: $0[2], stride: 2, padding: 1) }),
        ]
    }
}
