import Foundation
import NablaTensor
import NablaIO
import NablaData

/// The image classification data of a study: a (deliberately small) training set, a test set, and
/// the `--data` spec with which `nabla train` reads the same data again.
public struct StudyData: Sendable {
    /// The training images (possibly a subset), raw.
    public var train: Dataset
    /// The test images, raw.
    public var test: Dataset
    /// The `--data` value that loads this data in `nabla train` (with ``trainSubset``).
    public var dataSpec: String
    /// The `--train-subset` value that selects ``train`` from the spec's training split (`nil`: all).
    public var trainSubset: Int?
    /// One line on what the data is, for the report.
    public var description: String
    /// One line on the training images only (for studies that never look at the test set).
    public var trainDescription: String
    /// A one-line notice for the terminal, e.g. that Fashion-MNIST is missing and synthetic images
    /// are used instead.
    public var notice: String?
    /// Whether runs standardize the inputs per channel with their training part's mean and standard
    /// deviation (`nabla train --normalize`). ``train`` and ``test`` hold the raw inputs.
    public var normalizes = true

    /// Data with its `--data` spec and descriptions; ``trainDescription`` defaults to `description`.
    public init(train: Dataset, test: Dataset, dataSpec: String, trainSubset: Int?, description: String, notice: String? = nil) {
        self.train = train
        self.test = test
        self.dataSpec = dataSpec
        self.trainSubset = trainSubset
        self.description = description
        self.trainDescription = description
        self.notice = notice
    }

    /// The value of `--data` that makes a study use generated images (``SyntheticImages``).
    public static let syntheticSpec = "synthetic-images"

    /// Loads the study data.
    ///
    /// - Parameters:
    ///   - spec: a `--data` spec (``/NablaData/DatasetSource``) of a classification set with a test split,
    ///     ``syntheticSpec``, or `nil` for Fashion-MNIST — falling back to synthetic images, with a
    ///     ``notice``, when Fashion-MNIST is not installed.
    ///   - trainSubset: keep the first N training samples (`nil`: all), as `nabla train --train-subset`.
    ///   - testSubset: keep the first N test samples (`nil`: all).
    ///   - seed: the seed of synthetic images.
    ///   - syntheticFile: where to save generated images (`.safetensors`, tensors `x`, `y`, `x_test`,
    ///     `y_test`) so that `nabla train --data FILE` can repeat a run; `nil` saves nothing.
    ///   - fashionDirectory: where Fashion-MNIST is looked for (tests point it elsewhere).
    /// - Throws: ``/NablaTensor/NablaError`` for an unreadable spec, a dataset without test split or class labels,
    ///   or a subset larger than the data.
    public static func load(spec: String?, trainSubset: Int?, testSubset: Int?, seed: UInt64,
                            syntheticFile: URL? = nil, fashionDirectory: String = MNIST.fashionMNISTDirectory) throws -> StudyData {
        var notice: String?
        var useSynthetic = spec == syntheticSpec
        if spec == nil && !FileManager.default.fileExists(atPath: fashionDirectory) {
            notice = "Fashion-MNIST is not installed (\(fashionDirectory); sudo apt-get install dataset-fashion-mnist): "
                + "using a synthetic image set instead"
            useSynthetic = true
        }
        if useSynthetic {
            let trainCount = trainSubset ?? 6000, testCount = testSubset ?? 2000
            let (train, test) = SyntheticImages.generate(trainCount: trainCount, testCount: testCount, seed: seed)
            var dataSpec = "(generated in memory)"
            if let url = syntheticFile {
                try SyntheticImages.save(train: train, test: test, to: url)
                dataSpec = url.path
            }
            var data = StudyData(train: train, test: test, dataSpec: dataSpec, trainSubset: nil,
                                 description: "synthetic images: \(trainCount) training and \(testCount) test images of 10 pattern classes, 1×28×28",
                                 notice: notice)
            data.trainDescription = "synthetic images: \(trainCount) training images of 10 pattern classes, 1×28×28"
            return data
        }
        let name = spec ?? "fashion-mnist"
        let (fullTrain, loadedTest) = try DatasetSource.parse(name).load(seed: seed)
        guard let fullTest = loadedTest else {
            throw NablaError(.invalidArgument, "--data \(name): the studies need a dataset with a test split")
        }
        guard fullTrain.classCount != nil else {
            throw NablaError(.invalidArgument, "--data \(name): the studies need class labels, the data has real-valued targets")
        }
        func first(_ n: Int?, of dataset: Dataset, flag: String) throws -> Dataset {
            guard let n else { return dataset }
            guard n >= 1 && n <= dataset.count else {
                throw NablaError(.invalidArgument, "\(flag) \(n): must be between 1 and the \(dataset.count) samples of \(dataset.name)")
            }
            return n == dataset.count ? dataset : dataset.subset(Array(0..<n))
        }
        let train = try first(trainSubset, of: fullTrain, flag: "--train-subset")
        let test = try first(testSubset, of: fullTest, flag: "--test-subset")
        let sample = train.sampleShape.map(String.init).joined(separator: "×")
        let trainPart = train.count == fullTrain.count ? "all \(train.count)" : "the first \(train.count) of \(fullTrain.count)"
        let testPart = test.count == fullTest.count ? "all \(test.count)" : "the first \(test.count) of \(fullTest.count)"
        var data = StudyData(train: train, test: test, dataSpec: name, trainSubset: train.count == fullTrain.count ? nil : train.count,
                             description: "\(name): \(trainPart) training images, \(testPart) test images, \(sample), \(train.classCount!) classes")
        data.trainDescription = "\(name): \(trainPart) training images, \(sample), \(train.classCount!) classes"
        return data
    }
}

