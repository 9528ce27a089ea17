import Foundation
import NablaTensor
import NablaDistributed
import NablaTraining

/// Runs a study's jobs on the ranks of an MPI job (`mpirun -np K nabla study …`): rank 0 runs the
/// study and hands every batch of jobs to all ranks; each rank trains its share with its own
/// ``StudyWorker``; rank 0 gathers the results and alone writes the cache, the report and
/// `results.json`. On a cluster this is how a study of variants × seeds finishes in the time of its
/// longest few runs.
///
/// **Protocol** (collectives only, in the same order on every rank): rank 0 broadcasts a
/// ``Message`` — a batch of jobs, or the end of the study — as its byte count and then its JSON;
/// rank `r` trains jobs `r, r + K, r + 2K, …` of the batch (jobs of one stage cost about the same:
/// equal budgets), and the ranks allgather their outcomes. Ranks `1…K−1` loop in ``serve()`` until
/// the end message; rank 0 calls ``execute(_:report:)`` for each batch and ``finish()`` at the end.
/// Each job trains in one process exactly as in any other executor (``StudyWorker/perform(_:onEpoch:)``),
/// so the results are those of `--jobs 1`, bit for bit.
///
/// **Events.** Rank 0 reports its own jobs' epochs and results as they come; the other ranks'
/// results are reported when the batch is gathered (their epochs are not shown).
///
/// **Failures.** A rank whose job throws trains none of its remaining jobs of the batch and sends
/// the error with its finished results; rank 0 reports every result that arrived (so the cache
/// keeps them) and throws the first error, naming the rank. A rank that dies ends the job through
/// the launcher (`mpirun` stops every rank).
public final class ProcessGroupStudyExecutor: StudyExecutor {
    /// What rank 0 sends.
    public enum Message: Codable, Equatable, Sendable {
        /// Train these jobs with this many threads each.
        case batch(jobs: [StudyJob], threadsPerRun: Int)
        /// The study is over: leave ``serve()``.
        case end
    }

    /// The outcome of one job on the rank that trained it.
    struct Outcome: Codable {
        var index: Int
        var result: StudyRunResult?
        var error: String?
    }

    /// The ranks.
    public let group: any ProcessGroup
    /// Threads of each run (sent with every batch, so every rank trains as rank 0 asks).
    public let threadsPerRun: Int
    private let worker: StudyWorker

    /// An executor over `group`'s ranks; every rank creates one (rank 0 to execute, the others to serve).
    public init(group: any ProcessGroup, threadsPerRun: Int = 1, worker: StudyWorker = StudyWorker()) {
        precondition(threadsPerRun >= 1, "ProcessGroupStudyExecutor: threadsPerRun \(threadsPerRun) must be at least 1")
        self.group = group
        self.threadsPerRun = threadsPerRun
        self.worker = worker
    }

    /// `"K MPI ranks × T threads"`, for the progress output.
    public var summary: String { "\(group.size) MPI rank\(group.size == 1 ? "" : "s") × \(threadsPerRun) thread\(threadsPerRun == 1 ? "" : "s")" }

    /// Rank 0: trains `jobs` across the ranks and reports every event on this thread.
    /// - Precondition: this is rank 0.
    /// - Throws: the first failed job's error (``NablaError``, naming the rank when it is not 0), an
    ///   error thrown by `report`, or a failed collective.
    public func execute(_ jobs: [StudyJob], report: (Int, StudyJobEvent) throws -> Void) throws {
        precondition(group.rank == 0, "ProcessGroupStudyExecutor.execute runs on rank 0; the other ranks serve()")
        try send(.batch(jobs: jobs, threadsPerRun: threadsPerRun))
        var failure: Error?
        let own = train(jobs) { index, event in
            guard failure == nil else { return }
            do { try report(index, event) } catch { failure = error }
        }
        if let error = own.firstIndex(where: { $0.error != nil }).map({ own[$0].error! }), failure == nil {
            failure = NablaError(.invalidArgument, error)
        }
        let gathered = try gather(own)
        for (rank, outcomes) in gathered.enumerated().dropFirst() {
            for outcome in outcomes {
                if let result = outcome.result {
                    if failure == nil { do { try report(outcome.index, .finished(result)) } catch { failure = error } }
                } else if let error = outcome.error, failure == nil {
                    failure = NablaError(.invalidArgument, "rank \(rank): \(error)")
                }
            }
        }
        if let failure { throw failure }
    }

    /// Rank 0: tells the other ranks that the study is over (they return from ``serve()``).
    public func finish() throws {
        precondition(group.rank == 0, "ProcessGroupStudyExecutor.finish runs on rank 0")
        try send(.end)
    }

    /// Ranks `1…K−1`: trains this rank's share of every batch rank 0 sends, until the end message.
    /// - Throws: a failed collective or an undecodable message (a job's own failure is sent to rank 0).
    public func serve() throws {
        precondition(group.rank > 0, "ProcessGroupStudyExecutor.serve runs on ranks other than 0")
        while case .batch(let jobs, let threads) = try receive() {
            Parallelism.setThreadCount(threads)
            _ = try gather(train(jobs) { _, _ in })
        }
    }

    /// Trains this rank's share of `jobs` (indices `rank, rank + K, …`), stopping at the first failure.
    private func train(_ jobs: [StudyJob], report: (Int, StudyJobEvent) -> Void) -> [Outcome] {
        withoutActuallyEscaping(report) { report in
            var outcomes: [Outcome] = []
            for index in stride(from: group.rank, to: jobs.count, by: group.size) {
                do {
                    let result = try worker.perform(jobs[index]) { epoch in report(index, .epoch(epoch)) }
                    outcomes.append(Outcome(index: index, result: result))
                    report(index, .finished(result))
                } catch {
                    outcomes.append(Outcome(index: index, error: "\(jobs[index].id): \((error as? NablaError)?.message ?? "\(error)")"))
                    break
                }
            }
            return outcomes
        }
    }

    /// Every rank's outcomes, by rank.
    private func gather(_ outcomes: [Outcome]) throws -> [[Outcome]] {
        let bytes = Array(try JSONEncoder().encode(outcomes))
        return try group.allGather(bytes).map { try JSONDecoder().decode([Outcome].self, from: Data($0)) }
    }

    /// Rank 0 broadcasts `message`: its byte count, then its JSON.
    private func send(_ message: Message) throws {
        var bytes = Array(try JSONEncoder().encode(message))
        var count = [Int64(bytes.count)]
        try group.broadcast(&count, from: 0)
        try group.broadcast(&bytes, from: 0)
    }

    /// The message rank 0 broadcast.
    private func receive() throws -> Message {
        var count: [Int64] = [0]
        try group.broadcast(&count, from: 0)
        var bytes = [UInt8](repeating: 0, count: Int(count[0]))
        try group.broadcast(&bytes, from: 0)
        return try JSONDecoder().decode(Message.self, from: Data(bytes))
    }
}
