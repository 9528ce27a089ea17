import Foundation
import NablaTensor

/// One step of an ``AugmentationPipeline``; each applies one of the batch augmentations with
/// per-sample random parameters.
public enum Augmentation: Equatable, Sendable {
    /// ``randomCrop(_:height:width:padding:mode:using:)`` back to the input size.
    case randomCrop(padding: Int, mode: PaddingMode)
    /// ``randomHorizontalFlip(_:probability:using:)``.
    case horizontalFlip(probability: Double)
    /// ``randomVerticalFlip(_:probability:using:)``.
    case verticalFlip(probability: Double)
    /// ``colorJitter(_:brightness:contrast:using:)`` (inputs in `[0, 1]`).
    case colorJitter(brightness: Double, contrast: Double)
    /// ``randomTranslation(_:horizontal:vertical:using:)``.
    case translation(horizontal: Double, vertical: Double)
    /// ``randomResizedCrop(_:height:width:scale:ratio:using:)`` back to the input size.
    case randomResizedCrop(scale: ClosedRange<Double>, ratio: ClosedRange<Double>)
    /// ``randomErasing(_:probability:scale:ratio:value:using:)`` with torchvision's default scale,
    /// ratio and value 0.
    case randomErasing(probability: Double)
    /// ``normalizedPerChannel(_:mean:standardDeviation:)``.
    case normalize(mean: [Double], standardDeviation: [Double])
    /// ``randomRotation(_:degrees:using:)``.
    case rotation(degrees: Double)
    /// ``randomAffine(_:degrees:translate:scale:shear:using:)``.
    case affine(degrees: Double, translate: Double, scale: ClosedRange<Double>, shear: Double)
    /// ``randAugment(_:operations:magnitude:using:)``.
    case randAugment(operations: Int, magnitude: Int)
    /// ``trivialAugmentWide(_:using:)``.
    case trivialAugment

    /// Applies the step to a batch `[N, C, H, W]`.
    public func apply<Scalar>(to x: Tensor<Scalar>, using generator: inout RandomGenerator) -> Tensor<Scalar> {
        switch self {
        case .randomCrop(let padding, let mode): return NablaData.randomCrop(x, padding: padding, mode: mode, using: &generator)
        case .horizontalFlip(let p): return randomHorizontalFlip(x, probability: p, using: &generator)
        case .verticalFlip(let p): return randomVerticalFlip(x, probability: p, using: &generator)
        case .colorJitter(let b, let c): return NablaData.colorJitter(x, brightness: b, contrast: c, using: &generator)
        case .translation(let a, let b): return randomTranslation(x, horizontal: a, vertical: b, using: &generator)
        case .randomResizedCrop(let scale, let ratio):
            return NablaData.randomResizedCrop(x, scale: scale, ratio: ratio, using: &generator)
        case .randomErasing(let p): return NablaData.randomErasing(x, probability: p, using: &generator)
        case .normalize(let mean, let std): return normalizedPerChannel(x, mean: mean, standardDeviation: std)
        case .rotation(let degrees): return randomRotation(x, degrees: degrees, using: &generator)
        case .affine(let degrees, let translate, let scale, let shear):
            return randomAffine(x, degrees: degrees, translate: translate, scale: scale, shear: shear, using: &generator)
        case .randAugment(let n, let m): return NablaData.randAugment(x, operations: n, magnitude: m, using: &generator)
        case .trivialAugment: return trivialAugmentWide(x, using: &generator)
        }
    }

    /// Whether the step changes pixel values assuming they lie in `[0, 1]` (so it must come before
    /// normalization): colour jitter, RandAugment and TrivialAugment.
    public var isPhotometric: Bool {
        switch self {
        case .colorJitter, .randAugment, .trivialAugment: return true
        default: return false
        }
    }

