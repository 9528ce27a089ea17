import Foundation
import XCTest
@testable import NablaNN
import NablaTensor
import NablaTestSupport

/// SyncBatchNorm against its oracle: `R` replicas, each with a slice of one batch, must produce the
/// slices of what single-process batch normalization produces on the whole batch — outputs, input
/// gradients, running statistics — and parameter gradients that sum to the whole batch's. The
/// replicas run on threads of this process and meet in ``ThreadReplicas``.
final class SyncBatchNormTests: XCTestCase {
    /// Replica batch sizes, including uneven splits and a replica with one sample.
    private let splits: [[Int]] = [[4, 4], [3, 5], [2, 2, 2, 2], [1, 3, 2, 2]]

    func testReplicasReproduceTheWholeBatch() {
        for shape in [[8, 3, 2, 3], [8, 5], [8, 2, 4]] {
            for split in splits {
                for fused in [false, true] {
                    compare(shape: shape, split: split, fusingReLU: fused)
                }
            }
        }
    }

    /// The layer synchronizes in training only: in evaluation every replica uses the running statistics.
    func testLayerSynchronizesInTrainingOnly() {
        let group = ThreadReplicas(count: 2)
        var generator = RandomGenerator(seed: 5)
        let x = Tensor<Double>(normal: [6, 3, 2, 2], using: &generator)
        let whole = BatchNorm2d<Double>(3)
        let expected = whole(Variable(x)).value
        let outputs = group.run { rank in
            let layer = BatchNorm2d<Double>(3)
            layer.replicas = group.view(rank)
            let mine = layer(Variable(x[(rank * 3)..<(rank * 3 + 3)])).value
            layer.eval()
            let evaluated = layer(Variable(x[(rank * 3)..<(rank * 3 + 3)])).value
            return (mine, evaluated, layer.runningMean!.value)
        }
        assertClose(Tensor(concatenating: outputs.map(\.0), alongAxis: 0), expected, relative: 1e-12, absolute: 1e-12)
        whole.eval()
        let evaluatedWhole = whole(Variable(x)).value
        assertClose(Tensor(concatenating: outputs.map(\.1), alongAxis: 0), evaluatedWhole, relative: 1e-12, absolute: 1e-12)
        for output in outputs { assertClose(output.2, whole.runningMean!.value, relative: 1e-12, absolute: 1e-12) }
    }

    /// A replica whose batch has a single value per channel is fine when the union has more.
    func testOneValuePerReplicaIsEnoughTogether() {
        let group = ThreadReplicas(count: 2)
        let x = Tensor<Double>(shape: [2, 2], scalars: [1, 2, 3, 5])
        let outputs = group.run { rank in
            let layer = BatchNorm1d<Double>(2)
            layer.replicas = group.view(rank)
            return layer(Variable(x[rank..<(rank + 1)])).value
        }
        assertClose(Tensor(concatenating: outputs, alongAxis: 0), BatchNorm1d<Double>(2)(Variable(x)).value, relative: 1e-12, absolute: 1e-12)
    }

    // MARK: Helpers

