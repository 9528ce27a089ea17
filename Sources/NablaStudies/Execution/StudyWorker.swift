import Foundation
import NablaTensor
import NablaNN
import NablaData
import NablaTraining

/// Runs ``StudyJob``s: the one function every ``StudyExecutor`` ends up calling, in this process or in
/// a worker process (`nabla study worker`) or on an MPI rank.
///
/// A job's plan is prepared with ``TrainingPlan/prepare(loaded:)`` — the same code `nabla train
/// --plan` runs — and trained by the library's ``Trainer``, with a ``TrainingCallback`` that records
/// the figures of ``StudyMeasurement`` after every epoch. The test split is never given to the
/// Trainer: when the measurement asks for it, the trained model is evaluated on it once, after
/// `fit()` returns.
///
/// The worker keeps every dataset it has read (keyed by spec), so a process that runs many jobs on
/// Fashion-MNIST decodes it once.
public final class StudyWorker {
    private var loaded: [String: (train: Dataset, test: Dataset?)] = [:]

    /// A worker that has read no data yet.
    public init() {}

    /// Makes `train` and `test` the data of `spec`, so jobs on it do not read it again (the study
    /// process has read it already).
    public func preload(spec: String, train: Dataset, test: Dataset?) {
        loaded[spec] = (train, test)
    }

    /// The splits of the plan's data spec, read once per process.
    func data(for plan: TrainingPlan) throws -> (train: Dataset, test: Dataset?) {
        // Generated datasets depend on the seed; files and installed datasets do not.
        let key = plan.data.spec.hasPrefix("synthetic:") ? "\(plan.data.spec)#\(plan.seed)" : plan.data.spec
        let cacheKey = key + "|" + (plan.data.target ?? "")
        if let data = loaded[cacheKey] { return data }
        let data = try DatasetSource.parse(plan.data.spec, target: plan.data.target).load(seed: plan.seed)
        loaded[cacheKey] = data
        return data
    }

    /// Trains `job` and measures it.
    ///
    /// A run that diverges (a non-finite loss or gradient) is a result, not a failure: the Trainer
    /// stops before the bad step touches the weights, so the figures are those of the last good
    /// weights, and ``StudyRunResult/divergence`` says where it stopped.
    /// - Parameter onEpoch: called after every epoch with its figures (progress display).
    /// - Throws: ``NablaError`` for an invalid plan, unreadable data, or logs that cannot be written.
    public func perform(_ job: StudyJob, onEpoch: ((StudyRunResult.Epoch) -> Void)? = nil) throws -> StudyRunResult {
        let start = Date()
        if let directory = job.plan.output.logDirectory {
            // A run that was interrupted earlier starts its logs afresh.
            try? FileManager.default.removeItem(atPath: directory)
        }
        let data = try self.data(for: job.plan)
        let session = try job.plan.prepare(loaded: (data.train, nil))
        let trainer = session.trainer, model = session.model
        let recorder = StudyMeasurementCallback(measurement: job.measurement, trainSet: session.data.train,
                                                loss: session.loss, onEpoch: onEpoch)
        trainer.callbacks.append(recorder)
        var divergence: String?
        do {
            _ = try trainer.fit()
        } catch let error as NablaError where error.kind == .nonFinite {
            divergence = error.message
        }
        var result = StudyRunResult(epochs: recorder.epochs, weightNames: recorder.weightNames,
                                    sparsity: weightSparsity(model.decayableParameters()),
                                    parameterCount: model.parameterCount, divergence: divergence)
        if job.measurement.evaluatesTestOnce {
            guard var test = data.test else {
                throw NablaError(.invalidArgument, "--data \(job.plan.data.spec): the study needs a test split")
            }
            if let statistics = session.data.normalization { test = test.normalized(mean: statistics.mean, std: statistics.std) }
            result.test = evaluateSplit(model, on: test, split: "test", loss: session.loss,
                                        calibrationBins: job.measurement.calibrationBins)
        }
        result.seconds = Date().timeIntervalSince(start)
        return result
    }
}

/// Records a ``StudyMeasurement`` after every epoch of a ``Trainer``: the clean training figures,
/// the validation figures the Trainer computed, and the weights' norms.
final class StudyMeasurementCallback: TrainingCallback {
    let name = "study.measurement"
    let measurement: StudyMeasurement
    let trainSet: Dataset
    let loss: LossFunction
    let onEpoch: ((StudyRunResult.Epoch) -> Void)?
    private(set) var epochs: [StudyRunResult.Epoch] = []
    private(set) var weightNames: [String] = []

    init(measurement: StudyMeasurement, trainSet: Dataset, loss: LossFunction, onEpoch: ((StudyRunResult.Epoch) -> Void)?) {
        self.measurement = measurement
        if let limit = measurement.trainEvaluationLimit, limit < trainSet.count {
            self.trainSet = trainSet.subset(Array(0..<limit))
        } else {
            self.trainSet = trainSet
        }
        self.loss = loss
        self.onEpoch = onEpoch
    }

    func trainingWillBegin(_ trainer: Trainer) throws {
        weightNames = measurement.recordsWeightNorms ? trainer.model.namedDecayableParameters().map(\.name) : []
    }

    func epochDidEnd(_ trainer: Trainer, report: EpochReport) throws {
        let started = Date()
        var epoch = StudyRunResult.Epoch(epoch: report.epoch, step: report.globalStep, learningRate: report.learningRate,
                                         runningLoss: report.trainLoss, validationLoss: report.validationLoss,
                                         validationAccuracy: report.validationAccuracy)
        if measurement.evaluatesTrainEveryEpoch {
            let clean = evaluate(trainer.model, on: trainSet, loss: loss)
            epoch.trainLoss = clean.loss
            epoch.trainAccuracy = clean.accuracy
        }
        if measurement.recordsWeightNorms {
            epoch.weightNorms = trainer.model.namedDecayableParameters().map { parameter in
                parameter.variable.value.withUnsafeBufferPointer { w in
                    var sum = 0.0
                    for x in w { sum += Double(x) * Double(x) }
                    return sum.squareRoot()
                }
            }
        }
        epoch.seconds = report.seconds + Date().timeIntervalSince(started)
        epochs.append(epoch)
        onEpoch?(epoch)
    }
}
