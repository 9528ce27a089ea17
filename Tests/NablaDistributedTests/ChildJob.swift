import Foundation
import XCTest

/// A child process started by a test (`mpirun`, or a script that runs it),
/// with its standard output and standard error collected into one text.
///
/// Every wait has a deadline; a job that outlives it is terminated (SIGTERM,
/// which `mpirun` forwards to its ranks, then SIGKILL), so a test can fail
/// but never hang.
final class ChildJob: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var collected = Data()
    private let endOfOutput = DispatchSemaphore(value: 0)

    /// Prepares `executable` with `arguments`, in this process's environment
    /// plus `extraEnvironment`.
    init(executable: URL, arguments: [String], extraEnvironment: [String: String] = [:]) {
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(extraEnvironment) { $1 }
    }

    /// Everything the job printed so far, standard output and error merged.
    var output: String {
        lock.lock()
        defer { lock.unlock() }
        return String(decoding: collected, as: UTF8.self)
    }

    /// The exit status; meaningful after `wait(timeout:)` returned `true`.
    var status: Int32 { process.terminationStatus }

    /// The process id of the job's top process (e.g. `mpirun`).
    var processIdentifier: Int32 { process.processIdentifier }

    /// Starts the job and a thread that collects its output.
    func start() throws {
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let reader = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { break }
                lock.lock()
                collected.append(chunk)
                lock.unlock()
            }
            endOfOutput.signal()
        }
    }

    /// Waits up to `timeout` seconds for the job to exit and returns whether
    /// it did; otherwise terminates it and returns `false`.
    @discardableResult
    func wait(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline {
            usleep(5000)
        }
        guard !process.isRunning else {
            terminate()
            return false
        }
        // Ranks that outlived mpirun could keep the pipe open; do not wait
        // for them long.
        _ = endOfOutput.wait(timeout: .now() + 5)
        return true
    }

    /// Waits up to `timeout` seconds until the output contains every string
    /// in `needles`; returns whether it did.
    func waitForOutput(containing needles: [String], timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let text = output
            if needles.allSatisfy(text.contains) { return true }
            if !process.isRunning { return false }
            usleep(5000)
        }
        return false
    }

    /// Sends SIGTERM, then SIGKILL if the job is still there 5 s later.
    func terminate() {
        guard process.isRunning else { return }
        process.terminate()
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline {
            usleep(10000)
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
    }

    deinit {
        terminate()
    }
}

extension ChildJob {
    /// The pids of ranks 0 and 1 from the `pid R PID` lines that
    /// `mpi-selftest stall` prints, once both are there.
    var rankProcessIdentifiers: [Int32]? {
        var pids: [Int: Int32] = [:]
        for line in output.split(separator: "\n") where line.hasPrefix("pid ") {
            let fields = line.split(separator: " ")
            if fields.count == 3, let rank = Int(fields[1]), let pid = Int32(fields[2]) {
                pids[rank] = pid
            }
        }
        guard let first = pids[0], let second = pids[1] else { return nil }
        return [first, second]
    }

    /// Whether `pid` still exists (zombies count as gone: mpirun reaps its
    /// ranks, and a rank reparented to init is reaped shortly after).
    static func isAlive(_ pid: Int32) -> Bool {
        for _ in 0 ..< 100 {
            guard kill(pid, 0) == 0 else { return false }
            if let status = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
               status.contains(") Z ") {
                return false
            }
            usleep(20000)
        }
        return true
    }
}

/// Where the tests find the programs they start.
enum TestEnvironment {
    /// The root of this package, found from this file's path.
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The first executable called `name` on `PATH`.
    static func executableOnPath(_ name: String) -> URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// `mpirun`, or a skip explaining how to get it.
    static func mpirun() throws -> URL {
        #if !MPI
        throw XCTSkip("built without the MPI package trait; the multi-process tests need it")
        #else
        guard let mpirun = executableOnPath("mpirun") else {
            throw XCTSkip("mpirun not found on PATH: install Open MPI (Debian: openmpi-bin libopenmpi-dev)")
        }
        return mpirun
        #endif
    }

    /// The `mpi-selftest` executable built next to the test bundle, or the
    /// one named by `NABLA_MPI_SELFTEST`.
    static func selfTest() throws -> URL {
        var candidates: [URL] = []
        if let override = ProcessInfo.processInfo.environment["NABLA_MPI_SELFTEST"] {
            candidates.append(URL(fileURLWithPath: override))
        }
        for base in [Bundle.main.bundleURL, Bundle(for: ChildJob.self).bundleURL,
                     URL(fileURLWithPath: CommandLine.arguments[0])] {
            candidates.append(base.deletingLastPathComponent().appendingPathComponent("mpi-selftest"))
            candidates.append(base.appendingPathComponent("mpi-selftest"))
        }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("mpi-selftest not built; looked at \(candidates.map(\.path))")
        }
        return found
    }

    /// The variables Open MPI needs to let root start ranks; empty for
    /// other users.
    static var rootPermission: [String: String] {
        geteuid() == 0 ? ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"] : [:]
    }

    /// The summary line that `mpi-selftest collectives` prints for `rank` of
    /// `size`, if present: `rank R of K on HOST: N checks ok, M failed`.
    static func summary(rank: Int, size: Int, in output: String) -> (host: String, passed: Int, failed: Int)? {
        let prefix = "rank \(rank) of \(size) on "
        for line in output.split(separator: "\n") where line.hasPrefix(prefix) {
            let rest = line.dropFirst(prefix.count)
            guard let colon = rest.firstIndex(of: ":") else { continue }
            let numbers = rest[rest.index(after: colon)...].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            guard numbers.count == 2 else { continue }
            return (String(rest[..<colon]), numbers[0], numbers[1])
        }
        return nil
    }
}
