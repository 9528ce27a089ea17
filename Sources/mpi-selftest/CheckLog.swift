import Foundation
import NablaDistributed

/// The results of one rank's checks: how many passed, and a line for each
/// failure.
struct CheckLog {
    let rank: Int
    let size: Int
    private(set) var passed = 0
    private(set) var failures: [String] = []

    init(group: any ProcessGroup) {
        rank = group.rank
        size = group.size
    }

    /// Records the check `name` as passed when `condition` holds, and as
    /// failed with `detail` otherwise (printed at once).
    mutating func expect(_ condition: Bool, _ name: String, _ detail: @autoclosure () -> String = "") {
        if condition {
            passed += 1
        } else {
            let line = "FAIL rank \(rank): \(name) \(detail())"
            failures.append(line)
            report(line)
        }
    }

    /// Runs `body` and records `name` as failed if it throws.
    mutating func expectNoThrow(_ name: String, _ body: () throws -> Void) {
        do {
            try body()
            passed += 1
        } catch {
            expect(false, name, "threw \(error)")
        }
    }

    /// Prints informational output (timings) that is not a check.
    func note(_ text: String) {
        report("note rank \(rank): \(text)")
    }

    /// Prints the line the tests look for:
    /// `rank R of K on HOST: N checks ok, M failed`.
    func printSummary() {
        var name = [CChar](repeating: 0, count: 256)
        let host = gethostname(&name, name.count - 1) == 0
            ? String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : "unknown"
        report("rank \(rank) of \(size) on \(host): \(passed) checks ok, \(failures.count) failed")
    }
}

/// A small deterministic random number generator (SplitMix64), so that each
/// rank can regenerate every other rank's data to compute expected results.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// FNV-1a over the bit patterns of `values`: equal hashes on all ranks mean
/// (with overwhelming probability) bit-identical buffers.
func bitPatternHash<Element: BinaryFloatingPoint>(_ values: UnsafeMutableBufferPointer<Element>) -> UInt64 {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    UnsafeRawBufferPointer(values).forEach { byte in
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }
    return hash
}
