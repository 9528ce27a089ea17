import Foundation
import NablaTensor
import NablaIO

/// Finished study runs on disk, one JSON file per run named by its ``StudyJob/key``
/// (`<directory>/<key>.json`).
///
/// A result is written (atomically) as soon as its run finishes, so a study that is interrupted —
/// Ctrl-C, a killed process, a full disk — loses only the runs in flight: started again, it finds
/// the finished ones here and trains only the rest. A study re-run with more seeds, more variants or
/// a larger grid likewise trains only the runs it has not seen. The key covers everything that
/// decides a run's figures (plan, measurement, data, result format), never where its logs go, so
/// two studies that share a run share its result.
///
/// A file that does not decode (written by another format version, truncated by hand) counts as
/// missing and is replaced.
public struct StudyResultCache: Sendable {
    /// The directory of the result files.
    public let directory: URL

    /// A cache in `directory` (created on the first store).
    public init(directory: URL) {
        self.directory = directory
    }

    func url(forKey key: String) -> URL { directory.appendingPathComponent("\(key).json") }

    /// The cached result of the run with `key`, if there is a readable one.
    public func result(forKey key: String) -> StudyRunResult? {
        guard let data = try? Data(contentsOf: url(forKey: key)) else { return nil }
        return try? StudyJSON.decoder.decode(StudyRunResult.self, from: data)
    }

    /// Stores `result` as the result of the run with `key`.
    /// - Throws: ``NablaError`` (`.io`) naming the file when it cannot be written.
    public func store(_ result: StudyRunResult, forKey key: String) throws {
        guard let data = try? StudyJSON.encoder.encode(result) else {
            throw NablaError(.io, "\(url(forKey: key).path): cannot encode the run's result")
        }
        try AtomicFile.write(data, to: url(forKey: key))
    }
}

/// The JSON coding of jobs and results between processes and in the cache: sorted keys, one line,
/// non-finite numbers as the strings `"nan"`, `"inf"`, `"-inf"`.
enum StudyJSON {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return decoder
    }
}
