import CZlib
import NablaTensor

/// Streaming decompression of gzip (RFC 1952) and raw DEFLATE (RFC 1951) data through the system
/// zlib, for `.gz` IDX files and deflated `.npz` entries.
///
/// The inflater never allocates output itself: the caller reads exactly as many bytes as the
/// surrounding format declares (`read(count:what:)`), after checking the declared size against
/// ``maximumOutputCount`` — the most a DEFLATE stream of the remaining compressed size can expand to —
/// so a gzip bomb or a header that lies about its size is rejected before any large allocation.
/// ``finish()`` then drives the stream to its end, which makes zlib verify the gzip CRC-32 and length
/// trailer, and rejects any output or bytes beyond what the format declared. Concatenated gzip members
/// (`cat a.gz b.gz`) are read as one stream, as `gzip -d` does.
///
/// Output beyond the memory budget, or more than ``MemoryBudget/maximumDecompressionRatio`` times the
/// compressed size (past ``MemoryBudget/ratioCheckFloor``), is refused before it is allocated.
///
/// Every failure throws a one-line ``/NablaTensor/NablaError`` (`.invalidFile`) naming the file.
public final class Inflater {
    /// The container around the DEFLATE data.
    public enum Format: Sendable {
        /// A gzip file: header, DEFLATE data, CRC-32 and length trailer.
        case gzip
        /// Bare DEFLATE data, as stored in zip archives (compression method 8).
        case rawDeflate
    }

    /// DEFLATE's largest expansion ratio: a 258-byte match costs at least 2 bits, so 1 compressed
    /// byte yields at most 1032 output bytes (zlib's `zlib tech notes`, "maximum compression factor").
    public static let maximumExpansion = 1032

    private let stream: UnsafeMutablePointer<z_stream>
    private let input: [UInt8]
    private let format: Format
    private let name: String
    private var consumed = 0
    private var atStreamEnd = false
    /// The number of decompressed bytes delivered so far.
    public private(set) var producedCount = 0

