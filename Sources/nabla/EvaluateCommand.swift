import ArgumentParser
import Foundation
import Nabla

/// `nabla evaluate`: loss and accuracy of saved weights on a dataset's test split.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate saved weights on a dataset (its test split, or the training data when there is none).",
        discussion: "Prints one line: loss=… accuracy=… (accuracy for classification).")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var memoryOptions: MemoryOptions
    @Option(name: .long, help: "The weights: a .safetensors state dict.")
    var weights: String
    @OptionGroup var dataOptions: DataOptions
    @Option(name: .long, help: "Loss: cross-entropy, mse, l1, smooth-l1, bce, hinge.")
    var loss: String = "cross-entropy"
    @Option(name: .long, help: "Seed (for the validation split and synthetic data).")
    var seed: UInt64 = 0
    @OptionGroup(title: "Classification metrics") var metricsOptions: MetricsOptions

    func validate() throws {
        try modelOptions.require()
        try dataOptions.require()
    }

    func run() throws {
        threadOptions.apply()
        try memoryOptions.apply { try evaluateWeights() }
    }

    private func evaluateWeights() throws {
        let (train, _, test) = try dataOptions.load(seed: seed)
        let dataset = test ?? train
        let lossFunction = try LossFunction(name: loss)
        let batchSize = try MemoryOptions.checkInference(of: modelOptions.selection, inputShape: dataset.sampleShape,
                                                         outputCount: dataset.outputCount, samples: dataset.count, batchSize: 1000,
                                                         dataBytes: 4 * (train.inputs.count + (test?.inputs.count ?? 0)), adapt: true)
        let built = try modelOptions.build(inputShape: dataset.sampleShape, outputCount: dataset.outputCount, seed: seed)
        try lossFunction.validate(targets: dataset.targets, outputShape: built.outputShape)
        try built.model.load(from: URL(fileURLWithPath: weights))
        let metrics = evaluate(built.model, on: dataset, loss: lossFunction, batchSize: batchSize)
        var line = String(format: "loss=%.6f", metrics.loss)
        if let a = metrics.accuracy { line += String(format: " accuracy=%.4f", a) }
        try StandardStreams.writeResult(line + "\n")
        try metricsOptions.report(model: built.model, on: dataset)
    }
}

/// `nabla predict`: runs saved weights on the tensor `x` of a safetensors file, in evaluation mode.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Run a model in evaluation mode on tensor `x` of a .safetensors file and write tensor `y`.")

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var memoryOptions: MemoryOptions
    @Option(name: .long, help: "The weights: a .safetensors state dict.")
    var weights: String
    @Option(name: .long, help: "Input .safetensors file with a float tensor `x` [N, …].")
    var input: String
    @Option(name: .long, help: "Output .safetensors file; receives tensor `y`.")
    var output: String
    @Option(name: .long, help: "Outputs (classes) of a built-in model.")
    var outputs: Int = 10

    func validate() throws { try modelOptions.require() }

    func run() throws {
        threadOptions.apply()
        try memoryOptions.apply { try predict() }
    }

    private func predict() throws {
        try AtomicFile.checkReplaceable(URL(fileURLWithPath: output))
        let file = try SafeTensorsFile.read(from: URL(fileURLWithPath: input))
        guard let entry = file.tensors["x"] else {
            throw NablaError(.missingKey, "\(input): no tensor named 'x' (has \(file.tensors.keys.sorted().joined(separator: ", ")))")
        }
        guard entry.shape.count >= 2, entry.shape.allSatisfy({ $0 > 0 }) else {
            throw NablaError(.shapeMismatch, "\(input): tensor 'x' has shape \(entry.shape); expected [N, …] with a batch axis")
        }
        guard outputs >= 1 else { throw NablaError(.invalidArgument, "--outputs \(outputs) must be at least 1") }
        let x: Tensor<Float> = entry.tensor()
        guard x.isFinite else { throw NablaError(.invalidFile, "\(input): tensor 'x' contains NaN or infinite values") }
        try MemoryOptions.checkInference(of: modelOptions.selection, inputShape: Array(x.shape.dropFirst()), outputCount: outputs,
                                         samples: x.shape[0], batchSize: x.shape[0], dataBytes: 4 * x.count, adapt: false)
        let built = try modelOptions.build(inputShape: Array(x.shape.dropFirst()), outputCount: outputs, seed: 0)
        try built.model.load(from: URL(fileURLWithPath: weights))
        let y = built.model.evaluating { built.model(Variable(x)).value }
        try SafeTensorsFile(tensors: ["y": SafeTensor(y)]).write(to: URL(fileURLWithPath: output))
    }
}
