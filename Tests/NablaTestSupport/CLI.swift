import Foundation
import XCTest

/// Runs the real `nabla` executable (built next to the test bundle by `swift build --build-tests`).
public enum CLI {
    /// `$NABLA_EXECUTABLE`, else `nabla` in the build folder (beside the test resource bundles).
    public static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["NABLA_EXECUTABLE"] { return URL(fileURLWithPath: path) }
        let bundle = Bundle.module.bundleURL.deletingLastPathComponent()
        let candidates = [bundle.appendingPathComponent("nabla"), bundle.deletingLastPathComponent().appendingPathComponent("nabla")]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }

    /// Collects a pipe's bytes on a background queue.
    public final class Drain: @unchecked Sendable {
        private var data = Data()
        private let group = DispatchGroup()
        public init(_ pipe: Pipe) {
            group.enter()
            DispatchQueue.global().async { [self] in
                data = pipe.fileHandleForReading.readDataToEndOfFile()
                group.leave()
            }
        }
        public var text: String {
            group.wait()
            return String(decoding: data, as: UTF8.self)
        }
    }

    public struct Result {
        /// The exit status, or the signal number when ``signaled``.
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// Whether the process was ended by a signal (then ``status`` is its number).
        public var signaled = false

        public init(status: Int32, stdout: String, stderr: String, signaled: Bool = false) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
            self.signaled = signaled
        }
    }

    /// Runs `nabla arguments…` to completion, with `environment` added to this process's.
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: TimeInterval = 120) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        let stdout = Drain(out), stderr = Drain(err)
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { process.terminate(); XCTFail("nabla \(arguments) timed out") }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: stdout.text, stderr: stderr.text,
                      signaled: process.terminationReason == .uncaughtSignal)
    }
}
