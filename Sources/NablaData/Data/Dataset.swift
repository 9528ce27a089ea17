import NablaTensor

/// What a dataset's samples are trained to predict.
public enum Targets: Equatable, Sendable {
    /// Class indices in `0..<classCount`, one per sample.
    case classes([Int], classCount: Int)
    /// Real-valued targets, leading axis = samples (regression).
    case values(Tensor<Float>)
    /// Soft class targets: one row of class probabilities per sample, `[N, C]` — what mixup and
    /// CutMix (``BatchMixing``) make of class labels, trained with a soft-target cross-entropy.
    case probabilities(Tensor<Float>)

    /// The number of samples.
    public var count: Int {
        switch self {
        case .classes(let labels, _): return labels.count
        case .values(let t), .probabilities(let t): return t.shape.first ?? 0
        }
    }

    /// The targets of the samples `indices`, in that order.
    public func gathering(_ indices: [Int]) -> Targets {
        switch self {
        case .classes(let labels, let classCount): return .classes(indices.map { labels[$0] }, classCount: classCount)
        case .values(let t): return .values(t.gathering(rows: indices))
        case .probabilities(let t): return .probabilities(t.gathering(rows: indices))
        }
    }
}

/// An in-memory dataset: inputs with samples on the leading axis (`[N, C, H, W]` for images,
/// `[N, D]` for tabular data) and their targets.
public struct Dataset: Sendable {
    /// A short name for messages and reports, e.g. `"fashion-mnist/train"`.
    public var name: String
    /// The inputs, samples on the leading axis.
    public var inputs: Tensor<Float>
    /// What each sample is trained to predict, in sample order.
    public var targets: Targets
    /// The name of each class, by label (`classNames[3]` is what label 3 means), when the source
    /// names them: Fashion-MNIST's and CIFAR's published names, a CSV file's text labels, an image
    /// folder's class folders. `nil` when classes are only numbers (or for regression).
    public var classNames: [String]?

    /// A dataset of `inputs` and `targets`.
    ///
    /// - Precondition: inputs and targets have the same number of samples; `classNames`, when
    ///   given, names every class of ``Targets/classes(_:classCount:)`` targets.
    public init(name: String, inputs: Tensor<Float>, targets: Targets, classNames: [String]? = nil) {
        precondition(inputs.shape.first == targets.count,
                     "Dataset \(name): \(inputs.shape.first ?? 0) inputs but \(targets.count) targets")
        if let classNames, case .classes(_, let classCount) = targets {
            precondition(classNames.count == classCount, "Dataset \(name): \(classNames.count) class names for \(classCount) classes")
        }
        self.name = name
        self.inputs = inputs
        self.targets = targets
        self.classNames = classNames
    }

    /// The number of samples.
    public var count: Int { inputs.shape[0] }

    /// The shape of one sample.
    public var sampleShape: [Int] { Array(inputs.shape.dropFirst()) }

    /// The number of classes, or `nil` for regression targets.
    public var classCount: Int? {
        switch targets {
        case .classes(_, let c): return c
        case .probabilities(let t): return t.shape.last
        case .values: return nil
        }
    }

    /// The samples `indices`, in that order.
    public func subset(_ indices: [Int], name: String? = nil) -> Dataset {
        Dataset(name: name ?? self.name, inputs: inputs.gathering(rows: indices), targets: targets.gathering(indices),
                classNames: classNames)
    }

    /// A seeded random split into training and validation parts; `validationFraction ∈ [0, 1)`.
    public func split(validationFraction: Double, seed: UInt64) -> (train: Dataset, validation: Dataset) {
        precondition(validationFraction >= 0 && validationFraction < 1, "validation fraction \(validationFraction) is out of range [0, 1)")
        var generator = RandomGenerator(seed: seed)
        let order = Array(0..<count).shuffled(using: &generator)
        let validationCount = Int((Double(count) * validationFraction).rounded())
        return (subset(Array(order[validationCount...]), name: name + "/train-split"),
                subset(Array(order[..<validationCount]), name: name + "/validation"))
    }
}
