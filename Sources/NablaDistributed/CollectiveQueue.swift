import Foundation

/// A communication thread: collectives submitted from one thread run on a dedicated thread, one
/// at a time, in the order they were submitted.
///
/// Data-parallel training uses it to overlap gradient reduction with backward: each bucket of
/// gradients is submitted with ``async(_:)`` as soon as backward has finished it, and the training
/// thread goes on differentiating the earlier layers while this thread runs a *blocking*
/// `allReduce` (Open MPI's blocking reductions are 2–3× faster than `MPI_Iallreduce` for large
/// buffers and need no polling to progress; see ``CollectiveRequest``).
///
/// Every collective of the job goes through the one queue — gradient buckets and also the
/// collectives the training thread waits for (SyncBatchNorm's statistics, ``sync(_:)``) — so the
/// order of collectives on every rank is the order the training thread submitted them, which is
/// the same on every rank; MPI requires exactly that. (Two threads calling collectives on their
/// own would race for the order.) One thread at a time is what `MPI_THREAD_SERIALIZED` allows.
///
/// After a work item throws, later items are skipped and the error is rethrown by the next
/// ``sync(_:)`` or ``waitUntilIdle()``: a collective that failed on one rank leaves the job broken.
public final class CollectiveQueue: @unchecked Sendable {
    private let worker = Worker()

    /// Starts the communication thread, named `name`.
    public init(name: String = "nabla.collectives") {
        let thread = Thread { [worker] in worker.serve() }
        thread.name = name
        thread.start()
    }

    /// Lets the thread end once the submitted work is done.
    deinit { worker.stop() }

    /// Submits `body` to run after everything submitted before it, and returns at once.
    public func async(_ body: @escaping () throws -> Void) { worker.submit(body) }

    /// Runs `body` on the communication thread after everything submitted before it, and returns
    /// its result.
    /// - Throws: the first error of an earlier work item, or `body`'s own.
    public func sync<T>(_ body: @escaping () throws -> T) throws -> T {
        let box = ResultBox<T>()
        async { box.result = Result { try body() } }
        try waitUntilIdle()
        return try box.result!.get()
    }

    /// Waits until every submitted work item has run.
    /// - Throws: the first error a work item threw — again on every later call: the queue stays
    ///   failed and skips the work submitted after the failure.
    public func waitUntilIdle() throws { try worker.waitUntilIdle() }

    /// The queue's state, shared with its thread (which outlives the queue until the work is done).
    private final class Worker: @unchecked Sendable {
        private let condition = NSCondition()
        private var work: [() throws -> Void] = []
        private var submitted = 0
        private var finished = 0
        private var failure: Error?
        private var stopping = false

        func submit(_ body: @escaping () throws -> Void) {
            condition.lock()
            work.append(body)
            submitted += 1
            condition.broadcast()
            condition.unlock()
        }

        func stop() {
            condition.lock()
            stopping = true
            condition.broadcast()
            condition.unlock()
        }

        func waitUntilIdle() throws {
            condition.lock()
            while finished < submitted { condition.wait() }
            let error = failure
            condition.unlock()
            if let error { throw error }
        }

        func serve() {
            while true {
                condition.lock()
                while work.isEmpty && !stopping { condition.wait() }
                if work.isEmpty { condition.unlock(); return }
                let next = work.removeFirst()
                let failed = failure != nil
                condition.unlock()
                var thrown: Error?
                if !failed {
                    do { try next() } catch { thrown = error }
                }
                condition.lock()
                if let thrown, failure == nil { failure = thrown }
                finished += 1
                condition.broadcast()
                condition.unlock()
            }
        }
    }

    /// Carries a result from the communication thread to the caller of ``sync(_:)``.
    private final class ResultBox<T>: @unchecked Sendable {
        var result: Result<T, Error>?
    }
}
