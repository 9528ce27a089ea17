import ArgumentParser
import Nabla

/// The data-parallel flags of `nabla train`.
struct DistributedOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Train data-parallel on this many processes (ranks): starts `mpirun -np K` on this machine.",
        discussion: "The same as `mpirun -np K nabla train …` (use that, or srun, on a cluster). --batch-size stays the global batch, split evenly across the ranks; rank 0 writes the checkpoints, logs and output."))
    var worldSize: Int?

    @Flag(name: .long, help: "With several ranks, normalize every BatchNorm with the statistics of the whole global batch (SyncBatchNorm).")
    var syncBn = false

    func validate() throws {
        if let worldSize, worldSize < 1 { throw ValidationError("--world-size \(worldSize) must be at least 1") }
    }

    /// The number of ranks this process takes part in: the launcher's, else `--world-size`, else 1.
    func ranks(_ launch: LaunchEnvironment = LaunchEnvironment()) -> Int {
        launch.isLaunchedByMPI ? (launch.size ?? worldSize ?? 1) : (worldSize ?? 1)
    }
}
