import Foundation
import NablaDistributed

/// Checks the results of every collective on every rank.
///
/// Integer-valued data must come back exact. Random (non-integer) data is
/// compared with a sum computed locally in `Double`, in rank order, within
/// `size * ulp-scale * Σ|x|` (the bound for any summation order), and must be
/// bit-identical on all ranks, which is what keeps data-parallel replicas in
/// step.
struct CollectiveChecks {
    let group: any ProcessGroup

    /// Element count for the large buffers: above a million and odd, so that
    /// chunked and vectorized code paths see a ragged tail.
    static let largeCount = 1_048_579

    func run(_ log: inout CheckLog) throws {
        try checkIntegerReductions(Float.self, &log)
        try checkIntegerReductions(Double.self, &log)
        for nonBlocking in [false, true] {
            try checkRandomReduction(Float.self, nonBlocking: nonBlocking, &log)
            try checkRandomReduction(Double.self, nonBlocking: nonBlocking, &log)
        }
        try checkBroadcast(&log)
        try checkBarrier(&log)
        try checkAllGather(&log)
        try checkNonBlocking(&log)
        try checkErrorReturn(&log)
    }

    /// Sum and average of integer-valued data are exact.
    private func checkIntegerReductions<Element: BinaryFloatingPoint>(
        _ type: Element.Type, _ log: inout CheckLog
    ) throws where Element: BitwiseCopyable {
        let rank = group.rank
        let size = group.size
        let name = "\(Element.self)"
        var values = (0 ..< Self.largeCount).map { Element((rank + 1) * ($0 % 1000)) }
        try values.withUnsafeMutableBufferPointer { try allReduce($0, .sum) }
        let rankSum = size * (size + 1) / 2
        let sumMismatch = values.indices.first { values[$0] != Element(rankSum * ($0 % 1000)) }
        log.expect(sumMismatch == nil, "allReduce sum \(name) exact", "first mismatch at \(sumMismatch ?? -1)")

        // Σ_r (r·size + i%7) / size = size(size-1)/2 + i%7, an integer.
        values = (0 ..< Self.largeCount).map { Element(rank * size + $0 % 7) }
        try values.withUnsafeMutableBufferPointer { try allReduce($0, .average) }
        let averageMismatch = values.indices.first { values[$0] != Element(size * (size - 1) / 2 + $0 % 7) }
        log.expect(
            averageMismatch == nil, "allReduce average \(name) exact", "first mismatch at \(averageMismatch ?? -1)")

        var empty: [Element] = []
        log.expectNoThrow("allReduce empty \(name)") {
            try empty.withUnsafeMutableBufferPointer { try allReduce($0, .sum) }
        }
    }

    /// Random data: close to the exact sum, and bit-identical on all ranks,
    /// through the blocking or the non-blocking path (which Open MPI serves
    /// with different components, `coll tuned` and `coll libnbc`).
    private func checkRandomReduction<Element: BinaryFloatingPoint>(
        _ type: Element.Type, nonBlocking: Bool, _ log: inout CheckLog
    ) throws {
        let path = nonBlocking ? "startAllReduce" : "allReduce"
        let count = 100_003
        func data(rank: Int) -> [Element] {
            var generator = SplitMix64(seed: 0x5EED + UInt64(rank))
            return (0 ..< count).map { _ in Element(Double.random(in: -1 ... 1, using: &generator)) }
        }
        let contributions = (0 ..< group.size).map(data(rank:))
        var values = contributions[group.rank]
        try values.withUnsafeMutableBufferPointer { try allReduce($0, .average, nonBlocking: nonBlocking) }
        var worstExcess = 0.0
        for index in 0 ..< count {
            var exact = 0.0
            var magnitude = 0.0
            for contribution in contributions {
                exact += Double(contribution[index])
                magnitude += abs(Double(contribution[index]))
            }
            exact /= Double(group.size)
            let tolerance = Double(group.size + 1) * Double(Element.ulpOfOne) * magnitude / Double(group.size)
            worstExcess = max(worstExcess, abs(Double(values[index]) - exact) / tolerance)
        }
        log.expect(worstExcess <= 1, "\(path) average \(Element.self) random within tolerance",
                   "error is \(worstExcess) times the tolerance")
        let hash = values.withUnsafeMutableBufferPointer { bitPatternHash($0) }
        let hashes = try group.allGather([hash]).map { $0.first ?? 0 }
        log.expect(Set(hashes).count == 1, "\(path) \(Element.self) bit-identical on all ranks", "\(hashes)")
    }

