import Foundation
import NablaTensor

/// What one study run measured, as a value that can be cached and sent between processes (JSON).
///
/// Every figure says which split it comes from: ``Epoch/trainLoss`` and ``Epoch/trainAccuracy`` on
/// the clean training part (evaluation mode), ``Epoch/validationLoss`` and
/// ``Epoch/validationAccuracy`` on the plan's validation split, and ``test`` — present only for
/// final runs — on the test split, evaluated once after training.
public struct StudyRunResult: Codable, Equatable, Sendable {
    /// The figures of one finished epoch.
    public struct Epoch: Codable, Equatable, Sendable {
        /// The epoch's index, from 0.
        public var epoch: Int
        /// Optimizer steps taken so far.
        public var step: Int
        /// The learning rate of the epoch's steps.
        public var learningRate: Double
        /// The Trainer's mean mini-batch loss of the epoch, in training mode (dropout on, augmented
        /// batches, penalty excluded).
        public var runningLoss: Double
        /// Loss and accuracy on the clean training part in evaluation mode (`nil` when not measured).
        public var trainLoss: Double?
        /// Top-1 accuracy on the clean training part in evaluation mode (`nil` when not measured).
        public var trainAccuracy: Double?
        /// Loss and accuracy on the validation split (`nil` without one).
        public var validationLoss: Double?
        /// Top-1 accuracy on the validation split (`nil` without one).
        public var validationAccuracy: Double?
        /// The Frobenius norm ‖W‖ of every weight, in the order of ``StudyRunResult/weightNames``
        /// (`nil` when not measured).
        public var weightNorms: [Double]?
        /// Wall-clock seconds of the epoch, evaluations included.
        public var seconds: Double

        /// The figures of epoch `epoch` (see the properties).
        public init(epoch: Int, step: Int, learningRate: Double, runningLoss: Double, trainLoss: Double? = nil,
                    trainAccuracy: Double? = nil, validationLoss: Double? = nil, validationAccuracy: Double? = nil,
                    weightNorms: [Double]? = nil, seconds: Double = 0) {
            self.epoch = epoch
            self.step = step
            self.learningRate = learningRate
            self.runningLoss = runningLoss
            self.trainLoss = trainLoss
            self.trainAccuracy = trainAccuracy
            self.validationLoss = validationLoss
            self.validationAccuracy = validationAccuracy
            self.weightNorms = weightNorms
            self.seconds = seconds
        }
    }

    /// One evaluation of a trained model on a whole split.
    public struct Evaluation: Codable, Equatable, Sendable {
        /// `"test"` (or `"validation"`).
        public var split: String
        /// Samples evaluated.
        public var count: Int
        /// The mean loss over the split's samples.
        public var loss: Double
        /// Top-1 accuracy (`nil` for regression).
        public var accuracy: Double?
        /// Expected calibration error of the top-1 confidence (`nil` for regression).
        public var calibrationError: Double?
        /// `confusion[true class][predicted class]` counts (`nil` for regression).
        public var confusion: [[Int]]?

        /// An evaluation of `count` samples of `split` (see the properties).
        public init(split: String, count: Int, loss: Double, accuracy: Double?, calibrationError: Double?, confusion: [[Int]]?) {
            self.split = split
            self.count = count
            self.loss = loss
            self.accuracy = accuracy
            self.calibrationError = calibrationError
            self.confusion = confusion
        }

        /// Accuracy per true class: the diagonal of ``confusion`` over its row sums.
        public var perClassAccuracy: [Double]? {
            confusion?.enumerated().map { k, row in
                let total = row.reduce(0, +)
                return total == 0 ? .nan : Double(row[k]) / Double(total)
            }
        }
    }

    /// Every finished epoch, in order.
    public var epochs: [Epoch]
    /// The names of the weights whose norms ``Epoch/weightNorms`` lists (`0.weight`, `2.weight`, …).
    public var weightNames: [String]
    /// The one evaluation on the test split, after training (final runs only).
    public var test: Evaluation?
    /// Fraction of the weights with |w| < 10⁻³ after training.
    public var sparsity: Double
    /// Trainable parameters of the model.
    public var parameterCount: Int
    /// Wall-clock seconds of the run.
    public var seconds: Double
    /// Set when training diverged (a non-finite loss or gradient): the message, naming the step. The
    /// figures are those of the last good weights.
    public var divergence: String?

    /// A result with the given epochs, weights, test evaluation and measurements (see the properties).
    public init(epochs: [Epoch] = [], weightNames: [String] = [], test: Evaluation? = nil, sparsity: Double = 0,
                parameterCount: Int = 0, seconds: Double = 0, divergence: String? = nil) {
        self.epochs = epochs
        self.weightNames = weightNames
        self.test = test
        self.sparsity = sparsity
        self.parameterCount = parameterCount
        self.seconds = seconds
        self.divergence = divergence
    }

    /// The last epoch's figures.
    public var final: Epoch? { epochs.last }

    /// The final validation accuracy, the score a tuning step ranks runs by: `nil` when the run
    /// diverged or has no validation split, so such a run is never chosen.
    public var selectionScore: Double? {
        guard divergence == nil else { return nil }
        return final?.validationAccuracy
    }
}
