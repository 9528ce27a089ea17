import Foundation
import NablaTensor
import NablaIO

/// A log file written by appending whole records with POSIX calls, so a failure reports `errno`'s
/// reason ("No space left on device") and a record is handed to the kernel in one piece.
///
/// A record that cannot be written completely (a full disk) is cut back off the file: the file
/// keeps only whole records, and the next append can retry. A process killed in the middle of an
/// append can leave a partial record; the training logs are rebuilt from the checkpoint when a run
/// resumes, which removes it.
final class AppendFile {
    let url: URL
    /// What the file is, for messages (`"metrics file"`).
    let what: String
    private var descriptor: Int32

    /// Opens `url` for appending, creating it and its directory if needed; empties it with `truncate`.
    /// - Throws: ``NablaError`` (`.io`) naming the path.
    init(url: URL, truncate: Bool, what: String) throws {
        self.url = url
        self.what = what
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw NablaError(.io, "\(url.path): cannot create directory \(url.deletingLastPathComponent().path)")
        }
        if FileManager.default.fileExists(atPath: url.path) { try AtomicFile.checkReplaceable(url) }
        descriptor = open(url.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0o644)
        guard descriptor >= 0 else {
            throw NablaError(.io, "\(url.path): cannot open the \(what) for writing (\(String(cString: strerror(errno))))")
        }
    }

    deinit { if descriptor >= 0 { Foundation.close(descriptor) } }

    /// Appends `bytes` completely, or throws and leaves the file as it was.
    func append(_ bytes: [UInt8]) throws {
        precondition(descriptor >= 0, "\(url.path) appended to after close()")
        guard !bytes.isEmpty else { return }
        let start = lseek(descriptor, 0, SEEK_END)
        let failure = bytes.withUnsafeBytes { KillPoint.writeAll($0, to: descriptor, point: "append:" + url.lastPathComponent) }
        if let failure {
            if start >= 0 { _ = ftruncate(descriptor, start) }
            throw NablaError(.io, "\(url.path): cannot append to the \(what) (\(failure))")
        }
    }

    /// Asks the system to commit the file to disk.
    func synchronize() throws {
        guard descriptor >= 0, fsync(descriptor) != 0 else { return }
        let code = errno
        // Some files (pipes, /dev/null) cannot be synchronized; that is not a failure of the log.
        guard code != EINVAL && code != EROFS else { return }
        throw NablaError(.io, "\(url.path): cannot commit to disk (\(String(cString: strerror(code))))")
    }

    /// Closes the file (twice is harmless).
    func close() throws {
        guard descriptor >= 0 else { return }
        let status = Foundation.close(descriptor)
        descriptor = -1
        if status != 0 { throw NablaError(.io, "\(url.path): cannot close (\(String(cString: strerror(errno))))") }
    }
}
