import Foundation
import NablaTensor
import NablaNN
import NablaData
import NablaDistributed

/// Synchronous data-parallel training over a ``ProcessGroup`` — PyTorch's `DistributedDataParallel`
/// and Horovod: every replica (process) holds the whole model, takes its part of every global batch
/// (``DataLoader/shard``), and all replicas apply the same averaged gradient, so their weights stay
/// identical and `K` replicas train as one process with the whole batch would.
///
/// **The step.** Replica `r` computes its mean loss `L_r` over its `n_r` of the batch's `n` samples
/// and back-propagates it with the seed `n_r/n` instead of 1; the gradients are then *summed*
/// across replicas, giving `Σ_r (n_r/n)·∇L_r = ∇L` — the gradient of the global batch's mean loss,
/// exactly, even for a last batch that does not split evenly (and, through SyncBatchNorm's
/// backward, with synchronized statistics too). Every ``LossFunction`` is a mean over samples.
///
/// **Overlap.** Gradients go into flat buckets in reverse layer order (``GradientBuckets``: 1 MB
/// first, then 25 MB, PyTorch's defaults); `backward(gradientReady:)` reports each parameter's
/// gradient as soon as it is final, and each complete bucket is reduced by a blocking allreduce on
/// the communication thread (``CollectiveQueue``) while backward goes on with earlier layers. The
/// training thread then waits only for the reductions still running.
///
/// **Everything a replica must agree on** goes through the same queue in the same order: the
/// buckets, SyncBatchNorm's statistics (``replicas``), the global loss that decides whether a step
/// is finite, the combined metrics, stop requests. Parameters and buffers are broadcast from rank 0
/// when training begins and ends; before every evaluation, buffers (BatchNorm's running statistics,
/// which each replica updates from its own part without SyncBatchNorm) are broadcast from rank 0,
/// as DDP's `broadcast_buffers` does. At each epoch's end the replicas compare a checksum of their
/// weights and stop with an error if they ever differ.
///
/// **Randomness.** Rank 0 keeps the single-process streams; rank `r > 0` draws dropout masks from
/// generators derived from ``RandomGenerator/replicaSeed(_:rank:)`` (and the loader augments its
/// part from the same seed), so no two replicas share a stream and each depends on `(seed, rank)`.
///
/// **Checkpoints.** As a ``TrainingCallback`` (`data_parallel`), it saves the world size and the
/// generators of ranks `1…K−1` (gathered before each checkpoint), so a run resumes exactly with the
/// same number of replicas, and another number is refused with a clear error.
///
/// **Failures.** A collective that fails ends this process with one line on standard error (the
/// launcher then stops the other replicas): the training loop cannot continue without the others.
public final class DataParallel: DataParallelStrategy {
    /// Tuning of the gradient reduction.
    public struct Configuration: Sendable {
        /// The capacity of every bucket but the first (PyTorch's `bucket_cap_mb = 25`).
        public var bucketBytes = 25 << 20
        /// The capacity of the first bucket — the last layers' gradients, which backward finishes
        /// first (PyTorch's 1 MB `_DEFAULT_FIRST_BUCKET_BYTES`).
        public var firstBucketBytes = 1 << 20
        /// Whether buckets are reduced while backward runs (else all of them after backward).
        public var overlapsBackward = true
        /// PyTorch DDP's defaults, overlapped.
        public init() {}
    }

    /// The replicas.
    public let group: any ProcessGroup
    /// How gradients are bucketed and whether their reduction overlaps backward.
    public let configuration: Configuration
    /// The model every replica trains.
    public let model: Module<Float>
    /// The loader of this replica's parts of the batches (its ``DataLoader/shard`` is this rank).
    public let loader: DataLoader
    /// SyncBatchNorm's view of the replicas (``BatchNorm/replicas``).
    public private(set) lazy var replicas: any ReplicaCollectives = ProcessGroupReplicas(dataParallel: self)
    /// Time spent communicating, for `nabla bench --distributed`.
    public var statistics: CommunicationStatistics { statisticsBox.value }

    let queue = CollectiveQueue()
    private(set) var buckets: GradientBuckets!
    private let statisticsBox = StatisticsBox()
    /// Generator states of ranks 1…K−1 gathered for the next checkpoint (`rank<r>.<module>`).
    var gatheredGenerators: [String: Tensor<Double>] = [:]

