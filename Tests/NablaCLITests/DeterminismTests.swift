import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport

/// Same seed → bitwise-identical weights, in process and through the CLI.
///
/// **Where thread scheduling could break determinism, and why it does not.** Floating-point addition
/// is not associative, so any reduction whose *grouping* depends on which thread finishes first
/// would make two runs differ in the last bits. Every parallel kernel therefore splits its work into
/// a fixed partition that depends only on the sizes (and on the machine's core count, which is fixed
/// for a run), and never lets threads accumulate into shared memory in completion order:
///
/// - `NormalizationKernels.forEach` / `chunkCount` (batch, layer, group and instance norm): each
///   task owns whole channels or whole rows (`trainingForward`, `trainingBackward`, `channelMoments`,
///   `channelGradientSums`, `blockMoments`, `runGradientSums`) and reduces them serially in index
///   order; the elementwise passes (`affine`, `inputGradient`) have no reduction at all. The one
///   cross-task reduction, LayerNorm's `∂γ`/`∂β`, goes into per-chunk partial arrays that are summed
///   afterwards in chunk order on the calling thread.
/// - `forEachChunk` (SGD, Adagrad, RMSprop, Adam/AdamW updates): disjoint contiguous element ranges,
///   purely elementwise.
/// - `scaleGroups` (dropout masks) and `forEachSample` (augmentation remaps, bilinear resize): two
///   disjoint halves, elementwise; the masks and augmentation parameters are drawn beforehand on the
///   calling thread from generators seeded per `(seed, epoch, batch)`, never inside the parallel part.
/// - `MNIST.load` inflates the train and test splits concurrently into separate results.
/// - The `DataLoader`'s prefetch thread only moves the work of producing batch `b` earlier; batch
///   `b`'s order and augmentation depend on `(seed, epoch, b)` alone.
/// - Matrix products (`matrixMultiply`): OpenBLAS runs single-threaded and Nabla splits the *output*
///   matrix (whole 16-wide tiles of rows or columns) among its threads; the `k`-sum of each output
///   element is computed by one BLAS call in a fixed blocked order, so results do not depend on
///   scheduling. They can depend on the thread count (which fixes the partition) and the CPU's BLAS
///   kernel: another core count or CPU may differ in the last bits (PyTorch makes the same promise).
///
/// The in-process test below runs the same training twice — the second time while other threads
/// keep both cores busy, to perturb the scheduling of every `concurrentPerform` — with sizes chosen
/// so the parallel paths above are taken (BatchNorm2d over 64×4×16×16 ≥ 2¹⁵ elements, augmentation
/// remaps over 64 × 1024 ≥ 2¹⁶, Adam over a 1024×64 weight ≥ 2¹⁶).
final class DeterminismTests: XCTestCase {
    /// 512 random 4×16×16 "images" in 10 classes.
    func imageDataset(seed: UInt64) -> Dataset {
        var g = RandomGenerator(seed: seed)
        let inputs = Tensor<Float>(uniform: [512, 4, 16, 16], lower: 0, upper: 1, using: &g)
        let labels = (0..<512).map { _ in g.next(upperBound: UInt64(10)) }
        return Dataset(name: "images", inputs: inputs, targets: .classes(labels.map { Int($0) }, classCount: 10))
    }

    /// Trains one epoch of a model with batch norm (2-D and 1-D), dropout and augmentation and returns its state dict.
    func trainOneEpoch(seed: UInt64) throws -> [String: Tensor<Float>] {
        let dataset = imageDataset(seed: 1)
        let description = ModelDescription(name: "determinism", layers: [
            LayerDescription("BatchNorm2d", ["num_features": .int(4)]), LayerDescription("Flatten"),
            LayerDescription("Linear", ["in_features": .int(1024), "out_features": .int(64)]),
            LayerDescription("BatchNorm1d", ["num_features": .int(64)]), LayerDescription("ReLU"),
            LayerDescription("Dropout", ["p": .double(0.3)]),
            LayerDescription("Linear", ["in_features": .int(64), "out_features": .int(10)]),
        ])
        var generator = RandomGenerator(seed: seed)
        let model = try description.build(inputShape: [4, 16, 16], using: &generator).model
        let optimizer = try Adam(model.parameters, learningRate: 1e-3)
        var loader = DataLoader(dataset: dataset, batchSize: 64, seed: seed)
        let pipeline = try AugmentationPipeline(parsing: "crop:2,flip,jitter:0.2,erase:0.5")
        loader.transform = { x, g in x = pipeline(x, using: &g) }
        var configuration = TrainerConfiguration()
        configuration.epochs = 1
        configuration.quiet = true
        let trainer = try Trainer(model: model, optimizer: optimizer, trainLoader: loader, configuration: configuration)
        _ = try trainer.fit()
        return model.stateDict()
    }

