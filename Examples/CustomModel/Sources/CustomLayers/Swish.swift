import NablaTensor
import NablaNN

/// The Swish activation `x·σ(βx)` as a layer (PyTorch's `nn.SiLU` when `β = 1`); see
/// ``NablaTensor/Variable/swish(beta:)`` for the formula and its derivative.
///
/// `β` is a fixed hyper-parameter, not a trained one (the paper also trains it; registering it with
/// ``NablaNN/Module/registerParameter(_:_:)`` would make it one).
public final class Swish<Scalar: TensorScalar>: Module<Scalar> {
    /// The slope `β` inside the logistic.
    public let beta: Scalar

    /// - Parameter beta: the slope inside the logistic (default 1: SiLU).
    public init(beta: Scalar = 1) {
        self.beta = beta
        super.init()
    }

    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { input.swish(beta: beta) }

    /// What model summaries show in the parentheses: `Swish(beta=1.0)`.
    public override var configurationDescription: String { "beta=\(beta)" }
}