    /// Prepares data-parallel training of `model` on `loader`'s shards.
    /// - Parameters:
    ///   - seed: the run's seed; rank `r > 0` reseeds every dropout generator from
    ///     ``RandomGenerator/replicaSeed(_:rank:)``.
    /// - Precondition: `loader.shard` is this replica (`rank`, `size` of `group`).
    public init(group: any ProcessGroup, model: Module<Float>, loader: DataLoader, seed: UInt64,
                configuration: Configuration = .init()) {
        precondition(loader.shard == DataShard(rank: group.rank, count: group.size) || group.size == 1,
                     "DataParallel: the loader's shard must be rank \(group.rank) of \(group.size)")
        self.group = group
        self.model = model
        self.loader = loader
        self.configuration = configuration
        let statistics = statisticsBox
        buckets = GradientBuckets(parameters: model.parameters, bucketBytes: configuration.bucketBytes,
                                  firstBucketBytes: configuration.firstBucketBytes) { [unowned self] bucket in
            let range = buckets.ranges[bucket]
            let slice = UnsafeMutableBufferPointer(rebasing: buckets.buffer[range])
            let group = self.group
            queue.async {
                let start = ContinuousClock.now
                try group.allReduce(slice, operation: .sum)
                statistics.addReduction(ContinuousClock.now - start, bytes: range.count * MemoryLayout<Float>.stride)
            }
        }
        if group.rank > 0 {
            let replicaSeed = RandomGenerator.replicaSeed(seed, rank: group.rank)
            for (index, entry) in model.namedModules().enumerated() {
                if let stochastic = entry.module as? StochasticModule {
                    stochastic.generator = RandomGenerator(seed: replicaSeed, stream: UInt64(index))
                }
            }
        }
    }

    /// The number of replicas (ranks of ``group``).
    public var replicaCount: Int { group.size }
    /// This replica's rank.
    public var rank: Int { group.rank }

    /// Installs SyncBatchNorm on every ``BatchNorm`` of the model (PyTorch's `convert_sync_batchnorm`).
    public func synchronizeBatchNorm() {
        for (_, module) in model.namedModules() {
            if let norm = module as? BatchNorm<Float> { norm.replicas = replicas }
        }
    }

    // MARK: DataParallelStrategy

    /// This replica's share `n_r/n` of `batch`.
    func share(of batch: Batch) -> Double {
        Double(batch.indices.count) / Double(loader.globalSampleCount(ofBatch: batch.index))
    }

    /// `Σ_r (n_r/n)·L_r`: the global batch's mean loss, the same on every replica (one allreduce).
    public func globalLoss(_ localLoss: Float, of batch: Batch) -> Float {
        Float(sum([Double(localLoss) * share(of: batch)])[0])
    }

    /// Back-propagates `loss` seeded with this replica's share `n_r/n`, reducing each bucket as it
    /// fills (or after backward without overlap), and leaves the summed gradients in the parameters.
    public func backward(_ loss: Variable<Float>, of batch: Batch) {
        let seed = Tensor<Float>(repeating: Float(share(of: batch)), shape: loss.shape)
        buckets.begin()
        if configuration.overlapsBackward {
            loss.backward(seed: seed) { [buckets] leaf in buckets!.gradientReady(leaf) }
        } else {
            loss.backward(seed: seed)
        }
        let waited = ContinuousClock.now
        buckets.finish()
        do { try queue.waitUntilIdle() } catch { fail(error) }
        statisticsBox.addStep(exposed: ContinuousClock.now - waited)
        buckets.writeBack()
    }

    /// Back-propagates `loss` seeded with this replica's share `n_r/n` into the local gradients,
    /// without reducing them (a gradient-accumulation batch before its group's last).
    public func accumulate(_ loss: Variable<Float>, of batch: Batch) {
        loss.backward(seed: Tensor<Float>(repeating: Float(share(of: batch)), shape: loss.shape))
    }

    /// Every replica's loss sums, hits and counts added up (one allreduce).
    public func combine(_ metrics: MetricAccumulator) -> MetricAccumulator {
        let total = sum([metrics.lossSum, Double(metrics.correct), Double(metrics.correctTop5), Double(metrics.count),
                         metrics.hasClasses ? 1 : 0])
        return MetricAccumulator(lossSum: total[0], correct: Int(total[1]), correctTop5: Int(total[2]),
                                 count: Int(total[3]), hasClasses: total[4] > 0)
    }

