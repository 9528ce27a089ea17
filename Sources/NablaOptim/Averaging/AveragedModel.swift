import NablaTensor
import NablaNN

/// A running average of a model's weights — PyTorch's `torch.optim.swa_utils.AveragedModel`, for
/// stochastic weight averaging (Izmailov et al., 2018, "Averaging Weights Leads to Wider Optima and
/// Better Generalization") and exponential moving averages of the weights (Polyak averaging with
/// exponential weights).
///
/// It keeps a copy of the model's parameters and buffers, taken at construction (PyTorch's
/// `deepcopy`), and a counter `n` (`n_averaged`, 0 at first). ``update(from:)`` follows
/// `update_parameters`:
///
/// - The first update (`n = 0`) copies the model's parameters — and buffers, with
///   ``includesBuffers`` — whatever the rule.
/// - Later updates average each of them with the ``Rule``: ``Rule/equal``
///   `a ← a + (w − a)/(n + 1)` (`get_swa_avg_fn`, the per-tensor path PyTorch takes on the CPU), or
///   ``Rule/exponential(decay:)`` `a ← lerp(a, w, 1 − decay)` (`get_ema_multi_avg_fn`), where
///   `lerp(a, w, t)` is `a + t·(w − a)` for `|t| < 0.5` and `w − (w − a)·(1 − t)` otherwise, with `t`
///   rounded to the scalar type — ATen's `lerp`, so the averages match PyTorch's to the last bit.
/// - Integer buffers (`num_batches_tracked`), averaged only with ``includesBuffers``, are computed
///   in floating point and truncated toward zero, as PyTorch's `copy_` into an int64 tensor does.
/// - Without ``includesBuffers`` the buffers (running statistics) are copied from the model at every
///   update, not averaged — recompute them for the averaged weights with
///   ``updateBatchNormStatistics(of:inputs:)`` (PyTorch's `update_bn`).
/// - Then `n` grows by one. There is no bias correction and no warm-up of the decay.
///
/// ``stateDict()`` has PyTorch's keys: `n_averaged` and `module.<key>` for every model key.
public final class AveragedModel<Scalar: TensorScalar> {
    /// How a new set of weights enters the average.
    public enum Rule: Equatable, Sendable {
        /// The equally weighted average of every update (SWA): `a ← a + (w − a)/(n + 1)`.
        case equal
        /// An exponential moving average with the given decay ∈ [0, 1]: `a ← decay·a + (1 − decay)·w`,
        /// computed as PyTorch's `get_ema_multi_avg_fn` does (a `lerp` with weight `1 − decay`).
        case exponential(decay: Double)
    }

    /// The averaging rule.
    public let rule: Rule
    /// Whether buffers are averaged too (PyTorch's `use_buffers`), rather than copied from the model.
    public let includesBuffers: Bool
    /// The number of updates so far (`n_averaged`).
    public private(set) var averagedCount = 0
    /// The averaged parameters, in the model's parameter order, by state-dict key.
    public private(set) var parameters: [(name: String, value: Tensor<Scalar>)]
    /// The buffers (averaged with ``includesBuffers``, else the model's at the last update).
    public private(set) var buffers: [(name: String, value: Tensor<Scalar>, isInteger: Bool)]

    /// A copy of `model`'s current parameters and buffers, with nothing averaged yet.
    /// - Throws: ``/NablaTensor/NablaError`` for an exponential decay outside [0, 1] (PyTorch's message).
    public init(_ model: Module<Scalar>, rule: Rule, includesBuffers: Bool = false) throws {
        if case .exponential(let decay) = rule, !(decay >= 0 && decay <= 1) {
            throw NablaError(.invalidArgument, "Invalid decay value \(decay) provided. Please provide a value in [0,1] range.")
        }
        self.rule = rule
        self.includesBuffers = includesBuffers
        parameters = model.namedParameters().map { ($0.name, $0.variable.value) }
        buffers = model.namedBuffers().map { ($0.name, $0.buffer.value, $0.buffer.isInteger) }
    }

    /// Adds the model's current weights to the average (PyTorch's `update_parameters(model)`).
    /// - Precondition: `model` has the parameters and buffers (names and shapes) this average was made from.
    public func update(from model: Module<Scalar>) {
        let current = model.namedParameters(), currentBuffers = model.namedBuffers()
        precondition(current.map(\.name) == parameters.map(\.name) && currentBuffers.map(\.name) == buffers.map(\.name),
                     "AveragedModel.update: the model's keys differ from the averaged ones")
        let copying = averagedCount == 0
        for i in parameters.indices {
            let w = current[i].variable.value
            precondition(w.shape == parameters[i].value.shape, "AveragedModel.update: '\(parameters[i].name)' changed shape")
            parameters[i].value = copying ? w : average(parameters[i].value, w, isInteger: false)
        }
        for i in buffers.indices {
            let w = currentBuffers[i].buffer.value
            precondition(w.shape == buffers[i].value.shape, "AveragedModel.update: '\(buffers[i].name)' changed shape")
            buffers[i].value = copying || !includesBuffers ? w : average(buffers[i].value, w, isInteger: buffers[i].isInteger)
        }
        averagedCount += 1
    }

