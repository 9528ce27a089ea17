import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// DataLoader: batching, seeded epoch-indexed shuffling, dropLast, transforms, prefetch and shutdown.
final class DataLoaderTests: XCTestCase {
    /// Sample `i` has the single input value `i` and label `i % 3`.
    private func dataset(_ count: Int) -> Dataset {
        Dataset(name: "d", inputs: Tensor(shape: [count, 1], scalars: (0..<count).map(Float.init)),
                targets: .classes((0..<count).map { $0 % 3 }, classCount: 3))
    }

    private func epochIndices(_ loader: DataLoader, _ epoch: Int) -> [[Int]] {
        loader.epoch(epoch).map(\.indices)
    }

    func testBatchesCoverAPermutationWithConsistentInputsAndTargets() throws {
        let loader = DataLoader(dataset: dataset(10), batchSize: 4, seed: 1)
        XCTAssertEqual(loader.batchCount, 3)
        let batches = Array(loader.epoch(0))
        XCTAssertEqual(batches.map(\.indices.count), [4, 4, 2])
        XCTAssertEqual(batches.map(\.index), [0, 1, 2])
        XCTAssertEqual(batches.flatMap(\.indices).sorted(), Array(0..<10))
        XCTAssertNotEqual(batches.flatMap(\.indices), Array(0..<10))
        for batch in batches {
            XCTAssertEqual(batch.inputs.shape, [batch.indices.count, 1])
            XCTAssertEqual(batch.inputs.scalars, batch.indices.map(Float.init))
            XCTAssertEqual(batch.targets, .classes(batch.indices.map { $0 % 3 }, classCount: 3))
        }
    }

    func testNoShuffleKeepsDataOrder() throws {
        let loader = DataLoader(dataset: dataset(5), batchSize: 2, shuffle: false)
        XCTAssertEqual(epochIndices(loader, 0), [[0, 1], [2, 3], [4]])
        XCTAssertEqual(epochIndices(loader, 7), [[0, 1], [2, 3], [4]])
    }

    func testDropLast() throws {
        let loader = DataLoader(dataset: dataset(10), batchSize: 4, dropLast: true, seed: 2)
        XCTAssertEqual(loader.batchCount, 2)
        XCTAssertEqual(epochIndices(loader, 0).map(\.count), [4, 4])
        XCTAssertEqual(DataLoader(dataset: dataset(3), batchSize: 4, dropLast: true).batchCount, 0)
        XCTAssertEqual(Array(DataLoader(dataset: dataset(3), batchSize: 4, dropLast: true).epoch(0)).count, 0)
        XCTAssertEqual(DataLoader(dataset: dataset(8), batchSize: 4, dropLast: true).batchCount, 2)
    }

    func testOrderDependsOnlyOnSeedAndEpoch() throws {
        let a = DataLoader(dataset: dataset(50), batchSize: 8, seed: 9)
        var b = DataLoader(dataset: dataset(50), batchSize: 8, seed: 9, prefetchDepth: 0)
        _ = epochIndices(b, 0); _ = epochIndices(b, 1)  // iterating earlier epochs changes nothing
        XCTAssertEqual(epochIndices(a, 3), epochIndices(b, 3))
        XCTAssertNotEqual(epochIndices(a, 3), epochIndices(a, 4))
        b.seed = 10
        XCTAssertNotEqual(epochIndices(a, 3), epochIndices(b, 3))
        XCTAssertEqual(a.order(epoch: 3), epochIndices(a, 3).flatMap { $0 })
    }

    func testResumeMidEpochReproducesTheRemainingBatches() throws {
        let transform: DataLoader.Transform = { x, g in x = x + Float(g.nextUnit()) }
        let loader = DataLoader(dataset: dataset(30), batchSize: 4, seed: 5, transform: transform)
        let full = Array(loader.epoch(2))
        let resumed = Array(loader.epoch(2, startingAtBatch: 3))
        XCTAssertEqual(resumed.map(\.index), Array(3..<8))
        XCTAssertEqual(resumed.map(\.indices), full[3...].map(\.indices))
        XCTAssertEqual(resumed.map(\.inputs), full[3...].map(\.inputs))
        XCTAssertEqual(Array(loader.epoch(2, startingAtBatch: 8)).count, 0)
    }

