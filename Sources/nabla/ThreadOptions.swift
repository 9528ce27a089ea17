import ArgumentParser
import Foundation
import Nabla

/// `--threads`, shared by the commands that run models.
struct ThreadOptions: ParsableArguments {
    @Option(name: .long, help: "Threads for Nabla's kernels and matrix products (default: the cores this process may run on).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads \(threads) must be at least 1") }
    }

    /// Sets ``Parallelism/threadCount`` from the flag, or to the cores available to the process —
    /// shared among the ranks an MPI launcher started on this machine, unless it bound each rank to
    /// cores of its own (then the process sees only those). The ranks sharing the cores are passed
    /// on, so that more threads than cores in all make the worker threads sleep between jobs.
    func apply(_ launch: LaunchEnvironment = LaunchEnvironment()) {
        let sharing = Self.ranksSharingCores(launch)
        let count = threads ?? max(1, Parallelism.availableCoreCount / sharing)
        Parallelism.setThreadCount(count, processesSharingCores: sharing)
    }

    /// The ranks an MPI launcher started on this machine when they share its cores (it did not bind
    /// each rank to cores of its own: the process may run on every core), else 1.
    static func ranksSharingCores(_ launch: LaunchEnvironment = LaunchEnvironment()) -> Int {
        guard let local = launch.localSize, local > 1,
              Parallelism.availableCoreCount >= ProcessInfo.processInfo.activeProcessorCount else { return 1 }
        return local
    }
}
