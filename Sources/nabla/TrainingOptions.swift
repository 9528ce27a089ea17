import ArgumentParser
import Foundation
import Nabla

/// The data flags of `nabla train`. `--data` is optional here only because
/// `nabla train --plan FILE` takes it from the file; every command that needs it calls ``require()``.
struct DataOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The dataset.", discussion: DataOptions.formsHelp))
    var data: String?

    /// `--help`'s list of dataset forms, one per line.
    static var formsHelp: String { DatasetRegistry.forms.map { "\($0.grammar): \($0.summary)." }.joined(separator: "\n") }

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
}

/// The model flags shared by train, evaluate and predict. `--model` is optional here only because
/// `nabla train --plan FILE` takes it from the file; every command that needs it calls ``require()``.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A built-in model (see `nabla summary --list`) or a YAML/JSON model file.")
    var model: String?

    @OptionGroup var architecture: ArchitectureOptions

    @Option(name: .long, help: "Dropout variant of every Dropout layer: inverted (scale in training; default) or vanilla (scale in evaluation).")
    var dropoutMode: String?

    func validate() throws {
        if let dropoutMode, DropoutMode(rawValue: dropoutMode.lowercased()) == nil {
            throw ValidationError("--dropout-mode \(dropoutMode): expected inverted or vanilla")
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
        selection.dropoutMode = dropoutMode.flatMap { DropoutMode(rawValue: $0.lowercased()) } ?? .inverted
        return selection
    }
}
