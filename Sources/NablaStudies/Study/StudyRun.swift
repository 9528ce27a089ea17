import Foundation
import NablaTensor

/// One epoch of a study run. The `train…` figures are measured like the test figures — in evaluation
/// mode on the clean training set — so that the train–test gap compares like with like (the
/// Trainer's own running training loss is measured in training mode, with dropout active and on
/// augmented batches, and is kept as ``runningTrainLoss``).
public struct StudyEpoch: Sendable, Equatable {
    /// The epoch number, from 1.
    public var epoch: Int
    /// The mean loss on the clean training set, in evaluation mode.
    public var trainLoss: Double
    /// The top-1 accuracy on the clean training set, or `nil` for regression.
    public var trainAccuracy: Double?
    /// The mean loss on the test set.
    public var testLoss: Double
    /// The top-1 accuracy on the test set, or `nil` for regression.
    public var testAccuracy: Double?
    /// The Trainer's mean mini-batch loss of the epoch, in training mode.
    public var runningTrainLoss: Double
    /// Wall-clock seconds of the epoch, evaluation included.
    public var seconds: Double

    /// An epoch's figures.
    public init(epoch: Int, trainLoss: Double, trainAccuracy: Double?, testLoss: Double, testAccuracy: Double?,
                runningTrainLoss: Double, seconds: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.trainAccuracy = trainAccuracy
        self.testLoss = testLoss
        self.testAccuracy = testAccuracy
        self.runningTrainLoss = runningTrainLoss
        self.seconds = seconds
    }
}

/// A named value of a run's configuration, shown in the report.
public struct StudySetting: Sendable, Equatable {
    /// The setting's name (`optimizer`).
    public var name: String
    /// Its value as shown (`SGD lr=0.03 momentum=0.9`).
    public var value: String
    /// A setting `name = value`.
    public init(_ name: String, _ value: String) {
        self.name = name
        self.value = value
    }
}

/// The record of one training run of a study: what was trained, how, and what it measured.
public struct StudyRun: Sendable {
    /// A short identifier (`l2-decay`), also the name of the run's log directory.
    public var key: String
    /// The name shown in tables and legends (`L2 weight decay`).
    public var name: String
    /// One sentence on what the run changes.
    public var summary: String
    /// The exact configuration: model, optimizer, penalty, augmentation, epochs, batch size, seed, …
    public var settings: [StudySetting]
    /// The model file (YAML) of the run.
    public var modelYAML: String
    /// The `nabla train` command that repeats this run on its own.
    public var command: String
    /// The figures of every epoch, oldest first.
    public var epochs: [StudyEpoch]
    /// Wall-clock seconds of the whole run.
    public var seconds: Double
    /// Fraction of the weights (decayable parameters) with |w| < 10⁻³ after training.
    public var sparsity: Double
    /// The decayable weights after training, for histograms.
    public var weights: [Double]
    /// Where the TensorBoard events and metrics of the run are.
    public var logDirectory: URL?
    /// Why training stopped early, if it did.
    public var note: String?

    /// A run record; everything but the names and summary defaults to empty.
    public init(key: String, name: String, summary: String, settings: [StudySetting] = [], modelYAML: String = "",
                command: String = "", epochs: [StudyEpoch] = [], seconds: Double = 0, sparsity: Double = 0,
                weights: [Double] = [], logDirectory: URL? = nil, note: String? = nil) {
        self.key = key
        self.name = name
        self.summary = summary
        self.settings = settings
        self.modelYAML = modelYAML
        self.command = command
        self.epochs = epochs
        self.seconds = seconds
        self.sparsity = sparsity
        self.weights = weights
        self.logDirectory = logDirectory
        self.note = note
    }

    /// The last epoch's figures.
    public var final: StudyEpoch? { epochs.last }

    /// The generalization gap in accuracy, `train accuracy − test accuracy` of the last epoch
    /// (both in evaluation mode); `nil` for regression.
    public var accuracyGap: Double? {
        guard let last = final, let train = last.trainAccuracy, let test = last.testAccuracy else { return nil }
        return generalizationGap(train: train, test: test)
    }

    /// The generalization gap in loss, `test loss − train loss` of the last epoch.
    public var lossGap: Double? {
        guard let last = final else { return nil }
        return last.testLoss - last.trainLoss
    }

    /// The best test accuracy over the epochs.
    public var bestTestAccuracy: Double? { epochs.compactMap(\.testAccuracy).max() }
}

/// The generalization gap of a score where larger is better (accuracy): `train − test`. Positive
/// when the model does better on the data it was fitted to than on unseen data.
public func generalizationGap(train: Double, test: Double) -> Double { train - test }

/// The fraction of `parameters`' elements with `|w| < threshold` (10⁻³ by default): how sparse the
/// weights are. An L1 penalty drives weights to exactly zero (its subgradient is a constant pull
/// towards 0), so it shows up here; an L2 penalty only shrinks them. Returns 0 for no elements.
public func weightSparsity<Scalar: TensorScalar>(_ parameters: [Variable<Scalar>], threshold: Double = 1e-3) -> Double {
    var small = 0, total = 0
    let bound = Scalar(threshold)
    for p in parameters {
        p.value.withUnsafeBufferPointer { w in
            for x in w where abs(x) < bound { small += 1 }
            total += w.count
        }
    }
    return total == 0 ? 0 : Double(small) / Double(total)
}
