/// Shape manipulation: reshape, permute, slicing of the leading axis, gathering and concatenation.
extension Tensor {
    /// The same elements under a new shape; one extent may be `-1` and is then inferred.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func reshaped(to newShape: [Int]) -> Tensor {
        var resolved = newShape
        if let unknown = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != unknown }.reduce(1) { $0 * $1.element }
            precondition(known > 0 && count % known == 0, "Cannot reshape \(shape) to \(newShape)")
            resolved[unknown] = count / known
        }
        precondition(resolved.reduce(1, *) == count && resolved.allSatisfy { $0 >= 0 },
                     "Cannot reshape \(shape) to \(newShape)")
        var copy = self
        copy.reshapeInPlace(to: resolved)
        return copy
    }

    /// The tensor with its axes reordered: axis `i` of the result is axis `permutation[i]` of `self`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func permuted(_ permutation: [Int]) -> Tensor {
        precondition(permutation.sorted() == Array(0..<rank), "\(permutation) is not a permutation of \(rank) axes")
        if permutation == Array(0..<rank) { return self }
        let inStrides = Tensor.strides(of: shape)
        let outShape = permutation.map { shape[$0] }
        let readStrides = permutation.map { inStrides[$0] }
        let r = rank
        let inner = outShape[r - 1], innerStride = readStrides[r - 1]
        return Tensor(shape: outShape) { out in
            scalars.withUnsafeBufferPointer { a in
                var index = [Int](repeating: 0, count: r)
                var offset = 0, o = 0
                while o < out.count {
                    for j in 0..<inner { out[o + j] = a[offset + j * innerStride] }
                    o += inner
                    var axis = r - 2
                    while axis >= 0 {
                        index[axis] += 1
                        offset += readStrides[axis]
                        if index[axis] < outShape[axis] { break }
                        offset -= readStrides[axis] * outShape[axis]
                        index[axis] = 0
                        axis -= 1
                    }
                }
            }
        }
    }

    /// The tensor with its last two axes swapped.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func transposed() -> Tensor {
        precondition(rank >= 2, "transposed() needs rank ≥ 2, shape is \(shape)")
        var permutation = Array(0..<rank)
        permutation.swapAt(rank - 1, rank - 2)
        return permuted(permutation)
    }

    /// The tensor with an axis of extent 1 inserted at `axis`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func expandingShape(at axis: Int) -> Tensor {
        var newShape = shape
        newShape.insert(1, at: axis < 0 ? axis + rank + 1 : axis)
        return reshaped(to: newShape)
    }

    /// The tensor with the axis of extent 1 at `axis` removed.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squeezingShape(at axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank : axis
        precondition(shape[a] == 1, "Cannot squeeze axis \(axis) of extent \(shape[a])")
        var newShape = shape
        newShape.remove(at: a)
        return reshaped(to: newShape)
    }

    /// The elements `range` of the leading axis.
    public subscript(range: Range<Int>) -> Tensor {
        precondition(rank >= 1 && range.lowerBound >= 0 && range.upperBound <= shape[0],
                     "Range \(range) is out of bounds for leading extent \(shape.first ?? 0)")
        let rowSize = count / Swift.max(shape[0], 1)
        var newShape = shape
        newShape[0] = range.count
        return Tensor(shape: newShape, scalars: Array(scalars[(range.lowerBound * rowSize)..<(range.upperBound * rowSize)]))
    }

    /// Sub-tensor `index` of the leading axis (rank reduced by one).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func row(_ index: Int) -> Tensor { self[index..<(index + 1)].squeezingShape(at: 0) }

    /// The rows `indices` of the leading axis, in that order (repeats allowed).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gathering(rows indices: [Int]) -> Tensor {
        precondition(rank >= 1, "gathering(rows:) needs rank ≥ 1")
        let rowSize = count / Swift.max(shape[0], 1)
        var newShape = shape
        newShape[0] = indices.count
        return Tensor(shape: newShape) { out in
            scalars.withUnsafeBufferPointer { a in
                for (r, index) in indices.enumerated() {
                    precondition(index >= 0 && index < shape[0], "Row \(index) is out of range 0..<\(shape[0])")
                    let src = a.baseAddress! + index * rowSize
                    (out.baseAddress! + r * rowSize).update(from: src, count: rowSize)
                }
            }
        }
    }

    /// Joins tensors along `axis`; every other extent must agree.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(concatenating tensors: [Tensor], alongAxis axis: Int = 0) {
        precondition(!tensors.isEmpty, "Cannot concatenate zero tensors")
        let first = tensors[0]
        let axis = axis < 0 ? axis + first.rank : axis
        for t in tensors {
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == axis || t.shape[$0] == first.shape[$0] },
                         "Cannot concatenate shapes \(first.shape) and \(t.shape) along axis \(axis)")
        }
        var outShape = first.shape
        outShape[axis] = tensors.reduce(0) { $0 + $1.shape[axis] }
        let outer = first.shape[..<axis].reduce(1, *)
        var scalars = [Scalar]()
        scalars.reserveCapacity(outShape.reduce(1, *))
        for o in 0..<outer {
            for t in tensors {
                let block = t.count / Swift.max(outer, 1)
                scalars.append(contentsOf: t.scalars[(o * block)..<((o + 1) * block)])
            }
        }
        self.init(shape: outShape, scalars: scalars)
    }
}
