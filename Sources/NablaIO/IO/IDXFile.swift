import Foundation
import NablaTensor

/// An IDX file (LeCun & Cortes, "THE MNIST DATABASE of handwritten digits"), the format of the MNIST
/// family: a 4-byte magic `00 00 TT RR` (element type `TT`, rank `RR`), `RR` big-endian 32-bit
/// dimensions, then the elements in row-major order. Nabla reads unsigned-byte files (`TT = 0x08`):
/// magic `0x00000803` for images `[N, H, W]`, `0x00000801` for labels `[N]`. The file may be gzip
/// compressed (detected by its `1f 8b` magic, whatever its name).
///
/// Parsing validates the declared dimensions against the bytes actually present — for a gzip file,
/// against the most its compressed size can expand to — before allocating, and rejects truncated
/// data, trailing bytes and corrupt compression with one-line ``/NablaTensor/NablaError``s naming the file.
public struct IDXFile: Sendable, Equatable {
    /// The extent of each axis, outermost first.
    public let dimensions: [Int]
    /// The elements (unsigned bytes), row-major.
    public let bytes: [UInt8]

    /// The element type code of unsigned bytes.
    public static let unsignedByte: UInt8 = 0x08

    /// Reads the file at `url`; `expectedRank` (1 for labels, 3 for images) is checked against the magic.
    public static func read(from url: URL, expectedRank: Int) throws -> IDXFile {
        try parse(try FileBytes.read(url), name: url.path, expectedRank: expectedRank)
    }

    /// Parses raw or gzip-compressed IDX bytes; `name` prefixes error messages.
    public static func parse(_ data: [UInt8], name: String, expectedRank: Int) throws -> IDXFile {
        if Inflater.isGzip(data) {
            let inflater = try Inflater(data, format: .gzip, name: name)
            return try parse(from: GzipSource(inflater: inflater), name: name, expectedRank: expectedRank)
        }
        return try parse(from: RawSource(bytes: data), name: name, expectedRank: expectedRank)
    }

    private static func parse(from source: some IDXByteSource, name: String, expectedRank: Int) throws -> IDXFile {
        func fail(_ why: String) -> NablaError { NablaError(.invalidFile, "\(name): not a valid IDX file: \(why)") }
        let expectedMagic = String(format: "0x%08X", UInt32(0x800 | expectedRank))
        guard source.available(atLeast: 4) else {
            throw fail(source.isEmpty ? "the file is empty" : "truncated inside the 4-byte magic number")
        }
        let magic = try source.read(4, what: "the magic number")
        let magicValue = magic.bigEndianUInt32(at: 0)
        guard magic[0] == 0, magic[1] == 0 else {
            throw fail(String(format: "wrong magic 0x%08X, expected \(expectedMagic)", magicValue))
        }
        guard magic[2] == unsignedByte else {
            throw fail(String(format: "magic 0x%08X declares element type 0x%02X; only unsigned bytes (0x08) are supported", magicValue, UInt32(magic[2])))
        }
        guard Int(magic[3]) == expectedRank else {
            let kind = expectedRank == 1 ? "a label file" : "an image file"
            throw fail(String(format: "magic 0x%08X declares rank %d, expected \(expectedMagic) (\(kind))", magicValue, Int32(magic[3])))
        }
        guard source.available(atLeast: 4 * expectedRank) else {
            throw fail("truncated inside the \(expectedRank) dimension sizes")
        }
        let header = try source.read(4 * expectedRank, what: "the dimension sizes")
        var dimensions: [Int] = []
        var elementCount = 1
        for axis in 0..<expectedRank {
            let extent = Int(header.bigEndianUInt32(at: 4 * axis))
            dimensions.append(extent)
            elementCount = elementCount.multipliedReportingOverflow(by: extent).overflow ? Int.max : elementCount * extent
        }
        guard source.available(atLeast: elementCount) else {
            throw fail("dimensions \(dimensions) declare \(elementCount) bytes of data but \(source.remainingDescription)")
        }
        let bytes = try source.read(elementCount, what: "the \(elementCount) bytes of data declared by dimensions \(dimensions)")
        try source.finish(declared: "dimensions \(dimensions)", fail: fail)
        return IDXFile(dimensions: dimensions, bytes: bytes)
    }
}

/// Sequential access to the (possibly decompressed) bytes of an IDX file.
private protocol IDXByteSource {
    var isEmpty: Bool { get }
    /// Whether `count` more bytes may be present (exact for raw files, an upper bound for gzip).
    func available(atLeast count: Int) -> Bool
    var remainingDescription: String { get }
    func read(_ count: Int, what: String) throws -> [UInt8]
    func finish(declared: String, fail: (String) -> NablaError) throws
}

private final class RawSource: IDXByteSource {
    let bytes: [UInt8]
    var offset = 0
    init(bytes: [UInt8]) { self.bytes = bytes }
    var isEmpty: Bool { bytes.isEmpty }
    func available(atLeast count: Int) -> Bool { count <= bytes.count - offset }
    var remainingDescription: String { "only \(bytes.count - offset) follow the header" }
    func read(_ count: Int, what: String) throws -> [UInt8] {
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }
    func finish(declared: String, fail: (String) -> NablaError) throws {
        if offset < bytes.count { throw fail("\(bytes.count - offset) bytes follow the data declared by \(declared)") }
    }
}

private final class GzipSource: IDXByteSource {
    let inflater: Inflater
    init(inflater: Inflater) { self.inflater = inflater }
    var isEmpty: Bool { false }
    func available(atLeast count: Int) -> Bool { count <= inflater.maximumOutputCount }
    var remainingDescription: String { "the compressed file can hold at most \(inflater.maximumOutputCount) more" }
    func read(_ count: Int, what: String) throws -> [UInt8] { try inflater.read(count: count, what: what) }
    func finish(declared: String, fail: (String) -> NablaError) throws { try inflater.finish() }
}