/// A generated stand-in for Fashion-MNIST: `[N, 1, 28, 28]` images of 10 classes in `[0, 1]`.
///
/// Class `k` has a prototype drawn once from the seed (stream 3): two Gaussian blobs and one bar at
/// class-specific positions, widths and angles. A sample is its class prototype shifted by up to
/// ±3 pixels, scaled in contrast by `U(0.6, 1.1)`, plus pixel noise `N(0, 0.2²)`, clipped to
/// `[0, 1]`. Prototypes overlap, so a small training set is easy to memorize and the test error
/// stays well above zero — a setting that overfits, like a small subset of Fashion-MNIST.
public enum SyntheticImages {
    static let side = 28, classCount = 10

    /// A training and a test set of the given sizes, classes cycling `0, 1, …, 9, 0, …`.
    public static func generate(trainCount: Int, testCount: Int, seed: UInt64) -> (train: Dataset, test: Dataset) {
        precondition(trainCount >= 1 && testCount >= 1, "SyntheticImages: counts \(trainCount), \(testCount) must be positive")
        let prototypes = makePrototypes(seed: seed)
        var trainGenerator = RandomGenerator(seed: seed, stream: 1)
        var testGenerator = RandomGenerator(seed: seed, stream: 2)
        return (makeSet(trainCount, prototypes, &trainGenerator, name: "synthetic-images/train"),
                makeSet(testCount, prototypes, &testGenerator, name: "synthetic-images/test"))
    }

    /// Writes the two sets as a `.safetensors` dataset (`x`, `y`, `x_test`, `y_test`).
    public static func save(train: Dataset, test: Dataset, to url: URL) throws {
        func labels(_ d: Dataset) -> SafeTensor {
            guard case .classes(let y, _) = d.targets else { preconditionFailure("SyntheticImages.save: class labels expected") }
            return SafeTensor(int64: y.map(Int64.init), shape: [y.count])
        }
        let file = SafeTensorsFile(tensors: ["x": SafeTensor(train.inputs), "y": labels(train),
                                             "x_test": SafeTensor(test.inputs), "y_test": labels(test)],
                                   metadata: ["generator": "nabla SyntheticImages"])
        try file.write(to: url)
    }

    /// The 10 class prototypes, each `side × side`, row-major.
    static func makePrototypes(seed: UInt64) -> [[Double]] {
        var g = RandomGenerator(seed: seed, stream: 3)
        func uniform(_ a: Double, _ b: Double) -> Double { a + (b - a) * g.nextUnit() }
        return (0..<classCount).map { _ in
            var image = [Double](repeating: 0, count: side * side)
            for _ in 0..<2 {
                let (cx, cy, s) = (uniform(7, 21), uniform(7, 21), uniform(2, 4.5))
                for r in 0..<side {
                    for c in 0..<side {
                        let d2 = (Double(c) - cx) * (Double(c) - cx) + (Double(r) - cy) * (Double(r) - cy)
                        image[r * side + c] += exp(-d2 / (2 * s * s))
                    }
                }
            }
            let (angle, offset) = (uniform(0, .pi), uniform(-5, 5))
            let (nx, ny) = (cos(angle), sin(angle))
            for r in 0..<side {
                for c in 0..<side {
                    let distance = abs((Double(c) - 13.5) * nx + (Double(r) - 13.5) * ny - offset)
                    image[r * side + c] += 0.8 * max(0, 1 - distance / 1.5)
                }
            }
            return image.map { min(1, $0) }
        }
    }

    static func makeSet(_ count: Int, _ prototypes: [[Double]], _ g: inout RandomGenerator, name: String) -> Dataset {
        let pixels = side * side
        var scalars = [Float](repeating: 0, count: count * pixels)
        var labels = [Int](repeating: 0, count: count)
        for n in 0..<count {
            let k = n % classCount
            labels[n] = k
            let dx = Int(g.next(upperBound: UInt64(7))) - 3, dy = Int(g.next(upperBound: UInt64(7))) - 3
            let contrast = 0.6 + 0.5 * g.nextUnit()
            let prototype = prototypes[k]
            for r in 0..<side {
                for c in 0..<side {
                    let (sr, sc) = (r - dy, c - dx)
                    let base = (0..<side).contains(sr) && (0..<side).contains(sc) ? prototype[sr * side + sc] : 0
                    let v = contrast * base + 0.2 * g.nextNormal()
                    scalars[n * pixels + r * side + c] = Float(min(1, max(0, v)))
                }
            }
        }
        return Dataset(name: name, inputs: Tensor(shape: [count, 1, side, side], scalars: scalars),
                       targets: .classes(labels, classCount: classCount))
    }
}
