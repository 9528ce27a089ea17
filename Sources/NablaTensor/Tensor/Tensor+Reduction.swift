/// Reductions over axes. Axes may be negative (counted from the end); an empty axis list reduces
/// nothing, `nil` reduces every axis.
extension Tensor {
    /// Normalizes possibly negative axes to `0..<rank`, sorted and unique.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func normalizedAxes(_ axes: [Int]) -> [Int] {
        let result = Set(axes.map { axis -> Int in
            let a = axis < 0 ? axis + rank : axis
            precondition(a >= 0 && a < rank, "Axis \(axis) is out of range for rank \(rank)")
            return a
        })
        return result.sorted()
    }

    /// Folds the elements along `axes` with `combine`, starting from `initial`.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func reduce(
        alongAxes axes: [Int], keepingDimensions: Bool = false, initial: Scalar,
        _ combine: (Scalar, Scalar) -> Scalar
    ) -> Tensor {
        let axes = normalizedAxes(axes)
        var keptShape = shape
        for axis in axes { keptShape[axis] = 1 }
        let finalShape = keepingDimensions ? keptShape : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        if axes.isEmpty { return self }
        let outCount = keptShape.reduce(1, *)
        var out = [Scalar](repeating: initial, count: outCount)
        let so = Tensor.broadcastStrides(of: keptShape, to: shape)
        let rank = self.rank
        let inner = shape[rank - 1], io = so[rank - 1]
        out.withUnsafeMutableBufferPointer { o in
            scalars.withUnsafeBufferPointer { a in
                var index = [Int](repeating: 0, count: rank)
                var offOut = 0, i = 0
                while i < a.count {
                    for j in 0..<inner { o[offOut + j * io] = combine(o[offOut + j * io], a[i + j]) }
                    i += inner
                    var axis = rank - 2
                    while axis >= 0 {
                        index[axis] += 1
                        offOut += so[axis]
                        if index[axis] < shape[axis] { break }
                        offOut -= so[axis] * shape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
        return Tensor(shape: finalShape, scalars: out)
    }

    /// The sum of every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sum() -> Scalar {
        scalars.withUnsafeBufferPointer { a in
            var total: Scalar = 0
            for x in a { total += x }
            return total
        }
    }

    /// Sums along `axes`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sum(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        reduce(alongAxes: axes, keepingDimensions: keepingDimensions, initial: 0, +)
    }

    /// The mean of every element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func mean() -> Scalar { count == 0 ? .nan : sum() / Scalar(count) }

    /// Means along `axes`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func mean(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        let n = normalizedAxes(axes).reduce(1) { $0 * shape[$1] }
        return sum(alongAxes: axes, keepingDimensions: keepingDimensions) / Scalar(n)
    }

    /// Maxima along `axes`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func max(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        reduce(alongAxes: axes, keepingDimensions: keepingDimensions, initial: -.infinity) { Swift.max($0, $1) }
    }

    /// Minima along `axes`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func min(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Tensor {
        reduce(alongAxes: axes, keepingDimensions: keepingDimensions, initial: .infinity) { Swift.min($0, $1) }
    }

    /// The largest element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func max() -> Scalar { scalars.max() ?? -.infinity }
    /// The smallest element.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func min() -> Scalar { scalars.min() ?? .infinity }

    /// Variance along `axes` (two-pass: mean first, then squared deviations).
    /// - Parameters:
    ///   - axes: the axes reduced over (negative ones count from the end).
    ///   - unbiased: divide by `n − 1` (Bessel's correction) instead of `n`.
    ///   - keepingDimensions: keep each reduced axis with extent 1.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func variance(alongAxes axes: [Int], unbiased: Bool = false, keepingDimensions: Bool = false) -> Tensor {
        let n = normalizedAxes(axes).reduce(1) { $0 * shape[$1] }
        let mu = mean(alongAxes: axes, keepingDimensions: true)
        let squares = (self - mu).squared().sum(alongAxes: axes, keepingDimensions: keepingDimensions)
        return squares / Scalar(unbiased ? n - 1 : n)
    }

    /// Indices of the first maximum along `axis` (ties: the first, as PyTorch), that axis removed.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func argmax(alongAxis axis: Int) -> [Int] {
        let axis = normalizedAxes([axis])[0]
        let outer = shape[..<axis].reduce(1, *), extent = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var result = [Int](repeating: 0, count: outer * inner)
        scalars.withUnsafeBufferPointer { a in
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = a[o * extent * inner + i], bestIndex = 0
                    for k in 1..<Swift.max(extent, 1) {
                        let v = a[(o * extent + k) * inner + i]
                        if v > best || (v.isNaN && !best.isNaN) { best = v; bestIndex = k }
                    }
                    result[o * inner + i] = bestIndex
                }
            }
        }
        return result
    }
}
