import ArgumentParser
import Foundation
import Nabla

/// `nabla evaluate`: loss and accuracy of saved weights on a dataset's test split.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Evaluate saved weights on a dataset (its test split, or the training data when there is none).",
        discussion: """
            Prints one line: loss=… accuracy=… (accuracy for classification). Weights saved by nabla train \
            carry their model, input shape, normalization, class names and loss, which are applied as in \
            training: --model is then optional (and must match), and a test set that names its classes is \
            matched to the model's classes by name. Weights from elsewhere (a PyTorch state dict) need --model.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var convolution: ConvolutionOptions
    @OptionGroup var memoryOptions: MemoryOptions
    @Option(name: .long, help: "The weights: a .safetensors state dict.")
    var weights: String
    @Option(name: .long, help: ArgumentHelp("The dataset.", discussion: DataOptions.formsHelp))
    var data: String
    @Option(name: .long, help: "For CSV data: the label column, by header name or 0-based index (default: the last column).")
    var target: String?
    @Flag(name: .long, help: "For weights without metadata: normalize each input channel with the training split's statistics.")
    var normalize = false
    @Option(name: .long, help: "Loss: cross-entropy, mse, l1, smooth-l1, bce, hinge (default: the model's, else cross-entropy).")
    var loss: String?
    @Option(name: .long, help: "Seed of generated (synthetic:) data; the same seed as in training regenerates its test set.")
    var seed: UInt64?
    @OptionGroup(title: "Classification metrics") var metricsOptions: MetricsOptions

    func validate() throws {
        let source = try DatasetSource.parse(data, target: target)
        if seed != nil {
            switch source {
            case .synthetic, .custom: break
            default: throw ValidationError("--seed applies to generated data (synthetic:…), not to --data \(data)")
            }
        }
        if let loss { _ = try LossFunction(name: loss) }
        if let model = modelOptions.model { try BuiltinModels.checkName(model) }
    }

    func run() throws {
        threadOptions.apply()
        try memoryOptions.apply { try convolution.apply { try evaluateWeights() } }
    }

    private func evaluateWeights() throws {
        let (train, test) = try DatasetSource.parse(data, target: target).load(seed: seed ?? 0)
        var dataset = test ?? train
        // With --model, the memory the evaluation needs is known before the weights are read.
        var batchSize = 1000
        if modelOptions.model != nil {
            batchSize = try MemoryOptions.checkInference(of: modelOptions.selection, inputShape: dataset.sampleShape,
                                                         outputCount: dataset.outputCount, samples: dataset.count, batchSize: batchSize,
                                                         dataBytes: 4 * (train.inputs.count + (test?.inputs.count ?? 0)), adapt: true)
        }
        let trained = try TrainedModel.load(weights: weights, modelOptions: modelOptions, sampleShape: dataset.sampleShape,
                                            outputCount: dataset.outputCount)
        if trained.metadata.isEmpty {
            if normalize {
                let statistics = train.channelStatistics()
                dataset.normalize(mean: statistics.mean, std: statistics.std)
            }
        } else {
            if normalize && trained.metadata.normalization == nil {
                throw NablaError(.invalidArgument, "--normalize: \(weights) was trained on inputs without normalization")
            }
            dataset.inputs = try trained.preprocessed(dataset.inputs, source: data)
            dataset = try trained.aligned(dataset)
        }
        let lossFunction = try LossFunction(name: loss ?? trained.metadata.loss ?? "cross-entropy")
        try lossFunction.validate(targets: dataset.targets, outputShape: trained.built.outputShape, name: dataset.name)
        let metrics = evaluate(trained.model, on: dataset, loss: lossFunction, batchSize: batchSize)
        var line = String(format: "loss=%.6f", metrics.loss)
        if let a = metrics.accuracy { line += String(format: " accuracy=%.4f", a) }
        try StandardStreams.writeResult(line + "\n")
        try metricsOptions.report(model: trained.model, on: dataset)
    }
}
