import Foundation

/// Why a statistic was refused: its input is malformed.
///
/// The study statistics separate two kinds of trouble:
///
/// - **Malformed input throws** a `StatisticsError`: a NaN or infinite value, paired samples of
///   different lengths, an empty sample, or a parameter out of range (a confidence level outside
///   (0, 1), a p-value outside [0, 1], fewer bootstrap resamples than the minimum). A study that
///   produces NaN accuracies has a bug, and a report must not quietly print "nan".
/// - **Well-formed input that is too small** (fewer than two values, so no standard deviation)
///   does not throw; the quantities that need more data are `nil`, meaning "not computable".
public enum StatisticsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `sample[index]` is NaN or infinite.
    case nonFiniteValue(sample: String, index: Int)
    /// The paired samples have different lengths (one value per seed is expected in each).
    case countMismatch(baseline: Int, variant: Int)
    /// The named sample has no values.
    case emptySample(String)
    /// A parameter is outside its documented range; the text says which and why.
    case invalidParameter(String)

    /// The one-line message.
    public var description: String {
        switch self {
        case .nonFiniteValue(let sample, let index):
            return "\(sample)[\(index)] is not a finite number"
        case .countMismatch(let baseline, let variant):
            return "paired samples differ in length: baseline has \(baseline) values, variant \(variant)"
        case .emptySample(let sample):
            return "\(sample) is empty"
        case .invalidParameter(let text):
            return text
        }
    }
}

extension StatisticsError {
    /// Throws unless `values` is non-empty and every element is finite.
    static func checkSample(_ values: [Double], named name: String) throws {
        if values.isEmpty { throw StatisticsError.emptySample(name) }
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw StatisticsError.nonFiniteValue(sample: name, index: index)
        }
    }

    /// Throws unless `level` lies strictly between 0 and 1.
    static func checkLevel(_ level: Double) throws {
        guard level > 0, level < 1 else {
            throw StatisticsError.invalidParameter("confidence level \(level) is not strictly between 0 and 1")
        }
    }

    /// Throws unless `alpha` lies strictly between 0 and 1.
    static func checkAlpha(_ alpha: Double) throws {
        guard alpha > 0, alpha < 1 else {
            throw StatisticsError.invalidParameter("significance level α = \(alpha) is not strictly between 0 and 1")
        }
    }
}