    private func checkBroadcast(_ log: inout CheckLog) throws {
        for root in 0 ..< group.size {
            var values = (0 ..< 100_000).map { Float(group.rank * 1_000_000 + $0) }
            try values.withUnsafeMutableBufferPointer { try group.broadcast($0, from: root) }
            let mismatch = values.indices.first { values[$0] != Float(root * 1_000_000 + $0) }
            log.expect(mismatch == nil, "broadcast Float from \(root)", "first mismatch at \(mismatch ?? -1)")

            var words: [UInt64] = group.rank == root ? [0xDEAD_BEEF, UInt64(root)] : [0, 0]
            try group.broadcast(&words, from: root)
            log.expect(words == [0xDEAD_BEEF, UInt64(root)], "broadcast [UInt64] from \(root)", "\(words)")
        }
        var nothing: [Double] = []
        log.expectNoThrow("broadcast empty") { try group.broadcast(&nothing, from: 0) }
    }

    /// The last rank enters the barrier 300 ms late; nobody may leave before.
    private func checkBarrier(_ log: inout CheckLog) throws {
        let delay = 0.3
        try group.barrier()
        let waited = try measureSeconds {
            if group.rank == group.size - 1 {
                Thread.sleep(forTimeInterval: delay)
            }
            try group.barrier()
        }
        log.expect(waited >= delay * 0.9, "barrier waits for the late rank", "left after \(waited) s")
    }

    private func checkAllGather(_ log: inout CheckLog) throws {
        // Different lengths per rank: rank r sends r + 1 words.
        let words = (0 ... group.rank).map { UInt64(group.rank * 100 + $0) }
        let gathered = try group.allGather(words)
        let expected = (0 ..< group.size).map { rank in (0 ... rank).map { UInt64(rank * 100 + $0) } }
        log.expect(gathered == expected, "allGather [UInt64] of ragged lengths", "\(gathered)")

        let doubles = try group.allGather([Double(group.rank) + 0.5])
        log.expect(doubles == (0 ..< group.size).map { [Double($0) + 0.5] }, "allGather [Double]", "\(doubles)")

        let configurationHash: UInt64 = 0x0123_4567_89AB_CDEF
        let hashes = try group.allGather([configurationHash])
        log.expect(hashes.allSatisfy { $0 == [configurationHash] }, "allGather equal configuration hashes")

        let none = try group.allGather([UInt64]())
        log.expect(none == Array(repeating: [], count: group.size), "allGather empty", "\(none)")
    }

    /// Several buckets reduced while computation goes on, completed by
    /// `test()`, `wait()` and by dropping the request.
    private func checkNonBlocking(_ log: inout CheckLog) throws {
        let bucketCount = 4
        let bucketSize = 1 << 20
        let rankSum = Float(group.size * (group.size + 1) / 2)
        let buckets = (0 ..< bucketCount).map { bucket in
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: bucketSize)
            buffer.initialize(repeating: Float((group.rank + 1) * (bucket + 1)))
            return buffer
        }
        defer { buckets.forEach { $0.deallocate() } }
        var requests: [any CollectiveRequest] = []
        var busyWork: Float = 0
        let overlapped = try measureSeconds {
            for bucket in buckets {
                requests.append(try group.startAllReduce(bucket, operation: .sum))
                // Stand-in for backward producing the next bucket; poke
                // progress between "layers".
                for step in 0 ..< 200_000 {
                    busyWork += Float(step % 3)
                }
                _ = try requests.last?.test()
            }
            try requests.waitAll()
        }
        log.note("4 x 1 M-float buckets overlapped with computation: \(Int(overlapped * 1000)) ms (\(busyWork))")
        for (index, bucket) in buckets.enumerated() {
            let expected = rankSum * Float(index + 1)
            log.expect(bucket.allSatisfy { $0 == expected }, "startAllReduce bucket \(index)")
        }

        var polled = [Double](repeating: Double(group.rank), count: 65_536)
        try polled.withUnsafeMutableBufferPointer { buffer in
            let request = try group.startAllReduce(buffer, operation: .average)
            var polls = 0
            while try !request.test() {
                polls += 1
                if polls > 50_000_000 { break }
            }
            try request.wait()
        }
        let averageRank = Double(group.size - 1) / 2
        log.expect(polled.allSatisfy { $0 == averageRank }, "startAllReduce average completed by test()")

