import NablaTensor

/// Weight initializers (SPEC §5), with PyTorch's fan and gain conventions (`torch.nn.init`).

/// A nonlinearity, for the recommended gain of Kaiming and Xavier initialization.
public enum Nonlinearity: Sendable, Equatable {
    /// The identity (gain 1).
    case linear
    /// The logistic function (gain 1).
    case sigmoid
    /// The hyperbolic tangent (gain 5/3).
    case tanh
    /// ReLU (gain √2).
    case relu
    /// Leaky ReLU with slope `a` for negative inputs (gain `√(2/(1 + a²))`).
    case leakyRelu(negativeSlope: Double)

    /// PyTorch's `calculate_gain`: 1 for linear/sigmoid, 5/3 for tanh, √2 for ReLU,
    /// `√(2/(1+a²))` for leaky ReLU with slope `a`.
    public var gain: Double {
        switch self {
        case .linear, .sigmoid: return 1
        case .tanh: return 5.0 / 3.0
        case .relu: return 2.0.squareRoot()
        case .leakyRelu(let a): return (2 / (1 + a * a)).squareRoot()
        }
    }
}

/// Which fan Kaiming initialization preserves: the forward pass's (`fanIn`) or the backward pass's.
public enum FanMode: Sendable {
    /// Preserve the variance of the activations in the forward pass (PyTorch `mode='fan_in'`, the default).
    case fanIn
    /// Preserve the variance of the gradients in the backward pass (PyTorch `mode='fan_out'`).
    case fanOut
}

/// `(fan_in, fan_out)` of a weight of `shape`: for `[out, in, k…]`, `fan_in = in·∏k`, `fan_out = out·∏k`.
public func fans(of shape: [Int]) -> (fanIn: Int, fanOut: Int) {
    precondition(shape.count >= 2, "Fan in and fan out need a weight of rank ≥ 2, got \(shape)")
    let receptive = shape.dropFirst(2).reduce(1, *)
    return (shape[1] * receptive, shape[0] * receptive)
}

extension Tensor {
    /// Xavier/Glorot uniform (Glorot & Bengio, 2010): `U(−a, a)`, `a = gain·√(6/(fan_in + fan_out))`.
    public static func xavierUniform(_ shape: [Int], gain: Double = 1, using generator: inout RandomGenerator) -> Tensor {
        let (fi, fo) = fans(of: shape)
        let bound = gain * (6.0 / Double(fi + fo)).squareRoot()
        return Tensor(uniform: shape, lower: Scalar(-bound), upper: Scalar(bound), using: &generator)
    }

    /// Xavier/Glorot normal: `N(0, σ²)`, `σ = gain·√(2/(fan_in + fan_out))`.
    public static func xavierNormal(_ shape: [Int], gain: Double = 1, using generator: inout RandomGenerator) -> Tensor {
        let (fi, fo) = fans(of: shape)
        return Tensor(normal: shape, standardDeviation: Scalar(gain * (2.0 / Double(fi + fo)).squareRoot()), using: &generator)
    }

    /// Kaiming/He uniform (He et al., 2015): `U(−b, b)`, `b = gain·√(3/fan)`.
    public static func kaimingUniform(_ shape: [Int], mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyRelu(negativeSlope: 0),
                                      using generator: inout RandomGenerator) -> Tensor {
        let (fi, fo) = fans(of: shape)
        let fan = Double(mode == .fanIn ? fi : fo)
        let bound = nonlinearity.gain * (3.0 / fan).squareRoot()
        return Tensor(uniform: shape, lower: Scalar(-bound), upper: Scalar(bound), using: &generator)
    }

    /// Kaiming/He normal: `N(0, σ²)`, `σ = gain/√fan`.
    public static func kaimingNormal(_ shape: [Int], mode: FanMode = .fanIn, nonlinearity: Nonlinearity = .leakyRelu(negativeSlope: 0),
                                     using generator: inout RandomGenerator) -> Tensor {
        let (fi, fo) = fans(of: shape)
        let fan = Double(mode == .fanIn ? fi : fo)
        return Tensor(normal: shape, standardDeviation: Scalar(nonlinearity.gain / fan.squareRoot()), using: &generator)
    }
}

/// The process-wide generator used by layer initializers that are not handed one explicitly
/// (PyTorch's global generator). Seed it with ``manualSeed(_:)``.
public enum GlobalGenerator {
    /// The generator; reseed it with ``manualSeed(_:)``. Not thread-safe: build models from one task at a time.
    nonisolated(unsafe) public static var shared = RandomGenerator(seed: 0)
}

/// Reseeds ``GlobalGenerator/shared`` (PyTorch's `torch.manual_seed`).
public func manualSeed(_ seed: UInt64) { GlobalGenerator.shared = RandomGenerator(seed: seed) }
