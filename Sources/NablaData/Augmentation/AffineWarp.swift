import Foundation
import NablaTensor

/// Affine warps of image batches — rotation, translation, scale and shear about a centre — with
/// nearest-neighbour sampling and zero fill, exactly as torchvision's `F.affine` / `F.rotate` on
/// tensors with `interpolation=NEAREST` (the default of `RandomRotation`, `RandomAffine`,
/// `RandAugment` and `TrivialAugmentWide`), plus the random `RandomRotation` and `RandomAffine`.

/// The parameters of one affine warp, in torchvision's conventions: `angle` in degrees
/// (counter-clockwise for ``affineWarped(_:transforms:)`` as for `F.affine`), `translation` in pixels
/// `(tx, ty)`, `scale`, `shear` in degrees `(sx, sy)`, about `center` in pixels from the top-left
/// corner (`nil`: the image centre).
public struct AffineTransform: Equatable, Sendable {
    /// The rotation in degrees (counter-clockwise for positive values, as `F.affine`).
    public var angle: Double
    /// The translation in pixels, right and down positive.
    public var translation: (x: Double, y: Double)
    /// The scale factor (> 0).
    public var scale: Double
    /// The shear angles in degrees along x and y.
    public var shear: (x: Double, y: Double)
    /// The centre in pixels from the top-left corner, or `nil` for the image centre.
    public var center: (x: Double, y: Double)?

    /// A transform with the given parameters (the identity by default).
    /// - Precondition: `scale > 0`.
    public init(angle: Double = 0, translation: (x: Double, y: Double) = (0, 0), scale: Double = 1,
                shear: (x: Double, y: Double) = (0, 0), center: (x: Double, y: Double)? = nil) {
        precondition(scale > 0, "AffineTransform: scale \(scale) must be positive")
        self.angle = angle
        self.translation = translation
        self.scale = scale
        self.shear = shear
        self.center = center
    }

    /// Whether two transforms have the same parameters.
    public static func == (a: AffineTransform, b: AffineTransform) -> Bool {
        a.angle == b.angle && a.translation == b.translation && a.scale == b.scale && a.shear == b.shear
            && a.center?.x == b.center?.x && a.center?.y == b.center?.y
    }

    /// torchvision's `_get_inverse_affine_matrix(center_f, angle, translate, scale, shear)`: the map
    /// from output to input pixel coordinates (both relative to the image centre), `M⁻¹ = C·RSS⁻¹·C⁻¹·T⁻¹`
    /// with `RSS = R(angle)·S(scale)·SHy(sy)·SHx(sx)`, as six numbers `[a, b, c, d, e, f]`
    /// (`x' = a·x + b·y + c`, `y' = d·x + e·y + f`), computed in torchvision's order of operations.
    func inverseMatrix(width: Int, height: Int) -> [Double] {
        let cx = center.map { $0.x - Double(width) * 0.5 } ?? 0, cy = center.map { $0.y - Double(height) * 0.5 } ?? 0
        let rot = angle * Double.pi / 180, sx = shear.x * Double.pi / 180, sy = shear.y * Double.pi / 180
        let (tx, ty) = translation
        let cosSy = cos(sy), tanSx = tan(sx), rotMinusSy = rot - sy
        let cxPlusTx = cx + tx, cyPlusTy = cy + ty
        let a = cos(rotMinusSy) / cosSy
        let b = -(a * tanSx + sin(rot))
        let c = sin(rotMinusSy) / cosSy
        let d = cos(rot) - c * tanSx
        var m = [d / scale, -b / scale, 0, -c / scale, a / scale, 0]
        m[2] += cx - m[0] * cxPlusTx - m[1] * cyPlusTy
        m[5] += cy - m[3] * cxPlusTx - m[4] * cyPlusTy
        return m
    }

    /// For each output pixel (row-major), the input pixel it reads, or `-1` outside the image:
    /// torchvision's `_affine_grid` (output pixel centres relative to the image centre, through the
    /// matrix, normalized by half the size) and `grid_sample(mode="nearest", align_corners=False)`
    /// (un-normalized, rounded half to even).
    func sourceIndices(width: Int, height: Int) -> [Int] {
        let m = inverseMatrix(width: width, height: height)
        let halfWidth = 0.5 * Double(width), halfHeight = 0.5 * Double(height)
        let ax = [m[0] / halfWidth, m[1] / halfWidth, m[2] / halfWidth]
        let ay = [m[3] / halfHeight, m[4] / halfHeight, m[5] / halfHeight]
        let xs = linearlySpaced(from: (1 - Double(width)) * 0.5, to: (Double(width) - 1) * 0.5, count: width)
        let ys = linearlySpaced(from: (1 - Double(height)) * 0.5, to: (Double(height) - 1) * 0.5, count: height)
        var indices = [Int](repeating: -1, count: width * height)
        for (i, y) in ys.enumerated() {
            for (j, x) in xs.enumerated() {
                let gx = x * ax[0] + y * ax[1] + ax[2], gy = x * ay[0] + y * ay[1] + ay[2]
                let ix = (((gx + 1) * Double(width) - 1) / 2).rounded(.toNearestOrEven)
                let iy = (((gy + 1) * Double(height) - 1) / 2).rounded(.toNearestOrEven)
                if ix >= 0 && ix < Double(width) && iy >= 0 && iy < Double(height) {
                    indices[i * width + j] = Int(iy) * width + Int(ix)
                }
            }
        }
        return indices
    }
}