        // MPI_THREAD_SERIALIZED: collectives from a thread other than the
        // one that initialized MPI.
        let job = ThreadJob(count: 4096)
        defer { job.buffer.deallocate() }
        let finished = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [group] in
            do {
                try group.startAllReduce(job.buffer, operation: .sum).wait()
                try group.allReduce(job.buffer, operation: .sum)
            } catch {
                job.error = error
            }
            finished.signal()
        }
        finished.wait()
        log.expect(job.error == nil, "collectives from another thread", "\(job.error.map { "\($0)" } ?? "")")
        let squared = Double(group.size * group.size)
        log.expect(job.buffer.allSatisfy { $0 == squared }, "collectives from another thread give sums")

        var dropped = [Float](repeating: 1, count: 1000)
        try dropped.withUnsafeMutableBufferPointer { buffer in
            _ = try group.startAllReduce(buffer, operation: .sum)
        }
        log.expect(dropped.allSatisfy { $0 == Float(group.size) }, "dropped request completes before return")
    }

    /// An invalid root comes back as a thrown MPI error on every rank, and the
    /// group keeps working afterwards.
    private func checkErrorReturn(_ log: inout CheckLog) throws {
        for root in [group.size, -1] {
            var values: [Float] = [1, 2, 3]
            do {
                try group.broadcast(&values, from: root)
                log.expect(false, "broadcast from invalid root \(root) throws")
            } catch let error as ProcessGroupError {
                switch error {
                case .mpi(_, _, _, let message):
                    log.expect(message.contains("MPI_ERR_ROOT"), "invalid root \(root) is MPI_ERR_ROOT", message)
                case .invalidRoot:
                    log.expect(group.size == 1, "invalid root \(root) checked by MPI", "\(error)")
                default:
                    log.expect(false, "invalid root \(root) error", "\(error)")
                }
            }
        }
        var after: [Float] = [1]
        try after.withUnsafeMutableBufferPointer { try allReduce($0, .sum) }
        log.expect(after == [Float(group.size)], "collectives work after an error")
    }

    /// Reduces `buffer` of either element type, blocking or through a
    /// started request that is waited for at once.
    private func allReduce<Element: BinaryFloatingPoint>(
        _ buffer: UnsafeMutableBufferPointer<Element>, _ operation: ReductionOperation, nonBlocking: Bool = false
    ) throws {
        if let floats = buffer as? UnsafeMutableBufferPointer<Float> {
            if nonBlocking {
                try group.startAllReduce(floats, operation: operation).wait()
            } else {
                try group.allReduce(floats, operation: operation)
            }
        } else if let doubles = buffer as? UnsafeMutableBufferPointer<Double> {
            if nonBlocking {
                try group.startAllReduce(doubles, operation: operation).wait()
            } else {
                try group.allReduce(doubles, operation: operation)
            }
        } else {
            fatalError("mpi-selftest reduces only Float and Double")
        }
    }
}

/// Checks the end of the life cycle: `finalize()` is idempotent, and no
/// collective works after it.
struct FinalizeChecks {
    let group: any ProcessGroup

    func run(_ log: inout CheckLog) throws {
        try group.barrier()
        log.expectNoThrow("finalize") { try group.finalize() }
        log.expectNoThrow("finalize twice") { try group.finalize() }
        // A group of one has no state to lose; only MPI refuses after finalize.
        guard !(group is SingleProcessGroup) else { return }
        do {
            try group.barrier()
            log.expect(false, "barrier after finalize throws")
        } catch {
            log.expect(error as? ProcessGroupError == .finalized, "barrier after finalize throws .finalized", "\(error)")
        }
        do {
            _ = try makeDefaultProcessGroup()
            log.expect(false, "group after finalize throws")
        } catch {
            log.expect(error as? ProcessGroupError == .finalized, "group after finalize throws .finalized", "\(error)")
        }
    }
}

/// A buffer handed to a helper thread, and the error it may bring back;
/// the checks wait for the thread before touching either.
final class ThreadJob: @unchecked Sendable {
    let buffer: UnsafeMutableBufferPointer<Double>
    var error: (any Error)?

    init(count: Int) {
        buffer = .allocate(capacity: count)
        buffer.initialize(repeating: 1)
    }
}
