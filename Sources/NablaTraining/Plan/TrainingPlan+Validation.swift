import Foundation
import NablaTensor
import NablaNN
import NablaData

extension TrainingPlan {
    /// The checks of ``validate()`` that need no data: the `--data` spec's form and parameters, the
    /// `--model` name, and options the model would silently ignore (`--norm` and `--dropout` on a
    /// model without such blocks, `--dropout-mode` on a built-in model without Dropout layers), plus
    /// the output settings that only make sense together.
    /// - Throws: ``NablaError`` naming the flag, the value and what it would apply to.
    func validateSpecifications() throws {
        _ = try DatasetSource.parse(data.spec, target: data.target)
        if model.description == nil {
            try BuiltinModels.checkName(model.name)
            try BuiltinModels.checkOptions(model.name, normalization: model.normalization, dropout: model.dropout)
            if model.dropoutMode != .inverted, BuiltinModels.hasDropoutLayers(model.name, dropout: model.dropout ?? 0) == false {
                throw NablaError(.invalidArgument, "--dropout-mode applies to models with Dropout layers; --model \(model.name) has none"
                                 + (BuiltinModels.readsDropout(model.name) ? " without --dropout P" : ""))
            }
        } else if model.normalization != nil || model.dropout != nil {
            throw NablaError(.invalidArgument, "--norm and --dropout apply to the built-in fcnet and line-mlp models, not to a model given by its layers")
        }
        if let every = output.logEvery, every < 1 { throw NablaError(.invalidArgument, "--log-every \(every) must be at least 1") }
    }
}

extension TrainingPlan.Model {
    /// Builds `description` (this model resolved for its data, ``resolvedDescription(inputShape:outputCount:)``)
    /// for samples of `inputShape`: initialized from `RandomGenerator(seed:)`, every `Dropout` set to
    /// ``dropoutMode``, `Linear` weights re-drawn by ``initialization`` (from stream `0x1417` of the
    /// seed), then ``initialWeights`` loaded.
    /// - Throws: ``NablaError`` for a model that does not fit the data, unreadable weights, or a
    ///   ``dropoutMode`` or ``initialization`` the model has no layer for.
    public func build(description: ModelDescription, inputShape: [Int], seed: UInt64) throws -> BuiltModel {
        if let declared = description.inputShape, declared != inputShape {
            throw NablaError(.shapeMismatch, "--model \(name): declares input_shape \(declared) but the data has samples of shape \(inputShape)")
        }
        var generator = RandomGenerator(seed: seed)
        let built = try description.build(inputShape: inputShape, using: &generator)
        let modules = built.model.namedModules().map { $0.1 }
        let dropouts = modules.compactMap { $0 as? Dropout<Float> }
        if dropoutMode != .inverted && dropouts.isEmpty {
            throw NablaError(.invalidArgument, "--dropout-mode \(dropoutMode.rawValue) applies to models with Dropout layers; \(name) has none")
        }
        for dropout in dropouts { dropout.mode = dropoutMode }
        if initialization != .pytorchDefault {
            guard modules.contains(where: { $0 is Linear<Float> }) else {
                throw NablaError(.invalidArgument, "--weight-init \(initialization.rawValue) re-initializes Linear layers; \(name) has none")
            }
            var initGenerator = RandomGenerator(seed: seed, stream: 0x1417)
            initialization.apply(to: built.model, using: &initGenerator)
        }
        if let initialWeights { try built.model.load(from: URL(fileURLWithPath: initialWeights)) }
        return built
    }
}
