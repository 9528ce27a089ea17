import Foundation
import XCTest

/// Two-rank jobs on two simulated hosts, so that ranks talk over TCP (Open
/// MPI's `btl tcp`) across a virtual Ethernet link rather than over shared
/// memory, and a failure on the remote host must travel back over the
/// network to `mpirun`.
///
/// `Scripts/mpirun-netns.sh` builds the two hosts (network + UTS namespaces
/// joined by a veth pair), starts `mpirun` in the first, and reaches the
/// second through a `plm_rsh_agent` that enters the namespace instead of
/// calling ssh; see the script for the recipe. It needs root; the tests skip
/// where namespaces cannot be created (e.g. unprivileged containers).
final class NetworkNamespaceTests: XCTestCase {
    func testCollectivesOverTCPBetweenTwoHosts() throws {
        let job = try startJob(scenario: "collectives")
        XCTAssertTrue(job.wait(timeout: 300), "job still running after 300 s:\n\(job.output)")
        try skipIfNamespacesUnavailable(job)
        XCTAssertEqual(job.status, 0, job.output)

        let summaries = (0 ..< 2).compactMap { TestEnvironment.summary(rank: $0, size: 2, in: job.output) }
        XCTAssertEqual(summaries.count, 2, "missing rank summaries:\n\(job.output)")
        XCTAssertEqual(summaries.map(\.failed), [0, 0], job.output)
        XCTAssertEqual(Set(summaries.map(\.host)).count, 2, "both ranks ran on one host:\n\(job.output)")
        XCTAssertTrue(summaries.allSatisfy { $0.host.hasPrefix("nabla") }, job.output)

        // The checks move tens of megabytes between the ranks; all of it must
        // have crossed the veth link.
        let bytes = job.output.split(separator: "\n")
            .first { $0.hasPrefix("veth-bytes ") }
            .flatMap { Int($0.dropFirst("veth-bytes ".count)) }
        XCTAssertGreaterThan(bytes ?? 0, 10_000_000, "too little traffic on the veth link:\n\(job.output)")
    }

    /// SIGKILL to the rank on the remote host: its daemon reports the death
    /// to `mpirun`, which ends the job.
    func testKilledRemoteRankEndsTheJob() throws {
        try checkJobEnds(afterKilling: { pids in pids[1] }, expectedStatus: 128 + SIGKILL)
    }

    /// SIGKILL to the remote host's `orted` daemon, as when a host is lost:
    /// `mpirun` loses its TCP connection to the daemon and ends the job.
    func testLostRemoteDaemonEndsTheJob() throws {
        try checkJobEnds(afterKilling: { pids in Self.parentProcessIdentifier(of: pids[1]) }, expectedStatus: nil)
    }

    // MARK: - Helpers

    private func startJob(scenario: String) throws -> ChildJob {
        _ = try TestEnvironment.mpirun()
        guard geteuid() == 0 else {
            throw XCTSkip("network namespaces need root; run the tests as root to cover the TCP path")
        }
        let script = TestEnvironment.packageRoot.appendingPathComponent("Scripts/mpirun-netns.sh")
        let job = ChildJob(
            executable: URL(fileURLWithPath: "/bin/sh"),
            arguments: [script.path, try TestEnvironment.selfTest().path, scenario],
            extraEnvironment: ["NABLA_NETNS_TIMEOUT": "240"])
        try job.start()
        return job
    }

    private func skipIfNamespacesUnavailable(_ job: ChildJob) throws {
        if job.status == 77 {
            throw XCTSkip("network namespaces unavailable here: \(job.output)")
        }
    }

    /// Runs the stall scenario, SIGKILLs the process that `victim` picks
    /// from the ranks' pids, and checks that the job ends non-zero (with
    /// `expectedStatus` if given) within 10 s.
    private func checkJobEnds(afterKilling victim: ([Int32]) -> Int32?, expectedStatus: Int32?) throws {
        let job = try startJob(scenario: "stall")
        guard job.waitForOutput(containing: ["pid 0 ", "pid 1 ", "stalling"], timeout: 120) else {
            job.wait(timeout: 10)
            try skipIfNamespacesUnavailable(job)
            return XCTFail("the job did not start stalling:\n\(job.output)")
        }
        let pids = try XCTUnwrap(job.rankProcessIdentifiers, job.output)
        let target = try XCTUnwrap(victim(pids), "no process to kill")
        let killed = ContinuousClock.now
        XCTAssertEqual(kill(target, SIGKILL), 0)
        XCTAssertTrue(job.wait(timeout: 30), "job still running 30 s after the kill:\n\(job.output)")
        let elapsed = ContinuousClock.now - killed
        XCTAssertLessThan(elapsed, .seconds(10), "the job took \(elapsed) to end")
        XCTAssertNotEqual(job.status, 0, job.output)
        if let expectedStatus {
            XCTAssertEqual(job.status, expectedStatus, job.output)
        }
        XCTAssertFalse(ChildJob.isAlive(pids[0]), "rank 0 (pid \(pids[0])) survived the job")
        print("job over TCP ended \(elapsed) after SIGKILL of pid \(target), status \(job.status)")
    }

    /// The parent of `pid` (for a remote rank: the `orted` that started it).
    private static func parentProcessIdentifier(of pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return nil }
        // After "pid (comm)": state, then ppid.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }
}