    func testTransformGetsADeterministicPerBatchGenerator() throws {
        let transform: DataLoader.Transform = { x, g in
            x = x.map { $0 + 1000 * Float(g.nextUnit()) }
        }
        let loader = DataLoader(dataset: dataset(12), batchSize: 5, seed: 3, transform: transform)
        let first = Array(loader.epoch(0)), again = Array(loader.epoch(0)), next = Array(loader.epoch(1))
        XCTAssertEqual(first.map(\.inputs), again.map(\.inputs))
        XCTAssertNotEqual(first.map(\.inputs), next.map(\.inputs))
        // The generator of batch b in epoch e is stream (e, b + 1) of the seed.
        var g = RandomGenerator(seed: 3, stream: 0, 2)
        let expected = first[1].indices.map { Float($0) + 1000 * Float(g.nextUnit()) }
        XCTAssertEqual(first[1].inputs.scalars, expected)
        XCTAssertEqual(first[1].targets, .classes(first[1].indices.map { $0 % 3 }, classCount: 3))  // targets untouched
    }

    func testPrefetchMatchesSynchronousLoading() throws {
        let big = dataset(1000)
        let transform: DataLoader.Transform = { x, g in x = x * Float(1 + g.nextUnit()) }
        for depth in [1, 2, 16] {
            let prefetched = DataLoader(dataset: big, batchSize: 7, seed: 4, prefetchDepth: depth, transform: transform)
            var synchronous = prefetched
            synchronous.prefetchDepth = 0
            for epoch in 0..<3 {
                let a = Array(prefetched.epoch(epoch)), b = Array(synchronous.epoch(epoch))
                XCTAssertEqual(a.map(\.indices), b.map(\.indices))
                XCTAssertEqual(a.map(\.inputs), b.map(\.inputs))
            }
        }
    }

    func testSlowConsumerAndSlowProducerGiveTheSameBatches() throws {
        let slowTransform: DataLoader.Transform = { x, g in usleep(2000); x = x + Float(g.nextUnit()) }
        let loader = DataLoader(dataset: dataset(40), batchSize: 3, seed: 8, prefetchDepth: 1, transform: slowTransform)
        var slowConsumer: [Tensor<Float>] = []
        for batch in loader.epoch(0) { usleep(3000); slowConsumer.append(batch.inputs) }
        XCTAssertEqual(slowConsumer, Array(loader.epoch(0)).map(\.inputs))
    }

    func testBreakingEarlyStopsTheProducer() throws {
        let produced = Counter()
        let transform: DataLoader.Transform = { _, _ in produced.increment() }
        let loader = DataLoader(dataset: dataset(10_000), batchSize: 1, seed: 1, prefetchDepth: 2, transform: transform)
        for _ in 0..<20 {
            var seen = 0
            for _ in loader.epoch(0) {
                seen += 1
                if seen == 3 { break }
            }
        }
        // Breaking releases the iterator, which cancels and joins the producer: at most the 3 consumed,
        // the 2 queued and 1 in flight were built per loop, never the 10 000 of the epoch.
        XCTAssertLessThanOrEqual(produced.value, 20 * 6)
        let before = produced.value
        usleep(50_000)
        XCTAssertEqual(produced.value, before, "a producer thread kept running after its loop ended")
    }

    func testEmptyDataset() throws {
        let empty = Dataset(name: "e", inputs: Tensor(zeros: [0, 2]), targets: .classes([], classCount: 2))
        XCTAssertEqual(Array(DataLoader(dataset: empty, batchSize: 4).epoch(0)).count, 0)
    }

    func testRealFashionMNISTThroughTheLoader() throws {
        guard FileManager.default.fileExists(atPath: MNIST.fashionMNISTDirectory + "/t10k-images-idx3-ubyte.gz") else {
            throw XCTSkip("Fashion-MNIST is not installed at \(MNIST.fashionMNISTDirectory)")
        }
        let test = try MNIST.loadSplit(images: URL(fileURLWithPath: MNIST.fashionMNISTDirectory + "/t10k-images-idx3-ubyte.gz"),
                                       labels: URL(fileURLWithPath: MNIST.fashionMNISTDirectory + "/t10k-labels-idx1-ubyte.gz"),
                                       name: "fashion-mnist/test")
        let loader = DataLoader(dataset: test, batchSize: 128, seed: 0)
        var count = 0
        for batch in loader.epoch(0) {
            XCTAssertEqual(Array(batch.inputs.shape.dropFirst()), [1, 28, 28])
            count += batch.indices.count
        }
        XCTAssertEqual(count, 10_000)
        XCTAssertEqual(loader.batchCount, 79)
    }
}

/// A thread-safe counter for observing the producer thread.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
