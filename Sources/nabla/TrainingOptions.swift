import ArgumentParser
import Foundation
import Nabla

/// The data flags shared by train, evaluate and the studies. `--data` is optional here only because
/// `nabla train --plan FILE` takes it from the file; every command that needs it calls ``require()``.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The dataset.", discussion: DatasetRegistry.forms.map { "\($0.grammar): \($0.summary)." }.joined(separator: "\n")))
    var data: String?

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

    /// Throws ArgumentParser's own "missing argument" error unless `--data` was given.
    func require() throws {
        if data == nil { throw ValidationError("Missing expected argument '--data <data>'") }
    }

    /// The data part of a training plan.
    var selection: TrainingPlan.DataSelection {
        var selection = TrainingPlan.DataSelection(spec: data ?? "")
        selection.target = target
        selection.validationFraction = valSplit
        selection.trainSubset = trainSubset
        selection.normalize = normalize
        return selection
    }

    /// Loads train (after subset and split), validation and test sets; normalization statistics come
    /// from the training part only (``TrainingPlan/DataSelection/load(seed:loaded:)``).
    func load(seed: UInt64) throws -> (train: Dataset, validation: Dataset?, test: Dataset?) {
        let data = try selection.load(seed: seed)
        return (data.train, data.validation, data.test)
    }
}

/// The model flags shared by train, evaluate and predict. `--model` is optional here only because
/// `nabla train --plan FILE` takes it from the file; every command that needs it calls ``require()``.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A built-in model (see `nabla summary --list`) or a YAML/JSON model file.")
    var model: String?

    @OptionGroup var architecture: ArchitectureOptions

    @Option(name: .long, help: "Dropout variant of every Dropout layer: inverted (scale in training) or vanilla (scale in evaluation).")
    var dropoutMode: String = "inverted"

    @Option(name: .long, help: ArgumentHelp("Re-initialize the weights of every Linear layer (biases zeroed).",
        discussion: "default (PyTorch's), normal (N(0, 1)), xavier-normal (Glorot & Bengio 2010), kaiming-normal (He et al. 2015)."))
    var weightInit: String = "default"

    func validate() throws {
        guard DropoutMode(rawValue: dropoutMode.lowercased()) != nil else {
            throw ValidationError("--dropout-mode \(dropoutMode): expected inverted or vanilla")
        }
        guard WeightInitialization(rawValue: weightInit.lowercased()) != nil else {
            throw ValidationError("--weight-init \(weightInit): expected one of \(WeightInitialization.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// Throws ArgumentParser's own "missing argument" error unless `--model` was given.
    func require() throws {
        if model == nil { throw ValidationError("Missing expected argument '--model <model>'") }
    }

    /// The model part of a training plan (`--init` weights are added by the command that has them).
    var selection: TrainingPlan.Model {
        var selection = TrainingPlan.Model(name: model ?? "")
        selection.normalization = architecture.norm
        selection.dropout = architecture.dropout
        selection.dropoutMode = DropoutMode(rawValue: dropoutMode.lowercased()) ?? .inverted
        selection.initialization = WeightInitialization(rawValue: weightInit.lowercased()) ?? .pytorchDefault
        return selection
    }

    /// Builds the model for samples of `inputShape` with `outputCount` outputs, initialized from `seed`.
    func build(inputShape: [Int], outputCount: Int, seed: UInt64) throws -> BuiltModel {
        try selection.build(inputShape: inputShape, outputCount: outputCount, seed: seed)
    }
}
