import NablaTensor
import NablaNN
import NablaData

/// Test-time augmentation of the final test accuracy, as `--tta` names it: `ten-crop[:PAD]` — the
/// four corners and the center of each test image padded by `PAD` zeros (default 2), each also
/// flipped horizontally, their softmax outputs averaged (Krizhevsky et al. 2012; seed 000's ResNet
/// evaluation).
public struct TestTimeAugmentationSpec: Equatable, Sendable {
    /// Zeros added on every side before the ten crops of the original size are taken.
    public var padding: Int
    /// Test images per batch (each is padded, mirrored and cropped ten times at once).
    public static let batchSize = 500

    /// Parses `ten-crop` or `ten-crop:PAD`.
    /// - Throws: ``/NablaTensor/NablaError`` naming the spec.
    public init(parsing spec: String) throws {
        let parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.first?.lowercased() == "ten-crop", parts.count <= 2 else {
            throw NablaError(.invalidArgument, "--tta \(spec): expected ten-crop or ten-crop:PAD")
        }
        if parts.count == 2 {
            guard let pad = Int(parts[1]), pad >= 0, pad <= 4096 else {
                throw NablaError(.invalidArgument, "--tta \(spec): PAD must be an integer in 0...4096")
            }
            padding = pad
        } else {
            padding = 2
        }
    }

    /// The ten-crop accuracy of `model` on `test` (image classification data `[N, C, H, W]`), in
    /// evaluation mode and batches of ``batchSize``; `nil` for data that is not labelled images. A
    /// sample whose averaged probabilities hold a NaN is a miss (as in ``topKHits(_:labels:k:)``).
    public func accuracy(of model: Module<Float>, on test: Dataset) -> Double? {
        guard case .classes(let labels, _) = test.targets, test.inputs.rank == 4, test.count > 0 else { return nil }
        let (h, w) = (test.inputs.shape[2], test.inputs.shape[3])
        var correct = 0
        model.evaluating {
            var start = 0
            while start < test.count {
                let end = min(start + Self.batchSize, test.count)
                let batch = test.inputs[start..<end]
                let padded = paddedCrop(batch, offsets: Array(repeating: (0, 0), count: end - start),
                                        height: h + 2 * padding, width: w + 2 * padding, padding: padding)
                let probabilities = tenCropPrediction(padded, height: h, width: w) { model($0) }
                let predicted = probabilities.argmax(alongAxis: 1)
                for (i, p) in predicted.enumerated() where p == labels[start + i] && !rowHasNaN(probabilities, i) { correct += 1 }
                start = end
            }
        }
        return Double(correct) / Double(test.count)
    }
}