    /// One tensor's average with the rule (`n` = ``averagedCount`` before this update).
    private func average(_ a: Tensor<Scalar>, _ w: Tensor<Scalar>, isInteger: Bool) -> Tensor<Scalar> {
        if isInteger {
            // PyTorch's non-float path: float arithmetic, truncated by the copy into int64.
            let n = Double(averagedCount)
            return a.zipWith(w) { a, w in
                let (x, y) = (Double(a), Double(w))
                switch rule {
                case .equal: return Scalar((x + (y - x) / (n + 1)).rounded(.towardZero))
                case .exponential(let decay): return Scalar((x * decay + y * (1 - decay)).rounded(.towardZero))
                }
            }
        }
        switch rule {
        case .equal:
            let divisor = Scalar(averagedCount + 1)
            return a.zipWith(w) { a, w in a + (w - a) / divisor }
        case .exponential(let decay):
            let t = Scalar(1 - decay)
            if Swift.abs(t) < 0.5 { return a.zipWith(w) { a, w in a + t * (w - a) } }
            let u = 1 - t
            return a.zipWith(w) { a, w in w - (w - a) * u }
        }
    }

    /// The averaged weights by the model's own keys (what `averaged.module.state_dict()` holds), ready
    /// for `model.loadStateDict(_:)`.
    public var modelStateDict: [String: Tensor<Scalar>] {
        var dict: [String: Tensor<Scalar>] = [:]
        for (name, value) in parameters { dict[name] = value }
        for (name, value, _) in buffers { dict[name] = value }
        return dict
    }

    /// The keys of ``modelStateDict`` whose values are integers (saved as int64).
    public var integerKeys: Set<String> { Set(buffers.filter(\.isInteger).map(\.name)) }

    /// Loads the averaged weights into `model` (the model must have the same keys).
    /// - Throws: ``/NablaTensor/NablaError`` for a model with other keys or shapes.
    public func copy(into model: Module<Scalar>) throws { try model.loadStateDict(modelStateDict) }

    /// PyTorch's `AveragedModel.state_dict()`: `n_averaged` and `module.<key>` for every key.
    public func stateDict() -> [String: Tensor<Scalar>] {
        var dict = ["n_averaged": Tensor<Scalar>(Scalar(averagedCount))]
        for (key, value) in modelStateDict { dict["module." + key] = value }
        return dict
    }

    /// Restores what ``stateDict()`` returned.
    /// - Throws: ``/NablaTensor/NablaError`` for a missing, unexpected or wrongly shaped entry, or a count that is
    ///   not a non-negative whole number; nothing changes then.
    public func loadStateDict(_ dict: [String: Tensor<Scalar>]) throws {
        guard let count = dict["n_averaged"], count.count == 1 else {
            throw NablaError(.missingKey, "averaged model state is missing 'n_averaged'")
        }
        let n = Double(count.scalars[0])
        guard n >= 0, n == n.rounded(), n < 1e15 else {
            throw NablaError(.invalidArgument, "averaged model state 'n_averaged' must be a non-negative whole number, got \(n)")
        }
        let expected = Set(parameters.map { "module." + $0.name } + buffers.map { "module." + $0.name } + ["n_averaged"])
        if let extra = dict.keys.sorted().first(where: { !expected.contains($0) }) {
            throw NablaError(.unexpectedKey, "averaged model state has unexpected entry '\(extra)'")
        }
        func read(_ name: String, _ shape: [Int]) throws -> Tensor<Scalar> {
            guard let t = dict["module." + name] else { throw NablaError(.missingKey, "averaged model state is missing 'module.\(name)'") }
            guard t.shape == shape || (t.count == 1 && shape.reduce(1, *) == 1) else {
                throw NablaError(.shapeMismatch, "averaged model state 'module.\(name)' has shape \(t.shape), expected \(shape)")
            }
            return t.reshaped(to: shape)
        }
        let newParameters = try parameters.map { ($0.name, try read($0.name, $0.value.shape)) }
        let newBuffers = try buffers.map { ($0.name, try read($0.name, $0.value.shape), $0.isInteger) }
        parameters = newParameters
        buffers = newBuffers
        averagedCount = Int(n)
    }
}
