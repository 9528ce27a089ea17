import Foundation
import NablaTensor

/// Crash-safe file writes: the data goes to a temporary file beside the destination, is flushed to
/// disk, and is then renamed over the destination, so a reader sees either the old file or the new
/// one — never a half-written file — even if the process is killed mid-write.
public enum AtomicFile {
    /// Writes `data` to `url` atomically, creating the parent directory if needed.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) naming the path when the directory cannot be created or the
    ///   write or rename fails; the previous file, if any, is then left intact.
    public static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let fm = FileManager.default
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw NablaError(.io, "\(url.path): cannot create directory \(directory.path)")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        // POSIX calls rather than FileHandle, so a failure reports errno's reason ("File too large",
        // "No space left on device") instead of Foundation's generic "error 512".
        let descriptor = open(temporary.path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard descriptor >= 0 else {
            throw NablaError(.io, "\(url.path): cannot write in \(directory.path) (\(String(cString: strerror(errno))))")
        }
        let failure: String? = data.withUnsafeBytes { raw -> String? in
            var offset = 0
            while offset < raw.count {
                let written = Foundation.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return String(cString: strerror(written < 0 ? errno : EIO)) }
                offset += written
            }
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
    }
}
