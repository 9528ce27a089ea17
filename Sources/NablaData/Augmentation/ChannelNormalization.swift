import NablaTensor

/// Per-channel standardization of image batches (torchvision `Normalize(mean, std)`), and the
/// statistics it needs.

/// `y[n, c, …] = (x[n, c, …] − mean[c]) / std[c]` for an `[N, C, H, W]` (or any `[N, C, …]`) batch.
/// `mean` and `standardDeviation` hold one value per channel, or a single value for all channels.
/// - Precondition: counts match and every standard deviation is positive.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func normalizedPerChannel<Scalar>(
    _ x: Tensor<Scalar>, mean: [Double], standardDeviation: [Double]
) -> Tensor<Scalar> {
    precondition(x.rank >= 2, "normalizedPerChannel expects [N, C, …], got \(x.shape)")
    let channels = x.shape[1], n = x.shape[0]
    let inner = x.shape.dropFirst(2).reduce(1, *)
    precondition((mean.count == channels || mean.count == 1) && (standardDeviation.count == channels || standardDeviation.count == 1),
                 "normalizedPerChannel: \(mean.count) means and \(standardDeviation.count) deviations for \(channels) channels")
    precondition(standardDeviation.allSatisfy { $0 > 0 }, "normalizedPerChannel: standard deviations \(standardDeviation) must be positive")
    let shift = (0..<channels).map { Scalar(mean[mean.count == 1 ? 0 : $0]) }
    let scale = (0..<channels).map { Scalar(1 / standardDeviation[standardDeviation.count == 1 ? 0 : $0]) }
    return Tensor(shape: x.shape) { out in
        x.withUnsafeBufferPointer { src in
            for s in 0..<n {
                for c in 0..<channels {
                    let base = (s * channels + c) * inner, m = shift[c], k = scale[c]
                    for i in base..<(base + inner) { out[i] = (src[i] - m) * k }
                }
            }
        }
    }
}

/// The per-channel mean and (biased, population) standard deviation of a batch `[N, C, …]` over
/// samples and positions — what a training set's `Normalize` constants are computed from.
/// Accumulates in `Double`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func channelStatistics<Scalar>(of x: Tensor<Scalar>) -> (mean: [Double], standardDeviation: [Double]) {
    precondition(x.rank >= 2 && x.count > 0, "channelStatistics expects a non-empty [N, C, …], got \(x.shape)")
    let channels = x.shape[1], n = x.shape[0]
    let inner = x.shape.dropFirst(2).reduce(1, *)
    var sums = [Double](repeating: 0, count: channels), squares = sums
    x.withUnsafeBufferPointer { src in
        for s in 0..<n {
            for c in 0..<channels {
                let base = (s * channels + c) * inner
                var sum = 0.0
                for i in base..<(base + inner) { sum += Double(src[i]) }
                sums[c] += sum
            }
        }
        let means = sums.map { $0 / Double(n * inner) }
        for s in 0..<n {
            for c in 0..<channels {
                let base = (s * channels + c) * inner
                var total = 0.0
                for i in base..<(base + inner) { let d = Double(src[i]) - means[c]; total += d * d }
                squares[c] += total
            }
        }
    }
    let count = Double(n * inner)
    return (sums.map { $0 / count }, squares.map { ($0 / count).squareRoot() })
}
