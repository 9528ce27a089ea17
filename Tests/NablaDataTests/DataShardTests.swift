import XCTest
@testable import NablaTensor
@testable import NablaData
import NablaTestSupport

/// DataLoader sharding for data-parallel training: `K` replicas together see exactly one process's
/// batches, deterministically per seed and epoch, with their own augmentation streams.
final class DataShardTests: XCTestCase {
    /// Sample `i` has the single input value `i`.
    private func loader(count: Int, batchSize: Int, shard: DataShard?, dropLast: Bool = false,
                        transform: DataLoader.Transform? = nil) -> DataLoader {
        var loader = DataLoader(dataset: Dataset(name: "d", inputs: Tensor(shape: [count, 1], scalars: (0..<count).map(Float.init)),
                                                 targets: .classes((0..<count).map { $0 % 3 }, classCount: 3)),
                                batchSize: batchSize, dropLast: dropLast, seed: 7, prefetchDepth: 1, transform: transform)
        loader.shard = shard
        return loader
    }

    /// For every replica count and several dataset sizes (divisible, not, smaller last batch), the
    /// shards of each batch are disjoint, their union is the single-process batch, sizes differ by
    /// at most one and match `sampleCount(of:)`, and replica `r` takes positions `r, r + K, …`.
    func testShardsPartitionEveryGlobalBatch() {
        for replicas in [1, 2, 3, 4] {
            for count in [24, 26, 23] {
                let whole = loader(count: count, batchSize: 8, shard: nil)
                for epoch in [0, 3] {
                    let batches = Array(whole.epoch(epoch))
                    let shards = (0..<replicas).map { Array(loader(count: count, batchSize: 8, shard: DataShard(rank: $0, count: replicas)).epoch(epoch)) }
                    for (b, batch) in batches.enumerated() {
                        let parts = shards.map { $0[b].indices }
                        XCTAssertEqual(parts.flatMap { $0 }.sorted(), batch.indices.sorted(), "K=\(replicas) n=\(count) batch \(b)")
                        XCTAssertLessThanOrEqual((parts.map(\.count).max() ?? 0) - (parts.map(\.count).min() ?? 0), 1)
                        XCTAssertEqual(whole.globalSampleCount(ofBatch: b), batch.indices.count)
                        for r in 0..<replicas {
                            XCTAssertEqual(parts[r].count, DataShard(rank: r, count: replicas).sampleCount(of: batch.indices.count))
                            XCTAssertEqual(parts[r], stride(from: r, to: batch.indices.count, by: replicas).map { batch.indices[$0] })
                            XCTAssertEqual(shards[r][b].inputs.scalars, parts[r].map(Float.init))
                        }
                    }
                }
            }
        }
    }

    /// Shards depend on the seed and epoch only, resume at any batch, and a one-replica shard is the
    /// plain loader bit for bit (augmentation included).
    func testShardsAreDeterministicAndOneReplicaIsThePlainLoader() {
        let jitter: DataLoader.Transform = { x, g in x = x.map { $0 + Float(g.nextUnit()) } }
        let a = loader(count: 30, batchSize: 6, shard: DataShard(rank: 1, count: 3), transform: jitter)
        let b = loader(count: 30, batchSize: 6, shard: DataShard(rank: 1, count: 3), transform: jitter)
        XCTAssertEqual(a.epoch(2).map(\.inputs.scalars), b.epoch(2).map(\.inputs.scalars))
        XCTAssertEqual(Array(a.epoch(2).map(\.inputs.scalars).dropFirst(3)), a.epoch(2, startingAtBatch: 3).map(\.inputs.scalars))
        let plain = loader(count: 30, batchSize: 6, shard: nil, transform: jitter)
        let single = loader(count: 30, batchSize: 6, shard: DataShard(rank: 0, count: 1), transform: jitter)
        XCTAssertEqual(plain.epoch(1).map(\.inputs.scalars), single.epoch(1).map(\.inputs.scalars))
    }

    /// Each replica augments with its own stream: the same sample gets different noise on rank 0 of
    /// two than in a single process, and ranks differ from each other.
    func testReplicasAugmentWithTheirOwnStreams() {
        let noise: DataLoader.Transform = { x, g in x = x.map { _ in Float(g.nextUnit()) } }
        let noises = (0..<2).map { loader(count: 8, batchSize: 8, shard: DataShard(rank: $0, count: 2), transform: noise).batch(0, epoch: 0, order: Array(0..<8)).inputs.scalars }
        let plain = loader(count: 8, batchSize: 8, shard: nil, transform: noise).batch(0, epoch: 0, order: Array(0..<8)).inputs.scalars
        XCTAssertNotEqual(noises[0], noises[1])
        XCTAssertNotEqual(noises[0], Array(plain.prefix(4)))
        XCTAssertNotEqual(RandomGenerator.replicaSeed(7, rank: 0), RandomGenerator.replicaSeed(7, rank: 1))
        XCTAssertNotEqual(RandomGenerator.replicaSeed(7, rank: 0), RandomGenerator.replicaSeed(8, rank: 0))
    }

    func testSampleCounts() {
        XCTAssertEqual((0..<4).map { DataShard(rank: $0, count: 4).sampleCount(of: 6) }, [2, 2, 1, 1])
        XCTAssertEqual((0..<4).map { DataShard(rank: $0, count: 4).sampleCount(of: 3) }, [1, 1, 1, 0])
        XCTAssertEqual(DataShard(rank: 0, count: 1).sampleCount(of: 5), 5)
    }
}
