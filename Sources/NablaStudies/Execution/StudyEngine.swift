import Foundation
import NablaTensor
import NablaTraining

/// Turns batches of ``StudyJob``s into results: cached results are read from the
/// ``StudyResultCache``, the rest go to the ``StudyExecutor``, and every result is stored the moment
/// it arrives. Jobs with the same ``StudyJob/key`` (say, a textbook setting that a tuning step
/// chooses again) run once.
///
/// A study calls ``run(_:stage:)`` once per stage whose jobs do not depend on each other — all tuning
/// trials, then all final runs — so an executor always sees as much parallel work as there is.
public final class StudyEngine {
    /// Where the jobs that are not cached run.
    public let executor: StudyExecutor
    /// Where results are kept between invocations; `nil` keeps nothing (every run trains).
    public let cache: StudyResultCache?
    /// Where stage lines, epochs and finished runs are reported.
    public let progress: StudyProgress
    /// Runs trained by this engine, and runs read from the cache, so far.
    public private(set) var trainedCount = 0
    /// Runs read from the cache so far (see ``trainedCount``).
    public private(set) var cachedCount = 0
    /// Seconds spent training (wall clock of the executor's batches).
    public private(set) var trainingSeconds = 0.0

    /// An engine that reads and stores results in `cache` and trains the rest with `executor`.
    public init(executor: StudyExecutor, cache: StudyResultCache?, progress: StudyProgress) {
        self.executor = executor
        self.cache = cache
        self.progress = progress
    }

    /// The result of every job, by ``StudyJob/id``.
    /// - Parameter stage: a name for the progress output ("tuning", "final runs").
    /// - Throws: ``NablaError`` from a failed run or from writing the cache; results that arrived
    ///   before the failure are cached.
    public func run(_ jobs: [StudyJob], stage: String) throws -> [String: StudyRunResult] {
        var results: [String: StudyRunResult] = [:]
        var pending: [StudyJob] = []
        var idsByKey: [String: [String]] = [:]
        for job in jobs {
            let key = job.key
            if idsByKey[key] != nil {
                idsByKey[key]!.append(job.id)
                continue
            }
            idsByKey[key] = [job.id]
            if let cached = cache?.result(forKey: key) {
                results[job.id] = cached
            } else {
                pending.append(job)
            }
        }
        let cached = idsByKey.count - pending.count
        cachedCount += cached
        progress.section("\(stage): \(idsByKey.count) run\(idsByKey.count == 1 ? "" : "s")"
                         + (cached > 0 ? ", \(cached) from the cache" : "")
                         + (pending.isEmpty ? "" : ", \(pending.count) to train (\(executor.summary))"))
        let start = Date()
        var done = 0
        try executor.execute(pending) { index, event in
            let job = pending[index]
            switch event {
            case .epoch(let epoch):
                progress.epoch(of: job, epoch, done: done, of: pending.count)
            case .finished(let result):
                try cache?.store(result, forKey: job.key)
                results[job.id] = result
                done += 1
                trainedCount += 1
                progress.finished(job, result, done: done, of: pending.count)
            }
        }
        trainingSeconds += Date().timeIntervalSince(start)
        for ids in idsByKey.values where ids.count > 1 {
            if let result = results[ids[0]] { for id in ids.dropFirst() { results[id] = result } }
        }
        return results
    }
}
