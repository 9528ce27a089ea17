import NablaTensor

/// An optimizer whose step is a pure update of each parameter over a typed per-parameter state —
/// PyTorch's `_single_tensor_*` functions, mlx-swift's `applySingle`. It keeps its bookkeeping in an
/// ``OptimizerCore`` and gets every ``Optimizer`` requirement from it, so an optimizer is its
/// options, its state, and three static functions:
///
/// ```swift
/// public final class SignSGD<Scalar: TensorScalar>: PerParameterOptimizer {
///     public static var name: String { "signsgd" }
///     public static var displayName: String { "SignSGD" }
///     public static var summary: String { "θ ← θ − lr·sign(g) (Bernstein et al., ICML 2018)" }
///     public struct Options: OptimizerOptions { … }       // lr, CodingKeys, validate(group:)
///     public struct State: OptimizerState { … }           // nothing, here
///     public let core: OptimizerCore<Options, State>
///     public init(_ groups: [ParameterGroup<Scalar>], options: Options) throws {
///         core = try OptimizerCore(name: Self.displayName, groups: groups, defaults: options)
///     }
///     public static func makeState(count: Int, options: Options) -> State { State() }
///     public static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State { State() }
///     public static func update(_ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
///                               state: inout State, options: Options) { … }
/// }
/// ```
public protocol PerParameterOptimizer<Scalar>: RegistrableOptimizer {
    /// One parameter's state.
    associatedtype State: OptimizerState where State.Scalar == Scalar

    /// The groups, their options and the states.
    var core: OptimizerCore<Options, State> { get }

    /// The state of a parameter of `count` elements before its first update, as PyTorch creates it.
    static func makeState(count: Int, options: Options) -> State

    /// The state ``OptimizerState/entries(shape:)`` wrote under `options`, read back from a state
    /// dictionary (``StateReader`` checks names and shapes).
    static func readState(_ reader: inout StateReader<Scalar>, options: Options) throws -> State

    /// The update of one parameter, in place: `parameter` and `state` move on by one step given
    /// `gradient`. Called once per parameter and step; it must not touch the optimizer.
    static func update(
        _ parameter: UnsafeMutableBufferPointer<Scalar>, gradient: UnsafeBufferPointer<Scalar>,
        state: inout State, options: Options)
}

extension PerParameterOptimizer {
    /// The groups with every key the optimizer reads resolved.
    public var parameterGroups: [ParameterGroup<Scalar>] { core.groups }

    /// Each group's `lr`; schedules read and write these.
    public var learningRates: [Double] {
        get { core.learningRates }
        set { core.learningRates = newValue }
    }

    /// Each group's `initial_lr`, once a schedule recorded it.
    public var initialLearningRates: [Double?] {
        get { core.initialLearningRates }
        set { core.initialLearningRates = newValue }
    }

    /// Each group's typed options (`groupOptions[g].momentum`).
    public var groupOptions: [Options] { core.options }

    /// The state of the `index`-th parameter across groups (`nil` before its first update).
    public func state(ofParameter index: Int) -> State? { core.states[index] }

    /// Applies ``update(_:gradient:state:options:)`` to every parameter that has a gradient.
    public func step() {
        core.step(makeState: { Self.makeState(count: $0, options: $1) },
                  update: { Self.update($0, gradient: $1, state: &$2, options: $3) })
    }

    /// Sets `key` of group `group` through the typed options, validated as at construction.
    public func setHyperparameter(_ key: String, to value: Hyperparameters.Value, group: Int) throws {
        try core.setHyperparameter(key, to: value, group: group)
    }

    /// `state.<i>.<name>` and `param_groups.<g>.<key>`, PyTorch's layout (``OptimizerCore/stateDict()``).
    public func stateDict() -> [String: Tensor<Double>] { core.stateDict() }

    /// Restores ``stateDict()``'s entries; nothing changes unless every check passes.
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws {
        try core.loadStateDict(dict) { try Self.readState(&$0, options: $1) }
    }
}
