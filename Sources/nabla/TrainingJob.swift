import Foundation
import Nabla

/// The processes one `nabla train` (or `nabla study`) runs on: this process alone, or the ranks of
/// an MPI job (`mpirun -np K nabla …`, or `--world-size K`, which starts that job).
///
/// In a job every rank runs the same command, and the job must fail as one: a step that can fail
/// on some ranks only (reading files, building the model) is wrapped in ``agree(_:)``, after which
/// either every rank goes on or every rank exits with the same status — and one line is printed,
/// by the lowest rank that failed. Errors later in training are common to all ranks by
/// construction (they see the same gradients and metrics), so rank 0 reports them.
struct TrainingJob {
    /// The job's ranks; `nil` for a plain single-process start (no MPI at all).
    let group: (any ProcessGroup)?

    var rank: Int { group?.rank ?? 0 }
    var size: Int { group?.size ?? 1 }
    /// Rank 0: the rank that writes and prints.
    var isCoordinator: Bool { rank == 0 }

    /// The job this process belongs to, for error reporting in ``NablaCommand/main()``.
    nonisolated(unsafe) static var current: TrainingJob?

    /// Set when every rank has agreed to fail (``agree(_:)``, ``requireSamePlan(_:)``): the ranks are
    /// healthy and all about to exit, so they can end the job with `MPI_Finalize`
    /// (``finishAfterAgreedFailure()``).
    nonisolated(unsafe) static var failedTogether = false

    /// After an agreed failure, `MPI_Finalize` on this rank before it exits: Open MPI's finalize waits
    /// for every rank, so the reporting rank's line has been written before any rank ends, and `mpirun`
    /// forwards it instead of tearing down a job whose ranks exited unfinalized (which lost the line
    /// now and then). Nothing after a failed collective, where a rank may be gone.
    static func finishAfterAgreedFailure() {
        guard failedTogether, let job = current else { return }
        try? job.finish()
    }

    /// The group the launcher started this process in (initializing MPI), or a single process.
    /// - Throws: the MPI error of initialization, or a launch by `mpirun` of a build without MPI.
    static func start(_ environment: LaunchEnvironment = LaunchEnvironment()) throws -> TrainingJob {
        guard environment.isLaunchedByMPI else { return TrainingJob(group: nil) }
        let group: any ProcessGroup
        do { group = try makeDefaultProcessGroup(environment: environment) } catch {
            throw NablaError(.invalidArgument, "\(error)")
        }
        let job = TrainingJob(group: group)
        current = job
        return job
    }

    /// Runs `body` on every rank and makes the ranks agree on the outcome: the value if every rank
    /// succeeded; otherwise the lowest failing rank throws its error and the others exit silently
    /// with the same status (``NablaCommand`` prints the one line).
    func agree<T>(_ body: () throws -> T) throws -> T {
        let outcome = Result { try body() }
        guard let group, group.size > 1 else { return try outcome.get() }
        var status: Int32 = 0
        if case .failure(let error) = outcome { status = NablaCommand.exitStatus(for: error) }
        let statuses = try collective { try group.allGather([status]) }.map { $0.first ?? 1 }
        guard let first = statuses.firstIndex(where: { $0 != 0 }) else { return try outcome.get() }
        Self.failedTogether = true
        if first == rank, case .failure(let error) = outcome {
            throw statuses.allSatisfy({ $0 != 0 }) ? error : RankError(rank: rank, underlying: error)
        }
        throw SilentExit(status: statuses[first])
    }

    /// Checks that every rank was started with the same plan (the same flags, the same plan file):
    /// ranks that disagree would train different models and pair mismatched collectives.
    /// - Throws: ``NablaError`` on rank 0 naming the ranks that differ; ``SilentExit`` on the others.
    func requireSamePlan(_ plan: TrainingPlan) throws {
        guard let group, group.size > 1 else { return }
        let digest = Array(SHA256.hexDigest(plan.canonicalJSON).utf8)
        let digests = try collective { try group.allGather(digest) }
        let differing = digests.indices.filter { digests[$0] != digests[0] }
        guard !differing.isEmpty else { return }
        Self.failedTogether = true
        guard isCoordinator else { throw SilentExit(status: 2) }
        throw UsageError(message: "the ranks were started with different training plans: rank\(differing.count > 1 ? "s" : "") \(differing.map(String.init).joined(separator: ", ")) differ\(differing.count > 1 ? "" : "s") from rank 0 (every rank needs the same flags and the same --plan file)")
    }

    /// The bytes of the file at `url` as rank 0 reads them, on every rank (`nil` when rank 0 has
    /// no such file): only rank 0 writes checkpoints, so only its disk is sure to have them.
    func shareFile(at url: URL?) throws -> [UInt8]? {
        var bytes: [UInt8]? = nil
        if isCoordinator, let url, FileManager.default.fileExists(atPath: url.path) {
            guard let data = try? Data(contentsOf: url) else { throw NablaError(.io, "\(url.path): cannot read the file") }
            bytes = Array(data)
        }
        guard let group, group.size > 1 else { return bytes }
        var length = [Int64(bytes?.count ?? -1)]
        try collective { try group.broadcast(&length, from: 0) }
        guard length[0] >= 0 else { return nil }
        var shared = bytes ?? [UInt8](repeating: 0, count: Int(length[0]))
        try collective { try group.broadcast(&shared, from: 0) }
        return shared
    }

    /// Ends the job after success: `MPI_Finalize` on every rank.
    func finish() throws {
        guard let group else { return }
        try collective { try group.finalize() }
    }

    /// A collective's error as a one-line ``NablaError``.
    private func collective<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as NablaError { throw error } catch {
            throw NablaError(.io, "rank \(rank) of \(size): \(error)")
        }
    }
}

/// An error of one rank of a job, printed as `nabla: rank R: <message>`.
struct RankError: Error {
    let rank: Int
    let underlying: Error
}

/// Ends this rank with `status` without printing: another rank reports why.
struct SilentExit: Error {
    let status: Int32
}

/// A usage error found after parsing (exit status 2), such as ranks started with different flags.
struct UsageError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}
