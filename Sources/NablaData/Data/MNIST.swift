import Foundation
import NablaTensor
import NablaIO

/// Loader of the MNIST family (MNIST, Fashion-MNIST, KMNIST, …): IDX files under their original
/// names in one directory, each raw or gzip-compressed:
/// `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]` (required) and
/// `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]` (the test split, optional as a pair).
///
/// Images become `Float` tensors `[N, 1, H, W]` with pixels scaled to `[0, 1]` (`x = byte / 255`);
/// labels become `Targets.classes` with `classCount` classes (10 for the whole MNIST family). A label
/// outside `0..<classCount`, or image and label files of different lengths, is a one-line error.
public enum MNIST {
    /// Debian's `dataset-fashion-mnist` package installs the gzip files here.
    public static let fashionMNISTDirectory = "/usr/share/datasets/fashion-mnist"

    /// Fashion-MNIST's class names in label order (Xiao, Rasul & Vollgraf, "Fashion-MNIST: a Novel
    /// Image Dataset for Benchmarking Machine Learning Algorithms", 2017).
    public static let fashionMNISTClassNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// Loads the training split and, when its files are present, the test split of `directory`.
    /// - Parameters:
    ///   - directory: the folder of `train-images-idx3-ubyte[.gz]`, `train-labels-idx1-ubyte[.gz]` and,
    ///     optionally, the `t10k-…` test files.
    ///   - classCount: the number of classes; every label must lie in `0..<classCount`.
    ///   - name: the prefix of the datasets' names (`"<name>/train"`, `"<name>/test"`).
    public static func load(directory: URL, classCount: Int = 10, name: String = "mnist") throws -> (train: Dataset, test: Dataset?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw NablaError(.io, "\(directory.path): no such directory (expected the MNIST-family IDX files there)")
        }
        guard let trainImages = find("train-images-idx3-ubyte", in: directory),
              let trainLabels = find("train-labels-idx1-ubyte", in: directory) else {
            throw NablaError(.io, "\(directory.path): missing train-images-idx3-ubyte[.gz] or train-labels-idx1-ubyte[.gz] "
                             + "(the MNIST family's original file names)")
        }
        let testImages = find("t10k-images-idx3-ubyte", in: directory)
        let testLabels = find("t10k-labels-idx1-ubyte", in: directory)
        var splits = [(trainImages, trainLabels, "train")]
        switch (testImages, testLabels) {
        case (nil, nil): break
        case let (images?, labels?): splits.append((images, labels, "test"))
        default:
            throw NablaError(.io, "\(directory.path): has only one of t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]")
        }
        // The two splits inflate concurrently (one per core); the first failing split's error wins.
        var results = [Result<Dataset, Error>?](repeating: nil, count: splits.count)
        results.withUnsafeMutableBufferPointer { out in
            Parallelism.forEach(parts: splits.count) { i in
                let (images, labels, part) = splits[i]
                out[i] = Result { try loadSplit(images: images, labels: labels, classCount: classCount, name: "\(name)/\(part)") }
            }
        }
        let train = try results[0]!.get()
        guard let testResult = results.count > 1 ? results[1] : nil else { return (train, nil) }
        let test = try testResult.get()
        guard test.sampleShape == train.sampleShape else {
            throw NablaError(.invalidFile, "\(splits[1].0.path): test images are \(test.sampleShape), training images \(train.sampleShape)")
        }
        return (train, test)
    }

    /// Loads one split from an image file and a label file.
    public static func loadSplit(images: URL, labels: URL, classCount: Int = 10, name: String) throws -> Dataset {
        precondition(classCount >= 1, "MNIST.loadSplit: classCount \(classCount) must be positive")
        let imageFile = try IDXFile.read(from: images, expectedRank: 3)
        let labelFile = try IDXFile.read(from: labels, expectedRank: 1)
        let (count, height, width) = (imageFile.dimensions[0], imageFile.dimensions[1], imageFile.dimensions[2])
        guard labelFile.dimensions[0] == count else {
            throw NablaError(.invalidFile, "\(labels.path): \(labelFile.dimensions[0]) labels but \(images.path) has \(count) images")
        }
        guard count > 0, height > 0, width > 0 else {
            throw NablaError(.invalidFile, "\(images.path): no images (dimensions \(imageFile.dimensions))")
        }
        let classes = try labelFile.bytes.enumerated().map { index, byte -> Int in
            guard Int(byte) < classCount else {
                throw NablaError(.invalidFile, "\(labels.path): label \(byte) at index \(index) is out of range 0..<\(classCount)")
            }
            return Int(byte)
        }
        let inputs = pixelTensor(imageFile.bytes, shape: [count, 1, height, width])
        return Dataset(name: name, inputs: inputs, targets: .classes(classes, classCount: classCount))
    }

    /// `bytes` as a `Float` tensor of `shape` with each byte divided by 255.
    static func pixelTensor(_ bytes: [UInt8], shape: [Int]) -> Tensor<Float> {
        Tensor(shape: shape) { out in
            bytes.withUnsafeBufferPointer { source in
                convertPixels(source, into: out)
            }
        }
    }

    /// `out[i] = source[i] / 255` (a true division, bit-identical to torchvision's `ToTensor`).
    static func convertPixels(_ source: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count >= source.count, "convertPixels: \(source.count) bytes into \(out.count) floats")
        guard let s = source.baseAddress, let o = out.baseAddress else { return }
        for i in 0..<source.count { o[i] = Float(s[i]) / 255 }
    }

    /// The file `base` or `base.gz` in `directory`, preferring the compressed original.
    static func find(_ base: String, in directory: URL) -> URL? {
        for candidate in [base + ".gz", base] {
            let url = directory.appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        return nil
    }
}