    /// Evaluates a contiguous `1/K` of `dataset` on each replica, after broadcasting rank 0's buffers.
    public func evaluate(_ model: Module<Float>, on dataset: Dataset, loss: LossFunction, batchSize: Int) -> MetricAccumulator {
        broadcastState(parameters: false)
        let k = group.size, n = dataset.count
        let part = dataset.subset(Array((rank * n / k)..<((rank + 1) * n / k)))
        return combine(NablaTraining.evaluate(model, on: part, loss: loss, batchSize: batchSize))
    }

    // MARK: Collectives

    /// Runs `body` on the communication thread after everything queued before it; ends the
    /// process with one line if a collective fails.
    func collective<T>(_ body: @escaping () throws -> T) -> T {
        do { return try queue.sync(body) } catch { fail(error) }
    }

    /// The elementwise sum of `values` over the replicas.
    func sum(_ values: [Double]) -> [Double] {
        let group = self.group
        return collective {
            var values = values
            try values.withUnsafeMutableBufferPointer { try group.allReduce($0, operation: .sum) }
            return values
        }
    }

    /// Copies rank 0's buffers (and parameters) into every replica's model, in one broadcast.
    func broadcastState(parameters: Bool = true) {
        let tensors: [() -> Tensor<Float>] = (parameters ? model.parameters.map { p in { p.value } } : [])
            + model.namedBuffers().map { entry in { entry.buffer.value } }
        guard !tensors.isEmpty else { return }
        let local = tensors.flatMap { $0().scalars }
        let group = self.group
        let flat = collective {
            var values = local
            try values.withUnsafeMutableBufferPointer { try group.broadcast($0, from: 0) }
            return values
        }
        var offset = 0
        func take(_ count: Int) -> ArraySlice<Float> { defer { offset += count }; return flat[offset..<(offset + count)] }
        if parameters {
            for parameter in model.parameters {
                parameter.value = Tensor(shape: parameter.value.shape, scalars: Array(take(parameter.value.count)))
            }
        }
        for (_, buffer) in model.namedBuffers() {
            buffer.value = Tensor(shape: buffer.value.shape, scalars: Array(take(buffer.value.count)))
        }
    }

    /// Ends the process after a failed collective: one line, status 1, no `MPI_Finalize` (which
    /// could wait for replicas stuck in a collective with this one); the launcher stops the rest.
    func fail(_ error: Error) -> Never {
        FileHandle.standardError.write(Data("nabla: rank \(rank) of \(group.size): \(error)\n".utf8))
        _exit(1)
    }
}

/// Where the communication time of data-parallel steps went.
public struct CommunicationStatistics: Sendable {
    /// Steps (backward passes) recorded.
    public var steps = 0
    /// Allreduces of gradient buckets, and their bytes, over all steps.
    public var reductions = 0
    /// Bytes of the gradient buckets reduced, over all steps.
    public var bytes = 0
    /// Seconds inside bucket allreduces on the communication thread, over all steps.
    public var reductionSeconds = 0.0
    /// Seconds the training thread waited for reductions after backward, over all steps: the
    /// communication that overlapping did not hide.
    public var exposedSeconds = 0.0

    /// No steps yet.
    public init() {}
}

/// ``CommunicationStatistics`` updated from the communication and training threads.
final class StatisticsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var statistics = CommunicationStatistics()

    var value: CommunicationStatistics { lock.lock(); defer { lock.unlock() }; return statistics }

    func addReduction(_ duration: Duration, bytes: Int) {
        lock.lock(); defer { lock.unlock() }
        statistics.reductions += 1
        statistics.bytes += bytes
        statistics.reductionSeconds += duration.seconds
    }

    func addStep(exposed: Duration) {
        lock.lock(); defer { lock.unlock() }
        statistics.steps += 1
        statistics.exposedSeconds += exposed.seconds
    }

    func reset() { lock.lock(); statistics = .init(); lock.unlock() }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

/// SyncBatchNorm's collectives over a ``DataParallel``'s group, through its communication queue
/// (so they take their place among the gradient buckets in the same order on every replica).
final class ProcessGroupReplicas: ReplicaCollectives {
    unowned let dataParallel: DataParallel
    init(dataParallel: DataParallel) { self.dataParallel = dataParallel }

    var replicaCount: Int { dataParallel.group.size }

    func allGather(_ values: [Double]) -> [[Double]] {
        let group = dataParallel.group
        return dataParallel.collective { try group.allGather(values) }
    }

    func sum(_ values: [Double]) -> [Double] { dataParallel.sum(values) }
}
