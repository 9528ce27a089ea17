import Foundation

/// What the environment variables say about how this process was started:
/// alone, or as one rank of a job started by an MPI launcher.
///
/// Launchers tell each process its rank and the job size through environment
/// variables before `main` runs. Reading them lets a program decide *without
/// initializing MPI* whether it is part of a multi-process job:
///
/// | variables                                      | set by                                   |
/// |------------------------------------------------|------------------------------------------|
/// | `OMPI_COMM_WORLD_SIZE`, `OMPI_COMM_WORLD_RANK` | Open MPI's `mpirun`/`mpiexec`            |
/// | `PMIX_RANK` (no size variable)                 | any PMIx launcher: Open MPI, `srun --mpi=pmix` |
/// | `PMI_SIZE`, `PMI_RANK`                         | MPICH/Hydra, Intel MPI, Slurm PMI-1/PMI-2 |
///
/// Skipping `MPI_Init` in a plain start matters: Open MPI 4 initializes a
/// "singleton" by forking a private runtime daemon, which took about 0.45 s
/// per start on the development machine (Open MPI 4.1.4), can print
/// warnings in containers, and fails outright where `orted` is missing.
public struct LaunchEnvironment: Sendable, Equatable {
    /// The variable that identified the launcher, e.g. `OMPI_COMM_WORLD_SIZE`;
    /// `nil` for a plain single-process start.
    public var launcherVariable: String?

    /// The rank the launcher assigned, when it says.
    public var rank: Int?

    /// The number of processes the launcher started, when it says.
    public var size: Int?

    /// The number of processes the launcher started on this machine, when it says
    /// (`OMPI_COMM_WORLD_LOCAL_SIZE`, MPICH's `MPI_LOCALNRANKS`, Slurm's `SLURM_NTASKS_PER_NODE`):
    /// what a process divides the machine's cores by when nothing binds it to its own.
    public var localSize: Int?

    /// Reads `environment`, by default this process's environment.
    public init(_ environment: [String: String] = ProcessInfo.processInfo.environment) {
        func integer(_ name: String) -> Int? {
            environment[name].flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        }
        if environment["OMPI_COMM_WORLD_SIZE"] != nil {
            launcherVariable = "OMPI_COMM_WORLD_SIZE"
            size = integer("OMPI_COMM_WORLD_SIZE")
            rank = integer("OMPI_COMM_WORLD_RANK")
            localSize = integer("OMPI_COMM_WORLD_LOCAL_SIZE")
        } else if environment["PMIX_RANK"] != nil {
            launcherVariable = "PMIX_RANK"
            rank = integer("PMIX_RANK")
        } else if environment["PMI_SIZE"] != nil || environment["PMI_RANK"] != nil {
            launcherVariable = environment["PMI_SIZE"] != nil ? "PMI_SIZE" : "PMI_RANK"
            size = integer("PMI_SIZE")
            rank = integer("PMI_RANK")
        }
        if isLaunchedByMPI && localSize == nil {
            localSize = integer("MPI_LOCALNRANKS") ?? integer("SLURM_NTASKS_PER_NODE")
        }
    }

    /// Whether an MPI launcher started this process (even with one rank).
    public var isLaunchedByMPI: Bool { launcherVariable != nil }
}

/// Returns the process group this process was started to be part of.
///
/// - A plain start (no launcher variables, see `LaunchEnvironment`) returns a
///   `SingleProcessGroup` and never touches MPI.
/// - A start by `mpirun` (any size, including `-np 1`) returns
///   `MPIProcessGroup.world()`, which initializes MPI on first use. The caller
///   must call its `finalize()` before a successful exit.
/// - Without the `MPI` trait, a launcher start with a size other than 1
///   throws `ProcessGroupError.launchedWithoutMPISupport` rather than letting
///   every rank train alone and write the same outputs.
public func makeDefaultProcessGroup(
    environment: LaunchEnvironment = LaunchEnvironment()
) throws -> any ProcessGroup {
    guard let variable = environment.launcherVariable else {
        return SingleProcessGroup()
    }
    #if MPI
    _ = variable
    return try MPIProcessGroup.world()
    #else
    guard environment.size == 1 else {
        throw ProcessGroupError.launchedWithoutMPISupport(variable: variable, size: environment.size)
    }
    return SingleProcessGroup()
    #endif
}
