import Foundation
import NablaTensor

/// Crash-safe file writes: the data goes to a temporary file beside the destination, is flushed to
/// disk, and is then renamed over the destination, so a reader sees either the old file or the new
/// one — never a half-written file — even if the process is killed mid-write.
///
/// The temporary file is `.<name>.tmp-<pid>-<random>`. A process killed between creating it and the
/// rename leaves it behind; the next write of the same destination (by any process) removes the
/// leftovers of processes that no longer run, and ``removeStaleTemporaries(in:)`` sweeps a whole
/// directory, so they never pile up.
///
/// Only regular files are replaced: an existing directory, device node, FIFO or socket at the
/// destination is refused (renaming over `/dev/full` would replace the device node). A symbolic link
/// is followed, and the file it points to is replaced, as `open(2)` would write through it.
public enum AtomicFile {
    /// Writes `data` to `url` atomically, creating the parent directory if needed.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) naming the path when the destination is not a regular file,
    ///   the directory cannot be created, or the write or rename fails; the previous file, if any, is
    ///   then left intact.
    public static func write(_ data: Data, to url: URL) throws {
        let url = try resolvedDestination(url)
        let directory = url.deletingLastPathComponent()
        let fm = FileManager.default
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw NablaError(.io, "\(url.path): cannot create directory \(directory.path)")
        }
        removeStaleTemporaries(in: directory, of: url.lastPathComponent)
        let temporary = directory.appendingPathComponent(temporaryPrefix(of: url.lastPathComponent) + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        // POSIX calls rather than FileHandle, so a failure reports errno's reason ("File too large",
        // "No space left on device") instead of Foundation's generic "error 512".
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw NablaError(.io, "\(url.path): cannot write in \(directory.path) (\(String(cString: strerror(errno))))")
        }
        let failure: String? = data.withUnsafeBytes { raw -> String? in
            if let failure = KillPoint.writeAll(raw, to: descriptor, point: "write:" + url.lastPathComponent) { return failure }
            return fsync(descriptor) == 0 ? nil : String(cString: strerror(errno))
        }
        close(descriptor)
        if let failure {
            try? fm.removeItem(at: temporary)
            throw NablaError(.io, "\(url.path): write failed (\(failure)); the previous file is unchanged")
        }
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? fm.removeItem(at: temporary)
            throw NablaError(.io, "\(url.path): cannot replace file (\(reason)); the previous file is unchanged")
        }
        // Make the rename itself durable (best effort: some file systems refuse fsync on a directory).
        let directoryDescriptor = open(directory.path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    /// Checks, without writing, that `url` could be replaced by ``write(_:to:)``: nothing is there,
    /// or a regular file (or a link to one). Commands call it before long work whose result goes there.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) naming the path and what is there instead.
    public static func checkReplaceable(_ url: URL) throws {
        _ = try resolvedDestination(url)
    }

    /// The file a write to `url` replaces: `url` itself, or the end of its chain of symbolic links.
    static func resolvedDestination(_ url: URL) throws -> URL {
        var destination = url
        var status = stat()
        for _ in 0..<40 {  // SYMLOOP_MAX
            guard lstat(destination.path, &status) == 0 else { return destination }  // nothing there yet
            switch status.st_mode & S_IFMT {
            case S_IFREG:
                return destination
            case S_IFLNK:
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: destination.path) else {
                    throw NablaError(.io, "\(url.path): cannot read the symbolic link")
                }
                destination = target.hasPrefix("/") ? URL(fileURLWithPath: target)
                    : destination.deletingLastPathComponent().appendingPathComponent(target)
            case S_IFDIR:
                throw NablaError(.io, "\(url.path): is a directory, not a regular file; refusing to replace it")
            case S_IFCHR, S_IFBLK:
                throw NablaError(.io, "\(url.path): is a device, not a regular file; refusing to replace it")
            case S_IFIFO:
                throw NablaError(.io, "\(url.path): is a FIFO, not a regular file; refusing to replace it")
            default:
                throw NablaError(.io, "\(url.path): is not a regular file; refusing to replace it")
            }
        }
        throw NablaError(.io, "\(url.path): too many levels of symbolic links")
    }

    static func temporaryPrefix(of name: String) -> String { ".\(name).tmp-" }

    /// Removes the temporary files that writes in `directory` left behind when their process died
    /// (`.<name>.tmp-<pid>-<random>` whose `pid` no longer runs); with `name`, only those of that
    /// destination. Files of live processes, and everything else, are left alone.
    public static func removeStaleTemporaries(in directory: URL, of name: String? = nil) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for entry in entries where entry.hasPrefix(".") {
            let pidText: Substring
            if let name {
                let prefix = temporaryPrefix(of: name)
                guard entry.hasPrefix(prefix) else { continue }
                pidText = entry.dropFirst(prefix.count).prefix { $0 != "-" }
            } else {
                guard let range = entry.range(of: ".tmp-", options: .backwards) else { continue }
                pidText = entry[range.upperBound...].prefix { $0 != "-" }
            }
            guard let pid = pid_t(pidText), pid > 0, !isRunning(pid) else { continue }
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(entry))
        }
    }

    /// Whether a process with this id exists (a zombie counts; `EPERM` means it exists).
    static func isRunning(_ pid: pid_t) -> Bool {
        if pid == getpid() { return true }
        return kill(pid, 0) == 0 || errno == EPERM
    }
}
