import Foundation
import NablaTensor

/// An array in NumPy's `.npy` format (NEP 1, `numpy.lib.format`): the magic `\x93NUMPY`, a major and
/// minor version byte, the header length (2 bytes little-endian in version 1.0, 4 bytes in 2.0 and
/// 3.0), a Python dict literal `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }` padded
/// with spaces and ended by a newline (ASCII in 1.0/2.0, UTF-8 in 3.0), then the raw elements.
///
/// Supported element types: `f4 f8 i8 i4 i1 u1 b1`, little- or big-endian (`<`, `>`; `|` for single
/// bytes). C order only: `fortran_order: True` and structured or object dtypes are a clear error.
/// The declared shape must account for exactly the bytes after the header, checked with overflow
/// guards before anything is copied.
public struct NumPyArray: Sendable, Equatable {
    /// The element types Nabla reads.
    public enum ElementType: String, Sendable {
        /// `f4`: 32-bit IEEE 754 floating point (`numpy.float32`).
        case float32 = "f4"
        /// `f8`: 64-bit IEEE 754 floating point (`numpy.float64`).
        case float64 = "f8"
        /// `i8`: 64-bit signed integer (`numpy.int64`).
        case int64 = "i8"
        /// `i4`: 32-bit signed integer (`numpy.int32`).
        case int32 = "i4"
        /// `i1`: 8-bit signed integer (`numpy.int8`).
        case int8 = "i1"
        /// `u1`: 8-bit unsigned integer (`numpy.uint8`).
        case uint8 = "u1"
        /// `b1`: boolean, one byte per element (`numpy.bool_`).
        case bool = "b1"

        /// Bytes per element.
        public var size: Int { Int(rawValue.dropFirst())! }
        /// Whether the elements are floating point (otherwise integers or booleans).
        public var isFloatingPoint: Bool { self == .float32 || self == .float64 }
    }