    func testTheSameSeedGivesBitwiseIdenticalWeightsAfterAnEpoch() throws {
        let first = try trainOneEpoch(seed: 7)

        // Perturb scheduling: two busy threads compete with the kernels' worker threads.
        let stop = ManagedAtomicFlag()
        for _ in 0..<2 {
            Thread.detachNewThread {
                var x = 0.0
                while !stop.isSet { for i in 0..<10_000 { x += sin(Double(i)) } }
                _ = x
            }
        }
        let second = try trainOneEpoch(seed: 7)
        stop.set()

        XCTAssertEqual(Set(first.keys), Set(second.keys))
        for (key, a) in first {
            let b = second[key]!
            XCTAssertEqual(a.shape, b.shape, key)
            XCTAssertTrue(zip(a.scalars, b.scalars).allSatisfy { $0.bitPattern == $1.bitPattern }, "\(key) differs between identical runs")
        }
        // The test can fail: another seed gives other weights.
        let other = try trainOneEpoch(seed: 8)
        XCTAssertNotEqual(other["2.weight"], first["2.weight"])
        XCTAssertNotEqual(first["1.running_mean"], Tensor(zeros: [4]), "batch norm statistics were not updated")
    }

    func testTheCLIGivesByteIdenticalWeightFilesForTheSameSeed() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-determinism-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let dataset = imageDataset(seed: 2)
        let labels = dataset.targets.gathering(Array(0..<dataset.count))
        guard case .classes(let classes, _) = labels else { return XCTFail("expected class targets") }
        let file = SafeTensorsFile(tensors: ["x": SafeTensor(dataset.inputs), "y": SafeTensor(int64: classes.map(Int64.init), shape: [classes.count])])
        let data = directory.appendingPathComponent("images.safetensors")
        try file.write(to: data)
        func run(_ name: String, seed: String) throws -> Data {
            let output = directory.appendingPathComponent(name)
            let r = try CLI.run(["train", "--model", "fcnet:64,32", "--norm", "batchnorm", "--dropout", "0.3", "--data", data.path,
                                 "--augment", "crop:2,flip,erase", "--epochs", "2", "--batch-size", "64", "--optimizer", "adam",
                                 "--seed", seed, "--quiet", "--save", output.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            return try Data(contentsOf: output)
        }
        let a = try run("a.safetensors", seed: "3"), b = try run("b.safetensors", seed: "3"), c = try run("c.safetensors", seed: "4")
        XCTAssertEqual(a, b, "two CLI runs with --seed 3 saved different weights")
        XCTAssertNotEqual(a, c, "--seed 4 saved the same weights as --seed 3")
    }
}

/// A flag one thread sets and others poll.
final class ManagedAtomicFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}

extension DeterminismTests {
    /// `--conv-algorithm` reaches the convolutions of `nabla train`: `gemm` twice gives the same bytes,
    /// `direct` sums in another order (LeNet's 6→16 layer sums 150 products per output) and so gives
    /// weights that differ in the last bits but agree to Float rounding after an epoch.
    func testConvAlgorithmFlagChoosesTheKernelsOfTraining() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-conv-algorithm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        var g = RandomGenerator(seed: 5)
        let x = Tensor<Float>(uniform: [64, 1, 16, 16], using: &g)
        let y = (0..<64).map { Int64($0 % 3) }
        let data = directory.appendingPathComponent("images.safetensors")
        try SafeTensorsFile(tensors: ["x": SafeTensor(x), "y": SafeTensor(int64: y, shape: [64])]).write(to: data)
        func run(_ algorithm: String, _ name: String) throws -> [String: Tensor<Float>] {
            let output = directory.appendingPathComponent(name)
            let r = try CLI.run(["train", "--model", "lenet", "--data", data.path, "--epochs", "1", "--batch-size", "16",
                                 "--conv-algorithm", algorithm, "--threads", "1", "--quiet", "--save", output.path])
            XCTAssertEqual(r.status, 0, r.stderr)
            return try SafeTensorsFile.read(from: output).tensors.filter { $0.key.hasSuffix("weight") }.mapValues { $0.tensor(as: Float.self) }
        }
        let gemm = try run("gemm", "a.safetensors"), again = try run("gemm", "b.safetensors"), direct = try run("direct", "c.safetensors")
        XCTAssertFalse(gemm.isEmpty)
        XCTAssertEqual(gemm, again, "two --conv-algorithm gemm runs differ")
        XCTAssertNotEqual(gemm, direct, "--conv-algorithm direct trained bit-identical weights: the flag did not reach the kernels")
        for (key, a) in gemm {
            let b = try XCTUnwrap(direct[key], key)
            let scale = a.scalars.map { abs($0) }.max() ?? 1
            let worst = zip(a.scalars, b.scalars).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThan(worst, 1e-4 * max(1, scale), "\(key): gemm and direct differ by \(worst), more than rounding")
        }
        let bad = try CLI.run(["train", "--model", "lenet", "--data", data.path, "--conv-algorithm", "fft"])
        XCTAssertEqual(bad.status, 2, bad.stderr)
        XCTAssertTrue(bad.stderr.hasPrefix("nabla: --conv-algorithm: conv algorithm 'fft': expected one of auto, gemm, direct, winograd"), bad.stderr)
    }
}
