import Foundation
import XCTest
@testable import NablaStudies
import NablaTestSupport

/// `mpirun -np K nabla study …`: the runs are spread across the ranks, rank 0 alone writes the
/// report, and the results are those of the same study in one process (`--jobs 1`), bit for bit —
/// every run still trains in one process, only elsewhere.
final class DistributedStudyTests: XCTestCase {
    private var mpirun: URL {
        get throws {
            #if !MPI
            throw XCTSkip("built without the MPI package trait")
            #else
            let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
                .map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            guard let found = path.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
                throw XCTSkip("mpirun not found on PATH: install Open MPI (Debian: openmpi-bin libopenmpi-dev; make deps)")
            }
            return found
            #endif
        }
    }

    /// `results.json` without the figures that measure time or name the output.
    private func results(_ directory: URL) throws -> NSDictionary {
        func strip(_ value: Any) -> Any {
            if let object = value as? [String: Any] {
                return object.filter { !["seconds", "generated", "command", "execution"].contains($0.key) }.mapValues(strip)
            }
            if let array = value as? [Any] { return array.map(strip) }
            return value
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("results.json")))
        return try XCTUnwrap(strip(json) as? [String: Any]) as NSDictionary
    }

    func testStudyOnTwoRanksGivesTheSingleProcessResults() throws {
        let mpirun = try self.mpirun
        let directory = try DataTestSupport.temporaryDirectory(self)
        let study = ["study", "regularization", "--data", StudyData.syntheticSpec, "--train-subset", "96", "--test-subset", "64",
                     "--epochs", "2", "--hidden", "16", "--batch-size", "16", "--seeds", "2", "--variants", "baseline,dropout",
                     "--no-demos", "--no-cache"]
        let (one, two) = (directory.appendingPathComponent("one"), directory.appendingPathComponent("two"))
        let alone = try CLI.run(study + ["--jobs", "1", "--output", one.path], timeout: 300)
        XCTAssertEqual(alone.status, 0, alone.stderr)
        let root = geteuid() == 0 ? ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"] : [:]
        let ranks = try CLI.run(executable: mpirun, ["-np", "2", "--oversubscribe", "--bind-to", "none", "--quiet", CLI.executable.path]
                                    + study + ["--output", two.path], environment: root, timeout: 300)
        XCTAssertEqual(ranks.status, 0, ranks.stderr)
        XCTAssertTrue(ranks.stderr.contains("8 to train (2 MPI ranks × 1 thread)"), ranks.stderr)
        XCTAssertEqual(ranks.stdout.components(separatedBy: "report: ").count, 2, "rank 0 alone reports:\n\(ranks.stdout)")
        XCTAssertEqual(try results(two), try results(one))
        let seeds = try FileManager.default.subpathsOfDirectory(atPath: two.appendingPathComponent("runs").path)
            .filter { $0.hasSuffix("/plan.json") }
        XCTAssertEqual(seeds.count, 8, "every run's logs, whichever rank trained it: \(seeds)")
    }
}
