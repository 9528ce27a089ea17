import Foundation
import NablaTensor

/// RandAugment (Cubuk et al., 2020, "RandAugment: Practical automated data augmentation with a
/// reduced search space") and TrivialAugment Wide (Müller & Hutter, 2021, "TrivialAugment:
/// Tuning-free Yet State-of-the-Art Data Augmentation") on image batches — torchvision.transforms.v2
/// `RandAugment` and `TrivialAugmentWide` with their defaults (31 magnitude bins, nearest-neighbour
/// sampling, zero fill), applied per sample, for float images in `[0, 1]` with 1 (greyscale) or 3 (RGB)
/// channels.

/// One operation of the augmentation space, with torchvision's semantics for a signed magnitude `m`.
public enum AutoAugmentOperation: String, CaseIterable, Sendable {
    /// The image unchanged.
    case identity = "Identity"
    /// `F.affine(shear=(degrees(atan(m)), 0), center=(0, 0))`: a horizontal shear about the top-left corner.
    case shearX = "ShearX"
    /// `F.affine(shear=(0, degrees(atan(m))), center=(0, 0))`.
    case shearY = "ShearY"
    /// `F.affine(translate=(int(m), 0))`: `m` pixels right (truncated toward zero).
    case translateX = "TranslateX"
    /// `F.affine(translate=(0, int(m)))`.
    case translateY = "TranslateY"
    /// `F.rotate(m)`: `m` degrees counter-clockwise about the centre.
    case rotate = "Rotate"
    /// `adjust_brightness(1 + m)`.
    case brightness = "Brightness"
    /// `adjust_saturation(1 + m)` (no change on greyscale).
    case color = "Color"
    /// `adjust_contrast(1 + m)`.
    case contrast = "Contrast"
    /// `adjust_sharpness(1 + m)`.
    case sharpness = "Sharpness"
    /// `posterize(int(m))` bits.
    case posterize = "Posterize"
    /// `solarize(threshold: m)`.
    case solarize = "Solarize"
    /// `autocontrast`.
    case autoContrast = "AutoContrast"
    /// `equalize`.
    case equalize = "Equalize"

    /// Whether the operation takes a magnitude (all but identity, autocontrast and equalize).
    public var hasMagnitude: Bool { ![.identity, .autoContrast, .equalize].contains(self) }

    /// Whether the magnitude's sign is drawn at random (a fair coin).
    public var isSigned: Bool {
        switch self {
        case .shearX, .shearY, .translateX, .translateY, .rotate, .brightness, .color, .contrast, .sharpness: return true
        default: return false
        }
    }

    /// Applies the operation with magnitude `m` to one image `[C, H, W]` in place.
    func apply<Scalar: TensorScalar>(_ image: UnsafeMutableBufferPointer<Scalar>, channels: Int, height: Int, width: Int,
                                     magnitude m: Double) {
        func warp(_ transform: AffineTransform) {
            let map = transform.sourceIndices(width: width, height: height)
            let source = Array(image)
            let plane = height * width
            for c in 0..<channels {
                for k in 0..<plane { image[c * plane + k] = map[k] < 0 ? 0 : source[c * plane + map[k]] }
            }
        }
        let shear = atan(m) * 180 / Double.pi
        switch self {
        case .identity: return
        case .shearX: warp(AffineTransform(shear: (shear, 0), center: (0, 0)))
        case .shearY: warp(AffineTransform(shear: (0, shear), center: (0, 0)))
        case .translateX: warp(AffineTransform(translation: (m.rounded(.towardZero), 0)))
        case .translateY: warp(AffineTransform(translation: (0, m.rounded(.towardZero))))
        case .rotate: warp(AffineTransform(angle: -m))
        case .brightness: adjustBrightness(image, factor: Scalar(1 + m))
        case .color: adjustSaturation(image, channels: channels, factor: 1 + m)
        case .contrast: adjustContrast(image, channels: channels, factor: Scalar(1 + m))
        case .sharpness: adjustSharpness(image, channels: channels, height: height, width: width, factor: 1 + m)
        case .posterize: NablaData.posterize(image, bits: Int(m))
        case .solarize: NablaData.solarize(image, threshold: m)
        case .autoContrast: NablaData.autocontrast(image, channels: channels)
        case .equalize: NablaData.equalize(image, channels: channels)
        }
    }
}

