import Foundation
import NablaDistributed

/// Allreduce latency and bandwidth for a few message sizes, and how much of
/// a reduction can hide behind computation.
///
/// For each size it runs warm-up rounds, then `iterations` timed rounds of
/// each variant; a round's time is the slowest rank's (gathered at the end),
/// and the table shows the median round. Variants:
/// - `blocking`: `allReduce(_:operation: .sum)`;
/// - `start+wait`: `startAllReduce` immediately followed by `wait()`, the
///   cost of the non-blocking path (`MPI_Iallreduce`) itself;
/// - `compute`: dependent arithmetic calibrated to last about as long as
///   `blocking`, standing in for the backward pass;
/// - `polled`: `startAllReduce`, then `compute` with `polls` calls of
///   `test()` spread over it, then `wait()`;
/// - `worker`: a blocking `allReduce` on a second thread (a serial dispatch
///   queue) while this thread runs `compute`, then a join; what a dedicated
///   communication thread would achieve.
/// Either overlap variant pays off when it is below `blocking + compute`.
///
/// `algbw` = bytes / `blocking` time; for two ranks it equals the bus
/// bandwidth (a ring allreduce moves 2(K-1)/K of the bytes per link).
struct Benchmark {
    let group: any ProcessGroup
    var iterations = 20
    var polls = 20
    var sizes = [1024, 65_536, 1 << 20, 1 << 22]

    init(group: any ProcessGroup, arguments: [String]) throws {
        self.group = group
        var remaining = arguments[...]
        while let option = remaining.popFirst() {
            switch option {
            case "--iterations":
                iterations = remaining.popFirst().flatMap(Int.init) ?? iterations
            case "--polls":
                polls = remaining.popFirst().flatMap(Int.init) ?? polls
            case "--sizes":
                sizes = remaining.popFirst()?.split(separator: ",").compactMap { Int($0) } ?? sizes
            default:
                SelfTest.fail(status: 2, "unknown benchmark option \(option)")
            }
        }
    }

    func run() throws {
        if group.isCoordinator {
            report("allreduce of Float sums, \(group.size) ranks, median of \(iterations) rounds"
                + " (slowest rank per round), \(polls) test() calls in polled; times in ms")
            report("   floats     bytes   blocking  algbw GB/s  start+wait    compute     polled     worker")
        }
        let queue = DispatchQueue(label: "mpi-selftest.communication")
        for count in sizes {
            let buffer = SharedBuffer(count: count)
            defer { buffer.floats.deallocate() }
            let floats = buffer.floats
            let blocking = try median(rounds { try group.allReduce(floats, operation: .sum) })
            let startWait = try median(rounds { try group.startAllReduce(floats, operation: .sum).wait() })
            let computeSteps = calibrateCompute(seconds: blocking)
            let compute = try median(rounds { consume(spin(steps: computeSteps, poll: nil)) })
            let polled = try median(rounds {
                let request = try group.startAllReduce(floats, operation: .sum)
                consume(spin(steps: computeSteps, poll: request))
                try request.wait()
            })
            let worker = try median(rounds {
                let done = DispatchSemaphore(value: 0)
                queue.async { [group] in
                    do {
                        try group.allReduce(buffer.floats, operation: .sum)
                    } catch {
                        SelfTest.fail(status: 4, "worker allReduce: \(error)")
                    }
                    done.signal()
                }
                consume(spin(steps: computeSteps, poll: nil))
                done.wait()
            })
            let bytes = count * MemoryLayout<Float>.stride
            if group.isCoordinator {
                report(String(
                    format: "%9d %9d %10.3f %11.2f %11.3f %10.3f %10.3f %10.3f",
                    count, bytes, blocking * 1e3, Double(bytes) / blocking / 1e9, startWait * 1e3,
                    compute * 1e3, polled * 1e3, worker * 1e3))
            }
        }
    }

    /// Times `iterations` rounds of `body` after 3 warm-up rounds, each round
    /// started together by a barrier, and returns per-round times of the
    /// slowest rank.
    private func rounds(_ body: () throws -> Void) throws -> [Double] {
        for _ in 0 ..< 3 {
            try body()
        }
        var times: [Double] = []
        for _ in 0 ..< iterations {
            try group.barrier()
            times.append(try measureSeconds(body))
        }
        let everyRank = try group.allGather(times)
        return times.indices.map { round in everyRank.map { $0[round] }.max() ?? 0 }
    }

    private func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        return sorted[sorted.count / 2]
    }

    /// The number of `spin` steps that takes about `seconds` on this rank
    /// (fastest of 5 probes, so that a preempted probe does not inflate it).
    private func calibrateCompute(seconds: Double) -> Int {
        let probe = 1_000_000
        let probeTime = (0 ..< 5).map { _ in measureSeconds { consume(spin(steps: probe, poll: nil)) } }.min() ?? 1
        return max(1, Int(Double(probe) * seconds / max(probeTime, 1e-9)))
    }

    /// Keeps the optimizer from deleting the computation that produced `value`.
    @inline(never)
    private func consume(_ value: Float) {
        if value == .infinity {
            report("unexpected infinity")
        }
    }

    /// Dependent floating-point work standing in for backward computation,
    /// calling `poll.test()` `polls` times along the way when given.
    private func spin(steps: Int, poll: (any CollectiveRequest)?) -> Float {
        var accumulator: Float = 1
        let pollEvery = max(1, steps / max(polls, 1))
        for step in 0 ..< steps {
            accumulator = accumulator * 0.999_999 + Float(step & 7)
            if step % pollEvery == 0, let poll {
                _ = try? poll.test()
            }
        }
        return accumulator
    }
}

/// A benchmark buffer that the communication thread may use while the
/// main thread waits for it.
final class SharedBuffer: @unchecked Sendable {
    let floats: UnsafeMutableBufferPointer<Float>

    init(count: Int) {
        floats = .allocate(capacity: count)
        floats.initialize(repeating: 1)
    }
}
