import ArgumentParser
import Foundation
import Nabla

/// The data flags shared by train, evaluate and the studies.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The dataset.", discussion: DatasetRegistry.forms.map { "\($0.grammar): \($0.summary)." }.joined(separator: "\n")))
    var data: String

    @Option(name: .long, help: "For CSV data: the label column, by header name or 0-based index (default: the last column).")
    var target: String?

    @Option(name: .long, help: "Fraction of the training data held out for validation (0 = none).")
    var valSplit: Double = 0

    @Option(name: .long, help: "Use only the first N training samples (a deliberately small training set).")
    var trainSubset: Int?

    @Flag(name: .long, help: "Normalize each input channel with the training set's mean and standard deviation.")
    var normalize = false

    func validate() throws {
        guard valSplit >= 0 && valSplit < 1 else { throw ValidationError("--val-split \(valSplit) is out of range [0, 1)") }
        if let trainSubset, trainSubset < 1 { throw ValidationError("--train-subset \(trainSubset) must be at least 1") }
    }

    /// Loads train (after subset and split), validation and test sets; normalization statistics come
    /// from the training part only.
    func load(seed: UInt64) throws -> (train: Dataset, validation: Dataset?, test: Dataset?) {
        let source = try DatasetSource.parse(data, target: target)
        var (train, test) = try source.load(seed: seed)
        if let n = trainSubset {
            guard n <= train.count else {
                throw NablaError(.invalidArgument, "--train-subset \(n): the training set has only \(train.count) samples")
            }
            train = train.subset(Array(0..<n))
        }
        var validation: Dataset?
        if valSplit > 0 {
            let parts = train.split(validationFraction: valSplit, seed: seed)
            guard parts.train.count > 0, parts.validation.count > 0 else {
                throw NablaError(.invalidArgument, "--val-split \(valSplit) leaves an empty training or validation set (\(train.count) samples)")
            }
            (train, validation) = (parts.train, parts.validation)
        }
        if normalize {
            let stats = train.channelStatistics()
            train = train.normalized(mean: stats.mean, std: stats.std)
            validation = validation?.normalized(mean: stats.mean, std: stats.std)
            test = test?.normalized(mean: stats.mean, std: stats.std)
        }
        return (train, validation, test)
    }
}

/// The model flags shared by train, evaluate and predict.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A built-in model (see `nabla summary --list`) or a YAML/JSON model file.")
    var model: String

    @OptionGroup var architecture: ArchitectureOptions

    @Option(name: .long, help: "Dropout variant of every Dropout layer: inverted (scale in training) or vanilla (scale in evaluation).")
    var dropoutMode: String = "inverted"

    func validate() throws {
        guard ["inverted", "vanilla"].contains(dropoutMode.lowercased()) else {
            throw ValidationError("--dropout-mode \(dropoutMode): expected inverted or vanilla")
        }
    }

    /// Builds the model for samples of `inputShape` with `outputCount` outputs, initialized from `seed`.
    func build(inputShape: [Int], outputCount: Int, seed: UInt64) throws -> BuiltModel {
        let description = try resolveModel(model, inputShape: inputShape, outputCount: outputCount, options: architecture.options)
        if let declared = description.inputShape, declared != inputShape {
            throw NablaError(.shapeMismatch, "--model \(model): declares input_shape \(declared) but the data has samples of shape \(inputShape)")
        }
        var generator = RandomGenerator(seed: seed)
        let built = try description.build(inputShape: inputShape, using: &generator)
        let mode: DropoutMode = dropoutMode.lowercased() == "vanilla" ? .vanilla : .inverted
        for (_, module) in built.model.namedModules() {
            if let dropout = module as? Dropout<Float> { dropout.mode = mode }
        }
        return built
    }
}

/// Number of outputs a model needs for a dataset.
func outputCount(of dataset: Dataset) -> Int {
    switch dataset.targets {
    case .classes(_, let c): return c
    case .values(let t): return t.shape.dropFirst().reduce(1, *)
    }
}

/// Canonical JSON of a configuration, for checkpoint identity.
func canonicalJSON(_ values: [String: String]) -> String {
    "{" + values.keys.sorted().map { jsonStringLiteral($0) + ":" + jsonStringLiteral(values[$0]!) }.joined(separator: ",") + "}"
}
