import NablaTensor

/// Photometric augmentation: brightness and contrast jitter (torchvision `ColorJitter(brightness,
/// contrast)`; Krizhevsky et al., 2012, altered intensities), for images with values in `[0, 1]`.

/// Scales brightness: `y = clamp(f·x, 0, 1)` (torchvision `adjust_brightness`, a blend with black).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func adjustBrightness<Scalar: TensorScalar>(_ image: UnsafeMutableBufferPointer<Scalar>, factor f: Scalar) {
    for i in 0..<image.count { image[i] = Swift.min(Swift.max(f * image[i], 0), 1) }
}

/// Scales contrast around the image's mean grey level `m`: `y = clamp(f·x + (1 − f)·m, 0, 1)`
/// (torchvision `adjust_contrast`). For 3 channels `m` is the mean of the luma
/// `0.2989·R + 0.587·G + 0.114·B` (ITU-R 601, torchvision's `rgb_to_grayscale`); otherwise the mean of
/// all values of the image.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func adjustContrast<Scalar: TensorScalar>(_ image: UnsafeMutableBufferPointer<Scalar>, channels: Int, factor f: Scalar) {
    let plane = image.count / channels
    var total = 0.0
    if channels == 3 {
        for i in 0..<plane {
            total += 0.2989 * Double(image[i]) + 0.587 * Double(image[plane + i]) + 0.114 * Double(image[2 * plane + i])
        }
        total /= Double(plane)
    } else {
        for x in image { total += Double(x) }
        total /= Double(image.count)
    }
    let offset = (1 - f) * Scalar(total)
    for i in 0..<image.count { image[i] = Swift.min(Swift.max(f * image[i] + offset, 0), 1) }
}

/// Random brightness and contrast jitter, per sample: factors `b ~ U(max(0, 1 − brightness),
/// 1 + brightness)` and `c ~ U(max(0, 1 − contrast), 1 + contrast)`, applied in a random order (as
/// torchvision's `ColorJitter` permutes its transforms). Draw order per sample: one order bit, then
/// `b`, then `c` (a zero strength draws nothing and skips its transform).
///
/// Expects images in `[0, 1]` — apply it before normalization; outputs are clamped to `[0, 1]`.
/// - Precondition: `brightness, contrast ≥ 0`.
public func colorJitter<Scalar>(
    _ x: Tensor<Scalar>, brightness: Double, contrast: Double, using generator: inout RandomGenerator
) -> Tensor<Scalar> {
    precondition(brightness >= 0 && contrast >= 0,
                 "colorJitter: brightness=\(brightness), contrast=\(contrast) must be non-negative")
    let g = ImageGeometry(x, "colorJitter")
    var y = x
    y.withUnsafeMutableBufferPointer { all in
        for n in 0..<g.count {
            let image = UnsafeMutableBufferPointer(rebasing: all[(n * g.sampleSize)..<((n + 1) * g.sampleSize)])
            let contrastFirst = generator.bernoulli(0.5)
            let b = brightness > 0 ? Scalar(generator.uniform(Swift.max(0, 1 - brightness), 1 + brightness)) : nil
            let c = contrast > 0 ? Scalar(generator.uniform(Swift.max(0, 1 - contrast), 1 + contrast)) : nil
            if contrastFirst, let c { adjustContrast(image, channels: g.channels, factor: c) }
            if let b { adjustBrightness(image, factor: b) }
            if !contrastFirst, let c { adjustContrast(image, channels: g.channels, factor: c) }
        }
    }
    return y
}
