import NablaTensor

/// Stochastic depth: the ``DropPath`` layer and the ``Residual`` container that uses it.

/// Drop-path (stochastic depth, Huang et al., 2016; timm `DropPath`): in training, each sample's
/// input is zeroed as a whole with probability `p` and kept samples are scaled by `1/(1 − p)`;
/// identity in evaluation. Placed on a residual branch it drops the whole branch for that sample,
/// so the block reduces to its shortcut — seed 000's "drop layer".
public final class DropPath<Scalar: TensorScalar>: Module<Scalar>, StochasticModule {
    /// The probability of dropping a sample's branch.
    public let probability: Double
    /// The generator of the per-sample masks; public so checkpoints can save and restore it.
    public var generator: RandomGenerator

    /// Checks a user-supplied drop probability.
    /// - Throws: ``/NablaTensor/NablaError`` `"DropPath: p=1.5 is out of range [0, 1]"`.
    public static func validate(probability p: Double) throws { try validateDropProbability(p, layer: "DropPath") }

    /// Creates the layer with a generator derived from `generator` (one draw).
    /// - Precondition: `p ∈ [0, 1]`.
    public init(_ p: Double, using generator: inout RandomGenerator) {
        preconditionDropProbability(p, "DropPath")
        probability = p
        self.generator = childGenerator(from: &generator)
        super.init()
    }

    /// Creates the layer with a generator derived from ``GlobalGenerator/shared``.
    public convenience init(_ p: Double) { self.init(p, using: &GlobalGenerator.shared) }

    /// In training `x·m[n]/(1 − p)` with `m[n] ~ Bernoulli(1 − p)` per sample `n`; identity in evaluation.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        dropPath(input, probability: probability, training: isTraining, using: &generator)
    }

    /// `drop_prob=0.5`, as timm prints it.
    public override var configurationDescription: String { "drop_prob=\(probability)" }
}

/// A residual block `y = shortcut(x) + DropPath(branch(x))` (He et al., 2016, "Deep Residual
/// Learning"; with stochastic depth, Huang et al., 2016). `shortcut` is the identity unless a
/// projection is given (for a branch that changes the shape).
///
/// State-dict keys follow a PyTorch-like scheme: the branch's parameters live under `branch.`
/// (`branch.0.weight`), a projection shortcut's under `shortcut.`; the parameter-free DropPath child
/// is registered as `drop_path` (timm's name) only when `dropPath > 0`, so it contributes no keys.
public final class Residual<Scalar: TensorScalar>: Module<Scalar> {
    /// The residual function `f`.
    public let branch: Module<Scalar>
    /// The projection applied to `x` before the sum, or `nil` for the identity.
    public let shortcut: Module<Scalar>?
    /// The stochastic-depth layer on the branch, or `nil` when `dropPath = 0`.
    public let dropPath: DropPath<Scalar>?

    /// - Parameters:
    ///   - branch: `f`; its output must have the shape of `shortcut(x)`.
    ///   - shortcut: an optional projection (e.g. a strided 1×1 convolution).
    ///   - dropPath: the probability of dropping the branch per sample, in `[0, 1]`.
    ///   - generator: the parent of DropPath's own generator (one draw, only when `dropPath > 0`).
    public init(_ branch: Module<Scalar>, shortcut: Module<Scalar>? = nil, dropPath: Double = 0,
                using generator: inout RandomGenerator) {
        preconditionDropProbability(dropPath, "Residual(dropPath:)")
        self.branch = branch
        self.shortcut = shortcut
        self.dropPath = dropPath > 0 ? DropPath(dropPath, using: &generator) : nil
        super.init()
        registerModule("branch", branch)
        if let shortcut { registerModule("shortcut", shortcut) }
        if let drop = self.dropPath { registerModule("drop_path", drop) }
    }

    /// Creates the block, deriving DropPath's generator from ``GlobalGenerator/shared``.
    public convenience init(_ branch: Module<Scalar>, shortcut: Module<Scalar>? = nil, dropPath: Double = 0) {
        self.init(branch, shortcut: shortcut, dropPath: dropPath, using: &GlobalGenerator.shared)
    }

    /// `y = shortcut(x) + dropPath(branch(x))`.
    /// - Precondition: the branch output has the shortcut's shape.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        var residual = branch(input)
        if let dropPath { residual = dropPath(residual) }
        let identity = shortcut.map { $0(input) } ?? input
        precondition(residual.shape == identity.shape,
                     "Residual: branch output \(residual.shape) does not match shortcut \(identity.shape)")
        return identity + residual
    }
}
