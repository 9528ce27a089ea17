import Foundation
import XCTest

/// Real multi-process jobs: `mpirun` starting `mpi-selftest` on this machine
/// (ranks talk over shared memory), checking every collective's results on
/// every rank, and that a failing rank ends the whole job promptly.
///
/// Flags: `--oversubscribe` because the job may have more ranks than the
/// machine has cores; `--bind-to none` because binding ranks to cores that
/// other work shares only slows them down. Run as root, Open MPI also needs
/// `OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`.
final class MPIJobTests: XCTestCase {
    func testCollectivesOnOneRank() throws {
        try runCollectives(ranks: 1)
    }

    func testCollectivesOnTwoRanks() throws {
        try runCollectives(ranks: 2)
    }

    func testCollectivesOnFourRanks() throws {
        try runCollectives(ranks: 4)
    }

    /// SIGKILL to one rank of a job whose ranks are busy reducing: `mpirun`
    /// must notice, kill the survivors and exit non-zero within seconds.
    func testKilledRankEndsTheJob() throws {
        let job = try makeJob(ranks: 2, scenario: "stall")
        try job.start()
        guard job.waitForOutput(containing: ["pid 0 ", "pid 1 ", "stalling"], timeout: 120) else {
            return XCTFail("the job did not start stalling:\n\(job.output)")
        }
        let pids = try XCTUnwrap(job.rankProcessIdentifiers, job.output)
        let killed = ContinuousClock.now
        XCTAssertEqual(kill(pids[1], SIGKILL), 0)
        let exited = job.wait(timeout: 30)
        let elapsed = ContinuousClock.now - killed
        XCTAssertTrue(exited, "mpirun still running 30 s after SIGKILL of rank 1:\n\(job.output)")
        XCTAssertLessThan(elapsed, .seconds(5), "mpirun took \(elapsed) to end the job")
        XCTAssertEqual(job.status, 128 + SIGKILL, "mpirun reports the signal as 128 + 9:\n\(job.output)")
        XCTAssertTrue(job.output.contains("exited on signal 9"), job.output)
        XCTAssertFalse(ChildJob.isAlive(pids[0]), "rank 0 (pid \(pids[0])) survived the job")
        print("mpirun exited \(elapsed) after SIGKILL of rank 1, status \(job.status)")
    }

    /// A rank that exits with status 3 without finalizing (what a fatal error
    /// does) while the other waits in a barrier: the job ends with status 3.
    func testNonzeroExitOfOneRankEndsTheJob() throws {
        let job = try makeJob(ranks: 2, scenario: "exit-nonzero")
        let started = ContinuousClock.now
        try job.start()
        XCTAssertTrue(job.wait(timeout: 60), "job still running after 60 s:\n\(job.output)")
        let elapsed = ContinuousClock.now - started
        XCTAssertEqual(job.status, 3, job.output)
        XCTAssertTrue(job.output.contains("rank 1 exiting with status 3"), job.output)
        XCTAssertFalse(job.output.contains("should not happen"), job.output)
        print("job with a failing rank ended after \(elapsed), status \(job.status)")
    }

    // MARK: - Helpers

    private func runCollectives(ranks: Int) throws {
        let job = try makeJob(ranks: ranks, scenario: "collectives")
        try job.start()
        XCTAssertTrue(job.wait(timeout: 300), "job still running after 300 s:\n\(job.output)")
        XCTAssertEqual(job.status, 0, job.output)
        for rank in 0 ..< ranks {
            guard let summary = TestEnvironment.summary(rank: rank, size: ranks, in: job.output) else {
                XCTFail("no summary from rank \(rank):\n\(job.output)")
                continue
            }
            XCTAssertGreaterThan(summary.passed, 25, job.output)
            XCTAssertEqual(summary.failed, 0, job.output)
        }
    }

    private func makeJob(ranks: Int, scenario: String) throws -> ChildJob {
        let mpirun = try TestEnvironment.mpirun()
        let selfTest = try TestEnvironment.selfTest()
        return ChildJob(
            executable: mpirun,
            arguments: ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", selfTest.path, scenario],
            extraEnvironment: TestEnvironment.rootPermission)
    }
}
