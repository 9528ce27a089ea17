import Dispatch
import Foundation

/// The one knob for how many threads Nabla's kernels use, matrix products included: OpenBLAS itself
/// stays single-threaded and Nabla splits large products over these threads (see ``BLASThreading``).
///
/// Kernels split work into a number of parts that depends only on the problem size and
/// ``threadCount`` — never on timing — and each part writes its own outputs, so results are the same
/// from run to run for a given thread count.
public enum Parallelism {
    nonisolated(unsafe) private static var configured = availableCoreCount

    /// Threads for Nabla's kernels (default: ``availableCoreCount``).
    public static var threadCount: Int { configured }

    /// The cores this process may run on: on Linux the CPUs of its affinity mask (the `Cpus_allowed`
    /// hex mask of `/proc/self/status`, so `taskset -c 0` or a container's cpuset gives 1), elsewhere
    /// or when that cannot be read the active processor count.
    public static var availableCoreCount: Int {
        #if os(Linux)
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") }) {
            let mask = line.dropFirst("Cpus_allowed:".count)
            let count = mask.reduce(0) { $0 + ($1.hexDigitValue?.nonzeroBitCount ?? 0) }
            if count > 0 { return count }
        }
        #endif
        return ProcessInfo.processInfo.activeProcessorCount
    }

    /// Sets the threads of Nabla's kernels and matrix products to `count` (at least 1).
    ///
    /// `processesSharingCores` is how many processes like this one run at once on the cores this one
    /// may use — MPI ranks on one machine, a study's worker processes (`nil` keeps the last value;
    /// initially 1). When `count × processesSharingCores` exceeds ``availableCoreCount``, the worker
    /// pool's threads sleep at once between jobs instead of spinning for ``spinMicroseconds``: a
    /// spinning thread would hold a core another process's thread is waiting for (2 ranks × 2 threads
    /// on 2 cores: 14.2 ms per `mlp` step spinning, 6.7 ms sleeping; AMD EPYC Zen 4).
    public static func setThreadCount(_ count: Int, processesSharingCores: Int? = nil) {
        configured = max(1, count)
        if let processesSharingCores { sharingProcesses = max(1, processesSharingCores) }
        WorkerPool.shared.spinMicroseconds = effectiveSpin
        BLASThreading.useSingleThreadedBLAS()
    }

    /// How many processes share this one's cores (see ``setThreadCount(_:processesSharingCores:)``).
    public static var processesSharingCores: Int { sharingProcesses }
    nonisolated(unsafe) private static var sharingProcesses = 1

    /// Runs `body(part)` for `part` in `0..<parts`, concurrently on up to ``threadCount`` threads
    /// when `parts > 1` and more than one thread is configured, else in order on the calling thread.
    ///
    /// This is the one place where Nabla's kernels hand work to threads: Nabla's worker pool, whose
    /// threads stay awake for ``spinMicroseconds`` between jobs (see `WorkerPool`), or Dispatch's
    /// `concurrentPerform` for a call made while the pool runs another job (a nested call, or a
    /// second thread's). Each part must write only its own outputs; then the result does not depend
    /// on whether, in which order, or on which thread the parts ran.
    public static func forEach(parts: Int, _ body: (Int) -> Void) {
        if parts <= 1 || threadCount <= 1 {
            for part in 0..<max(parts, 0) { body(part) }
        } else if !WorkerPool.shared.run(parts: parts, threads: threadCount, body) {
            DispatchQueue.concurrentPerform(iterations: parts, execute: body)
        }
    }

    /// How long, in microseconds, a worker thread that finished its part polls for the next job
    /// before it sleeps, and how long the calling thread polls for its workers before it sleeps.
    /// Default 200: a training step's jobs follow each other within tens of microseconds, and waking
    /// a sleeping thread costs ~9 µs each time. 0 makes workers sleep at once — for a machine
    /// running more busy threads than it has cores, where a spinning thread takes time from another
    /// one's work; Nabla does that itself while the threads asked for outnumber the cores (see
    /// ``effectiveSpinMicroseconds``). The environment variable `NABLA_SPIN_MICROSECONDS` sets the
    /// initial value (a whole number from 0 to 1,000,000; anything else is ignored); values set here
    /// are clamped to that range.
    public static var spinMicroseconds: Int {
        get { requestedSpin }
        set {
            requestedSpin = min(max(0, newValue), 1_000_000)
            WorkerPool.shared.spinMicroseconds = effectiveSpin
        }
    }
    nonisolated(unsafe) private static var requestedSpin =
        spinMicroseconds(fromEnvironment: ProcessInfo.processInfo.environment["NABLA_SPIN_MICROSECONDS"])

    /// The spin in effect: ``spinMicroseconds``, or 0 while ``threadCount`` × ``processesSharingCores``
    /// exceeds ``availableCoreCount`` (more busy threads than cores).
    public static var effectiveSpinMicroseconds: Int { WorkerPool.shared.spinMicroseconds }

    /// ``effectiveSpinMicroseconds`` for the current settings (read by the pool when it starts).
    static var effectiveSpin: Int {
        configured * sharingProcesses > availableCoreCount ? 0 : requestedSpin
    }

    /// The spin a `NABLA_SPIN_MICROSECONDS` value asks for: a whole number of microseconds from 0 to
    /// 1,000,000, or the default 200 for a missing or any other value.
    static func spinMicroseconds(fromEnvironment text: String?) -> Int {
        if let text, let value = Int(text), (0...1_000_000).contains(value) { return value }
        return 200
    }

    /// Splits `0..<count` into `parts` contiguous ranges, part `p` covering
    /// `count·p/parts ..< count·(p+1)/parts`, and runs `body(range, p)` for each through
    /// ``forEach(parts:_:)``. Empty ranges are skipped.
    public static func forEachRange(of count: Int, parts: Int, _ body: (Range<Int>, Int) -> Void) {
        let parts = max(1, min(parts, count))
        if parts == 1 {
            if count > 0 { body(0..<count, 0) }
            return
        }
        forEach(parts: parts) { part in
            body(count * part / parts ..< count * (part + 1) / parts, part)
        }
    }

    /// Runs `body` over `0..<count` elements of elementwise work in contiguous ranges, one per thread
    /// once each gets at least 2¹⁵ elements (``parts(forWork:items:minimumWorkPerPart:)``), else once
    /// on the calling thread. Nothing runs when `count` is 0.
    public static func forEachElementRange(of count: Int, _ body: (Range<Int>) -> Void) {
        forEachRange(of: count, parts: parts(forWork: count, items: count)) { range, _ in body(range) }
    }

    /// How many parts to split `work` units into: one per thread once the work is worth it
    /// (`work ≥ minimumWorkPerPart` per part), and never more parts than `items`.
    public static func parts(forWork work: Int, items: Int, minimumWorkPerPart: Int = 1 << 15) -> Int {
        guard threadCount > 1, items > 1 else { return 1 }
        return max(1, min(threadCount, items, work / max(minimumWorkPerPart, 1)))
    }
}
