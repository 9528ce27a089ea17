import Foundation
import NablaTensor

/// The element types of the safetensors format that Nabla reads and writes.
public enum SafeTensorsDType: String, Sendable, CaseIterable {
    /// 32-bit IEEE 754 floating point (`torch.float32`).
    case f32 = "F32"
    /// 64-bit IEEE 754 floating point (`torch.float64`).
    case f64 = "F64"
    /// 64-bit signed integer (`torch.int64`), e.g. `num_batches_tracked`.
    case i64 = "I64"
    /// 32-bit signed integer (`torch.int32`).
    case i32 = "I32"
    /// 8-bit unsigned integer (`torch.uint8`).
    case u8 = "U8"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32, .i32: return 4
        case .f64, .i64: return 8
        case .u8: return 1
        }
    }
}

/// One tensor of a safetensors file: dtype, shape and little-endian bytes.
public struct SafeTensor: Sendable, Equatable {
    /// The element type.
    public let dtype: SafeTensorsDType
    /// The extent of each axis, outermost first (`[]` for a scalar).
    public let shape: [Int]
    /// The elements, row-major, little-endian, `count × dtype.size` bytes.
    public let bytes: [UInt8]

    /// Creates an entry; `bytes.count` must equal the element count times the dtype size.
    public init(dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.reduce(1, *) * dtype.size == bytes.count, "SafeTensor: \(bytes.count) bytes do not fit \(dtype.rawValue) \(shape)")
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// Stores a `Float` or `Double` tensor as `F32` or `F64`.
    public init<Scalar: TensorScalar>(_ tensor: Tensor<Scalar>) {
        let dtype: SafeTensorsDType = Scalar.self == Double.self ? .f64 : .f32
        var bytes = [UInt8]()
        bytes.reserveCapacity(tensor.count * dtype.size)
        if dtype == .f64 {
            for x in tensor.scalars { withUnsafeBytes(of: Double(x).bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        } else {
            for x in tensor.scalars { withUnsafeBytes(of: Float(x).bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
        }
        self.init(dtype: dtype, shape: tensor.shape, bytes: bytes)
    }

    /// Stores integers as `I64`.
    public init(int64 values: [Int64], shape: [Int]) {
        var bytes = [UInt8]()
        bytes.reserveCapacity(values.count * 8)
        for v in values { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
        self.init(dtype: .i64, shape: shape, bytes: bytes)
    }

    /// The element count.
    public var count: Int { shape.reduce(1, *) }

    /// The elements converted to `Double`, whatever the stored dtype.
    public var doubleValues: [Double] {
        bytes.withUnsafeBytes { raw in
            (0..<count).map { i -> Double in
                let o = i * dtype.size
                switch dtype {
                case .f32: return Double(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt32.self))))
                case .f64: return Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self)))
                case .i64: return Double(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int64.self)))
                case .i32: return Double(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: Int32.self)))
                case .u8: return Double(raw[o])
                }
            }
        }
    }

    /// The elements as integers (floating values are truncated toward zero and clamped to `Int`'s
    /// range; NaN becomes 0).
    public var intValues: [Int] {
        if dtype == .i64 {
            return bytes.withUnsafeBytes { raw in
                (0..<count).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self))) }
            }
        }
        // ±9.2e18 is the largest Double magnitude below 2^63, so the conversion cannot trap.
        return doubleValues.map { $0.isNaN ? 0 : Int(Swift.min(Swift.max($0, -9.2e18), 9.2e18)) }
    }

    /// The entry as a tensor of `Scalar`, converting from any stored dtype.
    public func tensor<Scalar: TensorScalar>(as type: Scalar.Type = Scalar.self) -> Tensor<Scalar> {
        if dtype == .f32 && Scalar.self == Float.self {
            let values = bytes.withUnsafeBytes { raw in
                (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self))) }
            }
            return Tensor(shape: shape, scalars: values as! [Scalar])
        }
        return Tensor(shape: shape, scalars: doubleValues.map { Scalar($0) })
    }
}

/// The safetensors format (Hugging Face): an 8-byte little-endian header length `N`, `N` bytes of
/// JSON mapping each name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative to
/// the byte buffer after the header) plus an optional `"__metadata__"` string map, then the buffer.
///
/// Reading validates everything a hostile file could get wrong — header length beyond the file, JSON
/// that is not an object, unknown dtypes, negative or overflowing shapes, offsets outside the buffer
/// or disagreeing with the shape — and throws a one-line ``/NablaTensor/NablaError`` naming the file. Writing is
/// atomic: a temporary file in the same directory, then a rename.
public struct SafeTensorsFile: Sendable, Equatable {
    /// The tensors by name (a PyTorch `state_dict` key such as `0.weight`).
    public var tensors: [String: SafeTensor]
    /// The `__metadata__` string map of the header (empty when the file has none).
    public var metadata: [String: String]

