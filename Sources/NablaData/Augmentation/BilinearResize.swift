import NablaTensor

/// Bilinear resampling of image batches, PyTorch's `F.interpolate(x, size=(h, w), mode="bilinear",
/// align_corners=False, antialias=False)`, plus the crop-then-resize used by random resized crops.

/// A crop window `[top, top + height) × [left, left + width)` in pixels.
public struct CropBox: Equatable, Sendable {
    /// The first row of the window.
    public var top: Int
    /// The first column of the window.
    public var left: Int
    /// The number of rows.
    public var height: Int
    /// The number of columns.
    public var width: Int
    /// The window `[top, top + height) × [left, left + width)`.
    public init(top: Int, left: Int, height: Int, width: Int) {
        (self.top, self.left, self.height, self.width) = (top, left, height, width)
    }
}

/// The two source taps and weights of every output index along one axis: PyTorch's
/// `area_pixel_compute_source_index` with `align_corners=False` — the half-pixel-centre rule
/// `s = (d + ½)·(in/out) − ½`, clamped below at 0 — then `i₀ = ⌊s⌋`, `i₁ = i₀ + 1` (or `i₀` at the last
/// pixel), `λ₁ = s − i₀`, `λ₀ = 1 − λ₁`. Indices are offset by the crop start `start`.
struct LinearTaps<Scalar: TensorScalar> {
    var first: [Int], second: [Int]
    var firstWeight: [Scalar], secondWeight: [Scalar]

    init(start: Int, inputSize: Int, outputSize: Int) {
        let scale = Double(inputSize) / Double(outputSize)
        first = []; second = []; firstWeight = []; secondWeight = []
        for d in 0..<outputSize {
            let source = Swift.max(scale * (Double(d) + 0.5) - 0.5, 0)
            let i0 = Swift.min(Int(source), inputSize - 1)
            let i1 = i0 < inputSize - 1 ? i0 + 1 : i0
            let lambda1 = Swift.min(Swift.max(source - Double(i0), 0), 1)
            first.append(start + i0); second.append(start + i1)
            firstWeight.append(Scalar(1 - lambda1)); secondWeight.append(Scalar(lambda1))
        }
    }
}

/// Resizes every image to `height × width` by bilinear interpolation, exactly as PyTorch's
/// `F.interpolate(mode="bilinear", align_corners=False)` without antialiasing: each output pixel
/// blends the 2×2 input pixels around its half-pixel-centred source position (see `LinearTaps`).
/// Works for up- and down-sampling and non-square sizes; downsampling by large factors aliases, as
/// PyTorch's does with `antialias=False`.
public func resizeBilinear<Scalar>(_ x: Tensor<Scalar>, height: Int, width: Int) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "resizeBilinear")
    return resizedCrops(x, boxes: [CropBox(top: 0, left: 0, height: g.height, width: g.width)], height: height, width: width)
}

/// Crops each sample to its box and resizes the crop to `height × width` bilinearly (torchvision
/// `resized_crop` = `crop` then `resize`), in one pass without materializing the crops.
/// `boxes` holds one box per sample, or a single box for all.
/// - Precondition: every box lies inside the image; `height, width > 0`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func resizedCrops<Scalar>(_ x: Tensor<Scalar>, boxes: [CropBox], height: Int, width: Int) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "resizedCrops")
    precondition(height > 0 && width > 0, "resizedCrops: output size \(height)×\(width) must be positive")
    precondition(boxes.count == g.count || boxes.count == 1, "resizedCrops: \(boxes.count) boxes for \(g.count) samples")
    for b in boxes {
        precondition(b.top >= 0 && b.left >= 0 && b.height > 0 && b.width > 0
                     && b.top + b.height <= g.height && b.left + b.width <= g.width,
                     "resizedCrops: box \(b) exceeds the \(g.height)×\(g.width) image")
    }
    let outPlane = height * width
    return Tensor(shape: [g.count, g.channels, height, width]) { out in
        x.withUnsafeBufferPointer { src in
            let po = out.baseAddress!, ps = src.baseAddress!
            forEachSample(g.count, elementsPerSample: g.channels * outPlane) { n in
                let box = boxes.count == 1 ? boxes[0] : boxes[n]
                let rows = LinearTaps<Scalar>(start: box.top, inputSize: box.height, outputSize: height)
                let cols = LinearTaps<Scalar>(start: box.left, inputSize: box.width, outputSize: width)
                cols.first.withUnsafeBufferPointer { c0 in
                cols.second.withUnsafeBufferPointer { c1 in
                cols.firstWeight.withUnsafeBufferPointer { w0 in
                cols.secondWeight.withUnsafeBufferPointer { w1 in
                    for c in 0..<g.channels {
                        let plane = ps + (n * g.channels + c) * g.plane
                        let target = po + (n * g.channels + c) * outPlane
                        for y in 0..<height {
                            let top = plane + rows.first[y] * g.width, bottom = plane + rows.second[y] * g.width
                            let h0 = rows.firstWeight[y], h1 = rows.secondWeight[y]
                            let o = target + y * width
                            for j in 0..<width {
                                let a = c0[j], b = c1[j]
                                o[j] = h0 * (w0[j] * top[a] + w1[j] * top[b]) + h1 * (w0[j] * bottom[a] + w1[j] * bottom[b])
                            }
                        }
                    }
                }}}}
            }
        }
    }
}
