import Foundation
import NablaTensor
import NablaIO
import NablaTraining

/// What a study measures in a run besides the Trainer's own figures (see ``StudyWorker``).
///
/// The Trainer reports, per epoch, the running mini-batch loss (training mode) and the metrics of
/// the plan's validation split. A study also wants figures the Trainer does not compute, and one it
/// must compute exactly once: the test set, after training, when every choice has been made.
public struct StudyMeasurement: Codable, Equatable, Sendable {
    /// Evaluate the clean training part in evaluation mode after every epoch, so that the train–test
    /// gap compares like with like (dropout off, no augmentation).
    public var evaluatesTrainEveryEpoch = true
    /// Evaluate at most this many training images (the first ones) for those figures; `nil`: all.
    public var trainEvaluationLimit: Int?
    /// The Frobenius norm of every weight (decayable parameter) after every epoch.
    public var recordsWeightNorms = true
    /// Evaluate the dataset's test split once, after training: loss, accuracy, expected calibration
    /// error and the confusion matrix. Tuning runs leave it off; final runs turn it on.
    public var evaluatesTestOnce = false
    /// Equal-width confidence bins of the expected calibration error (Guo et al., 2017).
    public var calibrationBins = 15

    /// Train figures and weight norms every epoch, no test evaluation.
    public init() {}

    /// The measurement of a final run: as ``init()``, plus the one test evaluation.
    public static var finalRun: StudyMeasurement {
        var m = StudyMeasurement()
        m.evaluatesTestOnce = true
        return m
    }

    /// The measurement of a tuning trial: validation figures only (the Trainer's), nothing else.
    public static var tuningTrial: StudyMeasurement {
        var m = StudyMeasurement()
        m.evaluatesTrainEveryEpoch = false
        m.recordsWeightNorms = false
        return m
    }
}

/// One run of a study, described completely: the ``TrainingPlan`` (model, data, optimizer, budget,
/// seed, where its TensorBoard logs go) and what to measure. Jobs are values that cross process
/// boundaries as JSON, so any ``StudyExecutor`` — in this process, in worker processes, on MPI
/// ranks — can run them, and the ``StudyResultCache`` can name their results.
public struct StudyJob: Codable, Equatable, Sendable {
    /// A readable identifier, unique within a study: `mlp/final/dropout/seed-3`. Also the run's
    /// directory under the study's `runs/`.
    public var id: String
    /// The run: model, data, optimizer, schedule, epochs, seed and where its logs go.
    public var plan: TrainingPlan
    /// What to measure besides training (per-epoch evaluations, the test split once, weight norms).
    public var measurement: StudyMeasurement
    /// What the plan's data spec refers to: the spec for an installed dataset, the SHA-256 of the file
    /// for a dataset file (so that regenerated data with different contents is a different run).
    public var dataIdentity: String

    /// A job named `id` that trains `plan` and measures `measurement` on the data `dataIdentity` names.
    public init(id: String, plan: TrainingPlan, measurement: StudyMeasurement, dataIdentity: String) {
        self.id = id
        self.plan = plan
        self.measurement = measurement
        self.dataIdentity = dataIdentity
    }

    /// The version of ``StudyRunResult``'s content; bumping it invalidates every cached result.
    public static let resultFormatVersion = 1

    /// The cache key: SHA-256 of the result format version, the plan's ``TrainingPlan/fingerprint``
    /// (everything that decides the trained weights, outputs excluded), the measurement and the data
    /// identity. Two jobs with the same key produce the same result.
    public var key: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let measurementJSON = (try? encoder.encode(measurement)).map { String(decoding: $0, as: UTF8.self) } ?? ""
        return SHA256.hexDigest("nabla-study-result/\(Self.resultFormatVersion)\n\(plan.fingerprint)\n\(measurementJSON)\n\(dataIdentity)")
    }

    /// The identity of the data a `--data` spec names: the spec itself for a built-in dataset or a
    /// generator, the SHA-256 of the file's bytes (with the spec) for a file.
    /// - Throws: ``NablaError`` (`.io`) when a file cannot be read.
    public static func dataIdentity(of spec: String) throws -> String {
        let url = URL(fileURLWithPath: spec)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            return spec
        }
        guard let data = try? Data(contentsOf: url) else {
            throw NablaError(.io, "\(spec): cannot read the data file")
        }
        return spec + "@sha256:" + SHA256.digest(data).map { String(format: "%02x", $0) }.joined()
    }
}
