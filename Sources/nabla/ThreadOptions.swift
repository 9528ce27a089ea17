import ArgumentParser
import Nabla

/// `--threads`, shared by the commands that run models.
struct ThreadOptions: ParsableArguments {
    @Option(name: .long, help: "Threads for Nabla's kernels and matrix products (default: the cores this process may run on).")
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads \(threads) must be at least 1") }
    }

    /// Sets ``Parallelism/threadCount`` from the flag, or to the cores available to the process.
    func apply() {
        Parallelism.setThreadCount(threads ?? Parallelism.availableCoreCount)
    }
}
