import Foundation
import NablaTensor

/// Mixing augmentations, which blend pairs of training samples and their labels — mixup (Zhang et al.,
/// 2018, "mixup: Beyond Empirical Risk Minimization") and CutMix (Yun et al., 2019, "CutMix:
/// Regularization Strategy to Train Strong Classifiers with Localizable Features") — with
/// torchvision.transforms.v2 `MixUp` / `CutMix` semantics:
///
/// - one `λ ~ Beta(α, α)` per batch, drawn in single precision (torchvision samples in the default
///   float32 dtype), so `λ` is a `Float` value;
/// - sample `i` is mixed with sample `i − 1` (`x.roll(1, 0)`; sample 0 with the last), so the batch
///   must be shuffled, as the loader does;
/// - class labels become one-hot rows and then soft targets `t = λ·onehot(y_i) + (1 − λ)·onehot(y_{i−1})`
///   (``Targets/probabilities(_:)``, float32 as torchvision's `.float()`), which a soft-target loss
///   (NablaNN's `crossEntropy(logits:probabilities:classWeights:labelSmoothing:)`) trains on.

extension RandomGenerator {
    /// A draw from `Gamma(shape, 1)` (Marsaglia & Tsang, 2000, "A Simple Method for Generating Gamma
    /// Variables"; for `shape < 1` boosted as `Gamma(shape + 1)·U^{1/shape}`).
    mutating func nextGamma(shape: Double) -> Double {
        precondition(shape > 0, "nextGamma: shape \(shape) must be positive")
        if shape < 1 {
            let boost = pow(1 - nextUnit(), 1 / shape)   // U in (0, 1]
            return nextGamma(shape: shape + 1) * boost
        }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat {
                x = nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextUnit()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    /// A draw from `Beta(a, b)` as `X/(X + Y)` with `X ~ Gamma(a)`, `Y ~ Gamma(b)`.
    public mutating func nextBeta(_ a: Double, _ b: Double) -> Double {
        let x = nextGamma(shape: a), y = nextGamma(shape: b)
        return x / (x + y)
    }
}

/// One-hot rows `[N, C]` of class labels.
public func oneHot<Scalar: TensorScalar>(_ labels: [Int], classCount: Int, as type: Scalar.Type = Scalar.self) -> Tensor<Scalar> {
    var t = Tensor<Scalar>(zeros: [labels.count, classCount])
    for (i, y) in labels.enumerated() {
        precondition(y >= 0 && y < classCount, "oneHot: label \(y) is out of range 0..<\(classCount)")
        t.scalars[i * classCount + y] = 1
    }
    return t
}

/// torchvision's pairing `x.roll(1, 0)`: the partner of sample `i` is `i − 1`, of sample 0 the last.
public func rolledPartners(count: Int) -> [Int] { (0..<count).map { ($0 + count - 1) % count } }

/// `partner[i]·(1 − λ) + own[i]·λ` row by row (the two products rounded separately, then added, as
/// torchvision's `roll(1,0).mul_(1 − λ).add_(x.mul(λ))`), for inputs of any shape `[N, …]`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func mixedRows<Scalar: TensorScalar>(_ x: Tensor<Scalar>, partners: [Int], lambda: Double) -> Tensor<Scalar> {
    precondition(x.rank >= 1 && partners.count == x.shape[0], "mixedRows: \(partners.count) partners for \(x.shape)")
    let rowSize = x.count / Swift.max(x.shape[0], 1)
    let keep = Scalar(lambda), blend = Scalar(1 - lambda)
    return Tensor(shape: x.shape) { out in
        x.withUnsafeBufferPointer { src in
            for (i, j) in partners.enumerated() {
                precondition(j >= 0 && j < partners.count, "mixedRows: partner \(j) is out of range")
                for k in 0..<rowSize { out[i * rowSize + k] = src[j * rowSize + k] * blend + src[i * rowSize + k] * keep }
            }
        }
    }
}

/// The pasted box of CutMix and the resulting label weight, torchvision's `CutMix.make_params`:
/// `r = ½·√(1 − λ)`, half-sides `rw = ⌊r·W⌋`, `rh = ⌊r·H⌋` around the centre `(cx, cy)`, clipped to
/// the image: `x1 = max(cx − rw, 0)`, `y1 = max(cy − rh, 0)`, `x2 = min(cx + rw, W)`,
/// `y2 = min(cy + rh, H)`; `λ' = 1 − (x2 − x1)(y2 − y1)/(W·H)` — the fraction of each image kept,
/// which weights the labels (clipping makes `λ' > λ`; a box of width or height 0 gives `λ' = 1`).
public func cutMixBox(height: Int, width: Int, lambda: Double, center: (x: Int, y: Int))
    -> (x1: Int, y1: Int, x2: Int, y2: Int, adjustedLambda: Double) {
    precondition(lambda >= 0 && lambda <= 1, "cutMixBox: λ \(lambda) is out of range [0, 1]")
    let r = 0.5 * (1 - lambda).squareRoot()
    let halfWidth = Int(r * Double(width)), halfHeight = Int(r * Double(height))
    let x1 = Swift.max(center.x - halfWidth, 0), y1 = Swift.max(center.y - halfHeight, 0)
    let x2 = Swift.min(center.x + halfWidth, width), y2 = Swift.min(center.y + halfHeight, height)
    return (x1, y1, x2, y2, 1 - Double((x2 - x1) * (y2 - y1)) / Double(width * height))
}

/// Pastes the box `[y1, y2) × [x1, x2)` of each sample's partner into the sample (every channel),
/// torchvision's `output[..., y1:y2, x1:x2] = x.roll(1, 0)[..., y1:y2, x1:x2]`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func pastedBoxes<Scalar: TensorScalar>(_ x: Tensor<Scalar>, partners: [Int], box: (x1: Int, y1: Int, x2: Int, y2: Int)) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "pastedBoxes")
    precondition(partners.count == g.count, "pastedBoxes: \(partners.count) partners for \(g.count) samples")
    var y = x
    x.withUnsafeBufferPointer { src in
        y.withUnsafeMutableBufferPointer { out in
            for (n, m) in partners.enumerated() {
                for c in 0..<g.channels {
                    for row in box.y1..<Swift.max(box.y1, box.y2) {
                        for col in box.x1..<Swift.max(box.x1, box.x2) {
                            out[(n * g.channels + c) * g.plane + row * g.width + col] = src[(m * g.channels + c) * g.plane + row * g.width + col]
                        }
                    }
                }
            }
        }
    }
    return y
}

