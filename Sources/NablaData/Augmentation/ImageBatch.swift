import Foundation
import NablaTensor

/// Shared machinery of the image augmentations: the `[N, C, H, W]` geometry, the random draws
/// (torchvision's sampling rules on Nabla's generator), and one pixel-remapping kernel that crops,
/// pads, flips and translates.
///
/// Every augmentation draws its random parameters per sample, in sample order, from the
/// `inout RandomGenerator` it is given — so a batch is augmented identically under the same seed.

/// The extents of an image batch `[N, C, H, W]`.
struct ImageGeometry {
    let count: Int, channels: Int, height: Int, width: Int
    var plane: Int { height * width }
    var sampleSize: Int { channels * height * width }

    init<Scalar>(_ x: Tensor<Scalar>, _ caller: String) {
        precondition(x.rank == 4, "\(caller) expects an image batch [N, C, H, W], got \(x.shape)")
        (count, channels, height, width) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    }
}

/// How a crop fills the pixels outside the image.
public enum PaddingMode: String, Sendable, CaseIterable {
    /// With zeros (torchvision `padding_mode="constant"`, `fill=0`).
    case zero
    /// By mirroring without repeating the edge pixel (`padding_mode="reflect"`, PyTorch `F.pad`
    /// reflect): index `−1` reads `1`, index `H` reads `H − 2`.
    case reflect
}

extension RandomGenerator {
    /// A uniform draw from `[lower, upper)`.
    mutating func uniform(_ lower: Double, _ upper: Double) -> Double { lower + (upper - lower) * nextUnit() }

    /// A uniform integer in `lower...upper` (torchvision's `randint(lower, upper + 1)`).
    mutating func integer(_ lower: Int, _ upper: Int) -> Int {
        precondition(lower <= upper, "integer(\(lower), \(upper)): empty range")
        return lower + Int(next(upperBound: UInt64(upper - lower + 1)))
    }

    /// `true` with probability `p`.
    mutating func bernoulli(_ p: Double) -> Bool { nextUnit() < p }
}

/// Python's `round`: to nearest, ties to even — torchvision's crop sizes and centre offsets use it.
@inlinable
func pythonRound(_ x: Double) -> Int { Int(x.rounded(.toNearestOrEven)) }

/// Source indices of one sample's output rows and columns; `-1` reads the fill value.
struct PixelMap {
    var rows: [Int]
    var columns: [Int]
}

/// The index of `i` reflected into `0..<extent` (PyTorch reflect padding; needs `|overhang| < extent`).
@inlinable
func reflectIndex(_ i: Int, _ extent: Int) -> Int {
    if extent == 1 { return 0 }
    var j = i
    if j < 0 { j = -j }
    if j >= extent { j = 2 * (extent - 1) - j }
    return j
}

/// Runs `body(n)` for every sample `n`, split over the threads when the batch holds enough work
/// to pay for it (each sample's output is its own, so the split does not change results).
func forEachSample(_ count: Int, elementsPerSample: Int, _ body: (Int) -> Void) {
    let parts = Parallelism.parts(forWork: count * elementsPerSample, items: count)
    Parallelism.forEachRange(of: count, parts: parts) { samples, _ in
        for n in samples { body(n) }
    }
}

/// `out[n, c, y, x] = x[n, c, rows_n[y], cols_n[x]]`, or `fill` where an index is `-1`:
/// the one kernel behind crops, padding, flips and translations. `maps` holds one map per sample,
/// or a single map shared by all samples.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func remapPixels<Scalar: TensorScalar>(_ x: Tensor<Scalar>, maps: [PixelMap], fill: Scalar = 0) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "remapPixels")
    precondition(maps.count == g.count || maps.count == 1, "remapPixels: \(maps.count) maps for \(g.count) samples")
    let outHeight = maps[0].rows.count, outWidth = maps[0].columns.count
    let outPlane = outHeight * outWidth
    return Tensor(shape: [g.count, g.channels, outHeight, outWidth]) { out in
        x.withUnsafeBufferPointer { src in
            let po = out.baseAddress!, ps = src.baseAddress!
            forEachSample(g.count, elementsPerSample: g.channels * outPlane) { n in
                let map = maps.count == 1 ? maps[0] : maps[n]
                precondition(map.rows.count == outHeight && map.columns.count == outWidth,
                             "remapPixels: every sample's map must have the same output size")
                map.columns.withUnsafeBufferPointer { cols in
                    for c in 0..<g.channels {
                        let inPlane = ps + (n * g.channels + c) * g.plane
                        let outPlanePointer = po + (n * g.channels + c) * outPlane
                        for (y, row) in map.rows.enumerated() {
                            let o = outPlanePointer + y * outWidth
                            if row < 0 { o.initialize(repeating: fill, count: outWidth); continue }
                            let i = inPlane + row * g.width
                            for xIndex in 0..<outWidth {
                                let col = cols[xIndex]
                                o[xIndex] = col < 0 ? fill : i[col]
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The window `[top, top + height) × [left, left + width)` of every sample (same window for all).
/// - Precondition: the window lies inside the image.
public func cropped<Scalar>(_ x: Tensor<Scalar>, top: Int, left: Int, height: Int, width: Int) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "cropped")
    precondition(top >= 0 && left >= 0 && height > 0 && width > 0 && top + height <= g.height && left + width <= g.width,
                 "cropped: window top=\(top) left=\(left) \(height)×\(width) exceeds the \(g.height)×\(g.width) image")
    return remapPixels(x, maps: [PixelMap(rows: Array(top..<(top + height)), columns: Array(left..<(left + width)))])
}
