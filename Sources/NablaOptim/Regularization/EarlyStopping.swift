import NablaTensor
import NablaNN

/// Early stopping on a validation metric, keeping a copy of the best weights (Prechelt, 1998,
/// "Early Stopping — But When?"; the semantics of Keras `EarlyStopping` and PyTorch Lightning's
/// `EarlyStopping` callback).
///
/// After each evaluation the trainer calls ``update(metric:epoch:module:)``. The first metric is the
/// best so far; later a metric *improves* when it beats the best by more than `minDelta`:
/// `metric < best − minDelta` in ``Mode/min`` (losses), `metric > best + minDelta` in ``Mode/max``
/// (accuracies). An improvement records the metric and epoch, snapshots the module's state dict and
/// resets the counter (and never stops); otherwise the counter of evaluations without improvement
/// grows, and `update` returns `true` (stop) once it reaches `patience` (so `patience = 0` stops at
/// the first evaluation that does not improve). A non-finite metric (a diverged run) also stops
/// at once. ``restoreBest(into:)`` loads the snapshot back.
///
/// The object carries its own state and never calls the trainer; ``state`` exposes the scalar part
/// for checkpoints (the snapshot is a state dict the trainer can save beside the weights).
public final class EarlyStopping<Scalar: TensorScalar> {
    /// Whether smaller (`min`) or larger (`max`) metric values are better.
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// Smaller is better (a loss): an improvement is `metric < best − minDelta`.
        case min
        /// Larger is better (an accuracy): an improvement is `metric > best + minDelta`.
        case max
    }

    /// The scalar progress of the tracker, for checkpoints.
    public struct State: Equatable, Sendable, Codable {
        /// The best metric so far, or `nil` before the first update.
        public var bestMetric: Double?
        /// The epoch of ``bestMetric``, or `nil` before the first update.
        public var bestEpoch: Int?
        /// Evaluations since the last improvement.
        public var epochsWithoutImprovement: Int
        /// Whether ``EarlyStopping/update(metric:epoch:module:)`` has returned `true`.
        public var stopped: Bool

        /// A state; the defaults are those of a tracker that has seen nothing.
        public init(bestMetric: Double? = nil, bestEpoch: Int? = nil, epochsWithoutImprovement: Int = 0, stopped: Bool = false) {
            self.bestMetric = bestMetric
            self.bestEpoch = bestEpoch
            self.epochsWithoutImprovement = epochsWithoutImprovement
            self.stopped = stopped
        }
    }

    /// Whether smaller or larger metrics are better.
    public let mode: Mode
    /// How many evaluations without improvement are tolerated before stopping.
    public let patience: Int
    /// The smallest change of the metric that counts as an improvement (≥ 0).
    public let minDelta: Double
    /// The progress so far (settable to resume from a checkpoint).
    public var state = State(bestMetric: nil, bestEpoch: nil, epochsWithoutImprovement: 0, stopped: false)
    /// The state dict at the best epoch, or `nil` before the first update.
    public private(set) var bestStateDict: [String: Tensor<Scalar>]?

    /// The best metric seen, or `nil` before the first update.
    public var bestMetric: Double? { state.bestMetric }
    /// The epoch of ``bestMetric``.
    public var bestEpoch: Int? { state.bestEpoch }
    /// Evaluations since the last improvement.
    public var epochsWithoutImprovement: Int { state.epochsWithoutImprovement }

    /// Checks user-supplied settings.
    /// - Throws: ``/NablaTensor/NablaError`` for a negative patience or a negative or non-finite `minDelta`.
    public static func validate(patience: Int, minDelta: Double) throws {
        guard patience >= 0 else {
            throw NablaError(.invalidArgument, "EarlyStopping: patience=\(patience) must be non-negative")
        }
        guard minDelta >= 0 && minDelta.isFinite else {
            throw NablaError(.invalidArgument, "EarlyStopping: min_delta=\(minDelta) must be a non-negative number")
        }
    }

    /// - Precondition: `patience ≥ 0`, `minDelta ≥ 0` (see ``validate(patience:minDelta:)``).
    public init(mode: Mode = .min, patience: Int = 10, minDelta: Double = 0) {
        precondition(patience >= 0 && minDelta >= 0 && minDelta.isFinite,
                     "EarlyStopping: patience=\(patience), min_delta=\(minDelta) must be non-negative")
        self.mode = mode
        self.patience = patience
        self.minDelta = minDelta
    }

    /// Whether `metric` improves on the best so far by more than `minDelta`.
    public func isImprovement(_ metric: Double) -> Bool {
        guard metric.isFinite else { return false }
        guard let best = state.bestMetric else { return true }
        switch mode {
        case .min: return metric < best - minDelta
        case .max: return metric > best + minDelta
        }
    }

    /// Records the metric of an evaluation and returns whether training should stop.
    ///
    /// On an improvement the module's state dict is copied (tensors are values, so later training
    /// steps do not alter the copy).
    @discardableResult
    public func update(metric: Double, epoch: Int, module: Module<Scalar>) -> Bool {
        if isImprovement(metric) {
            state.bestMetric = metric
            state.bestEpoch = epoch
            state.epochsWithoutImprovement = 0
            bestStateDict = module.stateDict()
            state.stopped = false
        } else {
            state.epochsWithoutImprovement += 1
            state.stopped = !metric.isFinite || state.epochsWithoutImprovement >= patience
        }
        return state.stopped
    }

    /// Loads the best snapshot into `module` (the same architecture the snapshots came from).
    /// - Returns: whether a snapshot existed (there is none before the first finite metric).
    /// - Throws: ``/NablaTensor/NablaError`` if `module`'s keys or shapes differ from the snapshot's.
    @discardableResult
    public func restoreBest(into module: Module<Scalar>) throws -> Bool {
        guard let best = bestStateDict else { return false }
        try module.loadStateDict(best)
        return true
    }

    /// Replaces the snapshot, e.g. with best weights read back from a checkpoint on resume.
    public func setBestStateDict(_ dict: [String: Tensor<Scalar>]?) { bestStateDict = dict }
}
