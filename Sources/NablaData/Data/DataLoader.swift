import Foundation
import NablaTensor

/// One mini-batch of a ``DataLoader`` epoch.
public struct Batch: Sendable {
    /// The inputs, samples on the leading axis, after the loader's transform.
    public var inputs: Tensor<Float>
    /// The targets of the batch's samples, in batch order.
    public var targets: Targets
    /// The dataset indices of the samples, in batch order.
    public var indices: [Int]
    /// The position of the batch in its epoch, from 0.
    public var index: Int
}

/// Mini-batches of a ``Dataset``: seeded per-epoch shuffling, a batch size, an optional dropped last
/// partial batch, a per-batch transform (the augmentation pipeline) and background prefetching.
///
/// ```swift
/// let loader = DataLoader(dataset: train, batchSize: 128, seed: 42)
/// for epoch in 0..<10 {
///     for batch in loader.epoch(epoch) { … batch.inputs, batch.targets … }
/// }
/// ```
///
/// **Determinism and resume.** The order of epoch `e` is a Fisher–Yates shuffle driven by
/// `RandomGenerator(seed: seed, stream: e)`, and the transform of batch `b` receives
/// `RandomGenerator(seed: seed, stream: e, b + 1)`. Both depend only on `(seed, e, b)`, so a run
/// resumed at epoch `e` (or at batch `b` with ``epoch(_:startingAtBatch:)``) sees exactly the batches
/// an uninterrupted run would, whatever the prefetch timing.
///
/// **Prefetch.** With `prefetchDepth > 0` a background `Thread` builds batches ahead of the consumer
/// into a bounded queue of that many batches (an `NSCondition` guards it); the consumer receives
/// them in order. Ending the loop early (`break`, an error) cancels the producer and waits for it to
/// exit when the iterator is released, so no thread outlives the loop.
public struct DataLoader: Sendable {
    /// A per-batch transform: mutates the batch inputs using the batch's own generator.
    public typealias Transform = @Sendable (inout Tensor<Float>, inout RandomGenerator) -> Void

    /// The samples the loader draws from.
    public let dataset: Dataset
    /// The number of samples per batch (the last batch may be smaller unless ``dropLast``).
    public var batchSize: Int
    /// Whether each epoch visits the samples in a seeded random order (otherwise `0..<count`).
    public var shuffle: Bool
    /// Whether a final batch smaller than ``batchSize`` is skipped.
    public var dropLast: Bool
    /// The seed of the shuffle and of every transform generator (see "Determinism and resume" above).
    public var seed: UInt64
    /// The number of batches built ahead on a background thread (0 = build on demand).
    public var prefetchDepth: Int
    /// The per-batch transform, e.g. an ``AugmentationPipeline``; `nil` leaves the inputs unchanged.
    public var transform: Transform?
    /// Mixup/CutMix of each batch after ``transform``, from the same generator; it turns class
    /// targets into ``Targets/probabilities(_:)``.
    public var mixing: BatchMixing?

    /// A loader of `dataset` in batches of `batchSize`.
    ///
    /// - Precondition: `batchSize ≥ 1`, `0 ≤ prefetchDepth ≤ 16`.
    public init(dataset: Dataset, batchSize: Int, shuffle: Bool = true, dropLast: Bool = false, seed: UInt64 = 0,
                prefetchDepth: Int = 2, transform: Transform? = nil) {
        precondition(batchSize >= 1, "DataLoader: batch size \(batchSize) must be at least 1")
        precondition((0...16).contains(prefetchDepth), "DataLoader: prefetch depth \(prefetchDepth) is out of range 0...16")
        self.dataset = dataset
        self.batchSize = batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.seed = seed
        self.prefetchDepth = prefetchDepth
        self.transform = transform
    }

    /// The number of batches in one epoch.
    public var batchCount: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The sample order of `epoch`: a seeded permutation, or `0..<count` without shuffling.
    public func order(epoch: Int) -> [Int] {
        precondition(epoch >= 0, "DataLoader: epoch \(epoch) must be non-negative")
        guard shuffle else { return Array(0..<dataset.count) }
        var generator = RandomGenerator(seed: seed, stream: UInt64(epoch))
        return Array(0..<dataset.count).shuffled(using: &generator)
    }

    /// Batch `index` of an epoch whose sample order is `order`.
    public func batch(_ index: Int, epoch: Int, order: [Int]) -> Batch {
        precondition(index >= 0 && index < batchCount, "DataLoader: batch \(index) is out of range 0..<\(batchCount)")
        let indices = Array(order[(index * batchSize)..<min((index + 1) * batchSize, order.count)])
        var inputs = dataset.inputs.gathering(rows: indices)
        var targets = dataset.targets.gathering(indices)
        if transform != nil || mixing != nil {
            var generator = RandomGenerator(seed: seed, stream: UInt64(epoch), UInt64(index) + 1)
            transform?(&inputs, &generator)
            mixing?.apply(to: &inputs, targets: &targets, using: &generator)
        }
        return Batch(inputs: inputs, targets: targets, indices: indices, index: index)
    }

