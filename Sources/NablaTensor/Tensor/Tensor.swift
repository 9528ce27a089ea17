/// An n-dimensional array of ``TensorScalar`` values: row-major, contiguous, with value semantics.
///
/// Storage is a Swift `Array`, so copies are O(1) and a write copies only when the storage is shared
/// (copy-on-write). A tensor of shape `[]` is a scalar with one element.
///
/// ```swift
/// let x = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// let y = (x * 2 + 1).sum(alongAxes: [1])   // shape [2]
/// ```
public struct Tensor<Scalar: TensorScalar>: Equatable, Sendable {
    /// The extent of each axis, outermost first.
    @inlinable public var shape: [Int] { _shape }
    /// The elements in row-major order.
    @inlinable public var scalars: [Scalar] {
        get { storage }
        _modify { yield &storage }
    }
    @usableFromInline var _shape: [Int]
    @usableFromInline var storage: [Scalar]

    /// Creates a tensor from its shape and row-major elements.
    /// - Precondition: `scalars.count` equals the product of `shape`, and no extent is negative.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(shape: [Int], scalars: [Scalar]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape \(shape) has a negative extent")
        precondition(
            shape.reduce(1, *) == scalars.count,
            "Tensor shape \(shape) needs \(shape.reduce(1, *)) elements, got \(scalars.count)")
        self._shape = shape
        self.storage = scalars
    }

    /// A tensor of the given shape with every element equal to `value`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(repeating value: Scalar, shape: [Int]) {
        self.init(shape: shape, scalars: Array(repeating: value, count: shape.reduce(1, *)))
    }

    /// A tensor of zeros.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(zeros shape: [Int]) { self.init(repeating: 0, shape: shape) }

    /// A tensor of ones.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(ones shape: [Int]) { self.init(repeating: 1, shape: shape) }

    /// A scalar (rank-0) tensor.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(_ value: Scalar) { self.init(shape: [], scalars: [value]) }

    /// A rank-1 tensor of the given elements.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(_ values: [Scalar]) { self.init(shape: [values.count], scalars: values) }

    /// A tensor whose elements are written by `body` into uninitialized storage of `shape`'s size.
    /// `body` must initialize every element.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(shape: [Int], unsafeUninitialized body: (UnsafeMutableBufferPointer<Scalar>) -> Void) {
        let count = shape.reduce(1, *)
        let scalars = [Scalar](unsafeUninitializedCapacity: count) { buffer, initialized in
            body(buffer)
            initialized = count
        }
        self.init(shape: shape, scalars: scalars)
    }

    /// Converts the elements of a tensor of another scalar type.
    public init<Other: TensorScalar>(_ other: Tensor<Other>) {
        self.init(shape: other.shape, scalars: other.scalars.map { Scalar($0) })
    }

    /// The number of axes.
    @inlinable public var rank: Int { shape.count }
    /// The number of elements.
    @inlinable public var count: Int { scalars.count }

    /// The only element of a one-element tensor.
    public var scalar: Scalar {
        precondition(count == 1, "scalar requires a one-element tensor, shape is \(shape)")
        return scalars[0]
    }

    /// Row-major strides of `shape`, in elements.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func strides(of shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Element access by a full multi-index.
    public subscript(index: [Int]) -> Scalar {
        get { scalars[flatIndex(index)] }
        set { scalars[flatIndex(index)] = newValue }
    }

    /// Element access by a full multi-index.
    public subscript(index: Int...) -> Scalar {
        get { self[index] }
        set { self[index] = newValue }
    }

    private func flatIndex(_ index: [Int]) -> Int {
        precondition(index.count == rank, "Index \(index) has \(index.count) axes, tensor has \(rank)")
        var flat = 0
        for (axis, i) in index.enumerated() {
            precondition(i >= 0 && i < shape[axis], "Index \(index) is out of range for shape \(shape)")
            flat = flat * shape[axis] + i
        }
        return flat
    }

    /// Calls `body` with the elements as a read-only buffer.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try scalars.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the elements as a mutable buffer (copying first if the storage is shared).
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try storage.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Replaces the shape with one of the same element count, keeping the elements.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func reshapeInPlace(to newShape: [Int]) {
        precondition(newShape.reduce(1, *) == count, "Cannot reshape \(shape) to \(newShape)")
        _shape = newShape
    }

    /// Whether the two tensors have the same shape and every pair of elements differs by at most
    /// `absolute + relative·|other|`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func isApproximatelyEqual(to other: Tensor, relative: Scalar = 1e-5, absolute: Scalar = 1e-6) -> Bool {
        guard shape == other.shape else { return false }
        for i in 0..<count {
            let a = scalars[i], b = other.scalars[i]
            if !(Swift.abs(a - b) <= absolute + relative * Swift.abs(b)) { return false }
        }
        return true
    }
}

extension Tensor: CustomStringConvertible {
    /// A nested-bracket rendering like NumPy's, abbreviated past 6 elements per axis.
    public var description: String {
        if rank == 0 { return "\(scalars[0])" }
        var out = ""
        func render(axis: Int, offset: Int, indent: Int) {
            let extent = shape[axis]
            let stride = shape[(axis + 1)...].reduce(1, *)
            let shown: [Int] = extent > 6 ? Array(0..<3) + [-1] + Array((extent - 3)..<extent) : Array(0..<extent)
            out += "["
            for (position, i) in shown.enumerated() {
                if position > 0 {
                    out += axis == rank - 1 ? ", " : ",\n" + String(repeating: " ", count: indent + 1)
                }
                if i < 0 { out += "..."; continue }
                if axis == rank - 1 {
                    out += "\(scalars[offset + i])"
                } else {
                    render(axis: axis + 1, offset: offset + i * stride, indent: indent + 1)
                }
            }
            out += "]"
        }
        render(axis: 0, offset: 0, indent: 0)
        return out
    }
}
