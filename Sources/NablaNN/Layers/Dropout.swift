import NablaTensor

/// A module that draws random numbers in its forward pass (dropout masks) from a generator it owns.
///
/// Owning the generator (rather than reading a global one) makes a run reproducible and lets a
/// checkpoint save and restore every such generator for an exact resume: see
/// ``Module/randomGeneratorStates()`` and ``Module/restoreRandomGenerators(_:)``.
public protocol StochasticModule: AnyObject {
    /// The generator the next forward pass draws from.
    var generator: RandomGenerator { get set }
}

/// Derives a layer's own generator from `parent` by drawing one 64-bit seed from it, so layers built
/// from one generator get independent streams and the parent advances by exactly one draw.
func childGenerator(from parent: inout RandomGenerator) -> RandomGenerator {
    RandomGenerator(seed: parent.next())
}

extension Module {
    /// The generator of every ``StochasticModule`` in this module tree, by dotted module name (`""`
    /// for the module itself) — the part of a checkpoint that makes dropout masks resume exactly.
    public func randomGeneratorStates() -> [String: RandomGenerator] {
        var states: [String: RandomGenerator] = [:]
        for (name, module) in namedModules() {
            if let stochastic = module as? StochasticModule { states[name] = stochastic.generator }
        }
        return states
    }

    /// Restores generators saved by ``randomGeneratorStates()``.
    /// - Throws: ``/NablaTensor/NablaError`` naming a stochastic module with no saved state, or a saved name that
    ///   is not a stochastic module of this tree. Nothing is modified unless every name matches.
    public func restoreRandomGenerators(_ states: [String: RandomGenerator]) throws {
        let stochastic = namedModules().compactMap { entry in
            (entry.module as? StochasticModule).map { (entry.name, $0) }
        }
        for (name, _) in stochastic where states[name] == nil {
            throw NablaError(.missingKey, "random generator state is missing module '\(name)'")
        }
        let names = Set(stochastic.map(\.0))
        if let extra = states.keys.sorted().first(where: { !names.contains($0) }) {
            throw NablaError(.unexpectedKey, "random generator state names '\(extra)', which is not a stochastic module")
        }
        for (name, module) in stochastic { module.generator = states[name]! }
    }
}

/// Dropout (Srivastava et al., 2014; PyTorch `nn.Dropout`): in training, each element is zeroed with
/// probability `p` (a fresh mask per element, per sample and per unit, every forward pass).
///
/// - ``DropoutMode/inverted`` (default): training `x ⊙ m / (1 − p)`, evaluation identity.
/// - ``DropoutMode/vanilla``: training `x ⊙ m`, evaluation `(1 − p)·x`.
///
/// `p = 1` yields zeros. The layer owns its ``generator``; see ``dropout(_:probability:training:mode:using:)``.
public final class Dropout<Scalar: TensorScalar>: Module<Scalar>, StochasticModule {
    /// The probability of dropping an element.
    public let probability: Double
    /// Inverted (scale in training) or vanilla (scale in evaluation); mutable, it changes no state.
    public var mode: DropoutMode
    /// The generator of the dropout masks; public so checkpoints can save and restore it.
    public var generator: RandomGenerator

    /// Checks a user-supplied drop probability.
    /// - Throws: ``/NablaTensor/NablaError`` `"Dropout: p=1.5 is out of range [0, 1]"`.
    public static func validate(probability p: Double) throws { try validateDropProbability(p, layer: "Dropout") }

    /// Creates the layer with a generator derived from `generator` (one draw).
    /// - Precondition: `p ∈ [0, 1]` (see ``validate(probability:)``).
    public init(_ p: Double = 0.5, mode: DropoutMode = .inverted, using generator: inout RandomGenerator) {
        preconditionDropProbability(p, "Dropout")
        probability = p
        self.mode = mode
        self.generator = childGenerator(from: &generator)
        super.init()
    }

    /// Creates the layer with a generator derived from ``GlobalGenerator/shared``.
    public convenience init(_ p: Double = 0.5, mode: DropoutMode = .inverted) {
        self.init(p, mode: mode, using: &GlobalGenerator.shared)
    }

    /// In training `x ⊙ m / (1 − p)` (inverted) or `x ⊙ m` (vanilla) with `m ~ Bernoulli(1 − p)` per
    /// element; in evaluation `x` (inverted) or `(1 − p)·x` (vanilla). The gradient is masked and scaled alike.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        dropout(input, probability: probability, training: isTraining, mode: mode, using: &generator)
    }

    /// `p=0.5`, plus `mode=vanilla` for the vanilla variant.
    public override var configurationDescription: String {
        "p=\(probability)" + (mode == .vanilla ? ", mode=vanilla" : "")
    }
}

/// Channel dropout (PyTorch `nn.Dropout2d`): in training, every channel of every sample of an
/// `[N, C, H, W]` (or `[N, C, L]`) input is zeroed as a whole with probability `p`, and kept channels
/// are scaled by `1/(1 − p)`; identity in evaluation. Adjacent pixels of a feature map are strongly
/// correlated, so element dropout barely regularizes convolutions — dropping whole maps does.
public final class Dropout2d<Scalar: TensorScalar>: Module<Scalar>, StochasticModule {
    /// The probability of dropping a channel.
    public let probability: Double
    /// The generator of the dropout masks; public so checkpoints can save and restore it.
    public var generator: RandomGenerator

    /// Checks a user-supplied drop probability.
    /// - Throws: ``/NablaTensor/NablaError`` `"Dropout2d: p=1.5 is out of range [0, 1]"`.
    public static func validate(probability p: Double) throws { try validateDropProbability(p, layer: "Dropout2d") }

    /// Creates the layer with a generator derived from `generator` (one draw).
    /// - Precondition: `p ∈ [0, 1]`.
    public init(_ p: Double = 0.5, using generator: inout RandomGenerator) {
        preconditionDropProbability(p, "Dropout2d")
        probability = p
        self.generator = childGenerator(from: &generator)
        super.init()
    }

    /// Creates the layer with a generator derived from ``GlobalGenerator/shared``.
    public convenience init(_ p: Double = 0.5) { self.init(p, using: &GlobalGenerator.shared) }

    /// In training each `(n, c)` plane is multiplied by `m[n, c] / (1 − p)`, `m ~ Bernoulli(1 − p)`; identity in evaluation.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        dropout2d(input, probability: probability, training: isTraining, using: &generator)
    }

    /// `p=0.5`, as PyTorch prints it.
    public override var configurationDescription: String { "p=\(probability)" }
}
