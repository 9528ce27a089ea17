/// Elementwise arithmetic with NumPy/PyTorch broadcasting: shapes are aligned at their trailing axes,
/// and an axis of extent 1 (or a missing leading axis) stretches to match the other operand.
extension Tensor {
    /// The broadcast shape of two shapes, or `nil` when they are incompatible.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = Swift.max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            if x == y || y == 1 { result[i] = x } else if x == 1 { result[i] = y } else { return nil }
        }
        return result
    }

    /// Strides for reading a tensor of `shape` as if broadcast to `target` (0 on stretched axes).
    @usableFromInline
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func broadcastStrides(of shape: [Int], to target: [Int]) -> [Int] {
        let own = strides(of: shape)
        let offset = target.count - shape.count
        return (0..<target.count).map { axis in
            axis < offset || shape[axis - offset] == 1 ? 0 : own[axis - offset]
        }
    }

    /// Applies `op` to each pair of broadcast elements.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func zipWith(_ other: Tensor, _ op: (Scalar, Scalar) -> Scalar) -> Tensor {
        if shape == other.shape {
            return Tensor(shape: shape) { out in
                scalars.withUnsafeBufferPointer { a in
                    other.scalars.withUnsafeBufferPointer { b in
                        for i in 0..<out.count { out[i] = op(a[i], b[i]) }
                    }
                }
            }
        }
        guard let outShape = Tensor.broadcastShape(shape, other.shape) else {
            preconditionFailure("Shapes \(shape) and \(other.shape) cannot be broadcast together")
        }
        if other.count == 1 {
            let b = other.scalars[0]
            return Tensor(shape: outShape) { out in
                scalars.withUnsafeBufferPointer { a in for i in 0..<out.count { out[i] = op(a[i], b) } }
            }
        }
        if count == 1 {
            let a = scalars[0]
            return Tensor(shape: outShape) { out in
                other.scalars.withUnsafeBufferPointer { b in for i in 0..<out.count { out[i] = op(a, b[i]) } }
            }
        }
        let sa = Tensor.broadcastStrides(of: shape, to: outShape)
        let sb = Tensor.broadcastStrides(of: other.shape, to: outShape)
        let rank = outShape.count
        let inner = outShape[rank - 1], ia = sa[rank - 1], ib = sb[rank - 1]
        return Tensor(shape: outShape) { out in
            scalars.withUnsafeBufferPointer { a in
                other.scalars.withUnsafeBufferPointer { b in
                    var index = [Int](repeating: 0, count: rank)
                    var offA = 0, offB = 0, o = 0
                    while o < out.count {
                        for j in 0..<inner { out[o + j] = op(a[offA + j * ia], b[offB + j * ib]) }
                        o += inner
                        // Advance the odometer over the outer axes.
                        var axis = rank - 2
                        while axis >= 0 {
                            index[axis] += 1
                            offA += sa[axis]; offB += sb[axis]
                            if index[axis] < outShape[axis] { break }
                            offA -= sa[axis] * outShape[axis]; offB -= sb[axis] * outShape[axis]
                            index[axis] = 0
                            axis -= 1
                        }
                    }
                }
            }
        }
    }

    /// Applies `op` to every element.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func map(_ op: (Scalar) -> Scalar) -> Tensor {
        Tensor(shape: shape) { out in
            scalars.withUnsafeBufferPointer { a in for i in 0..<out.count { out[i] = op(a[i]) } }
        }
    }

    /// Sums this tensor (a broadcast result) down to `target`, the shape of a broadcast operand.
    /// This is the adjoint of broadcasting and is what every broadcasting op's backward uses.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func unbroadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        let offset = rank - target.count
        precondition(offset >= 0, "Cannot reduce shape \(shape) to \(target)")
        var axes = Array(0..<offset)
        for axis in 0..<target.count where target[axis] == 1 && shape[axis + offset] != 1 {
            axes.append(axis + offset)
        }
        return sum(alongAxes: axes, keepingDimensions: true).reshaped(to: target)
    }

    /// `lhs + rhs` elementwise, broadcasting as NumPy does (shapes aligned at the trailing axis, extents of 1 stretched).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func + (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.shape == rhs.shape ? lhs.elementwise(.add, rhs) : lhs.zipWith(rhs, +)
    }
    /// `lhs − rhs` elementwise, with broadcasting.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func - (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.shape == rhs.shape ? lhs.elementwise(.subtract, rhs) : lhs.zipWith(rhs, -)
    }
    /// `lhs ⊙ rhs` elementwise (Hadamard product), with broadcasting.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func * (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.shape == rhs.shape ? lhs.elementwise(.multiply, rhs) : lhs.zipWith(rhs, *)
    }
    /// `lhs / rhs` elementwise, with broadcasting (IEEE 754 division: `x/0` is ±∞ or NaN).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func / (lhs: Tensor, rhs: Tensor) -> Tensor {
        lhs.shape == rhs.shape ? lhs.elementwise(.divide, rhs) : lhs.zipWith(rhs, /)
    }
    /// `lhs + c` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func + (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.elementwise(.addScalar(rhs)) }
    /// `lhs − c` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func - (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.elementwise(.subtractScalar(rhs)) }
    /// `lhs · c` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func * (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.elementwise(.multiplyByScalar(rhs)) }
    /// `lhs / c` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func / (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.elementwise(.divideByScalar(rhs)) }
    /// `c + rhs` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func + (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.elementwise(.addScalar(lhs)) }
    /// `c − rhs` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func - (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.elementwise(.subtractFromScalar(lhs)) }
    /// `c · rhs` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func * (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.elementwise(.multiplyByScalar(lhs)) }
    /// `c / rhs` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    @inlinable public static func / (lhs: Scalar, rhs: Tensor) -> Tensor { rhs.elementwise(.divideScalar(lhs)) }
    /// `−x` for every element.
    @inlinable public static prefix func - (x: Tensor) -> Tensor { x.elementwise(.negate) }

    /// In-place `self += other`, where `other` has exactly this shape. No allocation when unshared.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func += (lhs: inout Tensor, rhs: Tensor) {
        precondition(lhs.shape == rhs.shape, "+= needs equal shapes, got \(lhs.shape) and \(rhs.shape)")
        lhs.updateElementwise(.add, rhs)
    }

    /// In-place `self = self + alpha · other` (BLAS `axpy`), where `other` has this shape.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public mutating func addScaled(_ other: Tensor, by alpha: Scalar) {
        precondition(shape == other.shape, "addScaled needs equal shapes, got \(shape) and \(other.shape)")
        updateElementwise(.addScaled(alpha), other)
    }

    /// 1 where `lhs < rhs`, else 0 (broadcasting).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func .< (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zipWith(rhs) { $0 < $1 ? 1 : 0 } }
    /// 1 where `lhs > rhs`, else 0 (broadcasting).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func .> (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zipWith(rhs) { $0 > $1 ? 1 : 0 } }
    /// 1 where `lhs == rhs`, else 0 (broadcasting).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func .== (lhs: Tensor, rhs: Tensor) -> Tensor { lhs.zipWith(rhs) { $0 == $1 ? 1 : 0 } }
    /// 1 where `lhs > rhs`, else 0.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func .> (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 > rhs ? 1 : 0 } }
    /// 1 where `lhs < rhs`, else 0.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func .< (lhs: Tensor, rhs: Scalar) -> Tensor { lhs.map { $0 < rhs ? 1 : 0 } }

    /// `x²` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squared() -> Tensor { map { $0 * $0 } }
    /// `√x` for every element (NaN for negative elements).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squareRoot() -> Tensor { map { $0.squareRoot() } }
    /// `eˣ` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func exp() -> Tensor { map { Scalar.exp($0) } }
    /// The natural logarithm `ln x` for every element (−∞ at 0, NaN below).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func log() -> Tensor { map { Scalar.log($0) } }
    /// `|x|` for every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func abs() -> Tensor { map { Swift.abs($0) } }
    /// Every element clamped into `range`: `min(max(x, lower), upper)` (NaN stays NaN).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func clamped(to range: ClosedRange<Scalar>) -> Tensor {
        map { Swift.min(Swift.max($0, range.lowerBound), range.upperBound) }
    }

    /// Whether every element is finite (no NaN or infinity).
    public var isFinite: Bool { scalars.allSatisfy { $0.isFinite } }
}
