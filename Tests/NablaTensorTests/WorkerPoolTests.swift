import Dispatch
import Foundation
import CNablaKernels
import XCTest
@testable import NablaTensor

/// `Parallelism.forEach` runs on Nabla's worker pool: every part runs exactly once, on more than one
/// thread, whether the workers are spinning or asleep, and calls the pool cannot take (nested, or
/// from several threads at once) still run every part.
final class WorkerPoolTests: XCTestCase {
    private var savedThreads = 1
    private var savedSpin = 0

    override func setUp() {
        savedThreads = Parallelism.threadCount
        savedSpin = Parallelism.spinMicroseconds
    }

    override func tearDown() {
        Parallelism.setThreadCount(savedThreads, processesSharingCores: 1)
        Parallelism.spinMicroseconds = savedSpin
    }

    /// How many times each of `parts` parts ran in one `forEach`.
    private func runCounts(parts: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: parts)
        counts.withUnsafeMutableBufferPointer { slots in
            Parallelism.forEach(parts: parts) { part in slots[part] += 1 }
        }
        return counts
    }

    func testEveryPartRunsExactlyOnceForAnyThreadAndPartCount() {
        for spin in [200, 0] {
            Parallelism.spinMicroseconds = spin
            for threads in [2, 3, 5, 8] {
                Parallelism.setThreadCount(threads)
                for parts in [2, 3, 7, 64, 1000] {
                    for round in 0..<50 {
                        let counts = runCounts(parts: parts)
                        XCTAssertEqual(counts, [Int](repeating: 1, count: parts),
                                       "spin \(spin) µs, \(threads) threads, \(parts) parts, round \(round)")
                    }
                }
            }
        }
    }

    /// Part 0 waits until part 1 has started: it can finish only if another thread runs part 1.
    func testPartsRunConcurrently() {
        for spin in [200, 0] {
            Parallelism.spinMicroseconds = spin
            Parallelism.setThreadCount(2)
            for round in 0..<20 {
                if spin == 0 { usleep(2000) }   // let the worker fall asleep
                let flags = UnsafeMutablePointer<Int>.allocate(capacity: 2)
                flags.initialize(repeating: 0, count: 2)
                defer { flags.deallocate() }
                Parallelism.forEach(parts: 2) { part in
                    if part == 1 {
                        nabla_atomic_store(flags + 1, 1)
                        return
                    }
                    let deadline = Date().addingTimeInterval(10)
                    while Date() < deadline {
                        if nabla_atomic_load(flags + 1) == 1 { flags[0] = 1; return }
                    }
                }
                XCTAssertEqual(flags[0], 1, "spin \(spin) µs, round \(round): the two parts did not overlap")
            }
        }
    }

    func testNestedCallsRunEveryPart() {
        Parallelism.setThreadCount(3)
        var counts = [Int](repeating: 0, count: 5 * 7)
        counts.withUnsafeMutableBufferPointer { slots in
            Parallelism.forEach(parts: 5) { outer in
                Parallelism.forEach(parts: 7) { inner in slots[outer * 7 + inner] += 1 }
            }
        }
        XCTAssertEqual(counts, [Int](repeating: 1, count: 35))
    }

    func testCallsFromSeveralThreadsAtOnceRunEveryPart() {
        Parallelism.setThreadCount(2)
        let callers = 4, rounds = 200, parts = 16
        var counts = [Int](repeating: 0, count: callers * rounds * parts)
        counts.withUnsafeMutableBufferPointer { slots in
            let base = slots.baseAddress!
            DispatchQueue.concurrentPerform(iterations: callers) { caller in
                for round in 0..<rounds {
                    let offset = (caller * rounds + round) * parts
                    Parallelism.forEach(parts: parts) { part in base[offset + part] += 1 }
                }
            }
        }
        XCTAssertEqual(counts, [Int](repeating: 1, count: counts.count))
    }

    /// Jobs separated by pauses longer than the spin: the workers sleep and must be woken each time.
    func testSleepingWorkersWakeForTheNextJob() {
        Parallelism.spinMicroseconds = 50
        Parallelism.setThreadCount(4)
        for round in 0..<30 {
            usleep(1000)
            XCTAssertEqual(runCounts(parts: 9), [Int](repeating: 1, count: 9), "round \(round)")
        }
    }

    func testSpinSettingFromTheEnvironmentAndItsRange() {
        XCTAssertEqual(Parallelism.spinMicroseconds(fromEnvironment: "0"), 0)
        XCTAssertEqual(Parallelism.spinMicroseconds(fromEnvironment: "1000000"), 1_000_000)
        XCTAssertEqual(Parallelism.spinMicroseconds(fromEnvironment: "35"), 35)
        for ignored in [nil, "", "-1", "1000001", "fast", "1e3", " 5"] {
            XCTAssertEqual(Parallelism.spinMicroseconds(fromEnvironment: ignored), 200, "\(ignored ?? "nil")")
        }
        Parallelism.spinMicroseconds = -5
        XCTAssertEqual(Parallelism.spinMicroseconds, 0)
        Parallelism.spinMicroseconds = 5_000_000
        XCTAssertEqual(Parallelism.spinMicroseconds, 1_000_000)
    }

    /// More busy threads than cores — in this process, or with the processes sharing its cores —
    /// switch the spin off (a spinning thread would hold a core another thread needs).
    func testMoreThreadsThanCoresSwitchTheSpinOff() {
        let cores = Parallelism.availableCoreCount
        Parallelism.spinMicroseconds = 150
        Parallelism.setThreadCount(cores, processesSharingCores: 1)
        XCTAssertEqual(Parallelism.effectiveSpinMicroseconds, 150)
        Parallelism.setThreadCount(cores + 1)
        XCTAssertEqual(Parallelism.effectiveSpinMicroseconds, 0)
        Parallelism.setThreadCount(cores, processesSharingCores: 2)
        XCTAssertEqual(Parallelism.effectiveSpinMicroseconds, 0)
        XCTAssertEqual(Parallelism.processesSharingCores, 2)
        // nil keeps the processes: one thread each still fits when there are at least 2 cores.
        Parallelism.setThreadCount(1)
        XCTAssertEqual(Parallelism.processesSharingCores, 2)
        XCTAssertEqual(Parallelism.effectiveSpinMicroseconds, cores >= 2 ? 150 : 0)
        Parallelism.setThreadCount(cores, processesSharingCores: 1)
        Parallelism.spinMicroseconds = 40
        XCTAssertEqual(Parallelism.effectiveSpinMicroseconds, 40)
        XCTAssertEqual(runCounts(parts: 5), [1, 1, 1, 1, 1])
    }
}
