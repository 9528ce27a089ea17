import CNablaKernels
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Nabla's own worker threads behind ``Parallelism/forEach(parts:_:)``: they spin for a short while
/// after each job before they sleep, so the next job a few microseconds later starts at once.
///
/// A training step hands work to threads dozens of times (36 times per `mlp` step, 62 per `convnet`
/// step), with a little serial work in between. Dispatch's `concurrentPerform` parks its workers at
/// once; waking one costs ~9 µs per call (measured round trip 10.5 µs for 2 µs of work after a 20 µs
/// pause, 4.3 µs back to back; AMD EPYC Zen 4, 2 cores), which is ~10% of an `mlp` or `lenet-bn` step. Here a worker that finished a job
/// polls for the next one for ``Parallelism/spinMicroseconds`` before it sleeps on a condition
/// variable, the way OpenMP runtimes and OpenBLAS keep their threads warm. The spinning threads are
/// the ones that run the next job, so on a machine with a core per thread they take no time from
/// the work (unlike OpenBLAS's own pool, which spun beside Nabla's; see ``BLASThreading``).
///
/// The caller runs parts too: parts are claimed one at a time from a shared counter by the caller
/// and `min(parts, threads) − 1` workers, so which thread runs which part varies — each part writes
/// only its own outputs, so the results do not. One job runs at a time: a call made while the pool
/// is busy (a nested call from inside a part, or a second thread's call) runs on Dispatch as before.
final class WorkerPool: @unchecked Sendable {
    static let shared = WorkerPool()

    /// The shared words, each on its own 128-byte line (no false sharing between the counters).
    private let words: UnsafeMutablePointer<Int>
    private static let line = 16
    /// `sequence << participantBits | participants`: a new value publishes a job to workers
    /// `1...participants`.
    private var generation: UnsafeMutablePointer<Int> { words }
    /// The next part to claim.
    private var nextPart: UnsafeMutablePointer<Int> { words + Self.line }
    /// Participating workers that finished the current job.
    private var finished: UnsafeMutablePointer<Int> { words + 2 * Self.line }
    /// Workers asleep (or about to sleep) on `wake`.
    private var workersAsleep: UnsafeMutablePointer<Int> { words + 3 * Self.line }
    /// 1 while a job runs.
    private var busy: UnsafeMutablePointer<Int> { words + 4 * Self.line }
    /// 1 while the caller sleeps (or is about to sleep) on `jobFinished`.
    private var callerAsleep: UnsafeMutablePointer<Int> { words + 5 * Self.line }
    /// ``Parallelism/effectiveSpinMicroseconds``: read by the workers, so it is an atomic word too.
    private var spin: UnsafeMutablePointer<Int> { words + 6 * Self.line }
    private static let wordCount = 7 * line

    /// How long a worker polls for the next job, and the caller for its workers, before sleeping.
    var spinMicroseconds: Int {
        get { nabla_atomic_load(spin) }
        set { nabla_atomic_store(spin, newValue) }
    }

    /// The current job; written by the caller before it publishes `generation`, read by the
    /// participants after they see it, and not touched again until all of them have finished.
    private var body: ((Int) -> Void)?
    private var parts = 0
    private var sequence = 0
    /// Worker threads started so far (they never exit); guarded by `busy`.
    private var started = 0

    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private let jobFinished = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    /// `generation` holds the participant count in its low bits, so at most this many workers.
    private static let participantBits = 16
    private static let maximumWorkers = (1 << participantBits) - 1

    private init() {
        words = .allocate(capacity: Self.wordCount)
        words.initialize(repeating: 0, count: Self.wordCount)
        spin.pointee = Parallelism.effectiveSpin
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(wake, nil)
        pthread_cond_init(jobFinished, nil)
    }

