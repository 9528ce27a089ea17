import ArgumentParser
import Foundation
import Nabla

/// `nabla summary MODEL`: one line per layer with output shape and parameter count.
struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "summary",
        abstract: "Print a model's layers with their output shapes and parameter counts.")

    @Argument(help: "A built-in model name (see --list) or a YAML/JSON model file.")
    var model: String?

    @Option(name: .long, help: "Per-sample input shape, e.g. 1,28,28 (default: the model file's input_shape, or 1,28,28).")
    var inputShape: String?

    @Option(name: .long, help: "Number of outputs (classes) of built-in models.")
    var classes: Int = 10

    @OptionGroup var architecture: ArchitectureOptions

    @Flag(name: .long, help: "List the built-in models.")
    var list = false

    func validate() throws {
        if let model { try BuiltinModels.checkName(model) }
        if let inputShape { _ = try parseShape(inputShape, flag: "--input-shape") }
        guard classes >= 1 else { throw ValidationError("--classes \(classes) must be at least 1") }
        if list && model != nil { throw ValidationError("--list lists the built-in models; give it without a model") }
        if model == nil && (inputShape != nil || architecture.norm != nil || architecture.dropout != nil) {
            throw ValidationError("--input-shape, --norm and --dropout apply to a model's summary: name the model")
        }
        if let model { try BuiltinModels.checkOptions(model, normalization: architecture.norm, dropout: architecture.dropout) }
    }

    func run() throws {
        if list || model == nil {
            for entry in BuiltinModels.catalog { print(entry.name.padding(toLength: 16, withPad: " ", startingAt: 0) + entry.summary) }
            return
        }
        let shape = try inputShape.map { try parseShape($0, flag: "--input-shape") }
        let description = try resolveModel(model!, inputShape: shape ?? [1, 28, 28], outputCount: classes, options: architecture.options)
        var generator = RandomGenerator(seed: 0)
        let built = try description.build(inputShape: shape ?? description.inputShape ?? [1, 28, 28], using: &generator)
        print(built.summary)
    }
}
