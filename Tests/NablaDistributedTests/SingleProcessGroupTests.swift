import NablaDistributed
import XCTest

/// The group of one: every collective is the identity, in-process, without
/// MPI.
final class SingleProcessGroupTests: XCTestCase {
    private let group = SingleProcessGroup()

    func testRankAndSize() {
        XCTAssertEqual(group.rank, 0)
        XCTAssertEqual(group.size, 1)
        XCTAssertTrue(group.isCoordinator)
    }

    func testAllReduceLeavesValuesUnchanged() throws {
        var floats: [Float] = [1.5, -2, 3.25]
        var doubles: [Double] = [0.1, 0.2]
        for operation in [ReductionOperation.sum, .average] {
            try floats.withUnsafeMutableBufferPointer { try group.allReduce($0, operation: operation) }
            try doubles.withUnsafeMutableBufferPointer { try group.allReduce($0, operation: operation) }
        }
        XCTAssertEqual(floats, [1.5, -2, 3.25])
        XCTAssertEqual(doubles, [0.1, 0.2])
    }

    func testStartedAllReduceIsAlreadyComplete() throws {
        var floats: [Float] = [4]
        var doubles: [Double] = [5]
        try floats.withUnsafeMutableBufferPointer { buffer in
            let request = try group.startAllReduce(buffer, operation: .average)
            XCTAssertTrue(try request.test())
            try request.wait()
            try request.wait()
        }
        try doubles.withUnsafeMutableBufferPointer { buffer in
            try [try group.startAllReduce(buffer, operation: .sum)].waitAll()
        }
        XCTAssertEqual(floats, [4])
        XCTAssertEqual(doubles, [5])
    }

    func testBroadcastFromRootZeroKeepsValues() throws {
        var words: [UInt64] = [7, 8]
        try group.broadcast(&words, from: 0)
        XCTAssertEqual(words, [7, 8])
    }

    func testBroadcastFromOtherRootThrows() {
        var words: [UInt64] = [7]
        XCTAssertThrowsError(try group.broadcast(&words, from: 1)) { error in
            XCTAssertEqual(error as? ProcessGroupError, .invalidRoot(1, size: 1))
        }
    }

    func testAllGatherReturnsOwnValues() throws {
        XCTAssertEqual(try group.allGather([UInt64(1), 2, 3]), [[1, 2, 3]])
        XCTAssertEqual(try group.allGather([0.5]), [[0.5]])
        XCTAssertEqual(try group.allGather([UInt64]()), [[]])
    }

    func testBarrierAndFinalizeReturn() throws {
        try group.barrier()
        try group.finalize()
        try group.finalize()
        try group.barrier()
    }

    func testErrorsDescribeThemselves() {
        let error = ProcessGroupError.mpi(
            function: "MPI_Bcast", code: 8, errorClass: 8, message: "MPI_ERR_ROOT: invalid root")
        XCTAssertEqual(error.description, "MPI_Bcast failed: MPI_ERR_ROOT: invalid root (error code 8, class 8)")
        XCTAssertTrue(ProcessGroupError.launchedWithoutMPISupport(variable: "PMI_SIZE", size: 4)
            .description.contains("4 processes"))
    }
}
