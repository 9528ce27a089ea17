/// CRC-32C (Castagnoli), the checksum of TFRecord framing, computed with slicing-by-8.
///
/// The polynomial is 0x1EDC6F41 (reflected: 0x82F63B78); the register starts at 0xFFFFFFFF and the
/// result is complemented, so `checksum("123456789") == 0xE3069283` (the standard check value;
/// RFC 3720 §B.4). Slicing-by-8 (Kounavis & Berry, "A Systematic Approach to Building High
/// Performance Software-based CRC Generators", 2005) processes eight bytes per step with eight
/// 256-entry tables: table 0 is the classic byte-at-a-time table and table k advances table k−1 by
/// one more zero byte, `T[k][i] = (T[k−1][i] >> 8) ^ T[0][T[k−1][i] & 0xFF]`.
public enum CRC32C {
    /// The reflected Castagnoli polynomial.
    public static let polynomial: UInt32 = 0x82F6_3B78

    /// The constant TFRecord adds after rotating a CRC (see ``masked(_:)``).
    public static let maskDelta: UInt32 = 0xA282_EAD8

    /// Eight 256-entry tables, laid out contiguously (`tables[k * 256 + i]`).
    static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ polynomial : crc >> 1 }
            tables[i] = crc
        }
        for k in 1..<8 {
            for i in 0..<256 {
                let previous = tables[(k - 1) * 256 + i]
                tables[k * 256 + i] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        update(0, bytes)
    }

    /// The CRC-32C of a byte sequence held contiguously (`[UInt8]`, `Data`, `ArraySlice<UInt8>`).
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        if let crc = bytes.withContiguousStorageIfAvailable({ update(0, UnsafeRawBufferPointer($0)) }) {
            return crc
        }
        let copy = Array(bytes)
        return copy.withUnsafeBytes { update(0, $0) }
    }

    /// Extends the checksum `crc` of some prefix with `bytes`: `update(checksum(a), b) == checksum(a + b)`.
    public static func update(_ crc: UInt32, _ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var crc = ~crc
        var index = 0
        let count = bytes.count
        tables.withUnsafeBufferPointer { t in
            // Eight bytes per step: the low four are folded into the register, then all eight are
            // looked up in the table that accounts for how many bytes remain after them.
            while count - index >= 8 {
                let low = crc ^ (UInt32(bytes[index]) | UInt32(bytes[index + 1]) << 8
                    | UInt32(bytes[index + 2]) << 16 | UInt32(bytes[index + 3]) << 24)
                crc = t[7 * 256 + Int(low & 0xFF)]
                    ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)]
                    ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(bytes[index + 4])]
                    ^ t[2 * 256 + Int(bytes[index + 5])]
                    ^ t[1 * 256 + Int(bytes[index + 6])]
                    ^ t[Int(bytes[index + 7])]
                index += 8
            }
            while index < count {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(bytes[index])) & 0xFF)]
                index += 1
            }
        }
        return ~crc
    }

    /// TFRecord's masked CRC: `((crc >> 15) | (crc << 17)) &+ 0xA282EAD8` (rotate right by 15, then add
    /// a constant modulo 2³²), so that a CRC stored inside CRC-protected data does not checksum to zero.
    public static func masked(_ crc: UInt32) -> UInt32 {
        ((crc >> 15) | (crc << 17)) &+ maskDelta
    }

    /// Inverse of ``masked(_:)``.
    public static func unmasked(_ maskedCRC: UInt32) -> UInt32 {
        let rotated = maskedCRC &- maskDelta
        return (rotated >> 17) | (rotated << 15)
    }
}