/// `torch.linspace(start, end, count)` in `Double`, element for element: the first half counts up
/// from `start`, the second half down from `end`.
func linearlySpaced(from start: Double, to end: Double, count: Int) -> [Double] {
    guard count > 1 else { return count == 1 ? [start] : [] }
    let step = (end - start) / Double(count - 1)
    return (0..<count).map { i in i < count / 2 ? start + step * Double(i) : end - step * Double(count - 1 - i) }
}

/// Warps each sample of a batch `[N, C, H, W]` by its own transform (or one transform for all):
/// `y[n, c, i, j] = x[n, c, src(i, j)]`, zero where the source falls outside — torchvision's
/// `F.affine(img, angle, translate, scale, shear, interpolation=NEAREST, fill=None, center)`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func affineWarped<Scalar: TensorScalar>(_ x: Tensor<Scalar>, transforms: [AffineTransform]) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "affineWarped")
    precondition(transforms.count == g.count || transforms.count == 1, "affineWarped: \(transforms.count) transforms for \(g.count) samples")
    let maps = transforms.map { $0.sourceIndices(width: g.width, height: g.height) }
    return Tensor(shape: x.shape) { out in
        x.withUnsafeBufferPointer { src in
            forEachSample(g.count, elementsPerSample: g.sampleSize) { n in
                let map = maps.count == 1 ? maps[0] : maps[n]
                for c in 0..<g.channels {
                    let base = (n * g.channels + c) * g.plane
                    for k in 0..<g.plane { out[base + k] = map[k] < 0 ? 0 : src[base + map[k]] }
                }
            }
        }
    }
}

/// Rotates each sample by `angle` degrees counter-clockwise about the image centre — torchvision's
/// `F.rotate(img, angle, NEAREST, expand=False)` (which is `F.affine` with `−angle`).
public func rotated<Scalar: TensorScalar>(_ x: Tensor<Scalar>, degrees angles: [Double]) -> Tensor<Scalar> {
    affineWarped(x, transforms: angles.map { AffineTransform(angle: -$0) })
}

/// torchvision `RandomRotation(degrees)`: each sample rotated by `U(−degrees, degrees)` (one draw per
/// sample), nearest-neighbour, zero fill.
/// - Precondition: `degrees ≥ 0`.
public func randomRotation<Scalar: TensorScalar>(_ x: Tensor<Scalar>, degrees: Double, using generator: inout RandomGenerator) -> Tensor<Scalar> {
    precondition(degrees >= 0, "randomRotation: degrees \(degrees) must be non-negative")
    let g = ImageGeometry(x, "randomRotation")
    return rotated(x, degrees: (0..<g.count).map { _ in generator.uniform(-degrees, degrees) })
}

/// torchvision `RandomAffine(degrees, translate=(t, t), scale=(lo, hi), shear=s)` per sample, with its
/// draw order: the angle `U(−degrees, degrees)`; with `translate > 0` the shifts
/// `tx = round(U(−t·W, t·W))`, then `ty = round(U(−t·H, t·H))` (Python rounding); with a scale range
/// other than `1…1` the scale `U(lo, hi)`; with `shear > 0` the x-shear `U(−s, s)` (no y-shear).
/// Nearest-neighbour, zero fill.
/// - Precondition: `degrees, shear ≥ 0`, `translate ∈ [0, 1]`, `0 < lo ≤ hi`.
public func randomAffine<Scalar: TensorScalar>(
    _ x: Tensor<Scalar>, degrees: Double, translate: Double = 0, scale: ClosedRange<Double> = 1...1, shear: Double = 0,
    using generator: inout RandomGenerator
) -> Tensor<Scalar> {
    precondition(degrees >= 0 && shear >= 0 && translate >= 0 && translate <= 1 && scale.lowerBound > 0,
                 "randomAffine: degrees \(degrees), translate \(translate), scale \(scale), shear \(shear) out of range")
    let g = ImageGeometry(x, "randomAffine")
    let transforms = (0..<g.count).map { _ -> AffineTransform in
        let angle = generator.uniform(-degrees, degrees)
        var tx = 0.0, ty = 0.0
        if translate > 0 {
            let maxDx = translate * Double(g.width), maxDy = translate * Double(g.height)
            tx = Double(pythonRound(generator.uniform(-maxDx, maxDx)))
            ty = Double(pythonRound(generator.uniform(-maxDy, maxDy)))
        }
        let s = scale.lowerBound == 1 && scale.upperBound == 1 ? 1 : generator.uniform(scale.lowerBound, scale.upperBound)
        let sx = shear > 0 ? generator.uniform(-shear, shear) : 0
        return AffineTransform(angle: angle, translation: (tx, ty), scale: s, shear: (sx, 0))
    }
    return affineWarped(x, transforms: transforms)
}