    /// Starts inflating `input`; `name` (the file path) prefixes every error message.
    public init(_ input: [UInt8], format: Format, name: String) throws {
        self.input = input
        self.format = format
        self.name = name
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // zlib keeps a back pointer to the z_stream, so it lives at a fixed heap address.
        let windowBits: Int32 = format == .gzip ? 16 + MAX_WBITS : -MAX_WBITS
        let status = inflateInit2_(stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw NablaError(.io, "\(name): cannot initialize zlib (status \(status))")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// Whether `bytes` start with the gzip magic number `1f 8b`.
    public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

    /// An upper bound on the bytes the remaining compressed input can still produce.
    public var maximumOutputCount: Int {
        let remaining = input.count - consumed
        let (bound, overflow) = remaining.multipliedReportingOverflow(by: Inflater.maximumExpansion)
        return overflow ? Int.max : bound + 65_536
    }

    private var description: String { format == .gzip ? "gzip" : "DEFLATE" }

    /// Reads exactly `count` decompressed bytes; `what` names them in the error when the stream ends
    /// early. Callers validate `count` against ``maximumOutputCount`` first.
    public func read(count: Int, what: String) throws -> [UInt8] {
        precondition(count >= 0, "Inflater.read: negative count \(count)")
        try checkBudget(adding: count)
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            try fill(UnsafeMutableRawBufferPointer(buffer), what: what)
            initialized = count
        }
    }

    /// Fills `buffer` completely with decompressed bytes.
    public func fill(_ buffer: UnsafeMutableRawBufferPointer, what: String) throws {
        try checkBudget(adding: buffer.count)
        var filled = 0
        while filled < buffer.count {
            if atStreamEnd {
                guard try startNextMember() else {
                    throw NablaError(.invalidFile, "\(name): truncated: the \(description) data ends after \(producedCount) bytes, "
                                     + "in the middle of \(what)")
                }
            }
            let (produced, status) = step(into: buffer.baseAddress! + filled, capacity: buffer.count - filled)
            filled += produced
            producedCount += produced
            try check(status, progress: produced > 0, what: what)
        }
    }

    /// Throws unless `count` more output bytes keep the whole stream within ``MemoryBudget/current``
    /// and its decompression-ratio cap.
    private func checkBudget(adding count: Int) throws {
        let (total, overflow) = producedCount.addingReportingOverflow(count)
        try MemoryBudget.current.checkDecompression(declared: overflow ? Int.max : total, compressed: input.count, name: name)
    }

    /// Drives the stream to its end, verifying the gzip checksum and length, and fails if any
    /// decompressed output or compressed bytes remain beyond what was read.
    public func finish() throws {
        var scratch: UInt8 = 0
        while true {
            while !atStreamEnd {
                let (produced, status) = step(into: &scratch, capacity: 1)
                if produced > 0 {
                    throw NablaError(.invalidFile, "\(name): the \(description) data holds more than the \(producedCount) bytes its header declares")
                }
                try check(status, progress: false, what: "the end-of-stream marker and checksum")
            }
            guard try startNextMember() else { break }
        }
        let trailing = input[consumed...]
        if trailing.contains(where: { $0 != 0 }) {
            throw NablaError(.invalidFile, "\(name): \(trailing.count) unexpected bytes after the \(description) data")
        }
    }

    /// One `inflate` call writing at most `capacity` bytes to `output`.
    private func step(into output: UnsafeMutableRawPointer, capacity: Int) -> (produced: Int, status: Int32) {
        input.withUnsafeBufferPointer { source in
            let available = min(source.count - consumed, Int(UInt32.max))
            let room = min(capacity, Int(UInt32.max))
            stream.pointee.next_in = UnsafeMutablePointer(mutating: source.baseAddress.map { $0 + consumed })
            stream.pointee.avail_in = UInt32(available)
            stream.pointee.next_out = output.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = UInt32(room)
            let status = inflate(stream, Z_NO_FLUSH)
            consumed += available - Int(stream.pointee.avail_in)
            stream.pointee.next_in = nil
            return (room - Int(stream.pointee.avail_out), status)
        }
    }

    private func check(_ status: Int32, progress: Bool, what: String) throws {
        switch status {
        case Z_OK:
            return
        case Z_STREAM_END:
            atStreamEnd = true
        case Z_BUF_ERROR where consumed == input.count:
            throw NablaError(.invalidFile, "\(name): truncated: the \(description) data ends after \(producedCount) bytes, "
                             + "in the middle of \(what)")
        case Z_BUF_ERROR:
            if !progress { throw NablaError(.invalidFile, "\(name): corrupt \(description) data (no progress)") }
        case Z_DATA_ERROR, Z_NEED_DICT:
            let reason = stream.pointee.msg.map { String(cString: $0) } ?? "invalid data"
            throw NablaError(.invalidFile, "\(name): corrupt \(description) data (\(reason)) after \(producedCount) bytes")
        case Z_MEM_ERROR:
            throw NablaError(.io, "\(name): zlib ran out of memory")
        default:
            throw NablaError(.invalidFile, "\(name): corrupt \(description) data (zlib status \(status))")
        }
    }

    /// After a gzip member ends, starts the next one if another member follows.
    private func startNextMember() throws -> Bool {
        guard format == .gzip, input.count - consumed >= 2, input[consumed] == 0x1F, input[consumed + 1] == 0x8B else { return false }
        guard inflateReset(stream) == Z_OK else { throw NablaError(.io, "\(name): cannot reset zlib") }
        atStreamEnd = false
        return true
    }
}

/// The CRC-32 (ISO 3309, as in zip and gzip) of `bytes`.
func crc32Checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
    var crc = crc32(0, nil, 0)
    var offset = 0
    while offset < bytes.count {
        let chunk = min(bytes.count - offset, Int(UInt32.max))
        crc = crc32(crc, bytes.baseAddress!.assumingMemoryBound(to: Bytef.self) + offset, uInt(chunk))
        offset += chunk
    }
    return UInt32(truncatingIfNeeded: crc)
}
