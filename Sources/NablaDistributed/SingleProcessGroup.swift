/// The group of one process: rank 0 of size 1.
///
/// Every collective is the identity: a sum or average over one rank leaves
/// the buffer unchanged, a broadcast from rank 0 copies nothing, a barrier
/// returns at once, and a gather returns this rank's own values. Training
/// code written against `ProcessGroup` therefore runs unchanged, and at no
/// cost, in a plain single-process start.
///
/// This type needs no MPI and exists whether or not the `MPI` package trait
/// is enabled.
public final class SingleProcessGroup: ProcessGroup {
    /// Creates the group of this process alone.
    public init() {}

    /// Always 0.
    public var rank: Int { 0 }

    /// Always 1.
    public var size: Int { 1 }

    /// Leaves `buffer` unchanged: the sum and the average over one rank are
    /// the values themselves.
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>, operation: ReductionOperation) throws {}

    /// Leaves `buffer` unchanged: the sum and the average over one rank are
    /// the values themselves.
    public func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>, operation: ReductionOperation) throws {}

    /// Leaves `buffer` unchanged and returns a request that has finished.
    public func startAllReduce(
        _ buffer: UnsafeMutableBufferPointer<Float>, operation: ReductionOperation
    ) throws -> any CollectiveRequest {
        CompletedRequest()
    }

    /// Leaves `buffer` unchanged and returns a request that has finished.
    public func startAllReduce(
        _ buffer: UnsafeMutableBufferPointer<Double>, operation: ReductionOperation
    ) throws -> any CollectiveRequest {
        CompletedRequest()
    }

    /// Leaves `buffer` unchanged.
    ///
    /// - Throws: `ProcessGroupError.invalidRoot` unless `root` is 0, the same
    ///   mistake an MPI group would report.
    public func broadcastBytes(_ buffer: UnsafeMutableRawBufferPointer, from root: Int) throws {
        guard root == 0 else {
            throw ProcessGroupError.invalidRoot(root, size: 1)
        }
    }

    /// Returns at once.
    public func barrier() throws {}

    /// Does nothing: a group of one holds no resources.
    public func finalize() throws {}

    /// Returns `[bytes]`.
    public func allGatherBytes(_ bytes: UnsafeRawBufferPointer) throws -> [[UInt8]] {
        [Array(bytes)]
    }
}
