import NablaTensor

/// The gradients of a model's parameters packed into flat buckets for reduction across replicas,
/// in reverse layer order — PyTorch DDP's `Reducer` (Li et al., “PyTorch Distributed: Experiences
/// on Accelerating Data Parallel Training”, VLDB 2020).
///
/// Layout: the parameters are taken last to first (backward produces the last layer's gradients
/// first) and packed into buckets of at most ``DataParallel/Configuration/bucketBytes`` (the first
/// one ``DataParallel/Configuration/firstBucketBytes``, so communication starts early); a
/// parameter larger than a bucket gets one of its own. One flat `Float` buffer holds every
/// bucket, each a contiguous range.
///
/// During a step, ``gradientReady(_:)`` copies a parameter's final gradient into its bucket (a
/// parameter without a gradient contributes zeros); once every parameter of the next bucket in
/// order has arrived, that bucket is handed to `launch` — buckets are always launched in index
/// order, whatever order their parameters finish in, so every replica issues the same reductions
/// in the same order. ``finish()`` launches what backward did not reach; after the reductions,
/// ``writeBack()`` puts the reduced sums back into the parameters' gradients.
///
/// Not thread-safe: the training thread calls every method; the launched closure may hand the
/// bucket's buffer to another thread, which must be done with it before ``writeBack()``.
final class GradientBuckets {
    /// The trainable parameters, in the model's (layer) order.
    let parameters: [Variable<Float>]
    /// The flat buffer: every bucket's gradients.
    let buffer: UnsafeMutableBufferPointer<Float>
    /// Each bucket's range of ``buffer``, bucket 0 first (the last layers).
    let ranges: [Range<Int>]
    /// Each parameter's offset in ``buffer`` and its bucket.
    private let offsets: [Int], bucketOf: [Int]
    private let positions: [ObjectIdentifier: Int]
    private var remaining: [Int] = []
    private var arrived: [Bool] = []
    private var hadGradient: [Bool] = []
    private var nextBucket = 0
    private let launch: (Int) -> Void

    /// Lays out `parameters` (model order) into buckets; `launch(b)` is called once per step for
    /// each bucket `b`, in order, once its gradients are in ``buffer``.
    init(parameters: [Variable<Float>], bucketBytes: Int, firstBucketBytes: Int, launch: @escaping (Int) -> Void) {
        precondition(bucketBytes > 0 && firstBucketBytes > 0, "GradientBuckets: bucket sizes must be positive")
        self.parameters = parameters
        self.launch = launch
        var offsets = [Int](repeating: 0, count: parameters.count), bucketOf = offsets
        var ranges: [Range<Int>] = []
        var start = 0, end = 0
        for index in parameters.indices.reversed() {
            let count = parameters[index].value.count
            let capacity = (ranges.isEmpty ? firstBucketBytes : bucketBytes) / MemoryLayout<Float>.stride
            if end > start && end - start + count > capacity {
                ranges.append(start..<end)
                start = end
            }
            offsets[index] = end
            bucketOf[index] = ranges.count
            end += count
        }
        if end > start { ranges.append(start..<end) }
        self.offsets = offsets
        self.bucketOf = bucketOf
        self.ranges = ranges
        positions = Dictionary(uniqueKeysWithValues: parameters.enumerated().map { (ObjectIdentifier($1), $0) })
        buffer = .allocate(capacity: max(end, 1))
        buffer.initialize(repeating: 0)
    }

    deinit { buffer.deallocate() }

    /// The number of gradient values, all buckets together.
    var elementCount: Int { ranges.last?.upperBound ?? 0 }

    /// Starts a step: no gradient has arrived.
    func begin() {
        remaining = ranges.indices.map { _ in 0 }
        for bucket in bucketOf { remaining[bucket] += 1 }
        arrived = Array(repeating: false, count: parameters.count)
        hadGradient = arrived
        nextBucket = 0
    }

    /// Copies `leaf`'s gradient into its bucket if it is one of the parameters, and launches every
    /// bucket that is complete and next in order. Leaves that are not parameters are ignored.
    func gradientReady(_ leaf: Variable<Float>) {
        guard let index = positions[ObjectIdentifier(leaf)], !arrived[index] else { return }
        collect(index)
        launchCompleteBuckets()
    }

    /// Collects every parameter backward did not report (it had no gradient, or backward ran
    /// without the readiness callback) and launches the remaining buckets.
    func finish() {
        for index in parameters.indices where !arrived[index] { collect(index) }
        launchCompleteBuckets()
        precondition(nextBucket == ranges.count, "GradientBuckets: \(ranges.count - nextBucket) buckets were not launched")
    }

    /// Replaces every parameter's gradient with its reduced values. A parameter that had no gradient
    /// here keeps none unless the reduction brought non-zero values (another replica had one).
    func writeBack() {
        for (index, parameter) in parameters.enumerated() {
            let reduced = UnsafeBufferPointer(rebasing: buffer[offsets[index]..<(offsets[index] + parameter.value.count)])
            if hadGradient[index] {
                parameter.grad!.withUnsafeMutableBufferPointer { _ = $0.initialize(from: reduced) }
            } else if reduced.contains(where: { $0 != 0 }) {
                parameter.grad = Tensor(shape: parameter.value.shape, scalars: Array(reduced))
            }
        }
    }

    private func collect(_ index: Int) {
        let destination = UnsafeMutableBufferPointer(rebasing: buffer[offsets[index]..<(offsets[index] + parameters[index].value.count)])
        if let gradient = parameters[index].grad {
            gradient.withUnsafeBufferPointer { _ = destination.initialize(from: $0) }
            hadGradient[index] = true
        } else {
            destination.update(repeating: 0)
        }
        arrived[index] = true
        remaining[bucketOf[index]] -= 1
    }

    private func launchCompleteBuckets() {
        while nextBucket < ranges.count && remaining[nextBucket] == 0 {
            launch(nextBucket)
            nextBucket += 1
        }
    }
}
