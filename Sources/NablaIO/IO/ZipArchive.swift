import Foundation
import NablaTensor

/// A read-only zip archive (PKWARE APPNOTE.TXT 6.3), the container of NumPy's `.npz` files.
///
/// The central directory is authoritative: the end-of-central-directory record (found by scanning
/// back over at most a 64 KiB comment), its zip64 locator and record when present (NumPy writes zip64
/// entries), then one central header per entry with zip64 extra fields for saturated sizes. Entries
/// are stored (method 0) or deflated (method 8). Every offset and size is checked against the file
/// before use, a deflated entry's declared size against the 1032:1 limit of DEFLATE before its buffer
/// is allocated, and the CRC-32 after extraction.
public struct ZipArchive: Sendable {
    /// One file in the archive, as the central directory describes it.
    public struct Entry: Sendable, Equatable {
        /// The file name inside the archive (e.g. `x.npy` in an `.npz`).
        public let name: String
        /// 0 = stored, 8 = deflated.
        public let method: Int
        /// The CRC-32 (ISO-HDLC polynomial, as zlib's `crc32`) of the uncompressed data, checked on extraction.
        public let crc32: UInt32
        /// The size of the stored (possibly deflated) data in bytes.
        public let compressedSize: Int
        /// The size of the data after decompression in bytes.
        public let uncompressedSize: Int
        let localHeaderOffset: Int
        let flags: UInt16
    }

    /// The entries of the central directory, in its order.
    public let entries: [Entry]
    private let bytes: [UInt8]
    private let name: String

    /// Reads the archive at `url`.
    public static func read(from url: URL) throws -> ZipArchive {
        try ZipArchive(try FileBytes.read(url), name: url.path)
    }

