import Foundation
import NablaNN

/// Everything that shapes a training run besides the model, the data and the optimizer.
public struct TrainerConfiguration: Sendable {
    /// Full passes over the training data (ignored when ``steps`` is set).
    public var epochs = 10
    /// A budget of optimizer steps instead of epochs; the last epoch may stop part-way.
    public var steps: Int?
    public var loss = LossFunction.crossEntropy(labelSmoothing: 0)
    /// A penalty added to the loss for the decayable parameters (weights, not biases or
    /// normalization affine parameters).
    public var penalty = ParameterPenalty.none
    /// Gradient clipping by global L2 norm (`clip_grad_norm_`), applied before the optimizer step.
    public var clipNorm: Double?
    /// Gradient clipping by value (`clip_grad_value_`).
    public var clipValue: Double?
    /// Max-norm constraint on weight rows/filters, applied after every step.
    public var maxNorm: Double?
    /// Stop when the validation (or test) loss has not improved for this many epochs, then restore
    /// the best weights.
    public var earlyStoppingPatience: Int?
    /// Skip a step whose loss or gradients are not finite instead of stopping.
    public var skipNonFinite = false
    /// Where to write `checkpoint.safetensors` (every epoch) and `model.safetensors`.
    public var checkpointDirectory: URL?
    /// Also checkpoint every this many steps within an epoch.
    public var checkpointEverySteps: Int?
    /// Where to write TensorBoard events and `metrics.csv`/`metrics.jsonl`.
    public var logDirectory: URL?
    /// Histograms of every parameter and its gradient in TensorBoard, each epoch.
    public var logHistograms = true
    /// No progress output.
    public var quiet = false
    /// Batch size for evaluation passes.
    public var evaluationBatchSize = 1000

    public init() {}
}

/// The metrics of one finished epoch.
public struct EpochReport: Sendable {
    public var epoch: Int
    public var globalStep: Int
    public var learningRate: Double
    public var trainLoss: Double
    public var trainAccuracy: Double?
    /// Validation metrics when a validation set is given.
    public var validationLoss: Double?
    public var validationAccuracy: Double?
    /// Test metrics when a test set is given.
    public var testLoss: Double?
    public var testAccuracy: Double?
    public var testTop5Accuracy: Double?
    public var seconds: Double

    /// The metrics as a flat dictionary (history, CSV, TensorBoard tags).
    public var values: [String: Double] {
        var v: [String: Double] = ["epoch": Double(epoch), "step": Double(globalStep), "lr": learningRate,
                                   "train_loss": trainLoss, "seconds": seconds]
        v["train_accuracy"] = trainAccuracy
        v["val_loss"] = validationLoss
        v["val_accuracy"] = validationAccuracy
        v["test_loss"] = testLoss
        v["test_accuracy"] = testAccuracy
        v["test_top5_accuracy"] = testTop5Accuracy
        return v
    }
}

/// What a training run produced.
public struct TrainingResult: Sendable {
    public var epochs: [EpochReport]
    /// Why training stopped early, if it did (`"early stopping at epoch 7"`).
    public var stopReason: String?
    /// Wall-clock seconds of this invocation (a resumed run counts only its own part).
    public var seconds: Double
    public var progress: TrainingProgress
    /// The epoch whose weights early stopping restored at the end, or `nil` when the model holds
    /// the weights of its last step.
    public var restoredBestEpoch: Int? = nil
}
