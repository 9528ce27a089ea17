import Foundation
import NablaTensor

extension NumPyArray {
    /// A little-endian `float32` array of `values` in C order.
    /// - Precondition: `values.count` is the product of `shape`.
    public init(float32 values: [Float], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "NumPyArray: \(values.count) values for shape \(shape)")
        self.init(elementType: .float32, isBigEndian: false, shape: shape,
                  bytes: values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } })
    }

    /// A little-endian `int64` array of `values` in C order.
    /// - Precondition: `values.count` is the product of `shape`.
    public init(int64 values: [Int64], shape: [Int]) {
        precondition(values.count == shape.reduce(1, *), "NumPyArray: \(values.count) values for shape \(shape)")
        self.init(elementType: .int64, isBigEndian: false, shape: shape,
                  bytes: values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } })
    }

    /// The array as a version 1.0 `.npy` file, as `numpy.save` writes it: the header dict padded
    /// with spaces so the data starts at a multiple of 64 bytes, ended by a newline.
    public func serialized() -> [UInt8] {
        let order = elementType.size == 1 ? "|" : (isBigEndian ? ">" : "<")
        let dimensions = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(order)\(elementType.rawValue)', 'fortran_order': False, 'shape': \(dimensions), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        let length = header.utf8.count
        return [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8) + bytes
    }

    /// Writes the array to `url` as an `.npy` file, atomically.
    /// - Throws: ``NablaError`` (`.io`) naming the path when the file cannot be written.
    public func write(to url: URL) throws { try AtomicFile.write(Data(serialized()), to: url) }
}