    /// Parses the central directory of `bytes`; `name` prefixes error messages.
    public init(_ bytes: [UInt8], name: String) throws {
        self.bytes = bytes
        self.name = name
        func fail(_ why: String) -> NablaError { NablaError(.invalidFile, "\(name): not a valid zip archive: \(why)") }
        guard !bytes.isEmpty else { throw fail("the file is empty") }
        guard bytes.count >= 22 else { throw fail("\(bytes.count) bytes is too short for the end-of-central-directory record") }
        var eocd = -1
        for position in stride(from: bytes.count - 22, through: max(0, bytes.count - 22 - 65_535), by: -1)
        where bytes.littleEndianUInt32(at: position) == 0x0605_4B50 {
            eocd = position
            break
        }
        guard eocd >= 0 else { throw fail("no end-of-central-directory record (truncated or not a zip file)") }
        var entryCount = Int(bytes.littleEndianUInt16(at: eocd + 10))
        var directorySize = Int(bytes.littleEndianUInt32(at: eocd + 12))
        var directoryOffset = Int(bytes.littleEndianUInt32(at: eocd + 16))
        if eocd >= 20, bytes.littleEndianUInt32(at: eocd - 20) == 0x0706_4B50 {
            let record = bytes.littleEndianUInt64(at: eocd - 12)
            guard eocd >= 20 + 56, record <= UInt64(eocd - 20 - 56), bytes.littleEndianUInt32(at: Int(record)) == 0x0606_4B50 else {
                throw fail("the zip64 end-of-central-directory locator points outside the file")
            }
            let r = Int(record)
            let fields = [bytes.littleEndianUInt64(at: r + 32), bytes.littleEndianUInt64(at: r + 40), bytes.littleEndianUInt64(at: r + 48)]
            guard fields.allSatisfy({ $0 <= UInt64(bytes.count) }) else { throw fail("the zip64 directory sizes exceed the file") }
            (entryCount, directorySize, directoryOffset) = (Int(fields[0]), Int(fields[1]), Int(fields[2]))
        }
        guard directoryOffset <= bytes.count, directorySize <= bytes.count - directoryOffset else {
            throw fail("the central directory (\(directorySize) bytes at \(directoryOffset)) lies outside the \(bytes.count)-byte file")
        }
        guard entryCount <= directorySize / 46 else {
            throw fail("\(entryCount) entries cannot fit a \(directorySize)-byte central directory")
        }
        var entries: [Entry] = []
        var p = directoryOffset
        let end = directoryOffset + directorySize
        for index in 0..<entryCount {
            guard p + 46 <= end, bytes.littleEndianUInt32(at: p) == 0x0201_4B50 else {
                throw fail("central directory entry \(index) is truncated or has a wrong signature")
            }
            let nameLength = Int(bytes.littleEndianUInt16(at: p + 28))
            let extraLength = Int(bytes.littleEndianUInt16(at: p + 30))
            let commentLength = Int(bytes.littleEndianUInt16(at: p + 32))
            let next = p + 46 + nameLength + extraLength + commentLength
            guard next <= end else { throw fail("central directory entry \(index) runs past the directory") }
            let entryName = String(decoding: bytes[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self)
            var sizes = [UInt64(bytes.littleEndianUInt32(at: p + 24)), UInt64(bytes.littleEndianUInt32(at: p + 20)),
                         UInt64(bytes.littleEndianUInt32(at: p + 42))]
            try Self.applyZip64Extra(bytes, from: p + 46 + nameLength, count: extraLength, to: &sizes,
                                     fail: { fail("entry '\(entryName)': \($0)") })
            guard sizes.allSatisfy({ $0 <= UInt64(bytes.count) * UInt64(Inflater.maximumExpansion) }) else {
                throw fail("entry '\(entryName)' declares sizes \(sizes) beyond what the file can hold")
            }
            entries.append(Entry(name: entryName, method: Int(bytes.littleEndianUInt16(at: p + 10)),
                                 crc32: bytes.littleEndianUInt32(at: p + 16), compressedSize: Int(sizes[1]),
                                 uncompressedSize: Int(sizes[0]), localHeaderOffset: Int(sizes[2]),
                                 flags: bytes.littleEndianUInt16(at: p + 8)))
            p = next
        }
        self.entries = entries
    }

    /// Replaces each saturated (0xFFFFFFFF) size of `[uncompressed, compressed, offset]` by its
    /// 64-bit value from the zip64 extra field (header id 0x0001), in that order.
    private static func applyZip64Extra(_ bytes: [UInt8], from start: Int, count: Int, to sizes: inout [UInt64],
                                        fail: (String) -> NablaError) throws {
        var q = start
        let end = start + count
        while q + 4 <= end {
            let id = bytes.littleEndianUInt16(at: q), length = Int(bytes.littleEndianUInt16(at: q + 2))
            guard q + 4 + length <= end else { throw fail("an extra field runs past its entry") }
            if id == 0x0001 {
                var field = q + 4
                for i in sizes.indices where sizes[i] == 0xFFFF_FFFF {
                    guard field + 8 <= q + 4 + length else { throw fail("the zip64 extra field is too short") }
                    sizes[i] = bytes.littleEndianUInt64(at: field)
                    field += 8
                }
            }
            q += 4 + length
        }
    }

    /// The entry called `name`, if any.
    public func entry(named name: String) -> Entry? { entries.first { $0.name == name } }

    /// The uncompressed bytes of `entry`, verified against its size and CRC-32.
    public func contents(of entry: Entry) throws -> [UInt8] {
        func fail(_ why: String) -> NablaError { NablaError(.invalidFile, "\(name): entry '\(entry.name)': \(why)") }
        guard entry.flags & 1 == 0 else { throw fail("is encrypted") }
        let h = entry.localHeaderOffset
        guard h <= bytes.count - 30, bytes.littleEndianUInt32(at: h) == 0x0403_4B50 else {
            throw fail("local header at offset \(h) is missing or truncated")
        }
        let start = h + 30 + Int(bytes.littleEndianUInt16(at: h + 26)) + Int(bytes.littleEndianUInt16(at: h + 28))
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else {
            throw fail("\(entry.compressedSize) bytes of data at offset \(start) run past the end of the file (truncated)")
        }
        let stored = Array(bytes[start..<(start + entry.compressedSize)])
        let data: [UInt8]
        switch entry.method {
        case 0:
            guard entry.uncompressedSize == entry.compressedSize else {
                throw fail("stored entry declares \(entry.uncompressedSize) bytes but holds \(entry.compressedSize)")
            }
            data = stored
        case 8:
            let inflater = try Inflater(stored, format: .rawDeflate, name: "\(name): entry '\(entry.name)'")
            guard entry.uncompressedSize <= inflater.maximumOutputCount else {
                throw fail("declares \(entry.uncompressedSize) bytes, more than \(entry.compressedSize) deflated bytes can hold")
            }
            data = try inflater.read(count: entry.uncompressedSize, what: "the \(entry.uncompressedSize) bytes it declares")
            try inflater.finish()
        default:
            throw fail("compression method \(entry.method) is not supported (stored and deflated are)")
        }
        let crc = data.withUnsafeBytes { crc32Checksum($0) }
        guard crc == entry.crc32 else {
            throw fail(String(format: "CRC-32 mismatch (computed %08x, stored %08x): the data is corrupt", crc, entry.crc32))
        }
        return data
    }
}
