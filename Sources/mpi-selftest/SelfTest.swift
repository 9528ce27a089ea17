import Foundation
import NablaDistributed

/// `mpi-selftest`: the program that the package's tests start under
/// `mpirun`, one copy per rank, to exercise `ProcessGroup` across real
/// processes.
///
/// Usage: `mpirun -np K mpi-selftest SCENARIO [OPTIONS]`, where SCENARIO is
/// - `collectives`: checks every collective's results on every rank; each
///   rank prints `rank R of K on HOST: N checks ok, M failed` and exits 1
///   on failure;
/// - `benchmark [--iterations N] [--sizes 1024,65536,...]`: allreduce timings,
///   printed by rank 0;
/// - `stall`: prints `pid R PID` per rank, then keeps reducing for up to two
///   minutes, for tests that kill a rank from outside;
/// - `exit-nonzero`: the last rank exits with status 3 without finalizing
///   while the others wait in a barrier.
///
/// Exit status: 0 on success, 1 when a check failed, 2 on a usage error,
/// 3 from `exit-nonzero`, 4 when a collective threw unexpectedly.
@main
struct SelfTest {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let scenario = arguments.first else {
            fail(status: 2, "usage: mpi-selftest collectives|benchmark|stall|exit-nonzero [options]")
        }
        let group: any ProcessGroup
        do {
            group = try makeDefaultProcessGroup()
        } catch {
            fail(status: 4, "cannot create the process group: \(error)")
        }
        do {
            switch scenario {
            case "collectives":
                var log = CheckLog(group: group)
                try CollectiveChecks(group: group).run(&log)
                try FinalizeChecks(group: group).run(&log)
                log.printSummary()
                exit(log.failures.isEmpty ? 0 : 1)
            case "benchmark":
                try Benchmark(group: group, arguments: Array(arguments.dropFirst())).run()
            case "stall":
                try FailureScenarios(group: group).stall()
            case "exit-nonzero":
                try FailureScenarios(group: group).exitNonzeroOnLastRank()
            default:
                fail(status: 2, "unknown scenario \(scenario)")
            }
            try group.finalize()
        } catch {
            // Exit without finalizing: mpirun then stops the other ranks.
            fail(status: 4, "rank \(group.rank): \(error)")
        }
    }

    /// Prints `message` to standard error and exits with `status`.
    static func fail(status: Int32, _ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(status)
    }
}

/// Writes one line to standard output unbuffered, so that lines from
/// different ranks reach `mpirun` (and the test reading it) promptly.
func report(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Seconds elapsed while running `body`, on a monotonic clock.
func measureSeconds(_ body: () throws -> Void) rethrows -> Double {
    let start = ContinuousClock.now
    try body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}