/// An augmentation space: each operation's magnitudes over `binCount` bins (`nil`: no magnitude),
/// torchvision's `_AUGMENTATION_SPACE` tables.
public enum AutoAugmentSpace: Sendable {
    /// RandAugment's: shear 0…0.3, translate 0…150/331 of the size, rotate 0…30°, colour, contrast,
    /// brightness and sharpness 0…0.9, posterize 8…4 bits, solarize threshold 1…0.
    case randAugment
    /// TrivialAugment Wide's: shear 0…0.99, translate 0…32 px, rotate 0…135°, enhancements 0…0.99,
    /// posterize 8…2 bits, solarize threshold 1…0.
    case trivialAugmentWide

    /// The magnitude of `operation` in bin `bin` of `binCount` for an `height × width` image, before
    /// its sign (torchvision computes the tables with `torch.linspace`, reproduced element for element).
    public func magnitude(_ operation: AutoAugmentOperation, bin: Int, binCount: Int = 31, height: Int, width: Int) -> Double? {
        precondition(bin >= 0 && bin < binCount, "AutoAugmentSpace.magnitude: bin \(bin) is out of range 0..<\(binCount)")
        func linear(_ start: Double, _ end: Double) -> Double { linearlySpaced(from: start, to: end, count: binCount)[bin] }
        let wide = self == .trivialAugmentWide
        switch operation {
        case .identity, .autoContrast, .equalize: return nil
        case .shearX, .shearY: return linear(0, wide ? 0.99 : 0.3)
        case .translateX: return linear(0, wide ? 32 : 150.0 / 331.0 * Double(width))
        case .translateY: return linear(0, wide ? 32 : 150.0 / 331.0 * Double(height))
        case .rotate: return linear(0, wide ? 135 : 30)
        case .brightness, .color, .contrast, .sharpness: return linear(0, wide ? 0.99 : 0.9)
        case .posterize: return 8 - (Double(bin) / (Double(binCount - 1) / (wide ? 6 : 4))).rounded(.toNearestOrEven)
        case .solarize: return linear(1, 0)
        }
    }
}

/// Applies one drawn operation per step to each sample: the operation uniformly among the 14, then
/// for an operation with a magnitude the bin (`bin`, or when it is `nil` a uniformly drawn one) and,
/// for a signed operation, the sign (negative with probability ½) — draws in that order, per sample,
/// per step, as torchvision's `forward`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func autoAugment<Scalar: TensorScalar>(_ x: Tensor<Scalar>, space: AutoAugmentSpace, steps: Int, bin: Int?, binCount: Int = 31,
                                       using generator: inout RandomGenerator) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "autoAugment")
    precondition(g.channels == 1 || g.channels == 3, "autoAugment: images need 1 or 3 channels, got \(g.channels)")
    let operations = AutoAugmentOperation.allCases
    var y = x
    y.withUnsafeMutableBufferPointer { all in
        for n in 0..<g.count {
            let image = UnsafeMutableBufferPointer(rebasing: all[(n * g.sampleSize)..<((n + 1) * g.sampleSize)])
            for _ in 0..<steps {
                let operation = operations[generator.integer(0, operations.count - 1)]
                var magnitude = 0.0
                if operation.hasMagnitude {
                    let chosenBin = bin ?? generator.integer(0, binCount - 1)
                    magnitude = space.magnitude(operation, bin: chosenBin, binCount: binCount, height: g.height, width: g.width)!
                    if operation.isSigned && generator.bernoulli(0.5) { magnitude = -magnitude }
                }
                operation.apply(image, channels: g.channels, height: g.height, width: g.width, magnitude: magnitude)
            }
        }
    }
    return y
}

/// torchvision `RandAugment(num_ops: operations, magnitude: magnitude)` per sample: `operations`
/// times, an operation drawn uniformly, at the fixed magnitude bin `magnitude` of 31, with a random
/// sign for the signed ones.
/// - Precondition: `operations ≥ 0`, `magnitude ∈ 0...30`, images with 1 or 3 channels.
public func randAugment<Scalar: TensorScalar>(_ x: Tensor<Scalar>, operations: Int = 2, magnitude: Int = 9,
                                              using generator: inout RandomGenerator) -> Tensor<Scalar> {
    precondition(operations >= 0 && (0...30).contains(magnitude), "randAugment: \(operations) operations at magnitude \(magnitude)")
    return autoAugment(x, space: .randAugment, steps: operations, bin: magnitude, using: &generator)
}

/// torchvision `TrivialAugmentWide()` per sample: one operation drawn uniformly at a magnitude bin
/// drawn uniformly from 31, with a random sign for the signed ones.
/// - Precondition: images with 1 or 3 channels.
public func trivialAugmentWide<Scalar: TensorScalar>(_ x: Tensor<Scalar>, using generator: inout RandomGenerator) -> Tensor<Scalar> {
    autoAugment(x, space: .trivialAugmentWide, steps: 1, bin: nil, using: &generator)
}
