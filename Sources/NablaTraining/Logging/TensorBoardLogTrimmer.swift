import Foundation
import NablaTensor
import NablaIO

/// Cuts the TensorBoard event files of a log directory back to a checkpoint, so that a resumed run
/// logs every step exactly once.
///
/// A run killed after logging an epoch but before checkpointing it logs that epoch again when it
/// resumes, into a new event file. TensorBoard's Python `EventAccumulator` would purge the old file's
/// later steps when it meets the out-of-order step (but not an equal one, and not in every reader),
/// so rather than rely on a reader, the old files are rewritten without the summaries the resumed
/// run will write again. A record cut short by the kill (and anything after it) is dropped too,
/// which a strict reader would otherwise reject. Events without a summary (the file-version header)
/// are kept; a file left with nothing else is removed.
enum TensorBoardLogTrimmer {
    /// Rewrites every `*tfevents*` file in `directory`, keeping the summaries whose step `keep`
    /// accepts. Files that need no change are not touched; changed ones are replaced atomically.
    /// - Throws: ``NablaError`` (`.io`) when a file cannot be read or rewritten.
    static func trim(directory: URL, keep: (Int64) -> Bool) throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names.sorted() where name.contains("tfevents") && !name.hasPrefix(".") {
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let bytes: [UInt8]
            do { bytes = try FileBytes.read(url) } catch let error as NablaError {
                throw NablaError(.io, "\(error.message) (trimming the TensorBoard log to the checkpoint)")
            }
            var kept: [UInt8] = []
            var summaries = 0
            var changed = false
            for record in validRecords(bytes) {
                let event = Array(bytes[record.data])
                if let step = summaryStep(of: event), !keep(step) {
                    changed = true
                    continue
                }
                if summaryStep(of: event) != nil { summaries += 1 }
                kept.append(contentsOf: bytes[record.frame])
            }
            if kept.count != bytes.count { changed = true }  // a cut-short record at the end
            guard changed else { continue }
            if summaries == 0 {
                try? FileManager.default.removeItem(at: url)
            } else {
                try AtomicFile.write(Data(kept), to: url)
            }
        }
    }

    /// The byte ranges of the records at the start of `bytes` whose framing and checksums are valid
    /// (a record cut short or corrupted ends the list).
    static func validRecords(_ bytes: [UInt8]) -> [(frame: Range<Int>, data: Range<Int>)] {
        var records: [(Range<Int>, Range<Int>)] = []
        var offset = 0
        func word<T: FixedWidthInteger>(_ type: T.Type, at position: Int) -> T {
            var value: T = 0
            for i in 0..<(T.bitWidth / 8) { value |= T(bytes[position + i]) << T(8 * i) }
            return value
        }
        while bytes.count - offset >= 16 {
            let length = word(UInt64.self, at: offset)
            guard CRC32C.masked(CRC32C.checksum(bytes[offset..<offset + 8])) == word(UInt32.self, at: offset + 8),
                  length <= UInt64(bytes.count - offset - 16) else { break }
            let start = offset + 12, end = start + Int(length)
            guard CRC32C.masked(CRC32C.checksum(bytes[start..<end])) == word(UInt32.self, at: end) else { break }
            records.append((offset..<(end + 4), start..<end))
            offset = end + 4
        }
        return records
    }

    /// The `step` of an `Event` message that carries a `summary` (field 5), or `nil` for any other
    /// event (the file-version header, log messages) or an unparsable one.
    static func summaryStep(of event: [UInt8]) -> Int64? {
        var position = 0
        var step: Int64 = 0
        var hasSummary = false
        func varint() -> UInt64? {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while position < event.count, shift < 64 {
                let byte = event[position]
                position += 1
                value |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { return value }
                shift += 7
            }
            return nil
        }
        while position < event.count {
            guard let key = varint() else { return nil }
            switch key & 7 {
            case 0:
                guard let value = varint() else { return nil }
                if key >> 3 == 2 { step = Int64(bitPattern: value) }
            case 1:
                guard event.count - position >= 8 else { return nil }
                position += 8
            case 2:
                guard let length = varint(), length <= UInt64(event.count - position) else { return nil }
                if key >> 3 == 5 { hasSummary = true }
                position += Int(length)
            case 5:
                guard event.count - position >= 4 else { return nil }
                position += 4
            default:
                return nil
            }
        }
        return hasSummary ? step : nil
    }
}
