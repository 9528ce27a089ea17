import NablaDistributed
import XCTest

/// Detecting an MPI launch from environment variables, and choosing the
/// default group from it.
final class LaunchEnvironmentTests: XCTestCase {
    func testPlainStartIsNotAnMPILaunch() {
        let environment = LaunchEnvironment(["PATH": "/usr/bin", "HOME": "/root"])
        XCTAssertFalse(environment.isLaunchedByMPI)
        XCTAssertNil(environment.rank)
        XCTAssertNil(environment.size)
    }

    func testOpenMPIVariables() {
        let environment = LaunchEnvironment([
            "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_RANK": "2", "PMIX_RANK": "2",
        ])
        XCTAssertEqual(environment.launcherVariable, "OMPI_COMM_WORLD_SIZE")
        XCTAssertEqual(environment.size, 4)
        XCTAssertEqual(environment.rank, 2)
    }

    func testLocalSizeFromEachLauncher() {
        XCTAssertEqual(LaunchEnvironment(["OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_SIZE": "2"]).localSize, 2)
        XCTAssertEqual(LaunchEnvironment(["PMI_SIZE": "8", "MPI_LOCALNRANKS": "4"]).localSize, 4)
        XCTAssertEqual(LaunchEnvironment(["PMIX_RANK": "0", "SLURM_NTASKS_PER_NODE": "3"]).localSize, 3)
        XCTAssertNil(LaunchEnvironment(["OMPI_COMM_WORLD_SIZE": "4"]).localSize)
        // Not launched: leftovers of a launcher in the environment mean nothing.
        XCTAssertNil(LaunchEnvironment(["SLURM_NTASKS_PER_NODE": "3"]).localSize)
    }

    func testPMIxRankWithoutSize() {
        let environment = LaunchEnvironment(["PMIX_RANK": "0"])
        XCTAssertTrue(environment.isLaunchedByMPI)
        XCTAssertEqual(environment.rank, 0)
        XCTAssertNil(environment.size)
    }

    func testPMIVariables() {
        let environment = LaunchEnvironment(["PMI_SIZE": "3", "PMI_RANK": "1"])
        XCTAssertEqual(environment.launcherVariable, "PMI_SIZE")
        XCTAssertEqual(environment.size, 3)
        XCTAssertEqual(environment.rank, 1)
    }

    /// A plain start must not initialize MPI: the default group is the group
    /// of one, which never calls into MPI.
    func testDefaultGroupOfPlainStartIsSingleProcess() throws {
        let group = try makeDefaultProcessGroup(environment: LaunchEnvironment([:]))
        XCTAssertTrue(group is SingleProcessGroup)
        XCTAssertEqual(group.size, 1)
    }

    #if !MPI
    /// Without MPI support, a multi-rank launch is refused rather than
    /// letting every rank train alone.
    func testMultiRankLaunchWithoutMPISupportThrows() {
        let environment = LaunchEnvironment(["OMPI_COMM_WORLD_SIZE": "2", "OMPI_COMM_WORLD_RANK": "0"])
        XCTAssertThrowsError(try makeDefaultProcessGroup(environment: environment)) { error in
            XCTAssertEqual(
                error as? ProcessGroupError,
                .launchedWithoutMPISupport(variable: "OMPI_COMM_WORLD_SIZE", size: 2))
        }
        XCTAssertTrue(
            try makeDefaultProcessGroup(environment: LaunchEnvironment(["PMI_SIZE": "1"])) is SingleProcessGroup)
    }
    #endif
}
