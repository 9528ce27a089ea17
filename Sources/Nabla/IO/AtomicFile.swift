import Foundation

/// Crash-safe file writes: the data goes to a temporary file beside the destination, is flushed to
/// disk, and is then renamed over the destination, so a reader sees either the old file or the new
/// one — never a half-written file — even if the process is killed mid-write.
public enum AtomicFile {
    /// Writes `data` to `url` atomically, creating the parent directory if needed.
    /// - Throws: ``NablaError`` (`.io`) naming the path when the directory cannot be created or the
    ///   write or rename fails; the previous file, if any, is then left intact.
    public static func write(_ data: Data, to url: URL) throws {
        let directory = url.deletingLastPathComponent()
        let fm = FileManager.default
        do { try fm.createDirectory(at: directory, withIntermediateDirectories: true) } catch {
            throw NablaError(.io, "\(url.path): cannot create directory \(directory.path)")
        }
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        guard fm.createFile(atPath: temporary.path, contents: nil) else {
            throw NablaError(.io, "\(url.path): cannot write in \(directory.path) (read-only or missing?)")
        }
        do {
            let handle = try FileHandle(forWritingTo: temporary)
            defer { try? handle.close() }
            try handle.write(contentsOf: data)
            try handle.synchronize()
        } catch {
            try? fm.removeItem(at: temporary)
            throw NablaError(.io, "\(url.path): write failed (\(error.localizedDescription)); the previous file is unchanged")
        }
        if rename(temporary.path, url.path) != 0 {
            let reason = String(cString: strerror(errno))
            try? fm.removeItem(at: temporary)
            throw NablaError(.io, "\(url.path): cannot replace file (\(reason)); the previous file is unchanged")
        }
    }
}
