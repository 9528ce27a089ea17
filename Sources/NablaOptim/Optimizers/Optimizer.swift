import NablaTensor

/// A gradient-based optimizer over parameter groups, with PyTorch's `torch.optim` semantics.
///
/// Every optimizer in Nabla is a thin final class around a pure per-parameter update function
/// (`SGD.update`, `Adam.update`, …, PyTorch's `_single_tensor_*`) over a typed per-parameter state:
///
/// ```swift
/// let optimizer = try SGD(model.parameters, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)
/// for batch in batches {
///     optimizer.zeroGrad()
///     crossEntropy(logits: model(batch.input), labels: batch.labels).backward()
///     optimizer.step()
/// }
/// ```
///
/// `step()` skips every parameter whose `grad` is `nil` and leaves its state untouched, as PyTorch.
/// The state dictionary flattens PyTorch's `Optimizer.state_dict()` into tensors:
/// `state.<i>.<name>` (`momentum_buffer`, `exp_avg`, `exp_avg_sq`, `max_exp_avg_sq`, `sum`,
/// `square_avg`, `grad_avg`, and `step` as a 0-d tensor), where `i` counts parameters across groups
/// in order, and `param_groups.<g>.<option>` (`lr`, `weight_decay`, `betas` as `[2]`, flags as
/// 0/1, `params` as the group's parameter indices, and `initial_lr` once a schedule set it).
public protocol Optimizer<Scalar>: AnyObject {
    /// The element type of the parameters (`Float` for training, `Double` for checks).
    associatedtype Scalar: TensorScalar

    /// The parameter groups, with every option this optimizer uses resolved (no `nil`s among them).
    var parameterGroups: [ParameterGroup<Scalar>] { get }

    /// Group 0's learning rate; setting it sets every group's learning rate.
    var learningRate: Double { get set }

    /// Each group's learning rate (`param_groups[g]["lr"]`); schedules read and write these.
    /// - Precondition (set): one finite value per group. A schedule may set a negative rate, as
    ///   PyTorch's param_groups allow (OneCycleLR's linear anneal extrapolates below zero on its
    ///   last accepted step); constructors and state dictionaries still require `lr ≥ 0`.
    var learningRates: [Double] { get set }

    /// Each group's `initial_lr`, `nil` until the first schedule attached to this optimizer records
    /// the learning rate it started from; later schedules take it as their base learning rate.
    var initialLearningRates: [Double?] { get set }

    /// Applies one update to every parameter that has a gradient.
    func step()

    /// Sets hyper-parameter `key` (a PyTorch `param_groups` key) of group `group` to `value` — what
    /// a schedule does when it cycles `momentum` or β₁ (`betas`) alongside the learning rate.
    /// - Throws: ``NablaError`` when the optimizer does not read `key`, `value` is of the wrong kind,
    ///   or it is invalid; nothing changes then.
    func setHyperparameter(_ key: String, to value: Hyperparameters.Value, group: Int) throws

    /// Sets every parameter's gradient to `nil` (PyTorch's `zero_grad(set_to_none=True)`).
    func zeroGrad()

    /// The optimizer's state and hyper-parameters, as described above.
    func stateDict() -> [String: Tensor<Double>]

    /// Restores state and hyper-parameters written by ``stateDict()`` of an optimizer of the same
    /// kind over parameters of the same shapes.
    /// - Throws: ``/NablaTensor/NablaError`` naming the first missing, unexpected or mismatched entry, or an
    ///   invalid hyper-parameter. Nothing changes unless every check passes.
    func loadStateDict(_ dict: [String: Tensor<Double>]) throws
}

extension Optimizer {
    /// `learningRates[0]`; setting it sets every group's learning rate to the value.
    public var learningRate: Double {
        get { learningRates[0] }
        set { learningRates = Array(repeating: newValue, count: learningRates.count) }
    }

    /// Sets every parameter's `grad` to `nil`, so the next `backward()` starts from zero.
    public func zeroGrad() {
        for group in parameterGroups {
            for parameter in group.parameters { parameter.grad = nil }
        }
    }

    /// Hyper-parameter `key` of group `group` as the optimizer resolved it, or `nil` when it does
    /// not read `key`.
    public func hyperparameter(_ key: String, group: Int) -> Hyperparameters.Value? {
        parameterGroups[group].hyperparameters[key]
    }

    /// Throws: an optimizer that does not implement it has no settable hyper-parameters.
    public func setHyperparameter(_ key: String, to value: Hyperparameters.Value, group: Int) throws {
        throw NablaError(.invalidArgument, "\(type(of: self)) cannot set hyper-parameter '\(key)'")
    }

    /// Every parameter of every group, in state-dict index order.
    public var parameters: [Variable<Scalar>] { parameterGroups.flatMap(\.parameters) }
}

/// An optimizer that can be built by name — from `nabla train --optimizer NAME`, a configuration
/// file or a study — through the ``OptimizerRegistry``: a name, a summary for help, typed options
/// whose `CodingKeys` are PyTorch's keys, and an initializer from parameter groups and options.
///
/// Adding an optimizer is one file with the type (see ``PerParameterOptimizer`` for the usual
/// shape: options, state, a pure update function) and one line registering it:
/// `OptimizerRegistry.register(Signum<Float>.self)` for a type outside Nabla, or an entry in
/// ``OptimizerRegistry``'s built-in table.
public protocol RegistrableOptimizer<Scalar>: Optimizer {
    /// One group's hyper-parameters.
    associatedtype Options: OptimizerOptions

    /// The name to select it by, lower-case (`"sgd"`); lookups ignore case.
    static var name: String { get }
    /// The name in messages, PyTorch's class name (`"SGD"`).
    static var displayName: String { get }
    /// One line for `--help`: what it does, and the paper it comes from.
    static var summary: String { get }

    /// The optimizer over `groups`, whose hyper-parameters override `options` (PyTorch's defaults
    /// when built by name with none given).
    /// - Throws: ``/NablaTensor/NablaError`` for an empty parameter list, an option a group sets that this
    ///   optimizer does not have, or an invalid value.
    init(_ groups: [ParameterGroup<Scalar>], options: Options) throws
}

/// An optimizer whose step evaluates the gradients again at other weights — SAM's two forward and
/// backward passes (PyTorch's `optimizer.step(closure)`). The trainer calls
/// ``step(reevaluating:)`` instead of ``Optimizer/step()`` when its optimizer conforms.
public protocol ClosureOptimizer<Scalar>: Optimizer {
    /// One step, given the gradients at the current weights; `reevaluate` recomputes every
    /// parameter's `grad` at the weights as they are when it is called (zero, forward, backward).
    /// - Throws: what `reevaluate` throws; the weights are then as they were before the step.
    func step(reevaluating reevaluate: () throws -> Void) throws
}
