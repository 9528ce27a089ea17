import NablaTensor

/// Differentiable reductions, reshapes and products.
extension Variable {
    /// The sum of every element, as a scalar.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sum() -> Variable {
        let shape = self.shape
        return Variable(Tensor(value.sum()), inputs: [self]) { [self] g in
            self.accumulate(Tensor(repeating: g.scalar, shape: shape))
        }
    }

    /// The mean of every element, as a scalar.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func mean() -> Variable {
        let shape = self.shape, n = Scalar(value.count)
        return Variable(Tensor(value.mean()), inputs: [self]) { [self] g in
            self.accumulate(Tensor(repeating: g.scalar / n, shape: shape))
        }
    }

    /// Sums along `axes`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sum(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Variable {
        let shape = self.shape
        var kept = shape
        for a in value.normalizedAxes(axes) { kept[a] = 1 }
        return Variable(value.sum(alongAxes: axes, keepingDimensions: keepingDimensions), inputs: [self]) { [self] g in
            self.accumulate(g.reshaped(to: kept) + Tensor(zeros: shape))
        }
    }

    /// Means along `axes`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func mean(alongAxes axes: [Int], keepingDimensions: Bool = false) -> Variable {
        let n = value.normalizedAxes(axes).reduce(1) { $0 * shape[$1] }
        return sum(alongAxes: axes, keepingDimensions: keepingDimensions) / Scalar(n)
    }

    /// The same elements under a new shape (one extent may be -1).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func reshaped(to newShape: [Int]) -> Variable {
        let shape = self.shape
        return Variable(value.reshaped(to: newShape), inputs: [self]) { [self] g in
            self.accumulate(g.reshaped(to: shape))
        }
    }

    /// Axes reordered: axis `i` of the result is axis `permutation[i]` of `self`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func permuted(_ permutation: [Int]) -> Variable {
        var inverse = [Int](repeating: 0, count: permutation.count)
        for (i, p) in permutation.enumerated() { inverse[p] = i }
        return Variable(value.permuted(permutation), inputs: [self]) { [self] g in
            self.accumulate(g.permuted(inverse))
        }
    }

    /// The last two axes swapped.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func transposed() -> Variable {
        var permutation = Array(0..<value.rank)
        permutation.swapAt(value.rank - 1, value.rank - 2)
        return permuted(permutation)
    }

    /// Matrix product `self · other` (rank 2, or batched rank 3).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func matmul(_ other: Variable) -> Variable {
        let (a, b) = (value, other.value)
        return Variable(Tensor.matmul(a, b), inputs: [self, other]) { [self] g in
            if self.requiresGradient { self.accumulate(Tensor.matmul(g, b, transposeB: true)) }
            if other.requiresGradient { other.accumulate(Tensor.matmul(a, g, transposeA: true)) }
        }
    }

    /// Joins variables along `axis`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func concatenate(_ parts: [Variable], alongAxis axis: Int = 0) -> Variable {
        let value = Tensor(concatenating: parts.map(\.value), alongAxis: axis)
        let rank = value.rank
        let axis = axis < 0 ? axis + rank : axis
        let extents = parts.map { $0.shape[axis] }
        return Variable(value, inputs: parts) { g in
            // Split g along `axis` by moving that axis first, slicing, and moving it back.
            var toFront = Array(0..<rank); toFront.remove(at: axis); toFront.insert(axis, at: 0)
            var back = [Int](repeating: 0, count: rank)
            for (i, p) in toFront.enumerated() { back[p] = i }
            let front = g.permuted(toFront)
            var start = 0
            for (part, extent) in zip(parts, extents) {
                if part.requiresGradient { part.accumulate(front[start..<(start + extent)].permuted(back)) }
                start += extent
            }
        }
    }
}
