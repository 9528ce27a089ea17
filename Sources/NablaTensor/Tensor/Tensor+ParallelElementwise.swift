/// Elementwise arithmetic split over the threads.
///
/// The arithmetic operators (`+ − · /` between tensors of one shape or with a scalar, `+=`,
/// ``Tensor/addScaled(_:by:)``) are the adds and scalings of residual sums, gradient accumulation and
/// optimizer-side maths; on activations of millions of elements a single thread running them held
/// the other cores idle (`resnet20`: 1.9% of the step's samples, on the calling thread alone). With at
/// least 2¹⁵ elements per thread (``Parallelism/forEachElementRange(of:_:)``) the elements are split
/// into contiguous ranges, one per thread. Each element is computed by the same
/// operation as before, so the results are bitwise the same on any thread count.
///
/// Each operation is a concrete loop (an ``ElementwiseOperation`` case), not a closure: a closure
/// called from inside the threads' ranges is not inlined there, and the loop would not vectorize.
/// ``Tensor/zipWith(_:_:)`` and ``Tensor/map(_:)`` keep calling a user's closure on one thread, in order.
@usableFromInline
enum ElementwiseOperation<Scalar: TensorScalar> {
    /// `a + b`, `a − b`, `a · b`, `a / b` of two tensors of one shape.
    case add, subtract, multiply, divide
    /// `a + c·b` of two tensors of one shape (`axpy`).
    case addScaled(Scalar)
    /// `a + c`, `a − c`, `c − a`, `a · c`, `a / c`, `c / a` with a scalar `c`; `−a`.
    case addScalar(Scalar), subtractScalar(Scalar), subtractFromScalar(Scalar)
    case multiplyByScalar(Scalar), divideByScalar(Scalar), divideScalar(Scalar), negate

    /// `out[i] = op(a[i], b[i])` (`b` is not read by the scalar cases) for `i` in `range`.
    @inlinable
    func apply(_ range: Range<Int>, _ a: UnsafePointer<Scalar>, _ b: UnsafePointer<Scalar>,
               into out: UnsafeMutablePointer<Scalar>) {
        switch self {
        case .add: for i in range { out[i] = a[i] + b[i] }
        case .subtract: for i in range { out[i] = a[i] - b[i] }
        case .multiply: for i in range { out[i] = a[i] * b[i] }
        case .divide: for i in range { out[i] = a[i] / b[i] }
        case .addScaled(let c): for i in range { out[i] = a[i] + c * b[i] }
        case .addScalar(let c): for i in range { out[i] = a[i] + c }
        case .subtractScalar(let c): for i in range { out[i] = a[i] - c }
        case .subtractFromScalar(let c): for i in range { out[i] = c - a[i] }
        case .multiplyByScalar(let c): for i in range { out[i] = a[i] * c }
        case .divideByScalar(let c): for i in range { out[i] = a[i] / c }
        case .divideScalar(let c): for i in range { out[i] = c / a[i] }
        case .negate: for i in range { out[i] = -a[i] }
        }
    }
}

extension Tensor {
    /// `operation` of this tensor and `other` (of this shape; omitted for the scalar cases, which do
    /// not read it) into a new tensor, split over the threads.
    @inlinable
    func elementwise(_ operation: ElementwiseOperation<Scalar>, _ other: Tensor? = nil) -> Tensor {
        let other = other ?? self
        return Tensor(shape: shape) { out in
            scalars.withUnsafeBufferPointer { a in
                other.scalars.withUnsafeBufferPointer { b in
                    guard let po = out.baseAddress, let pa = a.baseAddress, let pb = b.baseAddress else { return }
                    Parallelism.forEachElementRange(of: out.count) { range in operation.apply(range, pa, pb, into: po) }
                }
            }
        }
    }

    /// `self = operation(self, other)` in place, split over the threads.
    @inlinable
    mutating func updateElementwise(_ operation: ElementwiseOperation<Scalar>, _ other: Tensor) {
        storage.withUnsafeMutableBufferPointer { a in
            other.scalars.withUnsafeBufferPointer { b in
                guard let pa = a.baseAddress, let pb = b.baseAddress else { return }
                Parallelism.forEachElementRange(of: a.count) { range in operation.apply(range, pa, pb, into: pa) }
            }
        }
    }
}
