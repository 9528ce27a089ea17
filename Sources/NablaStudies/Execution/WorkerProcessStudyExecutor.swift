import Foundation
import NablaTensor
import NablaTraining

/// Runs jobs in up to ``workerCount`` local worker processes at once — `nabla study worker`, each
/// with its own threads — speaking ``StudyWorkerProtocol`` over their standard input and output.
///
/// Independent runs parallelize perfectly, so on a machine with C cores J = C / T workers of T
/// threads each (T = 1 for small models) use the cores far better than one run with C threads. A
/// worker lives for the whole batch and keeps the data it has read, so Fashion-MNIST is decoded once
/// per worker, not once per run. Jobs go to whichever worker is free; their results arrive in the
/// order they finish and are reported on the calling thread.
///
/// If a worker dies (killed, out of memory) its job fails with the worker's last words on standard
/// error; the other workers finish their jobs, and the batch fails. Closing a worker's input ends
/// it, so an executor that returns (or throws) leaves no process behind.
public final class WorkerProcessStudyExecutor: StudyExecutor {
    /// The `nabla` executable.
    public let executable: URL
    /// The arguments that start a worker (`["study", "worker", "--threads", "1"]`).
    public let arguments: [String]
    /// The most worker processes at once.
    public let workerCount: Int
    /// Threads per worker (for ``summary``; the arguments set them).
    public let threadsPerWorker: Int

    /// An executor that starts up to `workerCount` processes `executable arguments…`, each with `threadsPerWorker` threads.
    /// - Precondition: `workerCount >= 1`.
    public init(executable: URL, arguments: [String], workerCount: Int, threadsPerWorker: Int) {
        precondition(workerCount >= 1, "WorkerProcessStudyExecutor: workerCount \(workerCount) must be at least 1")
        self.executable = executable
        self.arguments = arguments
        self.workerCount = workerCount
        self.threadsPerWorker = threadsPerWorker
    }

    /// `2 worker processes × 1 thread`.
    public var summary: String {
        "\(workerCount) worker process\(workerCount == 1 ? "" : "es") × \(threadsPerWorker) thread\(threadsPerWorker == 1 ? "" : "s")"
    }

    /// The running `nabla` executable (`/proc/self/exe` on Linux), for workers of the same build.
    public static var currentExecutable: URL {
        let proc = URL(fileURLWithPath: "/proc/self/exe")
        if FileManager.default.fileExists(atPath: proc.path) { return proc.resolvingSymlinksInPath() }
        return Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])
    }

    /// Hands each job to an idle worker (starting up to ``workerCount`` of them) and reports their messages as they arrive.
    public func execute(_ jobs: [StudyJob], report: (Int, StudyJobEvent) throws -> Void) throws {
        guard !jobs.isEmpty else { return }
        // A worker that dies leaves a broken pipe: writing to it must fail with an error, not end
        // this process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        let mailbox = Mailbox()
        var workers: [Worker] = []
        defer {
            for worker in workers { worker.finish() }
        }
        var next = 0, running = 0
        var failure: Error?
        func assign(_ worker: Worker) throws {
            guard failure == nil, next < jobs.count else { return }
            try worker.send(jobs[next], index: next)
            next += 1
            running += 1
        }
        for w in 0..<min(workerCount, jobs.count) {
            let worker = try Worker(index: w, executable: executable, arguments: arguments, mailbox: mailbox)
            workers.append(worker)
            try assign(worker)
        }
        while running > 0 {
            let (w, line) = mailbox.take()
            let worker = workers[w]
            guard let index = worker.job else { continue }
            guard let line else {
                // The worker's output ended while it ran a job: it died.
                running -= 1
                worker.job = nil
                let status = worker.waitForExit()
                failure = failure ?? NablaError(.io, "worker process \(worker.process.processIdentifier) exited (\(status)) while running "
                                                + "\(jobs[index].id)\(worker.lastWords.isEmpty ? "" : ": " + worker.lastWords)")
                continue
            }
            let message: StudyWorkerProtocol.Message
            do {
                message = try StudyWorkerProtocol.Message(line: line)
            } catch {
                failure = failure ?? NablaError(.io, "worker process \(worker.process.processIdentifier) wrote an unreadable line while running \(jobs[index].id)")
                continue
            }
            do {
                if let epoch = message.epoch {
                    try report(index, .epoch(epoch))
                } else if let result = message.result {
                    running -= 1
                    worker.job = nil
                    try report(index, .finished(result))
                    try assign(worker)
                } else {
                    running -= 1
                    worker.job = nil
                    let kind = message.kind.flatMap(NablaError.Kind.init(rawValue:)) ?? .io
                    failure = failure ?? NablaError(kind, message.error ?? "\(jobs[index].id): the worker reported an error")
                }
            } catch {
                failure = failure ?? error
            }
        }
        if let failure { throw failure }
    }
}

