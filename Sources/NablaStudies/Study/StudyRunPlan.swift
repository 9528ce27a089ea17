import Foundation
import NablaTensor
import NablaNN
import NablaData
import NablaTraining

/// One training run of a study, specified completely: model, initialization, optimizer, penalty,
/// augmentation, budget and seed. ``StudyRunner`` trains it with the library's ``/NablaTraining/Trainer`` and the
/// same seeding as `nabla train`, so ``StudyRunner/trainCommand(for:)`` repeats it exactly.
public struct StudyRunPlan: Sendable {
    /// A short identifier: the run's directory name (`l2-decay`).
    public var key: String
    /// The name in tables and legends.
    public var name: String
    /// One sentence on what the run changes.
    public var summary: String
    /// The network, as a model description.
    public var model: ModelDescription
    /// How the `Linear` weights are initialized (default: PyTorch's).
    public var initialization = WeightInitialization.pytorchDefault
    /// The variant of every `Dropout` layer.
    public var dropoutMode = DropoutMode.inverted
    /// The optimizer and its hyper-parameters.
    public var optimizer: OptimizerSpecification
    /// A learning-rate schedule stepped once per epoch (`nabla train --schedule`).
    public var schedule: ScheduleSpecification?
    /// A penalty added to the loss for the weights (not biases or normalization parameters).
    public var penalty = ParameterPenalty.none
    /// Augmentation of every training batch.
    public var augmentation: AugmentationPipeline?
    /// The data loss (default: cross-entropy).
    public var loss = LossFunction.crossEntropy(labelSmoothing: 0)
    /// Epochs of training.
    public var epochs: Int
    /// Mini-batch size.
    public var batchSize: Int
    /// Seed of initialization, shuffling, dropout and augmentation.
    public var seed: UInt64
    /// Gradient clipping by global norm.
    public var clipNorm: Double?
    /// Hold out this fraction of the training data for validation (`nabla train --val-split`); the run
    /// is then measured on the validation part instead of the test set.
    public var validationFraction = 0.0
    /// Histograms of every parameter and gradient in TensorBoard each epoch (the Trainer's); otherwise
    /// only the weights, about ten times per run.
    public var logsHistogramsEveryEpoch = true

    /// A plan with PyTorch's initialization, no schedule, penalty, augmentation or clipping, and cross-entropy.
    public init(key: String, name: String, summary: String, model: ModelDescription, optimizer: OptimizerSpecification,
                epochs: Int, batchSize: Int, seed: UInt64) {
        self.key = key
        self.name = name
        self.summary = summary
        self.model = model
        self.optimizer = optimizer
        self.epochs = epochs
        self.batchSize = batchSize
        self.seed = seed
    }

    /// The exact configuration, for the report.
    public var settings: [StudySetting] {
        var s = [StudySetting("model", model.name), StudySetting("optimizer", Self.describe(optimizer))]
        if let schedule { s.append(StudySetting("learning-rate schedule", schedule.spec + " (stepped per epoch)")) }
        if initialization != .pytorchDefault { s.append(StudySetting("initialization", initialization.displayName + " weights, zero biases")) }
        if penalty != .none { s.append(StudySetting("penalty", "\(penalty) on the weights (not biases or normalization parameters)")) }
        if let augmentation { s.append(StudySetting("augmentation", augmentation.description)) }
        if model.layers.contains(where: { $0.type == "Dropout" }) || dropoutMode == .vanilla {
            s.append(StudySetting("dropout mode", dropoutMode.rawValue))
        }
        if let clipNorm { s.append(StudySetting("gradient clipping", "global norm \(clipNorm)")) }
        s.append(StudySetting("loss", loss.description))
        s.append(StudySetting("epochs", String(epochs)))
        s.append(StudySetting("batch size", String(batchSize)))
        if validationFraction > 0 { s.append(StudySetting("validation split", String(validationFraction))) }
        s.append(StudySetting("seed", String(seed)))
        return s
    }

    /// `sgd(lr=0.05, momentum=0.9, weight_decay=0.005 on weights only)`.
    static func describe(_ o: OptimizerSpecification) -> String { o.description }

    /// A number as short as it reads exactly (`0.05`, `1e-05`).
    static func format(_ x: Double) -> String {
        let text = "\(x)"
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }
}
