import NablaTensor

/// The per-channel state shared by batch and instance normalization: the optional affine parameters
/// `weight` (γ, ones) and `bias` (β, zeros; absent with PyTorch's `bias=False`), and the optional
/// running statistics `running_mean` (zeros), `running_var` (ones) and the int64 counter
/// `num_batches_tracked`, under PyTorch's keys.
struct PerChannelNormalizationState<Scalar: TensorScalar> {
    let weight: Variable<Scalar>?
    let bias: Variable<Scalar>?
    let runningMean: Buffer<Scalar>?
    let runningVariance: Buffer<Scalar>?
    let batchesTracked: Buffer<Scalar>?

    init(featureCount: Int, affine: Bool, bias hasBias: Bool = true, trackRunningStats: Bool) {
        weight = affine ? Variable(Tensor(ones: [featureCount]), requiresGradient: true) : nil
        bias = affine && hasBias ? Variable(Tensor(zeros: [featureCount]), requiresGradient: true) : nil
        runningMean = trackRunningStats ? Buffer(Tensor(zeros: [featureCount])) : nil
        runningVariance = trackRunningStats ? Buffer(Tensor(ones: [featureCount])) : nil
        batchesTracked = trackRunningStats ? Buffer(Tensor(zeros: []), isInteger: true) : nil
    }

    /// Registers the parameters and buffers that exist on `module`, in PyTorch's order.
    func register(in module: Module<Scalar>) {
        if let weight { module.registerParameter("weight", weight) }
        if let bias { module.registerParameter("bias", bias) }
        if let runningMean, let runningVariance, let batchesTracked {
            module.registerBuffer("running_mean", runningMean)
            module.registerBuffer("running_var", runningVariance)
            module.registerBuffer("num_batches_tracked", batchesTracked)
        }
    }

    /// Checks a user-supplied configuration of the layer type `name`.
    /// - Throws: ``/NablaTensor/NablaError`` for a non-positive feature count, a negative or non-finite `eps`, or a
    ///   `momentum` outside `[0, 1]`.
    static func validate(_ name: String, numFeatures: Int, eps: Double, momentum: Double?) throws {
        if numFeatures <= 0 {
            throw NablaError(.invalidArgument, "\(name): num_features must be positive, got \(numFeatures)")
        }
        if !(eps >= 0 && eps.isFinite) {
            throw NablaError(.invalidArgument, "\(name): eps must be a finite number ≥ 0, got \(eps)")
        }
        if let momentum, !(momentum >= 0 && momentum <= 1) {
            throw NablaError(.invalidArgument, "\(name): momentum must be in [0, 1] or None, got \(momentum)")
        }
    }
}
