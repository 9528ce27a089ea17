import NablaTensor

/// The per-image photometric operations of RandAugment and TrivialAugment, each exactly
/// torchvision.transforms.v2.functional's kernel for float images in `[0, 1]` with 1 or 3 channels
/// (alongside ``adjustBrightness(_:factor:)`` and ``adjustContrast(_:channels:factor:)`` of the colour
/// jitter). Each works in place on one image `[C, H, W]`; results are clamped to `[0, 1]` where
/// torchvision clamps.

/// `adjust_saturation`: blends an RGB image with its grey version `0.2989·R + 0.587·G + 0.114·B`,
/// `y = clamp(f·x + (1 − f)·grey, 0, 1)`; a single-channel image is returned unchanged (as PIL does).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func adjustSaturation<Scalar: TensorScalar>(_ image: UnsafeMutableBufferPointer<Scalar>, channels: Int, factor: Double) {
    guard channels == 3 else { return }
    let plane = image.count / 3
    let f = Scalar(factor), g = Scalar(1 - factor)
    let (wr, wg, wb) = (Scalar(0.2989), Scalar(0.587), Scalar(0.114))
    for i in 0..<plane {
        let grey = image[i] * wr + wg * image[plane + i] + wb * image[2 * plane + i]
        for c in 0..<3 { image[c * plane + i] = Swift.min(Swift.max(image[c * plane + i] * f + g * grey, 0), 1) }
    }
}

/// `adjust_sharpness`: blends the interior pixels with a 3×3 blur (weights 1/13 around, 5/13 in the
/// centre), `y = x + (1 − f)·(blur − x)`, borders unchanged, then clamps; images of height or width
/// ≤ 2 are returned unchanged.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func adjustSharpness<Scalar: TensorScalar>(_ image: UnsafeMutableBufferPointer<Scalar>, channels: Int, height: Int, width: Int,
                                           factor: Double) {
    guard height > 2 && width > 2 else { return }
    let a = Scalar(1.0 / 13.0), b = Scalar(5.0 / 13.0), alpha = Scalar(1 - factor)
    let plane = height * width
    var source = [Scalar](repeating: 0, count: plane)
    for c in 0..<channels {
        let base = c * plane
        for k in 0..<plane { source[k] = image[base + k] }
        for i in 1..<(height - 1) {
            for j in 1..<(width - 1) {
                var blurred: Scalar = 0
                for di in -1...1 {
                    for dj in -1...1 { blurred += (di == 0 && dj == 0 ? b : a) * source[(i + di) * width + j + dj] }
                }
                let x = source[i * width + j]
                image[base + i * width + j] = x + alpha * (blurred - x)
            }
        }
        for k in 0..<plane { image[base + k] = Swift.min(Swift.max(image[base + k], 0), 1) }
    }
}

/// `posterize(bits)`: `y = clamp(⌊x·2^bits⌋, 0, 2^bits − 1) / 2^bits`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func posterize<Scalar: TensorScalar>(_ image: UnsafeMutableBufferPointer<Scalar>, bits: Int) {
    precondition((0...8).contains(bits), "posterize: bits \(bits) is out of range [0, 8]")
    let levels = Scalar(1 << bits), top = levels - 1, inverse = Scalar(1.0 / Double(1 << bits))
    for k in 0..<image.count { image[k] = Swift.min(Swift.max((image[k] * levels).rounded(.down), 0), top) * inverse }
}

/// `solarize(threshold)`: `y = 1 − x` where `x ≥ threshold`, else `x`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func solarize<Scalar: TensorScalar>(_ image: UnsafeMutableBufferPointer<Scalar>, threshold: Double) {
    let t = Scalar(threshold)
    for k in 0..<image.count where image[k] >= t { image[k] = 1 - image[k] }
}

/// `autocontrast`: per channel, `y = clamp((x − min)/(max − min), 0, 1)`; a constant channel is left
/// as it is (clamped).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func autocontrast<Scalar: TensorScalar>(_ image: UnsafeMutableBufferPointer<Scalar>, channels: Int) {
    let plane = image.count / channels
    for c in 0..<channels {
        let channel = UnsafeMutableBufferPointer(rebasing: image[(c * plane)..<((c + 1) * plane)])
        var low = channel[0], high = channel[0]
        for x in channel { low = Swift.min(low, x); high = Swift.max(high, x) }
        var scale = high - low
        if high == low { low = 0; scale = 1 }
        for k in 0..<plane { channel[k] = Swift.min(Swift.max((channel[k] - low) / scale, 0), 1) }
    }
}

/// `equalize`: per channel, the image is quantized to 8 bits (`q = ⌊x·255.999⌋`, clamped to 0…255)
/// and mapped through PIL's equalization table — with the histogram `h`, its cumulative sum `H`,
/// `n` the pixels not in the last occupied bin and `step = ⌊n/255⌋`: `lut[0] = 0`,
/// `lut[k] = min(⌊(H[k−1] + ⌊step/2⌋)/step⌋, 255)` — or left quantized when `step = 0`; then
/// `y = lut[q]·(1/255)`. (The output is always a multiple of 1/255, as torchvision's is.)
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func equalize<Scalar: TensorScalar>(_ image: UnsafeMutableBufferPointer<Scalar>, channels: Int) {
    let plane = image.count / channels
    let toUnit = Scalar(1.0 / 255), toByte = Scalar(255 + 1 - 1e-3)
    var quantized = [Int](repeating: 0, count: plane)
    for c in 0..<channels {
        let base = c * plane
        var histogram = [Int](repeating: 0, count: 256)
        for k in 0..<plane {
            let v = (image[base + k] * toByte).rounded(.towardZero)
            let q = v.isNaN ? 0 : Int(Swift.min(Swift.max(v, 0), 255))
            quantized[k] = q
            histogram[q] += 1
        }
        let last = histogram.lastIndex(where: { $0 > 0 })!
        let step = (plane - histogram[last]) / 255
        var lut = Array(0...255)
        if step > 0 {
            var cumulative = 0
            lut[0] = 0
            for k in 1..<256 {
                cumulative += histogram[k - 1]
                lut[k] = Swift.min((cumulative + step / 2) / step, 255)
            }
        }
        for k in 0..<plane { image[base + k] = Scalar(lut[quantized[k]]) * toUnit }
    }
}