    /// The batches of `epoch`, from batch `startingAtBatch` on.
    public func epoch(_ epoch: Int, startingAtBatch start: Int = 0) -> EpochBatches {
        precondition(start >= 0 && start <= batchCount, "DataLoader: starting batch \(start) is out of range 0...\(batchCount)")
        return EpochBatches(loader: self, epoch: epoch, start: start)
    }
}

/// The batches of one epoch, as a `Sequence`.
public struct EpochBatches: Sequence {
    let loader: DataLoader
    /// The epoch whose batches this sequence yields.
    public let epoch: Int
    let start: Int

    /// The number of batches this sequence yields.
    public var count: Int { loader.batchCount - start }
    /// The number of batches this sequence yields (``count``).
    public var underestimatedCount: Int { count }

    /// An iterator from the starting batch on; with `prefetchDepth > 0` its first ``Iterator/next()`` starts the producer thread.
    public func makeIterator() -> Iterator { Iterator(loader: loader, epoch: epoch, next: start) }

    /// Yields the batches in order, building them on demand or receiving them from the producer thread.
    public struct Iterator: IteratorProtocol {
        let loader: DataLoader
        let epoch: Int
        var nextIndex: Int
        var order: [Int]?
        var session: PrefetchSession?

        init(loader: DataLoader, epoch: Int, next: Int) {
            self.loader = loader
            self.epoch = epoch
            self.nextIndex = next
        }

        /// The next batch, or `nil` after the last one.
        public mutating func next() -> Batch? {
            guard nextIndex < loader.batchCount else { return nil }
            if loader.prefetchDepth == 0 {
                if order == nil { order = loader.order(epoch: epoch) }
                defer { nextIndex += 1 }
                return loader.batch(nextIndex, epoch: epoch, order: order!)
            }
            if session == nil { session = PrefetchSession(loader: loader, epoch: epoch, start: nextIndex) }
            guard let batch = session!.channel.take() else { return nil }
            precondition(batch.index == nextIndex, "DataLoader: prefetch delivered batch \(batch.index), expected \(nextIndex)")
            nextIndex += 1
            return batch
        }
    }
}

/// Owns the producer thread of one epoch iteration; releasing it cancels and joins the producer.
final class PrefetchSession {
    let channel: BatchChannel

    init(loader: DataLoader, epoch: Int, start: Int) {
        let channel = BatchChannel(capacity: loader.prefetchDepth)
        self.channel = channel
        let thread = Thread {
            defer { channel.finishProducing() }
            let order = loader.order(epoch: epoch)
            for index in start..<loader.batchCount {
                if channel.isCancelled { return }
                guard channel.put(loader.batch(index, epoch: epoch, order: order)) else { return }
            }
        }
        thread.name = "nabla.data-prefetch"
        thread.start()
    }

    deinit {
        channel.cancel()
        channel.waitUntilProducerFinished()
    }
}

/// A bounded FIFO of batches between one producer and one consumer, guarded by a condition variable.
final class BatchChannel: @unchecked Sendable {
    private let condition = NSCondition()
    private var buffer: [Batch] = []
    private let capacity: Int
    private var cancelled = false
    private var producerFinished = false

    init(capacity: Int) { self.capacity = capacity }

    var isCancelled: Bool {
        condition.lock(); defer { condition.unlock() }
        return cancelled
    }

    /// Appends `batch`, waiting while the queue is full; `false` if the consumer has gone.
    func put(_ batch: Batch) -> Bool {
        condition.lock(); defer { condition.unlock() }
        while buffer.count >= capacity && !cancelled { condition.wait() }
        guard !cancelled else { return false }
        buffer.append(batch)
        condition.broadcast()
        return true
    }

    /// The oldest batch, waiting while the queue is empty; `nil` once the producer has finished.
    func take() -> Batch? {
        condition.lock(); defer { condition.unlock() }
        while buffer.isEmpty && !producerFinished { condition.wait() }
        guard !buffer.isEmpty else { return nil }
        let batch = buffer.removeFirst()
        condition.broadcast()
        return batch
    }

    func finishProducing() {
        condition.lock(); defer { condition.unlock() }
        producerFinished = true
        condition.broadcast()
    }

    func cancel() {
        condition.lock(); defer { condition.unlock() }
        cancelled = true
        buffer.removeAll()
        condition.broadcast()
    }

    func waitUntilProducerFinished() {
        condition.lock(); defer { condition.unlock() }
        while !producerFinished { condition.wait() }
    }
}
