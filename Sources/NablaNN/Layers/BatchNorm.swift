import NablaTensor

/// Batch normalization over the channel axis of an `[N, C, *]` input — the shared implementation of
/// ``BatchNorm1d``, ``BatchNorm2d`` and ``BatchNorm3d`` (PyTorch's `_BatchNorm`), usable directly for
/// any rank ≥ 2.
///
/// Training mode normalizes with the batch statistics of each channel and updates the running
/// statistics; evaluation mode normalizes with the running statistics (or with batch statistics when
/// `trackRunningStats` is false). The mathematics, the update rule and the backward pass are those
/// of ``batchNorm(_:runningMean:runningVariance:weight:bias:training:momentum:eps:fusingReLU:)``.
///
/// State (PyTorch keys): `weight` (γ, ones) and `bias` (β, zeros) when `affine` (no `bias` with
/// `bias: false`, PyTorch's `bias=False`); `running_mean` (zeros), `running_var` (ones) and the
/// integer `num_batches_tracked` (0) when `trackRunningStats`.
public class BatchNorm<Scalar: TensorScalar>: Module<Scalar>, NormalizationLayer {
    /// `C`, the number of channels (PyTorch's `num_features`).
    public let featureCount: Int
    /// The constant added to the variance inside the square root.
    public let eps: Double
    /// The running-average factor; `nil` for a cumulative average. Settable, as PyTorch's attribute
    /// is (NablaOptim's `updateBatchNormStatistics(of:inputs:)` sets it to `nil` for its pass).
    public var momentum: Double? {
        didSet {
            if let momentum { precondition(momentum >= 0 && momentum <= 1, "BatchNorm: momentum \(momentum) is out of range [0, 1]") }
        }
    }
    /// Whether `γ` and `β` are learned.
    public let affine: Bool
    /// Whether running statistics are kept and used in evaluation.
    public let trackRunningStats: Bool
    /// `γ`, shape `[C]` (when `affine`).
    public let weight: Variable<Scalar>?
    /// `β`, shape `[C]` (when `affine`).
    public let bias: Variable<Scalar>?
    /// The running mean, shape `[C]` (when `trackRunningStats`).
    public let runningMean: Buffer<Scalar>?
    /// The running (unbiased) variance, shape `[C]` (when `trackRunningStats`).
    public let runningVariance: Buffer<Scalar>?
    /// The number of training batches seen, `num_batches_tracked` (when `trackRunningStats`).
    public let batchesTracked: Buffer<Scalar>?

    /// The input ranks this layer accepts; `nil` means any rank ≥ 2.
    class var acceptedRanks: [Int]? { nil }
    /// How an accepted input is described in errors.
    class var inputDescription: String { "[N, C, *]" }

