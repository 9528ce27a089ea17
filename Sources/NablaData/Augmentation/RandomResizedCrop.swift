import Foundation
import NablaTensor

/// Random resized crop (Szegedy et al., 2015, "Going Deeper with Convolutions" — the Inception
/// "scale augmentation"; torchvision `RandomResizedCrop`): a random region covering a random
/// fraction of the image area with a random aspect ratio, resized bilinearly to a fixed size.

/// Draws one crop box for an `height × width` image exactly as torchvision's
/// `RandomResizedCrop.get_params`: up to 10 attempts of
/// `area' = area·U(scale)`, `r = exp(U(log ratio))`, `w = round(√(area'·r))`, `h = round(√(area'/r))`
/// (Python rounding); the first box with `0 < w ≤ width` and `0 < h ≤ height` is placed at
/// `top ∈ 0…height − h`, `left ∈ 0…width − w`. If all 10 fail, the fallback is a centre crop with the
/// aspect ratio clamped into `ratio` (the whole image when its ratio already lies inside).
public func randomResizedCropBox(
    height: Int, width: Int, scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3),
    using generator: inout RandomGenerator
) -> CropBox {
    precondition(scale.lowerBound > 0 && ratio.lowerBound > 0,
                 "randomResizedCrop: scale \(scale) and ratio \(ratio) must be positive")
    let area = Double(height * width)
    let logLower = log(ratio.lowerBound), logUpper = log(ratio.upperBound)
    for _ in 0..<10 {
        let targetArea = area * generator.uniform(scale.lowerBound, scale.upperBound)
        let aspect = exp(generator.uniform(logLower, logUpper))
        let w = pythonRound((targetArea * aspect).squareRoot())
        let h = pythonRound((targetArea / aspect).squareRoot())
        if w > 0 && w <= width && h > 0 && h <= height {
            let top = generator.integer(0, height - h)
            let left = generator.integer(0, width - w)
            return CropBox(top: top, left: left, height: h, width: w)
        }
    }
    let inRatio = Double(width) / Double(height)
    var w = width, h = height
    if inRatio < ratio.lowerBound {
        h = pythonRound(Double(w) / ratio.lowerBound)
    } else if inRatio > ratio.upperBound {
        w = pythonRound(Double(h) * ratio.upperBound)
    }
    return CropBox(top: (height - h) / 2, left: (width - w) / 2, height: h, width: w)
}

/// torchvision `RandomResizedCrop(size, scale, ratio, antialias=False)` on a batch: a box per sample
/// from ``randomResizedCropBox(height:width:scale:ratio:using:)`` (drawn in sample order), cropped and
/// resized to `height × width` (default: the input size) with ``resizedCrops(_:boxes:height:width:)``.
public func randomResizedCrop<Scalar>(
    _ x: Tensor<Scalar>, height: Int? = nil, width: Int? = nil,
    scale: ClosedRange<Double> = 0.08...1, ratio: ClosedRange<Double> = (3.0 / 4)...(4.0 / 3),
    using generator: inout RandomGenerator
) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "randomResizedCrop")
    let boxes = (0..<g.count).map { _ in
        randomResizedCropBox(height: g.height, width: g.width, scale: scale, ratio: ratio, using: &generator)
    }
    return resizedCrops(x, boxes: boxes, height: height ?? g.height, width: width ?? g.width)
}
