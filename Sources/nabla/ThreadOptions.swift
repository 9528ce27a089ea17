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
    /// cores of its own (then the process sees only those).
    func apply(_ launch: LaunchEnvironment = LaunchEnvironment()) {
        var count = threads ?? Parallelism.availableCoreCount
        if threads == nil, let local = launch.localSize, local > 1,
           Parallelism.availableCoreCount >= ProcessInfo.processInfo.activeProcessorCount {
            count = max(1, count / local)
        }
        Parallelism.setThreadCount(count)
    }
}