    /// A batch normalization of `numFeatures` channels (`γ = 1`, `β = 0`, running mean 0, running variance 1).
    /// - Precondition: the configuration passes ``validate(numFeatures:eps:momentum:)``.
    /// - Parameters:
    ///   - numFeatures: `C`, the channel count of the input.
    ///   - eps: added to the variance inside the square root (default `1e-5`).
    ///   - momentum: the running-average factor, `running = (1 − m)·running + m·batch` (default `0.1`);
    ///     `nil` for a cumulative average `m = 1/num_batches_tracked`.
    ///   - affine: whether to learn `γ` and `β`.
    ///   - trackRunningStats: whether to keep running statistics for evaluation.
    ///   - bias: whether an affine layer also learns `β` (PyTorch's keyword-only `bias`, default true).
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true, bias: Bool = true) {
        do {
            try Self.validate(numFeatures: numFeatures, eps: eps, momentum: momentum)
        } catch { preconditionFailure("\(error)") }
        featureCount = numFeatures
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.trackRunningStats = trackRunningStats
        let state = PerChannelNormalizationState<Scalar>(featureCount: numFeatures, affine: affine, bias: bias,
                                                         trackRunningStats: trackRunningStats)
        (weight, self.bias) = (state.weight, state.bias)
        (runningMean, runningVariance, batchesTracked) = (state.runningMean, state.runningVariance, state.batchesTracked)
        super.init()
        state.register(in: self)
    }

    /// PyTorch's `reset_running_stats()`: running mean 0, running variance 1, `num_batches_tracked`
    /// 0 (no effect without running statistics).
    public func resetRunningStatistics() {
        runningMean?.value = Tensor(zeros: [featureCount])
        runningVariance?.value = Tensor(ones: [featureCount])
        batchesTracked?.value = Tensor(zeros: [])
    }

    /// Checks a configuration a user supplied (a model file, CLI flags).
    /// - Throws: ``/NablaTensor/NablaError`` for a non-positive feature count, a negative or non-finite `eps`, or a
    ///   `momentum` outside `[0, 1]`.
    public static func validate(numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1) throws {
        try PerChannelNormalizationState<Scalar>.validate(normalizationLayerName(self), numFeatures: numFeatures, eps: eps, momentum: momentum)
    }

    /// The shape of the latest input, so a trainer can check batch sizes against the layer before
    /// it trains (``checkInput(_:)``'s rule, which ``forward(_:)`` enforces with a trap).
    package var lastInputShape: [Int]?

    /// Whether this forward pass normalizes with batch statistics (training, or no running stats).
    public var usesBatchStatistics: Bool { isTraining || !trackRunningStats }

    /// Checks that an input of `shape` fits this layer in its current mode: an accepted rank,
    /// `num_features` channels, and more than one value per channel when using batch statistics.
    /// ``forward(_:)`` traps with the same message.
    public func checkInput(_ shape: [Int]) throws {
        let name = normalizationLayerName(type(of: self))
        let rankOK = Self.acceptedRanks.map { $0.contains(shape.count) } ?? (shape.count >= 2)
        guard rankOK else {
            throw NablaError(.shapeMismatch, "\(name): expected input of shape \(Self.inputDescription), got \(shape)")
        }
        guard shape[1] == featureCount else {
            throw NablaError(.shapeMismatch, "\(name)(num_features=\(featureCount)): input of shape \(shape) has "
                             + "\(shape[1]) channels, expected \(featureCount)")
        }
        if usesBatchStatistics && shape[0] * shape.dropFirst(2).reduce(1, *) <= 1 {
            throw NablaError(.shapeMismatch,
                             "\(name): Expected more than 1 value per channel when training, got input size \(shape)")
        }
    }

    /// Normalizes `[N, C, *]` per channel: `y = γ·(x − μ)/√(σ² + eps) + β`, with the batch mean and
    /// biased variance over `(N, *)` in training (which also updates the running statistics and
    /// `num_batches_tracked`), or the running statistics in evaluation.
    /// - Precondition: the input passes ``checkInput(_:)``.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> { forward(input, fusingReLU: false) }

    /// ``forward(_:)`` followed by a ReLU, as one fused node (see ``batchNorm(_:runningMean:runningVariance:weight:bias:training:momentum:eps:fusingReLU:)``):
    /// what ``Sequential`` runs for a `BatchNorm` directly followed by a ``ReLU``.
    public func forward(_ input: Variable<Scalar>, fusingReLU: Bool) -> Variable<Scalar> {
        lastInputShape = input.shape
        do { try checkInput(input.shape) } catch { preconditionFailure("\(error)") }
        var factor = momentum ?? 0
        if isTraining, let batchesTracked {
            // Counted in int64 as PyTorch does (a Float stops counting at 2²⁴); a loaded
            // counter at Int64.max stays there rather than trapping.
            let count = batchesTracked.integerValues[0]
            batchesTracked.integerValues[0] = count == .max ? count : count + 1
            if momentum == nil { factor = 1 / Double(batchesTracked.integerValues[0]) }
        }
        return batchNorm(input, runningMean: runningMean, runningVariance: runningVariance, weight: weight, bias: bias,
                         training: usesBatchStatistics, momentum: factor, eps: eps, fusingReLU: fusingReLU)
    }

    /// PyTorch's `_BatchNorm.extra_repr`: `16, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True`.
    public override var configurationDescription: String {
        "\(featureCount), eps=\(eps), momentum=\(momentum.map { "\($0)" } ?? "None"), "
            + "affine=\(affine ? "True" : "False"), track_running_stats=\(trackRunningStats ? "True" : "False")"
            + (affine && bias == nil ? ", bias=False" : "")
    }
}

/// Batch normalization of `(N, C)` features or `(N, C, L)` sequences (PyTorch `nn.BatchNorm1d`);
/// statistics per channel over `N` (and `L`). See ``BatchNorm``.
public final class BatchNorm1d<Scalar: TensorScalar>: BatchNorm<Scalar> {
    override class var acceptedRanks: [Int]? { [2, 3] }
    override class var inputDescription: String { "(N, C) or (N, C, L)" }
}

/// Spatial batch normalization of `(N, C, H, W)` images (PyTorch `nn.BatchNorm2d`); statistics per
/// channel over `N`, `H` and `W`. See ``BatchNorm``.
public final class BatchNorm2d<Scalar: TensorScalar>: BatchNorm<Scalar> {
    override class var acceptedRanks: [Int]? { [4] }
    override class var inputDescription: String { "(N, C, H, W)" }
}

/// Volumetric batch normalization of `(N, C, D, H, W)` inputs (PyTorch `nn.BatchNorm3d`); statistics
/// per channel over `N`, `D`, `H` and `W`. See ``BatchNorm``.
public final class BatchNorm3d<Scalar: TensorScalar>: BatchNorm<Scalar> {
    override class var acceptedRanks: [Int]? { [5] }
    override class var inputDescription: String { "(N, C, D, H, W)" }
}

/// The PyTorch-style name of a layer type: `BatchNorm2d<Float>` → `BatchNorm2d`.
func normalizationLayerName(_ type: Any.Type) -> String {
    String(describing: type).split(separator: "<").first.map(String.init) ?? "\(type)"
}
