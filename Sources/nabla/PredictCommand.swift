import ArgumentParser
import Foundation
import Nabla

/// `nabla predict`: runs saved weights in evaluation mode on new inputs and writes what they predict.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict with saved weights: the class of each input (or its regression values).",
        discussion: """
            --input is a folder of PNG images (its own, or those of its class folders), or a .safetensors \
            (tensor x), .npz (array x), .npy or .csv file of inputs, one sample per row. The inputs are \
            normalized as in training (from the weights' metadata) and run in evaluation mode.
            Output by --output's extension (default: CSV on standard output): .csv and .json hold one row \
            per sample — its name (file or row), the predicted label and class name, with --probs every \
            class's probability (softmax; sigmoid for a model trained with bce), with --top-k K the K most \
            probable classes; .npy holds one array: the labels [N], or the probabilities [N, C] with --probs, \
            or the top labels [N, K] with --top-k; .safetensors holds y (the raw outputs [N, C]), label [N], \
            and probs / top_k_labels / top_k_probs when asked. A regression model writes its outputs y.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var threadOptions: ThreadOptions
    @OptionGroup var convolution: ConvolutionOptions
    @OptionGroup var memoryOptions: MemoryOptions
    @Option(name: .long, help: "The weights: a .safetensors state dict (with nabla train's metadata, or name --model).")
    var weights: String
    @Option(name: .long, help: "The inputs: a folder of PNG images, or a .safetensors, .npz, .npy or .csv file.")
    var input: String
    @Option(name: .long, help: "For a .csv input: a column to leave out (the labels of a training file), by name or 0-based index.")
    var target: String?
    @Option(name: .long, help: "Where to write: FILE.csv, FILE.json, FILE.npy or FILE.safetensors (default: CSV on standard output).")
    var output: String?
    @Flag(name: .long, help: "Also write every class's probability.")
    var probs = false
    @Option(name: .long, help: "Also write the K most probable classes with their probabilities.")
    var topK: Int?

    func validate() throws {
        if let output, PredictionFormat(path: output) == nil {
            throw ValidationError("--output \(output): expected a .csv, .json, .npy or .safetensors file")
        }
        if let topK, topK < 1 { throw ValidationError("--top-k \(topK) must be at least 1") }
        if let output, PredictionFormat(path: output) == .npy, probs && topK != nil {
            throw ValidationError("--output \(output): a .npy file holds one array; --probs and --top-k together need .safetensors, .json or .csv")
        }
        if target != nil && !input.lowercased().hasSuffix(".csv") {
            throw ValidationError("--target applies to a .csv input, not to \(input)")
        }
        if let model = modelOptions.model { try BuiltinModels.checkName(model) }
    }

    func run() throws {
        threadOptions.apply()
        try memoryOptions.apply { try convolution.apply { try predict() } }
    }

    private func predict() throws {
        let metadata = try ModelMetadata.read(from: URL(fileURLWithPath: weights)).metadata
        // Images decode to the channel count the model was trained on.
        let color = metadata.inputShape.flatMap { $0.count == 3 ? $0[0] == 3 : nil }
        let read = try UnlabelledInputs.read(input, target: target, color: color)
        let trained = try TrainedModel.load(weights: weights, modelOptions: modelOptions, sampleShape: Array(read.inputs.shape.dropFirst()),
                                            outputCount: nil)
        let inputs = try trained.preprocessed(read.inputs, source: input)
        let outputs = Self.outputs(of: trained.model, on: inputs)
        let prediction = try Prediction(outputs: outputs, sampleNames: read.sampleNames, metadata: trained.metadata,
                                        probabilities: probs, topK: topK)
        if let output {
            try prediction.write(to: URL(fileURLWithPath: output), format: PredictionFormat(path: output)!)
        } else {
            print(prediction.csv, terminator: "")
        }
    }

    /// The model's outputs `[N, …]` on `inputs` in evaluation mode, in batches of 1000 samples.
    static func outputs(of model: Module<Float>, on inputs: Tensor<Float>) -> Tensor<Float> {
        let n = inputs.shape[0], batch = 1000
        var parts: [Tensor<Float>] = []
        for start in stride(from: 0, to: n, by: batch) {
            let rows = inputs.gathering(rows: Array(start..<min(start + batch, n)))
            parts.append(model.evaluating { model(Variable(rows)).value })
        }
        return parts.count == 1 ? parts[0] : Tensor(concatenating: parts, alongAxis: 0)
    }
}