    private func compare(shape: [Int], split: [Int], fusingReLU: Bool, file: StaticString = #filePath, line: UInt = #line) {
        var generator = RandomGenerator(seed: UInt64(shape.reduce(0, +) * 31 + split.count))
        let channels = shape[1]
        let x = Tensor<Double>(normal: shape, mean: 0.5, standardDeviation: 2, using: &generator)
        let upstream = Tensor<Double>(normal: shape, using: &generator)
        let gamma = Tensor<Double>(uniform: [channels], lower: 0.5, upper: 1.5, using: &generator)
        let beta = Tensor<Double>(uniform: [channels], lower: -0.5, upper: 0.5, using: &generator)
        let runningMean = Tensor<Double>(uniform: [channels], lower: -0.2, upper: 0.2, using: &generator)
        let runningVariance = Tensor<Double>(uniform: [channels], lower: 0.8, upper: 1.2, using: &generator)

        // The oracle: one process, the whole batch.
        let input = Variable(x, requiresGradient: true)
        let weight = Variable(gamma, requiresGradient: true), bias = Variable(beta, requiresGradient: true)
        let mean = Buffer(runningMean), variance = Buffer(runningVariance)
        let y = batchNorm(input, runningMean: mean, runningVariance: variance, weight: weight, bias: bias,
                          training: true, fusingReLU: fusingReLU)
        (y * Variable(upstream)).sum().backward()

        let offsets = split.indices.map { split[..<$0].reduce(0, +) }
        let group = ThreadReplicas(count: split.count)
        let results = group.run { rank in
            let rows = offsets[rank]..<(offsets[rank] + split[rank])
            let input = Variable(x[rows], requiresGradient: true)
            let weight = Variable(gamma, requiresGradient: true), bias = Variable(beta, requiresGradient: true)
            let mean = Buffer(runningMean), variance = Buffer(runningVariance)
            let y = syncBatchNorm(input, runningMean: mean, runningVariance: variance, weight: weight, bias: bias,
                                  fusingReLU: fusingReLU, replicas: group.view(rank))
            (y * Variable(upstream[rows])).sum().backward()
            return (y: y.value, dx: input.grad!, dGamma: weight.grad!, dBeta: bias.grad!, mean: mean.value, variance: variance.value)
        }
        let label = "shape \(shape), split \(split), fused \(fusingReLU)"
        assertClose(Tensor(concatenating: results.map(\.y), alongAxis: 0), y.value, relative: 1e-12, absolute: 1e-12, label, file: file, line: line)
        assertClose(Tensor(concatenating: results.map(\.dx), alongAxis: 0), input.grad!, relative: 1e-10, absolute: 1e-12, label, file: file, line: line)
        assertClose(results.map(\.dGamma).dropFirst().reduce(results[0].dGamma, +), weight.grad!, relative: 1e-10, absolute: 1e-12, label, file: file, line: line)
        assertClose(results.map(\.dBeta).dropFirst().reduce(results[0].dBeta, +), bias.grad!, relative: 1e-10, absolute: 1e-12, label, file: file, line: line)
        for result in results {
            assertClose(result.mean, mean.value, relative: 1e-12, absolute: 1e-12, label, file: file, line: line)
            assertClose(result.variance, variance.value, relative: 1e-12, absolute: 1e-12, label, file: file, line: line)
        }
    }
}

/// `count` replicas on threads of this process: each collective returns once every replica has
/// contributed, like an MPI collective.
final class ThreadReplicas: @unchecked Sendable {
    private let rendezvous: ThreadRendezvous<[Double]>
    var count: Int { rendezvous.count }

    init(count: Int) { rendezvous = ThreadRendezvous(count: count) }

    /// Every replica's `values`, once all have called.
    func gather(rank: Int, _ values: [Double]) -> [[Double]] { rendezvous.exchange(rank: rank, values) }

    /// Replica `rank`'s view of the group.
    func view(_ rank: Int) -> any ReplicaCollectives { View(group: self, rank: rank) }

    /// Runs `body(rank)` on one thread per replica and returns the results by rank.
    func run<T>(_ body: @escaping (Int) -> T) -> [T] {
        let results = Results<T>(count: count)
        let done = DispatchGroup()
        for rank in 0..<count {
            done.enter()
            let thread = Thread {
                results.set(rank, body(rank))
                done.leave()
            }
            thread.start()
        }
        done.wait()
        return results.values
    }

    /// The results of ``run(_:)``'s threads, by rank.
    private final class Results<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [T?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ rank: Int, _ value: T) { lock.lock(); slots[rank] = value; lock.unlock() }
        var values: [T] { lock.lock(); defer { lock.unlock() }; return slots.map { $0! } }
    }

    private final class View: ReplicaCollectives {
        let group: ThreadReplicas
        let rank: Int
        init(group: ThreadReplicas, rank: Int) { (self.group, self.rank) = (group, rank) }
        var replicaCount: Int { group.count }
        func allGather(_ values: [Double]) -> [[Double]] { group.gather(rank: rank, values) }
        func sum(_ values: [Double]) -> [Double] {
            let parts = group.gather(rank: rank, values)
            return parts.dropFirst().reduce(parts[0]) { zip($0, $1).map { $0 + $1 } }
        }
    }
}