    /// A file of `tensors` and `metadata`; ``write(to:)`` or ``serialized()`` produce its bytes.
    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Reads and validates the file at `url`.
    public static func read(from url: URL) throws -> SafeTensorsFile {
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw NablaError(.io, "\(url.path): cannot read file (no such file)")
        }
        return try parse(try FileBytes.read(url), name: url.path)
    }

    /// Parses the bytes of a safetensors file; `name` is used in error messages.
    public static func parse(_ bytes: [UInt8], name: String) throws -> SafeTensorsFile {
        func fail(_ why: String) -> NablaError { NablaError(.invalidFile, "\(name): not a valid safetensors file: \(why)") }
        guard bytes.count >= 8 else { throw fail("\(bytes.count) bytes is shorter than the 8-byte header length") }
        let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("header length \(headerLength) exceeds the \(bytes.count - 8) bytes after it")
        }
        let headerEnd = 8 + Int(headerLength)
        let json: Any
        do { json = try JSONSerialization.jsonObject(with: Data(bytes[8..<headerEnd])) } catch {
            throw fail("header is not valid JSON")
        }
        guard let header = json as? [String: Any] else { throw fail("header is not a JSON object") }
        let bufferSize = bytes.count - headerEnd
        var file = SafeTensorsFile()
        var ranges: [(Int, Int, String)] = []
        for (key, entry) in header {
            if key == "__metadata__" {
                guard let meta = entry as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in meta {
                    guard let s = v as? String else { throw fail("__metadata__ value for '\(k)' is not a string") }
                    file.metadata[k] = s
                }
                continue
            }
            guard let info = entry as? [String: Any] else { throw fail("entry '\(key)' is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw fail("entry '\(key)' has no dtype") }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                throw fail("entry '\(key)' has unsupported dtype '\(dtypeName)' (supported: F32, F64, I64, I32, U8)")
            }
            guard let shapeAny = info["shape"] as? [Any], let shape = integers(shapeAny), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("entry '\(key)' has an invalid shape")
            }
            guard let offsetsAny = info["data_offsets"] as? [Any], let offsets = integers(offsetsAny), offsets.count == 2 else {
                throw fail("entry '\(key)' has invalid data_offsets")
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin >= 0, begin <= end, end <= bufferSize else {
                throw fail("entry '\(key)' data_offsets [\(begin), \(end)] lie outside the \(bufferSize)-byte buffer")
            }
            var elements = 1
            for extent in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: extent)
                guard !overflow, product <= bufferSize else { throw fail("entry '\(key)' shape \(shape) is larger than the file") }
                elements = product
            }
            guard elements * dtype.size == end - begin else {
                throw fail("entry '\(key)' shape \(shape) of \(dtypeName) needs \(elements * dtype.size) bytes, data_offsets give \(end - begin)")
            }
            ranges.append((begin, end, key))
            file.tensors[key] = SafeTensor(dtype: dtype, shape: shape, bytes: Array(bytes[(headerEnd + begin)..<(headerEnd + end)]))
        }
        ranges = ranges.filter { $0.0 < $0.1 }.sorted { $0.0 < $1.0 }   // empty tensors occupy no bytes
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.0 < a.1 {
            throw fail("entries '\(a.2)' and '\(b.2)' overlap")
        }
        return file
    }

    private static func integers(_ values: [Any]) -> [Int]? {
        var result: [Int] = []
        for v in values {
            guard let n = v as? NSNumber, n.doubleValue == n.doubleValue.rounded() else { return nil }
            let d = n.doubleValue
            guard d >= -Double(Int.max) / 2 && d <= Double(Int.max) / 2 else { return nil }
            result.append(n.intValue)
        }
        return result
    }

    /// The serialized bytes: header (keys sorted, padded with spaces to a multiple of 8) then data.
    public func serialized() -> [UInt8] {
        var entries: [String] = []
        var offset = 0
        let keys = tensors.keys.sorted()
        if !metadata.isEmpty {
            let body = metadata.keys.sorted().map { "\(jsonStringLiteral($0)):\(jsonStringLiteral(metadata[$0]!))" }.joined(separator: ",")
            entries.append("\"__metadata__\":{\(body)}")
        }
        for key in keys {
            let t = tensors[key]!
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(jsonStringLiteral(key)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = [UInt8]()
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: header)
        for key in keys { out.append(contentsOf: tensors[key]!.bytes) }
        return out
    }

    /// Writes the file atomically (temporary file in the same directory, then rename).
    public func write(to url: URL) throws {
        try AtomicFile.write(Data(serialized()), to: url)
    }
}
