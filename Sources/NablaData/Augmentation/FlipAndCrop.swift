import NablaTensor

/// Geometric augmentations that only move pixels: flips, random crops with padding, random
/// translations (torchvision `RandomHorizontalFlip`, `RandomVerticalFlip`, `RandomCrop`,
/// `RandomAffine(degrees=0, translate=…)`), all on `[N, C, H, W]` batches through one remapping kernel.

/// Mirrors every image left–right: `y[…, i, j] = x[…, i, W − 1 − j]`.
public func flippedHorizontally<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "flippedHorizontally")
    return remapPixels(x, maps: [PixelMap(rows: Array(0..<g.height), columns: Array((0..<g.width).reversed()))])
}

/// Mirrors every image top–bottom: `y[…, i, j] = x[…, H − 1 − i, j]`.
public func flippedVertically<Scalar>(_ x: Tensor<Scalar>) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "flippedVertically")
    return remapPixels(x, maps: [PixelMap(rows: Array((0..<g.height).reversed()), columns: Array(0..<g.width))])
}

/// Mirrors each image left–right independently with probability `p` (one draw per sample).
public func randomHorizontalFlip<Scalar>(_ x: Tensor<Scalar>, probability p: Double = 0.5,
                                         using generator: inout RandomGenerator) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "randomHorizontalFlip")
    let rows = Array(0..<g.height), forward = Array(0..<g.width), backward = Array(forward.reversed())
    let maps = (0..<g.count).map { _ in PixelMap(rows: rows, columns: generator.bernoulli(p) ? backward : forward) }
    return remapPixels(x, maps: maps)
}

/// Mirrors each image top–bottom independently with probability `p` (one draw per sample).
public func randomVerticalFlip<Scalar>(_ x: Tensor<Scalar>, probability p: Double = 0.5,
                                       using generator: inout RandomGenerator) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "randomVerticalFlip")
    let columns = Array(0..<g.width), forward = Array(0..<g.height), backward = Array(forward.reversed())
    let maps = (0..<g.count).map { _ in PixelMap(rows: generator.bernoulli(p) ? backward : forward, columns: columns) }
    return remapPixels(x, maps: maps)
}

/// Crops each sample at its own offset from the image padded by `padding` pixels on every side:
/// `y[n, c, i, j] = pad(x)[n, c, top_n + i, left_n + j]`, where `pad` fills with zeros or reflects.
/// Offsets are in padded coordinates, so `(padding, padding)` with the input's size is the identity.
/// - Precondition: each window lies inside the padded image; for `reflect`, `padding < H, W`.
public func paddedCrop<Scalar>(
    _ x: Tensor<Scalar>, offsets: [(top: Int, left: Int)], height: Int, width: Int,
    padding: Int, mode: PaddingMode = .zero
) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "paddedCrop")
    precondition(offsets.count == g.count, "paddedCrop: \(offsets.count) offsets for \(g.count) samples")
    precondition(padding >= 0 && (mode == .zero || (padding < g.height && padding < g.width)),
                 "paddedCrop: \(mode) padding \(padding) does not fit a \(g.height)×\(g.width) image")
    func axis(_ start: Int, _ size: Int, _ extent: Int) -> [Int] {
        precondition(start >= 0 && start + size <= extent + 2 * padding,
                     "paddedCrop: window [\(start), \(start + size)) exceeds padded extent \(extent + 2 * padding)")
        return (0..<size).map { k in
            let i = start + k - padding
            if i >= 0 && i < extent { return i }
            return mode == .zero ? -1 : reflectIndex(i, extent)
        }
    }
    let maps = offsets.map { PixelMap(rows: axis($0.top, height, g.height), columns: axis($0.left, width, g.width)) }
    return remapPixels(x, maps: maps)
}

/// torchvision `RandomCrop(size, padding, padding_mode)`: pads every side by `padding`, then crops a
/// `height × width` window (default: the input size) at an offset drawn uniformly per sample —
/// `top ∈ 0…H + 2·padding − height`, then `left ∈ 0…W + 2·padding − width`. The classic CIFAR
/// augmentation is `padding: 4` with the input size.
public func randomCrop<Scalar>(
    _ x: Tensor<Scalar>, height: Int? = nil, width: Int? = nil, padding: Int = 0, mode: PaddingMode = .zero,
    using generator: inout RandomGenerator
) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "randomCrop")
    let h = height ?? g.height, w = width ?? g.width
    let maxTop = g.height + 2 * padding - h, maxLeft = g.width + 2 * padding - w
    precondition(h > 0 && w > 0 && maxTop >= 0 && maxLeft >= 0,
                 "randomCrop: a \(h)×\(w) crop does not fit a \(g.height)×\(g.width) image padded by \(padding)")
    let offsets = (0..<g.count).map { _ in
        (top: generator.integer(0, maxTop), left: generator.integer(0, maxLeft))
    }
    return paddedCrop(x, offsets: offsets, height: h, width: w, padding: padding, mode: mode)
}

/// Shifts every image by an integer offset `(dx, dy)` (right and down positive), filling with `fill`:
/// `y[…, i, j] = x[…, i − dy_n, j − dx_n]`.
public func translated<Scalar>(_ x: Tensor<Scalar>, offsets: [(dx: Int, dy: Int)], fill: Scalar = 0) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "translated")
    precondition(offsets.count == g.count || offsets.count == 1, "translated: \(offsets.count) offsets for \(g.count) samples")
    func axis(_ shift: Int, _ extent: Int) -> [Int] {
        (0..<extent).map { i in (i - shift >= 0 && i - shift < extent) ? i - shift : -1 }
    }
    return remapPixels(x, maps: offsets.map { PixelMap(rows: axis($0.dy, g.height), columns: axis($0.dx, g.width)) }, fill: fill)
}

/// Random translation, torchvision `RandomAffine(degrees=0, translate=(a, b))`: per sample,
/// `dx = round(U(−a·W, a·W))`, then `dy = round(U(−b·H, b·H))` (Python rounding), zeros fill the
/// uncovered border.
/// - Precondition: `a, b ∈ [0, 1]`.
public func randomTranslation<Scalar>(
    _ x: Tensor<Scalar>, horizontal a: Double, vertical b: Double, using generator: inout RandomGenerator
) -> Tensor<Scalar> {
    precondition(a >= 0 && a <= 1 && b >= 0 && b <= 1, "randomTranslation: fractions (\(a), \(b)) must lie in [0, 1]")
    let g = ImageGeometry(x, "randomTranslation")
    let maxDx = a * Double(g.width), maxDy = b * Double(g.height)
    let offsets = (0..<g.count).map { _ in
        (dx: pythonRound(generator.uniform(-maxDx, maxDx)), dy: pythonRound(generator.uniform(-maxDy, maxDy)))
    }
    return translated(x, offsets: offsets)
}
