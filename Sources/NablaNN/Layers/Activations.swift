import NablaTensor

/// Activation layers: stateless wrappers over the pointwise ops of `Ops/Activations.swift`.

/// `max(x, 0)` (PyTorch `nn.ReLU`).
public final class ReLU<Scalar: TensorScalar>: Module<Scalar> {
    public override init() { super.init() }
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.relu() }
}

/// `x` for `x > 0`, else `negativeSlope·x` (PyTorch `nn.LeakyReLU`, default slope 0.01).
public final class LeakyReLU<Scalar: TensorScalar>: Module<Scalar> {
    public let negativeSlope: Scalar
    public init(negativeSlope: Scalar = 0.01) { self.negativeSlope = negativeSlope; super.init() }
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.leakyRelu(negativeSlope: negativeSlope) }
    public override var configurationDescription: String { "negative_slope=\(negativeSlope)" }
}

/// The logistic function (PyTorch `nn.Sigmoid`).
public final class Sigmoid<Scalar: TensorScalar>: Module<Scalar> {
    public override init() { super.init() }
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.sigmoid() }
}

/// Hyperbolic tangent (PyTorch `nn.Tanh`).
public final class Tanh<Scalar: TensorScalar>: Module<Scalar> {
    public override init() { super.init() }
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.tanh() }
}

/// Exact GELU `x·Φ(x)` (PyTorch `nn.GELU()`).
public final class GELU<Scalar: TensorScalar>: Module<Scalar> {
    public override init() { super.init() }
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.gelu() }
}

/// Softmax along `axis` (PyTorch `nn.Softmax(dim)`).
public final class Softmax<Scalar: TensorScalar>: Module<Scalar> {
    public let axis: Int
    public init(axis: Int = -1) { self.axis = axis; super.init() }
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.softmax(alongAxis: axis) }
    public override var configurationDescription: String { "dim=\(axis)" }
}

/// Log-softmax along `axis` (PyTorch `nn.LogSoftmax(dim)`).
public final class LogSoftmax<Scalar: TensorScalar>: Module<Scalar> {
    public let axis: Int
    public init(axis: Int = -1) { self.axis = axis; super.init() }
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.logSoftmax(alongAxis: axis) }
    public override var configurationDescription: String { "dim=\(axis)" }
}
