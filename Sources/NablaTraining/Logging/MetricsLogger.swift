import Foundation
import NablaTensor
import NablaIO

/// A sink for one row of metrics per epoch or step (``CSVMetricsLogger``, ``JSONLinesMetricsLogger``).
///
/// Each row is written and handed to the operating system before `log` returns, so a run killed
/// mid-training leaves every completed row on disk.
public protocol MetricsLogger: AnyObject {
    /// Writes one row; keys keep the given order.
    func log(_ row: [(key: String, value: MetricValue)]) throws
    /// Closes the file; further rows are a programming error.
    func close() throws
}

extension MetricsLogger {
    /// Writes one row given as a literal: `try logger.log(["epoch": 1, "loss": .number(loss)])`.
    public func log(_ row: KeyValuePairs<String, MetricValue>) throws {
        try log(row.map { (key: $0.key, value: $0.value) })
    }
}

/// An append-only text file opened for metrics, shared by the CSV and JSON-lines loggers.
final class MetricsFile {
    let url: URL
    private var handle: FileHandle?

    /// Opens `url` for appending, creating it (and its directory) if needed; truncates it unless `append`.
    init(url: URL, append: Bool) throws {
        self.url = url
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw NablaError(.io, "\(url.path): cannot create directory \(url.deletingLastPathComponent().path)")
        }
        if !append || !fm.fileExists(atPath: url.path) {
            guard fm.createFile(atPath: url.path, contents: nil) else {
                throw NablaError(.io, "\(url.path): cannot create metrics file (directory not writable?)")
            }
        }
        guard let handle = try? FileHandle(forWritingTo: url) else {
            throw NablaError(.io, "\(url.path): cannot open metrics file for writing")
        }
        _ = try? handle.seekToEnd()
        self.handle = handle
    }

    /// Appends `text` with one `write` system call.
    func append(_ text: String) throws {
        guard let handle else { preconditionFailure("metrics logger for \(url.path) used after close()") }
        do { try handle.write(contentsOf: Data(text.utf8)) } catch {
            throw NablaError(.io, "\(url.path): cannot append metrics row (\(error.localizedDescription))")
        }
    }

    /// Replaces the whole file atomically with `text`, then keeps appending after it.
    func replace(with text: String) throws {
        try? handle?.close()
        handle = nil
        try AtomicFile.write(Data(text.utf8), to: url)
        guard let reopened = try? FileHandle(forWritingTo: url) else {
            throw NablaError(.io, "\(url.path): cannot reopen metrics file after rewriting its header")
        }
        _ = try? reopened.seekToEnd()
        handle = reopened
    }

    func close() throws {
        guard let handle else { return }
        self.handle = nil
        do { try handle.close() } catch {
            throw NablaError(.io, "\(url.path): cannot close metrics file (\(error.localizedDescription))")
        }
    }
}

/// Writes metrics as JSON lines: one object per row, `{"epoch": 1, "train_loss": 0.25}`, keys in the
/// given order; NaN and infinities become `null` (JSON has no such numbers).
public final class JSONLinesMetricsLogger: MetricsLogger {
    /// The file the rows go to.
    public var url: URL { file.url }
    private let file: MetricsFile

    /// Opens `url`; with `append` the rows of an earlier run (e.g. before `--resume`) are kept.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) naming the path when the file cannot be created.
    public init(url: URL, append: Bool = false) throws {
        file = try MetricsFile(url: url, append: append)
    }

    /// Appends the row as one JSON object on its own line.
    public func log(_ row: [(key: String, value: MetricValue)]) throws {
        let fields = row.map { MetricValue.jsonString($0.key) + ": " + $0.value.jsonToken }
        try file.append("{" + fields.joined(separator: ", ") + "}\n")
    }

    /// Closes the file; further rows are a programming error.
    public func close() throws { try file.close() }
}
