/// A minimal Protocol Buffers (proto3) encoder: just the wire types TensorBoard's `Event` needs.
///
/// Wire format (https://protobuf.dev/programming-guides/encoding/): every field is a key
/// `(fieldNumber << 3) | wireType` written as a base-128 varint, then its payload:
/// - wire type 0, varint: integers, 7 bits per byte, least significant group first, the high bit set on
///   every byte but the last; `int64` negatives take ten bytes (two's complement as `UInt64`);
/// - wire type 1, 64-bit: a `double`, its IEEE 754 bits little-endian;
/// - wire type 5, 32-bit: a `float`, its IEEE 754 bits little-endian;
/// - wire type 2, length-delimited: a varint byte count, then the bytes (strings as UTF-8, embedded
///   messages, and packed repeated scalars — for `repeated double` the concatenated 8-byte values).
///
/// Fields are appended in the order the methods are called; proto3 parsers accept any order.
public struct ProtobufEncoder: Sendable {
    /// The encoded message so far.
    public private(set) var bytes: [UInt8] = []

    /// An empty message.
    public init() {}

    /// The wire types used here.
    public enum WireType: UInt8, Sendable {
        /// Wire type 0: a base-128 varint (`int64`, `uint64`, `bool`, enums).
        case varint = 0
        /// Wire type 1: 8 little-endian bytes (`double`, `fixed64`).
        case fixed64 = 1
        /// Wire type 2: a varint length, then that many bytes (`string`, `bytes`, messages, packed repeated fields).
        case lengthDelimited = 2
        /// Wire type 5: 4 little-endian bytes (`float`, `fixed32`).
        case fixed32 = 5
    }

    /// Appends a base-128 varint.
    public mutating func appendVarint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    /// Appends a field key.
    public mutating func appendKey(field: Int, wireType: WireType) {
        precondition(field > 0 && field < 1 << 29, "Protobuf field number \(field) is out of range 1..<2^29")
        appendVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    /// Appends a little-endian 64-bit word.
    mutating func appendFixed64(_ word: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
    }

    /// An `int64` field (varint; negative values are encoded in ten bytes, as protobuf specifies).
    public mutating func appendInt64(field: Int, _ value: Int64) {
        appendKey(field: field, wireType: .varint)
        appendVarint(UInt64(bitPattern: value))
    }

    /// A `double` field (64-bit little-endian IEEE 754).
    public mutating func appendDouble(field: Int, _ value: Double) {
        appendKey(field: field, wireType: .fixed64)
        appendFixed64(value.bitPattern)
    }

    /// A `float` field (32-bit little-endian IEEE 754).
    public mutating func appendFloat(field: Int, _ value: Float) {
        appendKey(field: field, wireType: .fixed32)
        let word = value.bitPattern
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
    }

    /// A length-delimited field holding raw bytes.
    public mutating func appendBytes<Bytes: Collection>(field: Int, _ payload: Bytes) where Bytes.Element == UInt8 {
        appendKey(field: field, wireType: .lengthDelimited)
        appendVarint(UInt64(payload.count))
        bytes.append(contentsOf: payload)
    }

    /// A `string` field (UTF-8).
    public mutating func appendString(field: Int, _ value: String) {
        appendBytes(field: field, Array(value.utf8))
    }

    /// An embedded message field.
    public mutating func appendMessage(field: Int, _ message: ProtobufEncoder) {
        appendBytes(field: field, message.bytes)
    }

    /// A `repeated double` field in packed encoding (one length-delimited field of 8-byte values).
    /// Nothing is written for an empty array, as proto3 does for packed fields.
    public mutating func appendPackedDoubles(field: Int, _ values: [Double]) {
        guard !values.isEmpty else { return }
        appendKey(field: field, wireType: .lengthDelimited)
        appendVarint(UInt64(values.count * 8))
        bytes.reserveCapacity(bytes.count + values.count * 8)
        for value in values { appendFixed64(value.bitPattern) }
    }
}
