import Foundation
import NablaTestSupport
import NablaDistributed

/// `count` ranks as threads of this process: a ``ProcessGroup`` whose collectives meet in memory,
/// so data-parallel training can be tested in-process (the `mpirun` tests cover the real transport).
/// Sums add the ranks' values in rank order, so results are deterministic and the same on every rank.
final class ThreadProcessGroup: ProcessGroup, @unchecked Sendable {
    let rank: Int
    let size: Int
    private let hub: ThreadRendezvous<[UInt8]>

    private init(rank: Int, hub: ThreadRendezvous<[UInt8]>) {
        self.rank = rank
        self.size = hub.count
        self.hub = hub
    }

    /// Runs `body(group)` on one thread per rank and returns the results by rank.
    static func run<T>(ranks: Int, _ body: @escaping (ThreadProcessGroup) throws -> T) throws -> [T] {
        let hub = ThreadRendezvous<[UInt8]>(count: ranks)
        let results = Slots<Result<T, Error>>(count: ranks)
        let done = DispatchGroup()
        for rank in 0..<ranks {
            done.enter()
            let thread = Thread {
                results.set(rank, Result { try body(ThreadProcessGroup(rank: rank, hub: hub)) })
                done.leave()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
        done.wait()
        return try results.values.map { try $0.get() }
    }

    func allReduce(_ buffer: UnsafeMutableBufferPointer<Float>, operation: ReductionOperation) throws { reduce(buffer, operation) }
    func allReduce(_ buffer: UnsafeMutableBufferPointer<Double>, operation: ReductionOperation) throws { reduce(buffer, operation) }

    func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Float>, operation: ReductionOperation) throws -> any CollectiveRequest {
        reduce(buffer, operation)
        return CompletedRequest()
    }

    func startAllReduce(_ buffer: UnsafeMutableBufferPointer<Double>, operation: ReductionOperation) throws -> any CollectiveRequest {
        reduce(buffer, operation)
        return CompletedRequest()
    }

    func broadcastBytes(_ buffer: UnsafeMutableRawBufferPointer, from root: Int) throws {
        guard (0..<size).contains(root) else { throw ProcessGroupError.invalidRoot(root, size: size) }
        let all = hub.exchange(rank: rank, Array(buffer))
        precondition(all.allSatisfy { $0.count == buffer.count }, "broadcast: ranks passed different byte counts")
        all[root].withUnsafeBytes { buffer.copyMemory(from: $0) }
    }

    func barrier() throws { _ = hub.exchange(rank: rank, []) }

    func allGatherBytes(_ bytes: UnsafeRawBufferPointer) throws -> [[UInt8]] { hub.exchange(rank: rank, Array(bytes)) }

    func finalize() throws {}

    private func reduce<Element: BinaryFloatingPoint>(_ buffer: UnsafeMutableBufferPointer<Element>, _ operation: ReductionOperation) {
        let all = hub.exchange(rank: rank, Array(UnsafeRawBufferPointer(buffer)))
        let parts = all.map { bytes in bytes.withUnsafeBytes { Array($0.bindMemory(to: Element.self)) } }
        precondition(parts.allSatisfy { $0.count == buffer.count }, "allReduce: ranks passed different counts")
        for i in buffer.indices {
            var total = parts[0][i]
            for part in parts.dropFirst() { total += part[i] }
            buffer[i] = operation == .average ? total / Element(size) : total
        }
    }

    /// Results written by the ranks' threads.
    private final class Slots<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [T?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ index: Int, _ value: T) { lock.lock(); slots[index] = value; lock.unlock() }
        var values: [T] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
    }
}
