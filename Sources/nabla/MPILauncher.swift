import Foundation
import Nabla

/// `--world-size K`: runs the same `nabla` command as a `K`-rank Open MPI job on this machine, by
/// starting `mpirun -np K --oversubscribe --bind-to none --quiet nabla …` and waiting for it.
///
/// `--oversubscribe` allows more ranks than cores, `--bind-to none` lets each rank use the cores
/// its `--threads` asks for (by default the cores divided among the ranks), `--quiet` leaves the
/// reporting to the ranks: a rank that fails prints its one line, and when a rank dies without a
/// word (killed by a signal) this process says so once mpirun has stopped the others. As root,
/// Open MPI needs `OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`, which are set.
/// On a cluster, start the ranks with the cluster's launcher instead (`mpirun -np K --hostfile …
/// nabla train …`, `srun --mpi=pmix nabla train …`).
enum MPILauncher {
    /// Starts the job and exits with its status; never returns.
    /// - Throws: ``NablaError`` when this build has no MPI support or `mpirun` is not on `PATH`.
    static func run(ranks: Int, flag: String = "--world-size") throws -> Never {
        #if !MPI
        throw NablaError(.invalidArgument, "\(flag) \(ranks): this nabla was built without MPI support (the package trait MPI is disabled)")
        #else
        guard let mpirun = executableOnPath("mpirun") else {
            throw NablaError(.io, "\(flag) \(ranks): mpirun not found on PATH; install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev) or start the ranks with your cluster's launcher")
        }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        let arguments = [mpirun, "-np", String(ranks), "--oversubscribe", "--bind-to", "none", "--quiet", me]
            + CommandLine.arguments.dropFirst()
        var environment = ProcessInfo.processInfo.environment
        if geteuid() == 0 {
            environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
            environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
        }
        let status = spawnAndWait(arguments, environment: environment)
        if status.signal != nil || status.code > 128 {
            let signal = status.signal ?? (status.code - 128)
            let name = signalNames[signal].map { " (\($0))" } ?? ""
            NablaCommand.fail("\(flag) \(ranks): a rank was killed by signal \(signal)\(name); mpirun stopped the job", status: 128 + signal)
        }
        exit(status.code)
        #endif
    }

    private static let signalNames: [Int32: String] = [
        SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGSEGV: "SIGSEGV", SIGABRT: "SIGABRT", SIGILL: "SIGILL",
        SIGBUS: "SIGBUS", SIGINT: "SIGINT", SIGTRAP: "SIGTRAP",
    ]

    /// The first executable called `name` on `PATH`.
    static func executableOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Runs `arguments` (the first is the program) as a child process and returns how it ended.
    /// While it runs, SIGINT is left to the child (the terminal sends it to both), and SIGTERM or
    /// SIGHUP sent to this process is passed on to it (mpirun then stops the ranks).
    private static func spawnAndWait(_ arguments: [String], environment: [String: String]) -> (code: Int32, signal: Int32?) {
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        signal(SIGINT, SIG_IGN)
        let spawned = posix_spawn(&pid, arguments[0], nil, nil, argv, envp)
        guard spawned == 0 else {
            NablaCommand.fail("cannot start \(arguments[0]): \(String(cString: strerror(spawned)))", status: 1)
        }
        child = pid
        for forwarded in [SIGTERM, SIGHUP] {
            signal(forwarded) { number in if MPILauncher.child > 0 { kill(MPILauncher.child, number) } }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let low = status & 0x7F
        if low == 0 { return ((status >> 8) & 0xFF, nil) }
        return (128 + low, low)
    }

    /// The child's pid, for the signal handlers.
    nonisolated(unsafe) private static var child: pid_t = 0
}