    /// The element type from the header's `descr`.
    public let elementType: ElementType
    /// Whether the elements are stored big-endian (`descr` starts with `>`); ``bytes`` keeps that order.
    public let isBigEndian: Bool
    /// The extent of each axis from the header's `shape` tuple, outermost first (`[]` for a scalar).
    public let shape: [Int]
    /// The raw element bytes, C order, in the file's byte order.
    public let bytes: [UInt8]

    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }

    /// Reads the `.npy` file at `url`.
    public static func read(from url: URL) throws -> NumPyArray {
        try parse(try FileBytes.read(url), name: url.path)
    }

    /// Parses the bytes of an `.npy` file; `name` prefixes error messages.
    public static func parse(_ data: [UInt8], name: String) throws -> NumPyArray {
        func fail(_ why: String) -> NablaError { NablaError(.invalidFile, "\(name): not a valid .npy file: \(why)") }
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
        guard !data.isEmpty else { throw fail("the file is empty") }
        guard data.count >= 8 else { throw fail("truncated inside the 8-byte magic and version") }
        guard Array(data[0..<6]) == magic else { throw fail("wrong magic (expected \\x93NUMPY)") }
        let (major, minor) = (data[6], data[7])
        guard (1...3).contains(major), minor == 0 else { throw fail("unsupported format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)") }
        let lengthBytes = major == 1 ? 2 : 4
        guard data.count >= 8 + lengthBytes else { throw fail("truncated inside the header length") }
        let headerLength = major == 1 ? Int(data.littleEndianUInt16(at: 8)) : Int(data.littleEndianUInt32(at: 8))
        let headerStart = 8 + lengthBytes
        guard headerLength <= data.count - headerStart else {
            throw fail("header length \(headerLength) exceeds the \(data.count - headerStart) bytes after it")
        }
        let headerBytes = data[headerStart..<(headerStart + headerLength)]
        guard major == 3 || headerBytes.allSatisfy({ $0 < 0x80 }) else { throw fail("header of a version \(major) file is not ASCII") }
        guard let header = String(bytes: headerBytes, encoding: .utf8) else { throw fail("header is not UTF-8") }
        var parser = PythonLiteralParser(header)
        let fields: [String: PythonLiteralParser.Value]
        do { fields = try parser.parseHeader() } catch let error as PythonLiteralParser.Failure { throw fail("header \(error.message)") }
        guard Set(fields.keys) == ["descr", "fortran_order", "shape"] else {
            throw fail("header keys are \(fields.keys.sorted()), expected descr, fortran_order and shape")
        }
        guard case .string(let descr)? = fields["descr"] else {
            throw fail("descr is not a string (structured dtypes are not supported)")
        }
        guard case .bool(let fortranOrder)? = fields["fortran_order"] else { throw fail("fortran_order is not True or False") }
        guard !fortranOrder else {
            throw fail("fortran_order arrays are not supported (save np.ascontiguousarray(a) instead)")
        }
        guard case .tuple(let shape)? = fields["shape"], shape.allSatisfy({ $0 >= 0 }) else {
            throw fail("shape is not a tuple of non-negative integers")
        }
        let (elementType, bigEndian) = try parseDescriptor(descr, fail: fail)
        let available = data.count - headerStart - headerLength
        var elements = 1
        for extent in shape {
            let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
            guard !overflow, product <= available else {
                throw fail("shape \(shape) of \(descr) needs more than the \(available) data bytes present")
            }
            elements = product
        }
        guard elements * elementType.size == available else {
            throw fail("shape \(shape) of \(descr) needs \(elements * elementType.size) data bytes, the file has \(available)")
        }
        return NumPyArray(elementType: elementType, isBigEndian: bigEndian && elementType.size > 1, shape: shape,
                          bytes: Array(data[(headerStart + headerLength)...]))
    }

    private static func parseDescriptor(_ descr: String, fail: (String) -> NablaError) throws -> (ElementType, Bool) {
        let supported = "supported: <f4 <f8 <i8 <i4 |i1 |u1 |b1 and their big-endian forms"
        guard let order = descr.first, "<>|".contains(order), let type = ElementType(rawValue: String(descr.dropFirst())) else {
            throw fail("dtype '\(descr)' is not supported (\(supported))")
        }
        guard order != "|" || type.size == 1 else { throw fail("dtype '\(descr)' has no byte order (\(supported))") }
        return (type, order == ">")
    }

    /// The elements converted to `Float`.
    public func floats() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            bytes.withUnsafeBytes { raw in
                for i in 0..<count { out[i] = Float(element(i, raw)) }
            }
            initialized = count
        }
    }

    /// The elements as integers, or `nil` for a floating-point array.
    public func integers() -> [Int]? {
        guard !elementType.isFloatingPoint else { return nil }
        return bytes.withUnsafeBytes { raw in
            (0..<count).map { i -> Int in
                guard elementType == .int64 else { return Int(element(i, raw)) }
                let v = raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)
                return Int(isBigEndian ? Int64(bigEndian: v) : Int64(littleEndian: v))
            }
        }
    }

    /// Element `i` as a `Double` (exact for every supported type except `i8` beyond 2^53).
    @inline(__always)
    private func element(_ i: Int, _ raw: UnsafeRawBufferPointer) -> Double {
        let o = i * elementType.size
        switch elementType {
        case .float32:
            let bits = raw.loadUnaligned(fromByteOffset: o, as: UInt32.self)
            return Double(Float(bitPattern: isBigEndian ? UInt32(bigEndian: bits) : UInt32(littleEndian: bits)))
        case .float64:
            let bits = raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)
            return Double(bitPattern: isBigEndian ? UInt64(bigEndian: bits) : UInt64(littleEndian: bits))
        case .int64:
            let v = raw.loadUnaligned(fromByteOffset: o, as: Int64.self)
            return Double(isBigEndian ? Int64(bigEndian: v) : Int64(littleEndian: v))
        case .int32:
            let v = raw.loadUnaligned(fromByteOffset: o, as: Int32.self)
            return Double(isBigEndian ? Int32(bigEndian: v) : Int32(littleEndian: v))
        case .int8:
            return Double(Int8(bitPattern: raw[o]))
        case .uint8, .bool:
            return Double(raw[o])
        }
    }
}
