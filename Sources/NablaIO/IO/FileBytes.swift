import Foundation
import NablaTensor

/// Reading whole user-supplied files with one-line errors.
package enum FileBytes {
    /// The bytes of the file at `url`, or a ``/NablaTensor/NablaError`` (`.io`) naming the path: no such file,
    /// a directory, unreadable, or larger than ``MemoryBudget/current``. A pipe or device (`<(zcat …)`,
    /// `/dev/stdin`) is read to its end in chunks, and refused as soon as it exceeds the budget, so
    /// `/dev/zero` cannot exhaust memory.
    package static func read(_ url: URL) throws -> [UInt8] {
        let budget = MemoryBudget.current
        // Non-blocking open, so a FIFO without a writer reads as empty instead of hanging; reads then block.
        let descriptor = open(url.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else {
            let code = errno
            throw NablaError(.io, code == ENOENT ? "\(url.path): no such file" : "\(url.path): cannot open file (\(String(cString: strerror(code))))")
        }
        defer { close(descriptor) }
        _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) & ~O_NONBLOCK)
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw NablaError(.io, "\(url.path): cannot read file (\(String(cString: strerror(errno))))")
        }
        let kind = status.st_mode & S_IFMT
        guard kind != S_IFDIR else { throw NablaError(.io, "\(url.path): is a directory, expected a file") }
        func tooLarge(_ size: String) -> NablaError {
            NablaError(.io, "\(url.path): the file holds \(size), more than the memory cap of \(MemoryBudget.format(budget.bytes)) (\(budget.origin))")
        }
        if kind == S_IFREG {
            let size = Int(status.st_size)
            guard size <= budget.bytes else { throw tooLarge(MemoryBudget.format(size)) }
            // Read exactly the size fstat reported; a file that grows meanwhile is read up to it.
            var bytes = [UInt8](repeating: 0, count: size)
            let count = try bytes.withUnsafeMutableBytes { try readFully(descriptor, into: $0, url: url) }
            return count == size ? bytes : Array(bytes[0..<count])
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = try chunk.withUnsafeMutableBytes { try readFully(descriptor, into: $0, url: url) }
            bytes.append(contentsOf: chunk[0..<count])
            guard bytes.count <= budget.bytes else { throw tooLarge("more than \(MemoryBudget.format(budget.bytes))") }
            if count < chunk.count { return bytes }
        }
    }

    /// Reads until `buffer` is full or the end of the file; returns the byte count read.
    private static func readFully(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer, url: URL) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let count = Foundation.read(descriptor, buffer.baseAddress! + filled, buffer.count - filled)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw NablaError(.io, "\(url.path): cannot read file (\(String(cString: strerror(errno))))") }
            if count == 0 { break }
            filled += count
        }
        return filled
    }

    /// The size in bytes of the file at `url`, without reading it.
    package static func size(of url: URL) throws -> Int {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else {
            throw NablaError(.io, "\(url.path): no such file")
        }
        guard (attributes[.type] as? FileAttributeType) != .typeDirectory else {
            throw NablaError(.io, "\(url.path): is a directory, expected a file")
        }
        return (attributes[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// Big- and little-endian integer reads from a byte array at an offset the caller has bounds-checked.
extension Array where Element == UInt8 {
    func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16 | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }

    func littleEndianUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) | UInt16(self[offset + 1]) << 8
    }

    func littleEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) | UInt32(self[offset + 1]) << 8 | UInt32(self[offset + 2]) << 16 | UInt32(self[offset + 3]) << 24
    }

    func littleEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(littleEndianUInt32(at: offset)) | UInt64(littleEndianUInt32(at: offset + 4)) << 32
    }
}