    /// Runs `body(part)` for `part` in `0..<parts` on the calling thread and up to `threads − 1`
    /// workers, and returns `true` once every part has finished; returns `false` at once, running
    /// nothing, when another job holds the pool.
    func run(parts: Int, threads: Int, _ body: (Int) -> Void) -> Bool {
        guard nabla_atomic_compare_exchange(busy, 0, 1) != 0 else { return false }
        defer { nabla_atomic_store(busy, 0) }
        let participants = Swift.min(parts, threads, Self.maximumWorkers + 1) - 1
        startWorkers(upTo: participants)
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.parts = parts
            nabla_atomic_store(nextPart, 0)
            nabla_atomic_store(finished, 0)
            sequence &+= 1
            nabla_atomic_store(generation, sequence << Self.participantBits | participants)
            wakeSleepers(on: wake, counted: workersAsleep)
            runParts()
            wait(until: { nabla_atomic_load(self.finished) == participants }, on: jobFinished, counted: callerAsleep)
            self.body = nil
        }
        return true
    }

    /// Claims and runs parts of the current job until none is left, the last part first: Nabla's
    /// splits put the remainder of a division into the later parts, and the caller, which claims
    /// first, should take a larger one while its workers wake.
    private func runParts() {
        guard let body else { return }
        let parts = self.parts
        while true {
            let claim = nabla_atomic_fetch_add(nextPart, 1)
            if claim >= parts { return }
            body(parts - 1 - claim)
        }
    }

    /// Returns once `ready()` holds: polls it for ``Parallelism/effectiveSpinMicroseconds``, then
    /// sleeps on `condition` with `sleepers` raised, so that the thread that makes `ready()` true
    /// (after its own seq-cst store) sees a sleeper and wakes it (``wakeSleepers(on:counted:)``).
    /// Sleeping rather than spinning on keeps a thread whose partner was descheduled from holding
    /// a core the partner needs.
    private func wait(until ready: () -> Bool, on condition: UnsafeMutablePointer<pthread_cond_t>,
                      counted sleepers: UnsafeMutablePointer<Int>) {
        let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(spinMicroseconds) &* 1000
        var polls = 0
        while !ready() {
            polls &+= 1
            if polls & 63 == 0 && DispatchTime.now().uptimeNanoseconds > deadline {
                pthread_mutex_lock(mutex)
                _ = nabla_atomic_fetch_add(sleepers, 1)
                while !ready() { pthread_cond_wait(condition, mutex) }
                _ = nabla_atomic_fetch_add(sleepers, -1)
                pthread_mutex_unlock(mutex)
                return
            }
            nabla_cpu_relax()
        }
    }

    /// Wakes the threads sleeping on `condition` in ``wait(until:on:counted:)``, if any.
    private func wakeSleepers(on condition: UnsafeMutablePointer<pthread_cond_t>, counted sleepers: UnsafeMutablePointer<Int>) {
        guard nabla_atomic_load(sleepers) != 0 else { return }
        pthread_mutex_lock(mutex)
        pthread_cond_broadcast(condition)
        pthread_mutex_unlock(mutex)
    }

    private func startWorkers(upTo count: Int) {
        while started < count {
            started += 1
            let context = Unmanaged.passRetained(WorkerContext(pool: self, index: started)).toOpaque()
            var thread = pthread_t()
            var attributes = pthread_attr_t()
            pthread_attr_init(&attributes)
            pthread_attr_setstacksize(&attributes, 8 << 20)
            pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
            let status = pthread_create(&thread, &attributes, { raw in
                #if canImport(Darwin)
                let context = Unmanaged<WorkerContext>.fromOpaque(raw).takeRetainedValue()
                #else
                let context = Unmanaged<WorkerContext>.fromOpaque(raw!).takeRetainedValue()
                #endif
                context.pool.workerLoop(index: context.index)
            }, context)
            pthread_attr_destroy(&attributes)
            precondition(status == 0, "Nabla could not start a worker thread (pthread_create error \(status))")
        }
    }

    private final class WorkerContext {
        let pool: WorkerPool
        let index: Int
        init(pool: WorkerPool, index: Int) { self.pool = pool; self.index = index }
    }

    /// Worker `index` (1-based): waits for each new generation and, when it is among the job's
    /// participants, runs parts and reports that it finished.
    private func workerLoop(index: Int) -> Never {
        var seen = 0
        while true {
            wait(until: { nabla_atomic_load(self.generation) >> Self.participantBits != seen },
                 on: wake, counted: workersAsleep)
            let published = nabla_atomic_load(generation)
            seen = published >> Self.participantBits
            guard index <= published & Self.maximumWorkers else { continue }
            runParts()
            _ = nabla_atomic_fetch_add(finished, 1)
            wakeSleepers(on: jobFinished, counted: callerAsleep)
        }
    }
}
