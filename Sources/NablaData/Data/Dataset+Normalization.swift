import NablaTensor

/// Per-channel standardization `x' = (x − mean_c) / std_c` (torchvision's `Normalize`), with the
/// statistics computed on the training split and reused unchanged for validation, test and predict
/// inputs.
///
/// The channel axis is axis 1: channels `C` of images `[N, C, H, W]`, features `D` of tables
/// `[N, D]` (rank-1 inputs are one channel). `mean_c` and `std_c` are the mean and the population
/// (biased) standard deviation over every other axis, accumulated in `Double` with two passes. A
/// channel with `std_c = 0` (constant) is only centred: it is divided by 1, never by zero. `apply`
/// divides (rather than multiplying by a reciprocal), bit-identical to torchvision.
public struct ChannelNormalization: Equatable, Sendable, Codable {
    /// The mean `mean_c` of each channel.
    public var mean: [Float]
    /// The population standard deviation `std_c` of each channel (0 for a constant channel, which is then only centred).
    public var std: [Float]

    /// Statistics given explicitly (e.g. the ImageNet constants).
    ///
    /// - Precondition: `mean` and `std` have the same count; every `std` is finite and non-negative.
    public init(mean: [Float], std: [Float]) {
        precondition(mean.count == std.count, "ChannelNormalization: \(mean.count) means but \(std.count) standard deviations")
        precondition(std.allSatisfy { $0 >= 0 && $0.isFinite }, "ChannelNormalization: standard deviations \(std) must be finite and ≥ 0")
        self.mean = mean
        self.std = std
    }

    /// The per-channel statistics of `inputs` (samples on axis 0, channels on axis 1).
    public init(statisticsOf inputs: Tensor<Float>) {
        let (channels, inner) = Self.layout(of: inputs.shape)
        let outer = inputs.shape.first ?? 0
        var sums = [Double](repeating: 0, count: channels)
        var squares = [Double](repeating: 0, count: channels)
        inputs.withUnsafeBufferPointer { x in
            for n in 0..<outer {
                for c in 0..<channels {
                    let base = (n * channels + c) * inner
                    var s = 0.0
                    for i in 0..<inner { s += Double(x[base + i]) }
                    sums[c] += s
                }
            }
            let perChannel = Double(max(outer * inner, 1))
            for c in 0..<channels { sums[c] /= perChannel }
            for n in 0..<outer {
                for c in 0..<channels {
                    let base = (n * channels + c) * inner, m = sums[c]
                    var s = 0.0
                    for i in 0..<inner { let d = Double(x[base + i]) - m; s += d * d }
                    squares[c] += s
                }
            }
            for c in 0..<channels { squares[c] = (squares[c] / perChannel).squareRoot() }
        }
        self.init(mean: sums.map { Float($0) }, std: squares.map { Float($0) })
    }

    /// `(channels, elements per channel per sample)` for a tensor of `shape`.
    static func layout(of shape: [Int]) -> (channels: Int, inner: Int) {
        guard shape.count >= 2 else { return (1, 1) }
        return (shape[1], shape[2...].reduce(1, *))
    }

    /// Normalizes `inputs` in place.
    /// - Precondition: `inputs` has as many channels (axis 1) as the statistics.
    public func apply(to inputs: inout Tensor<Float>) {
        let (channels, inner) = Self.layout(of: inputs.shape)
        precondition(channels == mean.count, "ChannelNormalization: inputs \(inputs.shape) have \(channels) channels, statistics \(mean.count)")
        let outer = inputs.shape.first ?? 0
        let divisor = std.map { $0 > 0 ? $0 : 1 }
        let mean = self.mean
        inputs.withUnsafeMutableBufferPointer { x in
            for n in 0..<outer {
                for c in 0..<channels {
                    let base = (n * channels + c) * inner, m = mean[c], s = divisor[c]
                    for i in base..<(base + inner) { x[i] = (x[i] - m) / s }
                }
            }
        }
    }

    /// A normalized copy of `inputs`.
    public func applied(to inputs: Tensor<Float>) -> Tensor<Float> {
        var copy = inputs
        apply(to: &copy)
        return copy
    }
}

extension Dataset {
    /// The per-channel mean and population standard deviation of the inputs (see ``ChannelNormalization``).
    public func channelStatistics() -> ChannelNormalization {
        ChannelNormalization(statisticsOf: inputs)
    }

    /// The dataset with inputs standardized per channel: `(x − mean[c]) / std[c]`, where a zero
    /// `std[c]` leaves the channel only centred. Pass the *training* statistics for every split.
    public func normalized(mean: [Float], std: [Float]) -> Dataset {
        var copy = self
        copy.normalize(mean: mean, std: std)
        return copy
    }

    /// Standardizes the inputs in place, like ``normalized(mean:std:)`` without copying them when
    /// they are not shared.
    public mutating func normalize(mean: [Float], std: [Float]) {
        ChannelNormalization(mean: mean, std: std).apply(to: &inputs)
    }
}