/// Random mixup and/or CutMix of training batches (the `--mixup ALPHA`, `--cutmix ALPHA` flags),
/// applied by the ``DataLoader`` after the augmentation pipeline with the batch's own generator.
///
/// Per batch: with both methods, a fair coin picks CutMix or mixup (torchvision's
/// `RandomChoice([CutMix, MixUp])`); then `λ ~ Beta(α, α)` rounded to `Float`; for CutMix the box
/// centre `cx ∈ 0..<W`, then `cy ∈ 0..<H`. Mixup blends whole inputs (any shape `[N, …]`); CutMix
/// pastes a box (images `[N, C, H, W]`). Class targets become ``Targets/probabilities(_:)``; soft
/// targets are mixed as they are.
public struct BatchMixing: Equatable, Sendable {
    /// `α` of mixup's `Beta(α, α)`, or `nil` for no mixup.
    public var mixupAlpha: Double?
    /// `α` of CutMix's `Beta(α, α)`, or `nil` for no CutMix.
    public var cutMixAlpha: Double?

    /// - Precondition: at least one method, each `α > 0` and finite (see ``validate(alpha:flag:)``).
    public init(mixupAlpha: Double? = nil, cutMixAlpha: Double? = nil) {
        precondition(mixupAlpha != nil || cutMixAlpha != nil, "BatchMixing: give mixup or CutMix")
        for alpha in [mixupAlpha, cutMixAlpha].compactMap({ $0 }) { precondition(alpha > 0 && alpha.isFinite, "BatchMixing: α \(alpha) must be positive") }
        self.mixupAlpha = mixupAlpha
        self.cutMixAlpha = cutMixAlpha
    }

    /// Checks a user's `α` (torchvision: "Alpha should be greater than 0").
    /// - Throws: ``/NablaTensor/NablaError`` naming `flag` for `α ≤ 0` or a non-finite value.
    public static func validate(alpha: Double, flag: String) throws {
        guard alpha > 0 && alpha.isFinite else { throw NablaError(.invalidArgument, "--\(flag) \(alpha): α must be a positive number") }
    }

    /// Mixes one batch in place (see the type's description).
    /// - Precondition: class or probability targets; CutMix needs inputs `[N, C, H, W]`.
    public func apply(to inputs: inout Tensor<Float>, targets: inout Targets, using generator: inout RandomGenerator) {
        let soft: Tensor<Float>
        switch targets {
        case .classes(let labels, let classCount): soft = oneHot(labels, classCount: classCount)
        case .probabilities(let t): soft = t
        case .values: preconditionFailure("BatchMixing needs class targets, got real-valued targets")
        }
        let useCutMix: Bool
        switch (mixupAlpha, cutMixAlpha) {
        case (.some, .some): useCutMix = generator.bernoulli(0.5)
        case (nil, .some): useCutMix = true
        default: useCutMix = false
        }
        let alpha = useCutMix ? cutMixAlpha! : mixupAlpha!
        let lambda = Double(Float(generator.nextBeta(alpha, alpha)))
        let partners = rolledPartners(count: inputs.shape[0])
        if useCutMix {
            let g = ImageGeometry(inputs, "CutMix")
            let cx = generator.integer(0, g.width - 1), cy = generator.integer(0, g.height - 1)
            let box = cutMixBox(height: g.height, width: g.width, lambda: lambda, center: (cx, cy))
            inputs = pastedBoxes(inputs, partners: partners, box: (box.x1, box.y1, box.x2, box.y2))
            targets = .probabilities(mixedRows(soft, partners: partners, lambda: box.adjustedLambda))
        } else {
            inputs = mixedRows(inputs, partners: partners, lambda: lambda)
            targets = .probabilities(mixedRows(soft, partners: partners, lambda: lambda))
        }
    }
}
