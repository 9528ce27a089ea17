import Foundation
import NablaNN

/// Everything that shapes a training run besides the model, the data and the optimizer.
public struct TrainerConfiguration: Sendable {
    /// Full passes over the training data (ignored when ``steps`` is set).
    public var epochs = 10
    /// A budget of optimizer steps instead of epochs; the last epoch may stop part-way.
    public var steps: Int?
    /// The data loss, matched to the targets (default: cross-entropy without label smoothing).
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
    /// A step whose data loss exceeds this factor × max(1, the first step's data loss) stops
    /// training as diverged (before the parameters are updated); `nil` keeps training whatever the
    /// loss. The default, 1000, is far above the noise of mini-batch losses — a cross-entropy
    /// starting at ln 10 ≈ 2.3 must pass 2300 — while an exploding run gets there within a few steps
    /// (or reaches infinity, which is caught as non-finite).
    public var divergenceFactor: Double? = 1000
    /// An epoch whose mean training (data) loss ends above this factor × max(1, the first step's
    /// data loss) stops training as diverged, before its evaluation and checkpoint; `nil` turns the
    /// check off. The default, 5, catches a run that a too-high learning rate has wrecked without
    /// exploding (dead units, a cross-entropy stuck far above the ln C of guessing), while a whole
    /// epoch's mean is not moved there by the odd bad batch.
    public var epochDivergenceFactor: Double? = 5
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
    /// Gradient accumulation: one optimizer step per this many consecutive batches of an epoch (the
    /// last group of an epoch may be shorter). Each batch's loss is weighted by its share of the
    /// group's samples, so a step equals one step on the concatenated batch — the same gradient up to
    /// float summation order — except that batch normalization normalizes (and updates its running
    /// statistics) per batch, not per group. ``steps`` counts optimizer steps.
    public var accumulationSteps = 1
    /// The arithmetic of the linear maps and convolutions in ``Trainer/fit()`` and ``Trainer/evaluate(_:)``
    /// (``Precision``: float32, or bf16 products with Float accumulation and Float master weights, as
    /// `torch.autocast("cpu", dtype=torch.bfloat16)`). The trainer runs what it is given; a caller that
    /// wants the hardware fallback resolves it first (``Precision/resolvedForHardware``).
    public var precision = Precision.float32

    /// The defaults: 10 epochs, cross-entropy, no penalty, clipping, constraint, early stopping,
    /// checkpoints or logs; histograms on; evaluation in batches of 1000.
    public init() {}
}

/// The metrics of one finished epoch.
public struct EpochReport: Sendable {
    /// The epoch number, from 1.
    public var epoch: Int
    /// Optimizer steps taken in total at the end of the epoch.
    public var globalStep: Int
    /// The learning rate of the first parameter group at the end of the epoch, before the schedule steps.
    public var learningRate: Double
    /// The mean per-sample data loss of the epoch's training batches (without the penalty, in training mode).
    public var trainLoss: Double
    /// The top-1 accuracy on those batches, or `nil` for regression.
    public var trainAccuracy: Double?
    /// Validation metrics when a validation set is given.
    public var validationLoss: Double?
    /// The top-1 accuracy on the validation set, or `nil` for regression.
    public var validationAccuracy: Double?
    /// Test metrics when a test set is given.
    public var testLoss: Double?
    /// The top-1 accuracy on the test set, or `nil` for regression.
    public var testAccuracy: Double?
    /// The top-5 accuracy on the test set, or `nil` for regression.
    public var testTop5Accuracy: Double?
    /// Wall-clock seconds of the epoch, evaluation included.
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
    /// The reports of the epochs this invocation finished, oldest first.
    public var epochs: [EpochReport]
    /// Why training stopped early, if it did (`"early stopping after epoch 7: no improvement for 3 epochs;
    /// restored the weights of epoch 4"`).
    public var stopReason: String?
    /// Wall-clock seconds of this invocation (a resumed run counts only its own part).
    public var seconds: Double
    /// Where the run stands at the end (the resumed part included).
    public var progress: TrainingProgress
    /// The epoch whose weights early stopping restored at the end, or `nil` when the model holds
    /// the weights of its last step.
    public var restoredBestEpoch: Int? = nil
}
