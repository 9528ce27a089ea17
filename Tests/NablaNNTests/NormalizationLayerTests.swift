import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// The normalization layers' contracts: one-line errors for bad configurations and inputs (through
/// the throwing `validate` and `checkInput` cores that `init` and `forward` trap on), state_dict keys,
/// PyTorch-style descriptions, mode handling and the `NormalizationLayer` marker.
final class NormalizationLayerTests: XCTestCase {
    /// Asserts `body` throws a ``NablaError`` whose one-line message contains `fragment`.
    private func assertThrows(_ fragment: String, file: StaticString = #filePath, line: UInt = #line,
                              _ body: () throws -> Void) {
        do {
            try body()
            XCTFail("expected an error containing '\(fragment)'", file: file, line: line)
        } catch let error as NablaError {
            XCTAssertTrue(error.message.contains(fragment), "'\(error.message)' lacks '\(fragment)'", file: file, line: line)
            XCTAssertFalse(error.message.contains("\n"), "error is not one line: \(error.message)", file: file, line: line)
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    func testTrainingBatchNormNeedsMoreThanOneValuePerChannel() throws {
        let layer = BatchNorm1d<Float>(4)
        assertThrows("Expected more than 1 value per channel when training, got input size [1, 4]") {
            try layer.checkInput([1, 4])
        }
        assertThrows("got input size [1, 4, 1]") { try layer.checkInput([1, 4, 1]) }
        XCTAssertNoThrow(try layer.checkInput([2, 4]))
        XCTAssertNoThrow(try layer.checkInput([1, 4, 2]))
        layer.eval()
        XCTAssertNoThrow(try layer.checkInput([1, 4]), "evaluation with running statistics takes one sample")
        let untracked = BatchNorm2d<Float>(3, trackRunningStats: false)
        untracked.eval()
        assertThrows("Expected more than 1 value per channel") { try untracked.checkInput([1, 3, 1, 1]) }
    }

    func testBatchNormChecksRankAndChannels() {
        assertThrows("BatchNorm2d(num_features=4): input of shape [2, 3, 5, 5] has 3 channels, expected 4") {
            try BatchNorm2d<Double>(4).checkInput([2, 3, 5, 5])
        }
        assertThrows("BatchNorm1d: expected input of shape (N, C) or (N, C, L), got [2, 4, 3, 3]") {
            try BatchNorm1d<Double>(4).checkInput([2, 4, 3, 3])
        }
        assertThrows("BatchNorm2d: expected input of shape (N, C, H, W), got [2, 4, 3]") {
            try BatchNorm2d<Double>(4).checkInput([2, 4, 3])
        }
        assertThrows("BatchNorm3d: expected input of shape (N, C, D, H, W)") { try BatchNorm3d<Double>(4).checkInput([2, 4, 3, 3]) }
        XCTAssertNoThrow(try BatchNorm3d<Double>(4).checkInput([2, 4, 3, 3, 3]))
        assertThrows("num_features must be positive, got 0") { try BatchNorm2d<Float>.validate(numFeatures: 0) }
        assertThrows("momentum must be in [0, 1] or None, got 1.5") {
            try BatchNorm1d<Float>.validate(numFeatures: 3, momentum: 1.5)
        }
        assertThrows("eps must be a finite number ≥ 0, got -1.0") { try BatchNorm1d<Float>.validate(numFeatures: 3, eps: -1) }
        XCTAssertNoThrow(try BatchNorm1d<Float>.validate(numFeatures: 3, momentum: nil))
    }

    func testGroupNormNeedsChannelsDivisibleByGroups() {
        assertThrows("GroupNorm: num_channels=6 is not divisible by num_groups=4") {
            try GroupNorm<Float>.validate(numGroups: 4, numChannels: 6)
        }
        assertThrows("must be positive") { try GroupNorm<Float>.validate(numGroups: 0, numChannels: 6) }
        XCTAssertNoThrow(try GroupNorm<Float>.validate(numGroups: 3, numChannels: 6))
        assertThrows("GroupNorm(num_groups=2, num_channels=4): input of shape [2, 6, 3] has 6 channels, expected 4") {
            try GroupNorm<Float>(2, 4).checkInput([2, 6, 3])
        }
    }

    func testLayerNormNeedsMatchingTrailingDimensions() {
        let layer = LayerNorm<Float>([3, 4])
        assertThrows("LayerNorm: given normalized_shape=[3, 4], expected input with shape [*, 3, 4], but got input of size [2, 4, 3]") {
            try layer.checkInput([2, 4, 3])
        }
        assertThrows("but got input of size [4]") { try layer.checkInput([4]) }
        XCTAssertNoThrow(try layer.checkInput([3, 4]))
        XCTAssertNoThrow(try layer.checkInput([5, 2, 3, 4]))
        assertThrows("normalized_shape must be non-empty with positive extents, got []") {
            try LayerNorm<Float>.validate(normalizedShape: [])
        }
    }

    func testInstanceNormChecks() {
        assertThrows("InstanceNorm2d(num_features=3): input of shape [2, 4, 5, 5] has 4 channels, expected 3") {
            try InstanceNorm2d<Float>(3, affine: true).checkInput([2, 4, 5, 5])
        }
        // Without parameters or running statistics PyTorch accepts any channel count.
        XCTAssertNoThrow(try InstanceNorm2d<Float>(3).checkInput([2, 4, 5, 5]))
        XCTAssertNoThrow(try InstanceNorm2d<Float>(3, affine: true).checkInput([3, 5, 5]), "unbatched input")
        assertThrows("Expected more than 1 spatial element when training, got input size [2, 3, 1]") {
            try InstanceNorm1d<Float>(3).checkInput([2, 3, 1])
        }
        assertThrows("InstanceNorm1d: expected input of shape (N, C, L) or (C, L), got [2, 3, 4, 4]") {
            try InstanceNorm1d<Float>(3).checkInput([2, 3, 4, 4])
        }
    }

    func testStateKeysFollowPyTorch() {
        XCTAssertEqual(BatchNorm2d<Float>(3).stateKeys, ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"])
        XCTAssertEqual(BatchNorm2d<Float>(3).integerStateKeys, ["num_batches_tracked"])
        XCTAssertEqual(BatchNorm1d<Float>(3, affine: false, trackRunningStats: false).stateKeys, [])
        XCTAssertEqual(InstanceNorm2d<Float>(3).stateKeys, [])
        XCTAssertEqual(InstanceNorm2d<Float>(3, affine: true).stateKeys, ["weight", "bias"])
        XCTAssertEqual(LayerNorm<Float>([4]).stateKeys, ["weight", "bias"])
        XCTAssertEqual(LayerNorm<Float>([4], bias: false).stateKeys, ["weight"])
        XCTAssertEqual(GroupNorm<Float>(2, 4, affine: false).stateKeys, [])
        let layer = BatchNorm1d<Float>(3)
        XCTAssertEqual(layer.runningVariance!.value, Tensor(ones: [3]))
        XCTAssertEqual(layer.batchesTracked!.value.shape, [])
    }

    /// `num_batches_tracked` counts in int64 as PyTorch's does: past 2²⁴, where a Float stops
    /// counting, through the cumulative average (momentum None), a file written and read back, and
    /// PyTorch's largest value, where it stays instead of trapping.
    func testTheBatchCounterIsAnExactInt64() throws {
        let layer = BatchNorm1d<Float>(2, momentum: nil)
        let counter = try XCTUnwrap(layer.batchesTracked)
        counter.integerValues = [16_777_216]
        let x = Variable(Tensor<Float>(shape: [2, 2], scalars: [0, 1, 2, 3]))
        _ = layer(x)
        _ = layer(x)
        XCTAssertEqual(counter.integerValues, [16_777_218])
        XCTAssertEqual(layer.integerState(), ["num_batches_tracked": [16_777_218]])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("counter-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try layer.save(to: url)
        XCTAssertEqual(try SafeTensorsFile.read(from: url).tensors["num_batches_tracked"]?.intValues, [16_777_218])
        let copy = BatchNorm1d<Float>(2, momentum: nil)
        try copy.load(from: url)
        XCTAssertEqual(copy.batchesTracked?.integerValues, [16_777_218])
        counter.integerValues = [Int64.max]
        _ = layer(x)
        XCTAssertEqual(counter.integerValues, [Int64.max])
        counter.value = Tensor(Float(3))
        XCTAssertEqual(counter.integerValues, [3], "assigning the Scalar view sets the counter")
        XCTAssertThrowsError(try copy.loadIntegerState(["num_batches_tracked": [1, 2]]))
    }

    func testDescriptionsFollowPyTorch() {
        XCTAssertEqual(BatchNorm2d<Float>(3).description,
                       "BatchNorm2d(3, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)")
        XCTAssertEqual(BatchNorm1d<Float>(8, momentum: nil, affine: false).description,
                       "BatchNorm1d(8, eps=1e-05, momentum=None, affine=False, track_running_stats=True)")
        XCTAssertEqual(LayerNorm<Float>([4]).description, "LayerNorm((4,), eps=1e-05, elementwise_affine=True)")
        XCTAssertEqual(LayerNorm<Float>([3, 4], eps: 1e-6).description, "LayerNorm((3, 4), eps=1e-06, elementwise_affine=True)")
        XCTAssertEqual(GroupNorm<Float>(2, 6).description, "GroupNorm(2, 6, eps=1e-05, affine=True)")
        XCTAssertEqual(InstanceNorm2d<Float>(3).description,
                       "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, track_running_stats=False)")
    }

    func testEveryLayerIsANormalizationLayer() {
        let layers: [Module<Float>] = [BatchNorm1d(2), BatchNorm2d(2), BatchNorm3d(2), LayerNorm([2]), GroupNorm(1, 2),
                                       InstanceNorm1d(2), InstanceNorm2d(2), InstanceNorm3d(2)]
        for layer in layers { XCTAssertTrue(layer is NormalizationLayer, "\(layer)") }
        XCTAssertFalse(Linear<Float>(2, 2) is NormalizationLayer)
    }

    func testRunningStatisticsUpdateOnlyInTrainingAndEvenWithoutGradients() {
        var g = RandomGenerator(seed: 3)
        let layer = BatchNorm2d<Float>(2)
        let x = Tensor<Float>(normal: [4, 2, 3, 3], mean: 2, standardDeviation: 3, using: &g)
        _ = layer(x)  // a plain-tensor call records no graph
        XCTAssertEqual(layer.batchesTracked!.value.scalar, 1)
        let mean = x.mean(alongAxes: [0, 2, 3]), unbiased = x.variance(alongAxes: [0, 2, 3], unbiased: true)
        assertClose(layer.runningMean!.value, mean * 0.1, relative: 1e-5, absolute: 1e-6)
        assertClose(layer.runningVariance!.value, unbiased * 0.1 + 0.9, relative: 1e-5, absolute: 1e-6)
        let before = layer.runningMean!.value
        layer.eval()
        _ = layer(x)
        XCTAssertEqual(layer.runningMean!.value, before)
        XCTAssertEqual(layer.batchesTracked!.value.scalar, 1)
    }
}
