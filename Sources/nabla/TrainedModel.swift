import ArgumentParser
import Foundation
import Nabla

/// A trained model read back for `evaluate` and `predict`: its weights, the metadata `nabla train`
/// saved with them (``ModelMetadata``), and the model built and loaded.
///
/// The layers, input shape, normalization and class names come from the metadata; `--model` and
/// the architecture flags are needed only for weights without it (saved by PyTorch, or by an older
/// Nabla), and when given with it they must describe the same model — a mismatch is an error
/// rather than a silently different model.
struct TrainedModel {
    let metadata: ModelMetadata
    let built: BuiltModel
    /// The weights file, for messages.
    let path: String

    var model: Module<Float> { built.model }
    /// Outputs per sample (classes for a classifier).
    var outputCount: Int { built.outputShape.reduce(1, *) }

    /// Reads `weights` and builds its model for samples of `sampleShape` (the data's, or `nil` to
    /// take the metadata's); `outputCount` sizes a built-in model when the weights carry no model
    /// and the last layer's outputs cannot be read from them.
    /// - Throws: ``NablaError`` for an unreadable file, a model missing or contradicting the
    ///   metadata, or data whose samples do not fit it.
    static func load(weights: String, modelOptions: ModelOptions, sampleShape: [Int]?, outputCount: Int?) throws -> TrainedModel {
        let url = URL(fileURLWithPath: weights)
        let (file, metadata) = try ModelMetadata.read(from: url)
        if let saved = metadata.inputShape, let sampleShape, saved != sampleShape {
            throw NablaError(.shapeMismatch, "\(weights): the model was trained on samples of shape \(saved), the data has \(sampleShape)")
        }
        guard let inputShape = metadata.inputShape ?? sampleShape else {
            throw NablaError(.invalidArgument, "\(weights): carries no input shape (not saved by nabla train); give data whose samples it takes")
        }
        var selection = modelOptions.selection
        let description: ModelDescription
        if let saved = metadata.model {
            description = saved
            if modelOptions.model != nil || modelOptions.architecture.norm != nil || modelOptions.architecture.dropout != nil {
                let outputs = saved.lastLinearOutputCount(in: file.tensors) ?? outputCount ?? 1
                let given = try selection.resolvedDescription(inputShape: inputShape, outputCount: outputs)
                guard given.layers == saved.layers else {
                    throw NablaError(.invalidArgument, "--model \(modelOptions.model ?? metadata.modelName ?? "?"): is not the model saved with "
                                     + "\(weights) (\(metadata.modelName ?? "its layers")); leave --model out to use the saved one")
                }
            }
            if let mode = modelOptions.dropoutMode, DropoutMode(rawValue: mode.lowercased()) != metadata.dropoutMode {
                throw NablaError(.invalidArgument, "--dropout-mode \(mode): the model was trained with \(metadata.dropoutMode.rawValue) dropout")
            }
            selection.dropoutMode = metadata.dropoutMode
        } else {
            guard modelOptions.model != nil else {
                throw NablaError(.invalidArgument, "\(weights): carries no model description (not saved by nabla train); name the model with --model")
            }
            // Size a built-in model's last layer from the weights themselves.
            let probe = try selection.resolvedDescription(inputShape: inputShape, outputCount: outputCount ?? 1)
            description = try selection.resolvedDescription(inputShape: inputShape, outputCount: probe.lastLinearOutputCount(in: file.tensors) ?? outputCount ?? 1)
        }
        let built = try selection.build(description: description, inputShape: inputShape, seed: 0)
        try built.model.load(from: url)
        return TrainedModel(metadata: metadata, built: built, path: weights)
    }

    /// `inputs` standardized as the model's inputs were in training (unchanged without normalization).
    /// - Throws: ``NablaError`` when the inputs have another channel count than the statistics.
    func preprocessed(_ inputs: Tensor<Float>, source: String) throws -> Tensor<Float> {
        guard let normalization = metadata.normalization else { return inputs }
        let channels = inputs.rank >= 2 ? inputs.shape[1] : 1
        guard channels == normalization.mean.count else {
            throw NablaError(.shapeMismatch, "\(source): \(channels) channels, but \(path) normalizes \(normalization.mean.count)")
        }
        return normalization.applied(to: inputs)
    }

    /// `dataset` with its labels renumbered to the model's classes by name, when both name their
    /// classes (a test file may hold fewer classes, in another order).
    /// - Throws: ``NablaError`` naming a class the model does not know.
    func aligned(_ dataset: Dataset) throws -> Dataset {
        guard let modelNames = metadata.classNames, let dataNames = dataset.classNames, modelNames != dataNames,
              case .classes(let labels, _) = dataset.targets else { return dataset }
        let index = Dictionary(modelNames.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let mapping = try dataNames.map { name -> Int in
            guard let i = index[name] else {
                throw NablaError(.invalidArgument, "\(dataset.name): class '\(name)' is not one of the model's classes (\(modelNames.joined(separator: ", ")))")
            }
            return i
        }
        var copy = dataset
        copy.targets = .classes(labels.map { mapping[$0] }, classCount: modelNames.count)
        copy.classNames = modelNames
        return copy
    }
}
