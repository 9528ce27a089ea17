import Foundation
import NablaDistributed

/// Jobs that fail on purpose, for tests that check a failed rank brings the
/// whole job down instead of leaving the others hanging.
struct FailureScenarios {
    let group: any ProcessGroup

    /// The longest a stalled job keeps running by itself, so that a test
    /// that fails to kill it cannot leave it behind forever.
    static let stallLimit: Duration = .seconds(120)

    /// Prints `pid R PID` for every rank, then `stalling` on rank 0, then
    /// reduces a small buffer every millisecond until `stallLimit` runs out.
    ///
    /// A test kills one rank with SIGKILL once it has read every `pid` line;
    /// the survivors are then inside or between collectives with the dead
    /// rank, and only `mpirun` can end them.
    func stall() throws {
        report("pid \(group.rank) \(getpid())")
        try group.barrier()
        if group.isCoordinator {
            report("stalling")
        }
        var values = [Float](repeating: 1, count: 1024)
        let deadline = ContinuousClock.now + Self.stallLimit
        while ContinuousClock.now < deadline {
            try values.withUnsafeMutableBufferPointer { try group.allReduce($0, operation: .average) }
            usleep(1000)
        }
        report("stall limit reached on rank \(group.rank)")
    }

    /// The last rank exits with status 3, without finalizing, while the
    /// others wait for it in a barrier, as a rank does after a fatal error.
    func exitNonzeroOnLastRank() throws {
        try group.barrier()
        if group.rank == group.size - 1 {
            report("rank \(group.rank) exiting with status 3")
            exit(3)
        }
        try group.barrier()
        report("barrier passed on rank \(group.rank), which should not happen")
    }
}