/// Lines from all workers, in arrival order (`nil` line: that worker's output ended).
private final class Mailbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [(Int, String?)] = []

    func post(_ worker: Int, _ line: String?) {
        condition.lock()
        items.append((worker, line))
        condition.signal()
        condition.unlock()
    }

    func take() -> (Int, String?) {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty { condition.wait() }
        return items.removeFirst()
    }
}

/// One worker process and the threads that read its output.
private final class Worker: @unchecked Sendable {
    let index: Int
    let process = Process()
    private let input: FileHandle
    private let stderrLock = NSLock()
    private var stderrTail = Data()
    private let readers = DispatchGroup()
    /// The index of the job it runs.
    var job: Int?

    init(index: Int, executable: URL, arguments: [String], mailbox: Mailbox) throws {
        self.index = index
        process.executableURL = executable
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        input = stdin.fileHandleForWriting
        do {
            try process.run()
        } catch {
            throw NablaError(.io, "\(executable.path): cannot start a worker process (\(error.localizedDescription))")
        }
        let output = stdout.fileHandleForReading
        readers.enter()
        Thread.detachNewThread { [readers] in
            var buffer = Data()
            while true {
                let chunk = output.availableData
                if chunk.isEmpty { break }
                buffer.append(chunk)
                while let newline = buffer.firstIndex(of: 0x0A) {
                    mailbox.post(index, String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                    buffer.removeSubrange(buffer.startIndex...newline)
                }
            }
            mailbox.post(index, nil)
            readers.leave()
        }
        let errors = stderr.fileHandleForReading
        readers.enter()
        Thread.detachNewThread { [self, readers] in
            while true {
                let chunk = errors.availableData
                if chunk.isEmpty { break }
                stderrLock.lock()
                stderrTail.append(chunk)
                if stderrTail.count > 4096 { stderrTail.removeFirst(stderrTail.count - 4096) }
                stderrLock.unlock()
            }
            readers.leave()
        }
    }

    /// Sends job `index` to the worker.
    func send(_ job: StudyJob, index: Int) throws {
        let line = try StudyWorkerProtocol.line(for: job) + "\n"
        do {
            try input.write(contentsOf: Data(line.utf8))
        } catch {
            throw NablaError(.io, "cannot send \(job.id) to worker process \(process.processIdentifier): it has exited")
        }
        self.job = index
    }

    /// The last line the worker wrote on standard error.
    var lastWords: String {
        stderrLock.lock()
        defer { stderrLock.unlock() }
        return String(decoding: stderrTail, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    }

    /// Waits for the process to end; "status N" or "signal N".
    func waitForExit() -> String {
        process.waitUntilExit()
        return process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "status \(process.terminationStatus)"
    }

    /// Closes the worker's input (it exits after its current job) and waits for it.
    func finish() {
        try? input.close()
        process.waitUntilExit()
        readers.wait()
    }
}
