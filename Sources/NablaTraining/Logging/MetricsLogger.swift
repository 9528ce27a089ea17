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

/// An append-only text file opened for metrics, shared by the CSV and JSON-lines loggers: each row
/// is one append that either lands whole or leaves the file as it was (``AppendFile``).
final class MetricsFile {
    let url: URL
    private var file: AppendFile?

    /// Opens `url` for appending, creating it (and its directory) if needed; truncates it unless `append`.
    init(url: URL, append: Bool) throws {
        self.url = url
        file = try AppendFile(url: url, truncate: !append, what: "metrics file")
    }

    /// Appends `text` with one `write` system call.
    func append(_ text: String) throws {
        guard let file else { preconditionFailure("metrics logger for \(url.path) used after close()") }
        try file.append(Array(text.utf8))
    }

    /// Replaces the whole file atomically with `text`, then keeps appending after it.
    func replace(with text: String) throws {
        try? file?.close()
        file = nil
        try AtomicFile.write(Data(text.utf8), to: url)
        file = try AppendFile(url: url, truncate: false, what: "metrics file")
    }

    func close() throws {
        guard let file else { return }
        self.file = nil
        try file.close()
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
