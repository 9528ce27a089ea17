import Foundation
import NablaTensor
import NablaTraining

/// What an executor reports about a job while it runs it.
public enum StudyJobEvent: Sendable {
    /// An epoch finished (for progress display).
    case epoch(StudyRunResult.Epoch)
    /// The job finished with this result.
    case finished(StudyRunResult)
}

/// Runs a batch of independent ``StudyJob``s somewhere: the seam between a study, which decides
/// *what* to train, and the machinery that trains it.
///
/// A study hands its executor batches of jobs through ``StudyEngine``, which has already removed the
/// jobs whose results are cached and stores every result the executor reports. An executor only has
/// to run each job of the batch once — with ``StudyWorker/perform(_:onEpoch:)``, the one function
/// that trains a job — and report its events, in any order, **on the calling thread**.
///
/// Implementations:
/// - ``InProcessStudyExecutor``: one job after another in this process (`--jobs 1`, tests);
/// - ``WorkerProcessStudyExecutor``: up to J local worker processes (`nabla study worker`) at once.
///
/// Adding another one (e.g. MPI ranks, where rank 0 runs the study and hands jobs to the other
/// ranks, each of which loops over `StudyWorker.perform`): jobs and results are `Codable` and cross
/// process boundaries as one line of JSON each (see ``StudyWorkerProtocol``); the results must be
/// reported on the thread that called ``execute(_:report:)``; the executor must not write anything
/// but the jobs' own logs (their ``TrainingPlan/Output/logDirectory``), since the study writes the
/// report, `results.json` and the cache.
public protocol StudyExecutor: AnyObject {
    /// How runs are executed, for the progress output ("2 worker processes × 1 thread").
    var summary: String { get }

    /// Runs every job of `jobs` once and calls `report(index, event)` for each of its events, on the
    /// calling thread, `index` being the job's position in `jobs`.
    ///
    /// When a job fails (it throws, or its worker dies), the executor starts no further job, lets
    /// the running ones finish and report, and then throws the first error. An error thrown by
    /// `report` is handled the same way.
    /// - Throws: ``NablaError`` from a failed job or from `report`.
    func execute(_ jobs: [StudyJob], report: (Int, StudyJobEvent) throws -> Void) throws
}

/// Runs the jobs one after another in this process, with one ``StudyWorker`` (which keeps the data
/// it has read). Deterministic and simple: the executor of `--jobs 1` and of the tests.
public final class InProcessStudyExecutor: StudyExecutor {
    /// The worker that trains every job (it keeps the data it has read between jobs).
    public let worker: StudyWorker

    /// An executor that trains with `worker`.
    public init(worker: StudyWorker = StudyWorker()) {
        self.worker = worker
    }

    /// `in this process`.
    public var summary: String { "in this process" }

    /// Trains `jobs` in order, reporting each job's epochs and then its result.
    public func execute(_ jobs: [StudyJob], report: (Int, StudyJobEvent) throws -> Void) throws {
        try withoutActuallyEscaping(report) { report in
            for (index, job) in jobs.enumerated() {
                var failure: Error?
                let result = try worker.perform(job) { epoch in
                    do { try report(index, .epoch(epoch)) } catch { if failure == nil { failure = error } }
                }
                if let failure { throw failure }
                try report(index, .finished(result))
            }
        }
    }
}