    /// The spec-string form of the step (see ``AugmentationPipeline/init(parsing:)``).
    public var spec: String {
        func list(_ values: [Double]) -> String { values.map { "\($0)" }.joined(separator: "/") }
        switch self {
        case .randomCrop(let padding, let mode): return "crop:\(padding)" + (mode == .reflect ? ":reflect" : "")
        case .horizontalFlip(let p): return "flip:\(p)"
        case .verticalFlip(let p): return "vflip:\(p)"
        case .colorJitter(let b, let c): return "jitter:\(b):\(c)"
        case .translation(let a, let b): return "translate:\(a):\(b)"
        case .randomResizedCrop(let scale, let ratio):
            return "rrc:\(scale.lowerBound):\(scale.upperBound):\(ratio.lowerBound):\(ratio.upperBound)"
        case .randomErasing(let p): return "erase:\(p)"
        case .normalize(let mean, let std): return "normalize:\(list(mean)):\(list(std))"
        case .rotation(let degrees): return "rotate:\(degrees)"
        case .affine(let degrees, let translate, let scale, let shear):
            return "affine:\(degrees):\(translate):\(scale.lowerBound):\(scale.upperBound):\(shear)"
        case .randAugment(let n, let m): return "randaugment:\(n):\(m)"
        case .trivialAugment: return "trivialaugment"
        }
    }
}

/// An ordered list of augmentations applied to each training batch, deterministic under a seed
/// (every step draws from the one generator, in order).
///
/// ## Spec grammar (the CLI's `--augment`)
/// ```
/// pipeline := "" | "none" | step ("," step)*          whitespace around steps is ignored
/// step     := name (":" value)*
/// crop[:PAD[:zero|reflect]]   random crop back to the input size after padding PAD px (default 4, zero)
/// flip[:P]   (or hflip)       horizontal flip with probability P (default 0.5)
/// vflip[:P]                   vertical flip with probability P (default 0.5)
/// jitter:B[:C]                brightness and contrast jitter of strength B and C (C defaults to B)
/// translate:F[:G]             random shift up to F·width and G·height (G defaults to F), F, G ∈ [0, 1]
/// rrc[:SMIN[:SMAX[:RMIN:RMAX]]]  random resized crop to the input size; scale SMIN–SMAX (default
///                             0.08–1), aspect ratio RMIN–RMAX (default 3/4–4/3)
/// erase[:P]                   random erasing with probability P (default 0.5), torchvision defaults
/// normalize:M:S               (x − M)/S per channel; M and S are "/"-separated lists, one value per
///                             channel or one for all, e.g. normalize:0.4914/0.4822/0.4465:0.247/0.243/0.261
/// rotate:DEG                  random rotation by U(−DEG, DEG) degrees (torchvision RandomRotation)
/// affine:DEG[:T[:SMIN:SMAX[:SHEAR]]]  random affine (torchvision RandomAffine): rotation ±DEG degrees,
///                             shift up to T of the width and height, scale in SMIN–SMAX, x-shear ±SHEAR degrees
/// randaugment[:N[:M]]         RandAugment: N operations (default 2) at magnitude M ∈ 0…30 (default 9)
/// trivialaugment              TrivialAugment Wide
/// ```
/// A value may also follow a comma (`randaugment:2,9` = `randaugment:2:9`): an item that starts
/// with a digit, a sign or a point continues the step before it. Rotations, affine warps and the
/// two automatic policies sample the nearest pixel and fill with 0, as torchvision's defaults;
/// `randaugment` and `trivialaugment` need 1 or 3 channels.
///
/// Example: `"crop:4,flip,jitter:0.2,erase:0.5"`. Probabilities must lie in `[0, 1]`, strengths be
/// non-negative, standard deviations positive; the photometric steps (`jitter`, `randaugment`,
/// `trivialaugment`) expect values in `[0, 1]` and must come before `normalize`. Anything else
/// throws a one-line ``/NablaTensor/NablaError`` naming the step.
public struct AugmentationPipeline: Equatable, Sendable, CustomStringConvertible {
    /// The steps, applied in order.
    public var steps: [Augmentation]

    /// A pipeline of `steps` (empty: the identity); ``init(parsing:)`` builds one from a spec string.
    public init(_ steps: [Augmentation]) { self.steps = steps }

    /// Applies every step in order to a batch `[N, C, H, W]`.
    public func callAsFunction<Scalar>(_ x: Tensor<Scalar>, using generator: inout RandomGenerator) -> Tensor<Scalar> {
        steps.reduce(x) { $1.apply(to: $0, using: &generator) }
    }

