import Foundation
import NablaTensor

/// TFRecord framing, the container of TensorBoard event files.
///
/// Each record is
/// ```
/// uint64 length            (little-endian)
/// uint32 masked_crc(length)  (CRC-32C of the 8 length bytes, masked)
/// byte   data[length]
/// uint32 masked_crc(data)
/// ```
/// where `masked_crc(x) = ((c >> 15) | (c << 17)) + 0xA282EAD8` with `c = CRC32C(x)`
/// (TensorFlow `core/lib/io/record_writer.cc`). See ``CRC32C/masked(_:)``.
public enum TFRecord {
    /// The bytes of one framed record holding `data`.
    public static func frame<Bytes: Collection>(_ data: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var record = [UInt8]()
        record.reserveCapacity(data.count + 16)
        appendFrame(of: data, to: &record)
        return record
    }

    /// Appends the framed record holding `data` to `buffer`.
    public static func appendFrame<Bytes: Collection>(of data: Bytes, to buffer: inout [UInt8])
    where Bytes.Element == UInt8 {
        var length = [UInt8](repeating: 0, count: 8)
        let count = UInt64(data.count)
        for i in 0..<8 { length[i] = UInt8(truncatingIfNeeded: count >> UInt64(8 * i)) }
        buffer.append(contentsOf: length)
        appendLittleEndian(CRC32C.masked(CRC32C.checksum(length)), to: &buffer)
        let start = buffer.count
        buffer.append(contentsOf: data)
        let dataCRC = buffer.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        appendLittleEndian(CRC32C.masked(dataCRC), to: &buffer)
    }

    private static func appendLittleEndian(_ word: UInt32, to buffer: inout [UInt8]) {
        for i in 0..<4 { buffer.append(UInt8(truncatingIfNeeded: word >> UInt32(8 * i))) }
    }

    private static func readLittleEndian<T: FixedWidthInteger & UnsignedInteger>(
        _ type: T.Type, _ bytes: [UInt8], at offset: Int
    ) -> T {
        var value: T = 0
        for i in 0..<(T.bitWidth / 8) { value |= T(bytes[offset + i]) << T(8 * i) }
        return value
    }

    /// Splits a TFRecord stream into its records' data, verifying both checksums of every record.
    /// - Parameters:
    ///   - bytes: the whole stream, e.g. the contents of an event file.
    ///   - source: names the stream in error messages (a file path).
    /// - Throws: ``/NablaTensor/NablaError`` (`.invalidFile`) naming `source`, the record index and byte offset when
    ///   the stream is truncated or a checksum does not match.
    public static func records(in bytes: [UInt8], source: String = "TFRecord stream") throws -> [[UInt8]] {
        var records: [[UInt8]] = []
        var offset = 0
        while offset < bytes.count {
            let index = records.count
            guard bytes.count - offset >= 12 else {
                throw NablaError(.invalidFile, "\(source): record \(index) at byte \(offset) is truncated inside its header")
            }
            let length = readLittleEndian(UInt64.self, bytes, at: offset)
            let lengthCRC = readLittleEndian(UInt32.self, bytes, at: offset + 8)
            guard CRC32C.masked(CRC32C.checksum(bytes[offset..<offset + 8])) == lengthCRC else {
                throw NablaError(.invalidFile, "\(source): record \(index) at byte \(offset) fails its length checksum")
            }
            let start = offset + 12
            guard length <= UInt64(bytes.count - start), bytes.count - start - Int(length) >= 4 else {
                throw NablaError(.invalidFile, "\(source): record \(index) at byte \(offset) declares \(length) bytes but the stream ends first")
            }
            let end = start + Int(length)
            let dataCRC = readLittleEndian(UInt32.self, bytes, at: end)
            guard CRC32C.masked(CRC32C.checksum(bytes[start..<end])) == dataCRC else {
                throw NablaError(.invalidFile, "\(source): record \(index) at byte \(offset) fails its data checksum")
            }
            records.append(Array(bytes[start..<end]))
            offset = end + 4
        }
        return records
    }

    /// Reads and verifies every record of the file at `url`.
    public static func records(contentsOf url: URL) throws -> [[UInt8]] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw NablaError(.io, "\(url.path): cannot read file")
        }
        return try records(in: [UInt8](data), source: url.path)
    }
}
