import Foundation
import NablaTensor

/// Writes TensorBoard event files: scalars and histograms, readable by the real `tensorboard`.
///
/// Like PyTorch's `torch.utils.tensorboard.SummaryWriter`, one writer owns one file
/// `LOGDIR/events.out.tfevents.<unix seconds>.<hostname>` whose first record is the event
/// `file_version: "brain.Event:2"`; every later record is an ``TensorBoardEvent`` framed as a
/// ``TFRecord``. Point TensorBoard at the parent of several log directories to compare runs:
/// `tensorboard --logdir runs/`.
///
/// Events are buffered in memory and written by ``flush()`` (call it once per epoch), by
/// ``close()``, or automatically once the buffer exceeds ``autoFlushBytes``. Not thread-safe: use
/// one writer from one thread.
///
/// ```swift
/// let writer = try SummaryWriter(logDirectory: "runs/baseline")
/// try writer.addScalar("loss/train", value: 0.42, step: 100)
/// try writer.addHistogram("fc1.weight", values: model.fc1.weight.value, step: 100)
/// try writer.flush()
/// ```
public final class SummaryWriter {
    /// The directory holding the event file.
    public let logDirectory: URL
    /// The event file this writer appends to.
    public let fileURL: URL
    /// The buffer size above which an `add…` call writes the buffer out.
    public var autoFlushBytes = 1 << 20

    private var file: AppendFile?
    private var buffer: [UInt8] = []

    /// Creates `logDirectory` (and its parents) if needed, creates a new event file in it and writes
    /// the file-version event.
    /// - Parameters:
    ///   - logDirectory: the run's directory (one per run; TensorBoard shows each as a run).
    ///   - filenameSuffix: appended to the file name (e.g. `".train"`); TensorBoard reads any file
    ///     whose name contains `tfevents`.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) naming the path when the directory or file cannot be created.
    public init(logDirectory: URL, filenameSuffix: String = "") throws {
        self.logDirectory = logDirectory
        let fm = FileManager.default
        do {
            try fm.createDirectory(at: logDirectory, withIntermediateDirectories: true)
        } catch {
            throw NablaError(.io, "\(logDirectory.path): cannot create the TensorBoard log directory (\(Self.reason(error)))")
        }
        let now = Date().timeIntervalSince1970
        let base = "events.out.tfevents.\(Int(now)).\(Self.hostName())\(filenameSuffix)"
        var url = logDirectory.appendingPathComponent(base)
        var attempt = 1
        while fm.fileExists(atPath: url.path) {
            url = logDirectory.appendingPathComponent("\(base).\(attempt)")
            attempt += 1
        }
        fileURL = url
        file = try AppendFile(url: url, truncate: true, what: "TensorBoard event file")
        try add(TensorBoardEvent(wallTime: now, step: 0, payload: .fileVersion(TensorBoardEvent.fileVersion)))
        try flush()
    }

    /// Creates a writer for the directory at `logDirectory` (a path).
    public convenience init(logDirectory: String, filenameSuffix: String = "") throws {
        try self.init(logDirectory: URL(fileURLWithPath: logDirectory), filenameSuffix: filenameSuffix)
    }

    deinit {
        try? close()
    }

    /// Appends an event to the buffer.
    public func add(_ event: TensorBoardEvent) throws {
        precondition(file != nil, "SummaryWriter(\(fileURL.path)) used after close()")
        TFRecord.appendFrame(of: event.encoded, to: &buffer)
        if buffer.count >= autoFlushBytes { try flush() }
    }

    /// Logs a scalar (shown in TensorBoard's Scalars tab). The value is stored as the 32-bit
    /// `simple_value` TensorBoard reads, so it keeps about 7 significant digits; NaN and ±∞ are
    /// logged as they are.
    public func addScalar(_ tag: String, value: Double, step: Int, wallTime: Double? = nil) throws {
        try add(TensorBoardEvent(wallTime: wallTime ?? Date().timeIntervalSince1970, step: Int64(step),
                                 payload: .summary([.scalar(tag: tag, value: Float(value))])))
    }

    /// Logs several scalars at the same step in one event, in the given order.
    public func addScalars(_ values: [(tag: String, value: Double)], step: Int, wallTime: Double? = nil) throws {
        try add(TensorBoardEvent(wallTime: wallTime ?? Date().timeIntervalSince1970, step: Int64(step),
                                 payload: .summary(values.map { .scalar(tag: $0.tag, value: Float($0.value)) })))
    }

    /// Logs a histogram of a tensor's elements (TensorBoard's Histograms and Distributions tabs),
    /// bucketed as ``TensorBoardHistogram`` describes.
    public func addHistogram<Scalar: TensorScalar>(_ tag: String, values: Tensor<Scalar>, step: Int,
                                                   wallTime: Double? = nil) throws {
        try addHistogram(tag, histogram: TensorBoardHistogram(values), step: step, wallTime: wallTime)
    }

    /// Logs a histogram of `values`.
    public func addHistogram(_ tag: String, values: [Double], step: Int, wallTime: Double? = nil) throws {
        try addHistogram(tag, histogram: TensorBoardHistogram(values: values), step: step, wallTime: wallTime)
    }

    /// Logs a precomputed histogram.
    public func addHistogram(_ tag: String, histogram: TensorBoardHistogram, step: Int, wallTime: Double? = nil) throws {
        try add(TensorBoardEvent(wallTime: wallTime ?? Date().timeIntervalSince1970, step: Int64(step),
                                 payload: .summary([.histogram(tag: tag, histogram: histogram)])))
    }

    /// Writes the buffered events to the file and asks the system to commit them to disk.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) naming the file when the write fails (disk full…); the file
    ///   then keeps only whole records, and the buffered events are kept so a later flush can retry.
    public func flush() throws {
        guard let file, !buffer.isEmpty else { return }
        try file.append(buffer)
        try file.synchronize()
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes and closes the file. Further `add…` calls are a programming error; closing twice is
    /// harmless.
    public func close() throws {
        guard let file else { return }
        defer {
            try? file.close()
            self.file = nil
        }
        try flush()
    }

    private static func reason(_ error: Error) -> String {
        let text = (error as NSError).localizedDescription
        return text.isEmpty ? "\(error)" : text
    }

    /// This machine's host name, as TensorFlow puts it in event file names.
    static func hostName() -> String {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "localhost" }
        let host = String(cString: name)
        return host.isEmpty ? "localhost" : host.replacingOccurrences(of: "/", with: "_")
    }
}
