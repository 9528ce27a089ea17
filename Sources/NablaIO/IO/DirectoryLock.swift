import Foundation
import NablaTensor

/// An exclusive advisory lock on a directory, held by one process at a time: `flock(2)` on the file
/// `.nabla.lock` inside it, which records the holder's process id.
///
/// A training run locks its checkpoint and log directories, so a second run pointed at the same
/// directory fails at once with one line naming the first one's process, instead of interleaving
/// checkpoints and log rows. The kernel drops the lock when the holder exits, however it exits
/// (`SIGKILL` included), so a killed run never leaves a stale lock; the file itself stays.
///
/// `flock` locks belong to an open file description: a second ``acquire(_:purpose:)`` of the same
/// directory fails even within one process, until the first lock is released or deinitialized.
public final class DirectoryLock {
    /// The name of the lock file inside a locked directory.
    public static let fileName = ".nabla.lock"

    /// The locked directory.
    public let directory: URL
    private var descriptor: Int32

    private init(directory: URL, descriptor: Int32) {
        self.directory = directory
        self.descriptor = descriptor
    }

    deinit { release() }

    /// Creates `directory` if needed and locks it.
    /// - Parameter purpose: what the directory is, for messages (`"checkpoint directory"`).
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) naming the directory: it cannot be created, or another process
    ///   holds the lock (naming its process id when the lock file records it).
    public static func acquire(_ directory: URL, purpose: String) throws -> DirectoryLock {
        if let failure = makeDirectories(directory) {
            throw NablaError(.io, "\(directory.path): cannot create the \(purpose) (\(failure))")
        }
        let path = directory.appendingPathComponent(fileName).path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw NablaError(.io, "\(directory.path): cannot create the lock file of the \(purpose) (\(String(cString: strerror(errno))))")
        }
        var status: Int32
        repeat { status = flock(descriptor, LOCK_EX | LOCK_NB) } while status != 0 && errno == EINTR
        guard status == 0 else {
            let code = errno
            let holder = Self.recordedHolder(descriptor)
            close(descriptor)
            if code == EWOULDBLOCK {
                let who = holder.map { "process \($0)" } ?? "another process"
                throw NablaError(.io, "\(directory.path): the \(purpose) is in use by another nabla run (\(who)); wait for it to finish or choose another directory")
            }
            throw NablaError(.io, "\(directory.path): cannot lock the \(purpose) (\(String(cString: strerror(code))))")
        }
        // Record the holder. Failing to write it (a full disk) does not matter: the lock holds.
        let text = "\(getpid())\n"
        if ftruncate(descriptor, 0) == 0 {
            _ = text.utf8CString.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count - 1, 0) }
        }
        return DirectoryLock(directory: directory, descriptor: descriptor)
    }

    /// Releases the lock (closing twice is harmless).
    public func release() {
        guard descriptor >= 0 else { return }
        close(descriptor)  // closing the descriptor drops the flock
        descriptor = -1
    }

    /// The process id the lock file records, if it holds one.
    private static func recordedHolder(_ descriptor: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = pread(descriptor, &buffer, buffer.count, 0)
        guard count > 0 else { return nil }
        return Int32(String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// `mkdir -p`: creates `directory` and its missing parents; returns `strerror` of a failure
    /// ("Not a directory" when a file is in the way, "Read-only file system", …).
    static func makeDirectories(_ directory: URL) -> String? {
        var path = ""
        for component in directory.standardizedFileURL.path.split(separator: "/", omittingEmptySubsequences: true) {
            path += "/" + component
            if mkdir(path, 0o755) == 0 { continue }
            let code = errno
            var status = stat()
            if code == EEXIST || stat(path, &status) == 0 {
                guard stat(path, &status) == 0 else { return String(cString: strerror(errno)) }
                if status.st_mode & S_IFMT != S_IFDIR { return String(cString: strerror(ENOTDIR)) }
                continue
            }
            return String(cString: strerror(code))
        }
        return nil
    }
}
