import NablaTensor

/// A histogram in TensorBoard's `HistogramProto` form, bucketed like TensorFlow's default histogram.
///
/// Bucket edges (TensorFlow `core/lib/histogram/histogram.cc`, `InitDefaultBuckets`): the positive
/// limits `1e-12 · 1.1^k` for every k with `1e-12 · 1.1^k < 1e20` (774 of them), then `DBL_MAX`; the
/// mirrored negative limits; and `0` between them — 1,551 limits in all, each bucket growing by 10%,
/// so relative resolution is the same for weights of 1e-4 and of 10. Bucket `i` counts the values `v`
/// with `limit[i−1] ≤ v < limit[i]` (bucket 0 starts at `−DBL_MAX`).
///
/// Like TensorFlow's `EncodeToProto(preserve_zero_buckets: false)`, every run of consecutive empty
/// buckets between values is stored as one empty bucket ending at the run's last limit, so a
/// histogram of a layer's weights costs a few hundred buckets, not 1,551. Unlike TensorFlow, the
/// empty buckets below the smallest and above the largest value are not stored at all: readers take
/// `min` as the left edge of the first bucket, and TensorBoard's Rust data server would otherwise show
/// the leading empty run as a bucket from `min` back to its limit. A histogram of no values has no
/// buckets.
///
/// Non-finite values (NaN, ±∞) cannot be placed in a bucket; they are left out of every statistic and
/// counted in ``nonFiniteCount`` (TensorFlow's histogram op rejects them instead).
public struct TensorBoardHistogram: Equatable, Sendable {
    /// The smallest finite value (`HistogramProto.min`; `Double.greatestFiniteMagnitude` when there is none).
    public var min: Double
    /// The largest finite value (`HistogramProto.max`; `-Double.greatestFiniteMagnitude` when there is none).
    public var max: Double
    /// The number of finite values.
    public var count: Double
    /// `Σ v` over the finite values (`HistogramProto.sum`).
    public var sum: Double
    /// `Σ v²` over the finite values (`HistogramProto.sum_squares`).
    public var sumOfSquares: Double
    /// Upper edges of the stored buckets, increasing.
    public var bucketLimits: [Double]
    /// Number of values in each stored bucket (parallel to ``bucketLimits``).
    public var bucketCounts: [Double]
    /// Values that were NaN or infinite and were skipped.
    public var nonFiniteCount: Int

    /// TensorFlow's default bucket limits: `−DBL_MAX, …, −1e-12, 0, 1e-12, …, DBL_MAX`.
    public static let defaultBucketLimits: [Double] = {
        var positive: [Double] = []
        var v = 1.0e-12
        while v < 1.0e20 {
            positive.append(v)
            v *= 1.1
        }
        positive.append(Double.greatestFiniteMagnitude)
        return positive.reversed().map { -$0 } + [0] + positive
    }()

    /// Builds the histogram of `values` with the default buckets.
    public init<C: Collection>(values: C) where C.Element: BinaryFloatingPoint {
        let limits = Self.defaultBucketLimits
        var counts = [Double](repeating: 0, count: limits.count)
        var minimum = Double.greatestFiniteMagnitude, maximum = -Double.greatestFiniteMagnitude
        var total = 0.0, sum = 0.0, sumOfSquares = 0.0
        var nonFinite = 0
        limits.withUnsafeBufferPointer { limits in
            for element in values {
                let value = Double(element)
                guard value.isFinite else { nonFinite += 1; continue }
                // upper_bound: the first limit strictly greater than the value.
                var low = 0, high = limits.count - 1
                while low < high {
                    let middle = (low + high) >> 1
                    if limits[middle] > value { high = middle } else { low = middle + 1 }
                }
                counts[low] += 1
                if value < minimum { minimum = value }
                if value > maximum { maximum = value }
                total += 1
                sum += value
                sumOfSquares += value * value
            }
        }
        var storedLimits: [Double] = [], storedCounts: [Double] = []
        // Empty buckets before the first and after the last value are dropped altogether.
        var i = counts.firstIndex { $0 > 0 } ?? counts.count
        let stop = (counts.lastIndex { $0 > 0 } ?? -1) + 1
        while i < stop {
            var end = limits[i], count = counts[i]
            i += 1
            if count <= 0 {
                while i < stop && counts[i] <= 0 {
                    end = limits[i]
                    count = counts[i]
                    i += 1
                }
            }
            storedLimits.append(end)
            storedCounts.append(count)
        }
        if total == 0 { minimum = 0; maximum = 0 }
        self.init(min: minimum, max: maximum, count: total, sum: sum, sumOfSquares: sumOfSquares,
                  bucketLimits: storedLimits, bucketCounts: storedCounts, nonFiniteCount: nonFinite)
    }

    /// Builds the histogram of a tensor's elements.
    public init<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) {
        self.init(values: tensor.scalars)
    }

    /// A histogram from precomputed statistics and buckets.
    /// - Precondition: `bucketLimits` and `bucketCounts` have the same length.
    public init(min: Double, max: Double, count: Double, sum: Double, sumOfSquares: Double,
                bucketLimits: [Double], bucketCounts: [Double], nonFiniteCount: Int = 0) {
        precondition(bucketLimits.count == bucketCounts.count,
                     "TensorBoardHistogram: \(bucketLimits.count) bucket limits but \(bucketCounts.count) counts")
        self.min = min
        self.max = max
        self.count = count
        self.sum = sum
        self.sumOfSquares = sumOfSquares
        self.bucketLimits = bucketLimits
        self.bucketCounts = bucketCounts
        self.nonFiniteCount = nonFiniteCount
    }

    /// The `HistogramProto` encoding: `min=1, max=2, num=3, sum=4, sum_squares=5` (doubles),
    /// `bucket_limit=6, bucket=7` (packed repeated doubles).
    public var protobuf: ProtobufEncoder {
        var message = ProtobufEncoder()
        message.appendDouble(field: 1, min)
        message.appendDouble(field: 2, max)
        message.appendDouble(field: 3, count)
        message.appendDouble(field: 4, sum)
        message.appendDouble(field: 5, sumOfSquares)
        message.appendPackedDoubles(field: 6, bucketLimits)
        message.appendPackedDoubles(field: 7, bucketCounts)
        return message
    }
}
