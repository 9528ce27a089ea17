import NablaTensor

/// Activation layers: stateless wrappers over the pointwise ops of `Ops/Activations.swift`.

/// `max(x, 0)` (PyTorch `nn.ReLU`).
public final class ReLU<Scalar: TensorScalar>: Module<Scalar> {
    /// A ReLU layer (it has no configuration).
    public override init() { super.init() }
    /// `y = max(x, 0)` elementwise; `∂x = ∂y` where `x > 0`, else 0 (see ``/NablaNN/NablaTensor/Variable/relu()``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.relu() }
}

/// `x` for `x > 0`, else `negativeSlope·x` (PyTorch `nn.LeakyReLU`, default slope 0.01).
public final class LeakyReLU<Scalar: TensorScalar>: Module<Scalar> {
    /// The slope `a` of the negative part (PyTorch's `negative_slope`).
    public let negativeSlope: Scalar
    /// A leaky ReLU with slope `negativeSlope` for `x ≤ 0` (default 0.01).
    public init(negativeSlope: Scalar = 0.01) { self.negativeSlope = negativeSlope; super.init() }
    /// `y = x` for `x > 0`, else `a·x`; `∂x = ∂y` or `a·∂y` (see ``/NablaNN/NablaTensor/Variable/leakyRelu(negativeSlope:)``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.leakyRelu(negativeSlope: negativeSlope) }
    /// `negative_slope=0.01`, as PyTorch prints it.
    public override var configurationDescription: String { "negative_slope=\(negativeSlope)" }
}

/// The logistic function (PyTorch `nn.Sigmoid`).
public final class Sigmoid<Scalar: TensorScalar>: Module<Scalar> {
    /// A sigmoid layer (it has no configuration).
    public override init() { super.init() }
    /// `y = σ(x) = 1/(1 + e^{−x})` elementwise; `∂x = ∂y·y(1 − y)` (see ``/NablaNN/NablaTensor/Variable/sigmoid()``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.sigmoid() }
}

/// Hyperbolic tangent (PyTorch `nn.Tanh`).
public final class Tanh<Scalar: TensorScalar>: Module<Scalar> {
    /// A tanh layer (it has no configuration).
    public override init() { super.init() }
    /// `y = tanh(x)` elementwise; `∂x = ∂y·(1 − y²)` (see ``/NablaNN/NablaTensor/Variable/tanh()``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.tanh() }
}

/// Exact GELU `x·Φ(x)` (PyTorch `nn.GELU()`).
public final class GELU<Scalar: TensorScalar>: Module<Scalar> {
    /// An exact (erf) GELU layer; PyTorch's `approximate='tanh'` variant is not provided.
    public override init() { super.init() }
    /// `y = x·Φ(x) = x/2·(1 + erf(x/√2))`; `∂x = ∂y·(Φ(x) + x·φ(x))` (see ``/NablaNN/NablaTensor/Variable/gelu()``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.gelu() }
}

/// Softmax along `axis` (PyTorch `nn.Softmax(dim)`).
public final class Softmax<Scalar: TensorScalar>: Module<Scalar> {
    /// The axis normalized over (PyTorch's `dim`); negative counts from the end.
    public let axis: Int
    /// A softmax over `axis` (default: the last).
    public init(axis: Int = -1) { self.axis = axis; super.init() }
    /// `y_i = e^{x_i − max} / Σ_j e^{x_j − max}` along ``axis``; `∂x = y ⊙ (∂y − Σ(∂y ⊙ y))` (see ``/NablaNN/NablaTensor/Variable/softmax(alongAxis:)``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.softmax(alongAxis: axis) }
    /// `dim=-1`, as PyTorch prints it.
    public override var configurationDescription: String { "dim=\(axis)" }
}

/// Log-softmax along `axis` (PyTorch `nn.LogSoftmax(dim)`).
public final class LogSoftmax<Scalar: TensorScalar>: Module<Scalar> {
    /// The axis normalized over (PyTorch's `dim`); negative counts from the end.
    public let axis: Int
    /// A log-softmax over `axis` (default: the last).
    public init(axis: Int = -1) { self.axis = axis; super.init() }
    /// `y = x − max − log Σ e^{x − max}` along ``axis``; `∂x = ∂y − softmax(x)·Σ∂y` (see ``/NablaNN/NablaTensor/Variable/logSoftmax(alongAxis:)``).
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.logSoftmax(alongAxis: axis) }
    /// `dim=-1`, as PyTorch prints it.
    public override var configurationDescription: String { "dim=\(axis)" }
}
