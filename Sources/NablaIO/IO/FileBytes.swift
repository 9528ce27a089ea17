import Foundation
import NablaTensor

/// Reading whole user-supplied files with one-line errors.
package enum FileBytes {
    /// The bytes of the file at `url`, or a ``/NablaTensor/NablaError`` (`.io`) naming the path: no such file,
    /// a directory, or unreadable.
    package static func read(_ url: URL) throws -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw NablaError(.io, "\(url.path): no such file")
        }
        guard !isDirectory.boolValue else { throw NablaError(.io, "\(url.path): is a directory, expected a file") }
        // Foundation's reader leaks its 4 KiB buffer on empty regular files (seen under LeakSanitizer).
        if try size(of: url) == 0 { return [] }
        do {
            return [UInt8](try Data(contentsOf: url))
        } catch {
            throw NablaError(.io, "\(url.path): cannot read file (\(error.localizedDescription))")
        }
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
