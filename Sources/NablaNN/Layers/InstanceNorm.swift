import NablaTensor

/// Instance normalization over the spatial axes of each (sample, channel) — the shared
/// implementation of ``InstanceNorm1d``, ``InstanceNorm2d`` and ``InstanceNorm3d`` (PyTorch's
/// `_InstanceNorm`; Ulyanov, Vedaldi & Lempitsky, 2016). Also accepts an unbatched `(C, *)` input.
///
/// It normalizes with per-instance statistics in training, and in evaluation too unless
/// `trackRunningStats` (then the running statistics, averaged over the batch, are used). The
/// mathematics are those of ``instanceNorm(_:runningMean:runningVariance:weight:bias:useInputStatistics:momentum:eps:)``;
/// with `affine` it equals ``GroupNorm`` with one group per channel.
///
/// State (PyTorch keys): `weight`/`bias` (`[C]`) when `affine`; `running_mean`, `running_var` and
/// `num_batches_tracked` when `trackRunningStats`. As in PyTorch, `momentum = nil` leaves the running
/// statistics unchanged and `num_batches_tracked` is not advanced.
public class InstanceNorm<Scalar: TensorScalar>: Module<Scalar>, NormalizationLayer {
    /// `C`, the number of channels (PyTorch's `num_features`).
    public let featureCount: Int
    /// The constant added to the variance inside the square root.
    public let eps: Double
    /// The running-average factor; `nil` leaves the running statistics unchanged.
    public let momentum: Double?
    /// Whether a per-channel `γ` and `β` are learned.
    public let affine: Bool
    /// Whether running statistics are kept (and used in evaluation).
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

    /// The rank of a batched input (an unbatched one has one axis fewer); `nil`: any rank ≥ 3.
    class var batchedRank: Int? { nil }
    /// How an accepted input is described in errors.
    class var inputDescription: String { "[N, C, *]" }

    /// An instance normalization of `numFeatures` channels.
    /// - Precondition: the configuration passes ``validate(numFeatures:eps:momentum:)``.
    /// - Parameters:
    ///   - numFeatures: `C`.
    ///   - eps: added to the variance inside the square root (default `1e-5`).
    ///   - momentum: the running-average factor (default `0.1`).
    ///   - affine: whether to learn a per-channel `γ` and `β` (default `false`).
    ///   - trackRunningStats: whether to keep running statistics for evaluation (default `false`).
    ///   - bias: whether an affine layer also learns `β` (PyTorch's keyword-only `bias`, default true).
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = false,
                trackRunningStats: Bool = false, bias: Bool = true) {
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

    /// Checks a configuration a user supplied.
    /// - Throws: ``/NablaTensor/NablaError`` for a non-positive feature count, a bad `eps`, or a `momentum`
    ///   outside `[0, 1]`.
    public static func validate(numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1) throws {
        try PerChannelNormalizationState<Scalar>.validate(normalizationLayerName(self), numFeatures: numFeatures, eps: eps, momentum: momentum)
    }

    /// Whether this forward pass normalizes with the input's own statistics.
    public var usesInputStatistics: Bool { isTraining || !trackRunningStats }

    /// Checks that an input of `shape` fits: an accepted rank (batched or not), `num_features`
    /// channels when there are parameters or running statistics (otherwise PyTorch accepts any
    /// count), and more than one spatial position when using input statistics.
    public func checkInput(_ shape: [Int]) throws {
        let name = normalizationLayerName(type(of: self))
        let rankOK = Self.batchedRank.map { shape.count == $0 || shape.count == $0 - 1 } ?? (shape.count >= 2)
        guard rankOK else {
            throw NablaError(.shapeMismatch, "\(name): expected input of shape \(Self.inputDescription), got \(shape)")
        }
        let batched = Self.batchedRank.map { shape.count == $0 } ?? (shape.count >= 3)
        let channelAxis = batched ? 1 : 0
        if (affine || trackRunningStats) && shape[channelAxis] != featureCount {
            throw NablaError(.shapeMismatch, "\(name)(num_features=\(featureCount)): input of shape \(shape) has "
                             + "\(shape[channelAxis]) channels, expected \(featureCount)")
        }
        if usesInputStatistics && shape[(channelAxis + 1)...].reduce(1, *) <= 1 {
            throw NablaError(.shapeMismatch,
                             "\(name): Expected more than 1 spatial element when training, got input size \(shape)")
        }
    }

    /// Normalizes each (sample, channel) of `[N, C, *]` (or unbatched `[C, *]`) over `*`:
    /// `y = γ_c·(x − μ_nc)/√(σ²_nc + eps) + β_c` with the instance's mean and biased variance, or with
    /// the running statistics in evaluation when ``trackRunningStats``.
    /// - Precondition: the input passes ``checkInput(_:)``.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        do { try checkInput(input.shape) } catch { preconditionFailure("\(error)") }
        let batched = Self.batchedRank.map { input.shape.count == $0 } ?? (input.shape.count >= 3)
        let x = batched ? input : input.reshaped(to: [1] + input.shape)
        let y = instanceNorm(x, runningMean: runningMean, runningVariance: runningVariance, weight: weight, bias: bias,
                             useInputStatistics: usesInputStatistics, momentum: momentum ?? 0, eps: eps)
        return batched ? y : y.reshaped(to: input.shape)
    }

    /// PyTorch's `_InstanceNorm.extra_repr`: `16, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False`.
    public override var configurationDescription: String {
        "\(featureCount), eps=\(eps), momentum=\(momentum.map { "\($0)" } ?? "None"), "
            + "affine=\(affine ? "True" : "False"), track_running_stats=\(trackRunningStats ? "True" : "False")"
            + (affine && bias == nil ? ", bias=False" : "")
    }
}

/// Instance normalization of `(N, C, L)` (or unbatched `(C, L)`) sequences (PyTorch
/// `nn.InstanceNorm1d`). See ``InstanceNorm``.
public final class InstanceNorm1d<Scalar: TensorScalar>: InstanceNorm<Scalar> {
    override class var batchedRank: Int? { 3 }
    override class var inputDescription: String { "(N, C, L) or (C, L)" }
}

/// Instance normalization of `(N, C, H, W)` (or unbatched `(C, H, W)`) images (PyTorch
/// `nn.InstanceNorm2d`). See ``InstanceNorm``.
public final class InstanceNorm2d<Scalar: TensorScalar>: InstanceNorm<Scalar> {
    override class var batchedRank: Int? { 4 }
    override class var inputDescription: String { "(N, C, H, W) or (C, H, W)" }
}

/// Instance normalization of `(N, C, D, H, W)` (or unbatched `(C, D, H, W)`) volumes (PyTorch
/// `nn.InstanceNorm3d`). See ``InstanceNorm``.
public final class InstanceNorm3d<Scalar: TensorScalar>: InstanceNorm<Scalar> {
    override class var batchedRank: Int? { 5 }
    override class var inputDescription: String { "(N, C, D, H, W) or (C, D, H, W)" }
}
