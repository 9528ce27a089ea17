import NablaTensor

/// Test-time augmentation: average a classifier's predictions over several views of each image —
/// the ten-crop scheme and multi-scale averaging of AlexNet/ResNet evaluation (Krizhevsky et al.,
/// 2012; He et al., 2016, §3.4: "10-crop testing … averaged at multiple scales {224, 256, 384, 480,
/// 640}", seed 000). Predictions are softmax probabilities averaged over the views.

/// The centre crop of every image, torchvision `center_crop`: offsets
/// `round((H − h)/2)`, `round((W − w)/2)` with Python rounding (ties to even).
/// - Precondition: the crop fits the image.
public func centerCropped<Scalar>(_ x: Tensor<Scalar>, height: Int, width: Int) -> Tensor<Scalar> {
    let g = ImageGeometry(x, "centerCropped")
    precondition(height <= g.height && width <= g.width, "centerCropped: \(height)×\(width) exceeds the \(g.height)×\(g.width) image")
    return cropped(x, top: pythonRound(Double(g.height - height) / 2), left: pythonRound(Double(g.width - width) / 2),
                   height: height, width: width)
}

/// The five crops of torchvision `five_crop`, in its order: top-left, top-right, bottom-left,
/// bottom-right, centre.
public func fiveCrops<Scalar>(_ x: Tensor<Scalar>, height: Int, width: Int) -> [Tensor<Scalar>] {
    let g = ImageGeometry(x, "fiveCrops")
    precondition(height > 0 && width > 0 && height <= g.height && width <= g.width,
                 "fiveCrops: \(height)×\(width) does not fit the \(g.height)×\(g.width) image")
    return [
        cropped(x, top: 0, left: 0, height: height, width: width),
        cropped(x, top: 0, left: g.width - width, height: height, width: width),
        cropped(x, top: g.height - height, left: 0, height: height, width: width),
        cropped(x, top: g.height - height, left: g.width - width, height: height, width: width),
        centerCropped(x, height: height, width: width),
    ]
}

/// The ten views of torchvision `ten_crop` (`vertical_flip=False`), in its order: the five crops of
/// the image (``fiveCrops(_:height:width:)``), then the five crops of the horizontally flipped
/// image — each the mirror image of one of the first five (top-left of the flip = mirrored top-right).
public func tenCrops<Scalar>(_ x: Tensor<Scalar>, height: Int, width: Int) -> [Tensor<Scalar>] {
    fiveCrops(x, height: height, width: width) + fiveCrops(flippedHorizontally(x), height: height, width: width)
}

/// The mean over `views` of `softmax(predictor(view))` along the class axis (the last).
func averagedSoftmax<Scalar>(
    _ views: [Tensor<Scalar>], _ predictor: (Tensor<Scalar>) throws -> Tensor<Scalar>
) rethrows -> Tensor<Scalar> {
    precondition(!views.isEmpty, "test-time augmentation needs at least one view")
    var total: Tensor<Scalar>?
    for view in views {
        let probabilities = try predictor(view).softmax(alongAxis: -1)
        if total == nil { total = probabilities } else {
            precondition(total!.shape == probabilities.shape,
                         "test-time augmentation: predictions of shape \(probabilities.shape) and \(total!.shape) differ between views")
            total! += probabilities
        }
    }
    return total! / Scalar(views.count)
}

/// Ten-crop test-time augmentation: the mean softmax of `predictor`'s logits over the 10 views of
/// ``tenCrops(_:height:width:)``.
/// - Parameters:
///   - x: images `[N, C, H, W]`.
///   - height: the height of each view.
///   - width: the width of each view.
///   - predictor: maps a batch of `height × width` views to logits `[N, classes]` (typically a model
///     in evaluation mode).
/// - Returns: probabilities `[N, classes]`.
public func tenCropPrediction<Scalar>(
    _ x: Tensor<Scalar>, height: Int, width: Int, predictor: (Tensor<Scalar>) throws -> Tensor<Scalar>
) rethrows -> Tensor<Scalar> {
    try averagedSoftmax(tenCrops(x, height: height, width: width), predictor)
}

/// The size torchvision `Resize(s)` gives an `height × width` image: the shorter side becomes `s`,
/// the longer `⌊s·long/short⌋`.
public func shorterSideResizedSize(height: Int, width: Int, shorterSide s: Int) -> (height: Int, width: Int) {
    height <= width ? (s, s * width / height) : (s * height / width, s)
}

/// Multi-scale test-time augmentation (ResNet's evaluation): for each scale `s` the images are
/// resized bilinearly so their shorter side is `s` (``shorterSideResizedSize(height:width:shorterSide:)``),
/// then viewed as the ten crops of `crop` size — or, when `crop` is `nil` (a fully convolutional
/// model with global pooling), as the whole resized image and its mirror. The result is the mean
/// softmax over all views of all scales, each view weighted equally.
/// - Precondition: every scale is at least the crop size.
public func multiScalePrediction<Scalar>(
    _ x: Tensor<Scalar>, scales: [Int], crop: (height: Int, width: Int)?,
    predictor: (Tensor<Scalar>) throws -> Tensor<Scalar>
) rethrows -> Tensor<Scalar> {
    let g = ImageGeometry(x, "multiScalePrediction")
    precondition(!scales.isEmpty && scales.allSatisfy { $0 > 0 }, "multiScalePrediction: scales \(scales) must be positive")
    var views: [Tensor<Scalar>] = []
    for s in scales {
        let size = shorterSideResizedSize(height: g.height, width: g.width, shorterSide: s)
        let resized = size == (g.height, g.width) ? x : resizeBilinear(x, height: size.height, width: size.width)
        if let crop {
            precondition(crop.height <= size.height && crop.width <= size.width,
                         "multiScalePrediction: scale \(s) gives \(size.height)×\(size.width), smaller than the \(crop.height)×\(crop.width) crop")
            views += tenCrops(resized, height: crop.height, width: crop.width)
        } else {
            views += [resized, flippedHorizontally(resized)]
        }
    }
    return try averagedSoftmax(views, predictor)
}