    /// The spec string this pipeline parses from (`"none"` when empty).
    public var description: String { steps.isEmpty ? "none" : steps.map(\.spec).joined(separator: ",") }

    /// Parses a spec string (grammar above).
    /// - Throws: ``/NablaTensor/NablaError`` naming the offending step for an unknown name, a malformed or
    ///   out-of-range value, too many values, or `jitter` after `normalize`.
    public init(parsing spec: String) throws {
        let trimmed = spec.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty || trimmed.lowercased() == "none" { self.init([]); return }
        // An item that starts like a number continues the step before it (`randaugment:2,9`).
        var items: [String] = []
        for item in trimmed.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            if let first = item.first, first.isNumber || "+-.".contains(first), let previous = items.last {
                items[items.count - 1] = previous + ":" + item
            } else {
                items.append(item)
            }
        }
        let steps = try items.map(Self.parseStep)
        if let normalize = steps.firstIndex(where: { if case .normalize = $0 { return true } else { return false } }),
           let photometric = steps[normalize...].first(where: \.isPhotometric) {
            throw NablaError(.invalidArgument, "augmentation '\(spec)': '\(photometric.spec.split(separator: ":")[0])' must come before 'normalize'")
        }
        self.init(steps)
    }

    /// Checks the steps against the shape `[C, H, W]` (or `[N, C, H, W]`) of the images they will
    /// see: reflect padding must be smaller than the image, and normalization constants must have
    /// one value per channel (or one for all).
    /// - Throws: ``/NablaTensor/NablaError`` naming the step and the image shape.
    public func validate(imageShape: [Int]) throws {
        guard imageShape.count == 3 || imageShape.count == 4 else {
            throw NablaError(.shapeMismatch, "augmentation '\(self)' needs images [C, H, W], the data has samples of shape \(imageShape)")
        }
        let dims = Array(imageShape.suffix(3))
        let (channels, height, width) = (dims[0], dims[1], dims[2])
        for step in steps {
            switch step {
            case .randomCrop(let padding, .reflect) where padding >= Swift.min(height, width):
                throw NablaError(.invalidArgument, "augmentation '\(step.spec)': reflect padding \(padding) needs images larger than \(height)×\(width)")
            case .normalize(let mean, let std) where (mean.count != 1 && mean.count != channels) || (std.count != 1 && std.count != channels):
                throw NablaError(.shapeMismatch, "augmentation '\(step.spec)': \(mean.count) means and \(std.count) deviations for \(channels) channels")
            case .randAugment, .trivialAugment:
                if channels != 1 && channels != 3 {
                    throw NablaError(.shapeMismatch, "augmentation '\(step.spec)': needs greyscale or RGB images (1 or 3 channels), the data has \(channels)")
                }
            default:
                continue
            }
        }
    }

    static let knownNames = "crop, flip, hflip, vflip, jitter, translate, rrc, erase, normalize, rotate, affine, randaugment, trivialaugment"

    private static func parseStep(_ step: String) throws -> Augmentation {
        let parts = step.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        let name = parts[0].lowercased()
        func fail(_ problem: String) -> NablaError { NablaError(.invalidArgument, "augmentation '\(step)': \(problem)") }
        func number(_ i: Int, _ what: String, default value: Double? = nil, in range: ClosedRange<Double> = 0...Double.greatestFiniteMagnitude) throws -> Double {
            guard i < parts.count else {
                if let value { return value }
                throw fail("missing \(what)")
            }
            guard let x = Double(parts[i]), x.isFinite else { throw fail("\(what) '\(parts[i])' is not a number") }
            guard range.contains(x) else { throw fail("\(what) \(parts[i]) is out of range [\(range.lowerBound), \(range.upperBound == .greatestFiniteMagnitude ? "∞" : "\(range.upperBound)")]") }
            return x
        }
        func list(_ i: Int, _ what: String) throws -> [Double] {
            guard i < parts.count, !parts[i].isEmpty else { throw fail("missing \(what)") }
            return try parts[i].split(separator: "/", omittingEmptySubsequences: false).map { text in
                guard let x = Double(text), x.isFinite else { throw fail("\(what) '\(text)' is not a number") }
                return x
            }
        }
        func expect(atMost count: Int) throws {
            if parts.count > count + 1 { throw fail("too many values (at most \(count))") }
        }
        switch name {
        case "crop":
            try expect(atMost: 2)
            let padding = try number(1, "padding", default: 4, in: 0...10_000)
            guard padding == padding.rounded() else { throw fail("padding \(parts[1]) is not an integer") }
            var mode = PaddingMode.zero
            if parts.count > 2 {
                guard let m = PaddingMode(rawValue: parts[2].lowercased()) else { throw fail("padding mode '\(parts[2])' is not zero or reflect") }
                mode = m
            }
            return .randomCrop(padding: Int(padding), mode: mode)
        case "flip", "hflip":
            try expect(atMost: 1)
            return .horizontalFlip(probability: try number(1, "probability", default: 0.5, in: 0...1))
        case "vflip":
            try expect(atMost: 1)
            return .verticalFlip(probability: try number(1, "probability", default: 0.5, in: 0...1))
        case "jitter":
            try expect(atMost: 2)
            let b = try number(1, "brightness")
            return .colorJitter(brightness: b, contrast: try number(2, "contrast", default: b))
        case "translate":
            try expect(atMost: 2)
            let a = try number(1, "fraction", in: 0...1)
            return .translation(horizontal: a, vertical: try number(2, "vertical fraction", default: a, in: 0...1))
        case "rrc", "resized-crop":
            try expect(atMost: 4)
            let low = try number(1, "minimum scale", default: 0.08, in: 1e-6...1)
            let high = try number(2, "maximum scale", default: 1, in: low...1)
            guard parts.count == 3 || parts.count <= 2 || parts.count == 5 else { throw fail("give both ratio bounds") }
            let rLow = try number(3, "minimum ratio", default: 3.0 / 4, in: 1e-6...1e6)
            let rHigh = try number(4, "maximum ratio", default: 4.0 / 3, in: rLow...1e6)
            return .randomResizedCrop(scale: low...high, ratio: rLow...rHigh)
        case "erase":
            try expect(atMost: 1)
            return .randomErasing(probability: try number(1, "probability", default: 0.5, in: 0...1))
        case "normalize":
            try expect(atMost: 2)
            let mean = try list(1, "mean"), std = try list(2, "standard deviation")
            guard std.allSatisfy({ $0 > 0 }) else { throw fail("standard deviations must be positive") }
            guard mean.count == std.count || mean.count == 1 || std.count == 1 else {
                throw fail("\(mean.count) means but \(std.count) standard deviations")
            }
            return .normalize(mean: mean, standardDeviation: std)
        case "rotate", "rotation":
            try expect(atMost: 1)
            return .rotation(degrees: try number(1, "degrees", in: 0...360))
        case "affine":
            try expect(atMost: 5)
            guard parts.count != 4 else { throw fail("give both scale bounds") }
            let degrees = try number(1, "degrees", in: 0...360)
            let translate = try number(2, "translation fraction", default: 0, in: 0...1)
            let low = try number(3, "minimum scale", default: 1, in: 1e-6...1e6)
            let high = try number(4, "maximum scale", default: low == 1 ? 1 : low, in: low...1e6)
            return .affine(degrees: degrees, translate: translate, scale: low...high, shear: try number(5, "shear", default: 0, in: 0...89))
        case "randaugment":
            try expect(atMost: 2)
            let n = try number(1, "operation count", default: 2, in: 0...100)
            let m = try number(2, "magnitude", default: 9, in: 0...30)
            guard n == n.rounded(), m == m.rounded() else { throw fail("the operation count and magnitude must be integers") }
            return .randAugment(operations: Int(n), magnitude: Int(m))
        case "trivialaugment", "trivialaugmentwide":
            try expect(atMost: 0)
            return .trivialAugment
        default:
            throw fail("unknown name '\(parts[0])' (known: \(knownNames))")
        }
    }
}
