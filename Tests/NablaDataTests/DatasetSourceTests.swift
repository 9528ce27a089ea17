import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// The `--data` grammar, the `.safetensors` dataset form and per-channel normalization.
final class DatasetSourceTests: XCTestCase {
    func testParsesEveryForm() throws {
        XCTAssertEqual(try DatasetSource.parse("fashion-mnist"),
                       .mnist(directory: "/usr/share/datasets/fashion-mnist", classCount: 10, name: "fashion-mnist"))
        XCTAssertEqual(try DatasetSource.parse("mnist:/data/mnist"), .mnist(directory: "/data/mnist", classCount: 10, name: "mnist"))
        XCTAssertEqual(try DatasetSource.parse("mnist:d?classes=47"), .mnist(directory: "d", classCount: 47, name: "mnist"))
        XCTAssertEqual(try DatasetSource.parse("cifar10:c"), .cifar(.cifar10, directory: "c"))
        XCTAssertEqual(try DatasetSource.parse("cifar100:c"), .cifar(.cifar100, directory: "c"))
        XCTAssertEqual(try DatasetSource.parse("w.safetensors"), .safetensors(path: "w.safetensors"))
        XCTAssertEqual(try DatasetSource.parse("dir/a.NPZ"), .npz(path: "dir/a.NPZ"))
        XCTAssertEqual(try DatasetSource.parse("t.npy?target=0"), .npy(path: "t.npy", options: TabularOptions(target: "0")))
        XCTAssertEqual(try DatasetSource.parse("t.csv?header=no&task=regression", target: "price"),
                       .csv(path: "t.csv", options: TabularOptions(target: "price", header: .absent, task: .regression)))
        XCTAssertEqual(try DatasetSource.parse("synthetic:line"),
                       .synthetic(.line(count: 10, sigma: 0.5, testSigma: 0.3, slope: 1.5, uniform: false)))
        XCTAssertEqual(try DatasetSource.parse("synthetic:line?n=200&sigma=0.1&x=uniform"),
                       .synthetic(.line(count: 200, sigma: 0.1, testSigma: 0.3, slope: 1.5, uniform: true)))
        XCTAssertEqual(try DatasetSource.parse("synthetic:spirals?classes=5"),
                       .synthetic(.spirals(countPerClass: 100, classCount: 5, noise: 0.2, testCountPerClass: 100)))
        XCTAssertEqual(try DatasetSource.parse("synthetic:blobs?dim=4&test_n=0"),
                       .synthetic(.blobs(countPerClass: 100, classCount: 3, dimension: 4, standardDeviation: 1, box: 10, testCountPerClass: 0)))
    }

    func testRejectsBadSpecsWithOneLine() throws {
        let cases: [(String, String?, String)] = [
            ("", nil, "unknown dataset; expected one of fashion-mnist, mnist:DIR"),
            ("imagenet", nil, "--data 'imagenet': unknown dataset; expected one of"),
            ("data.txt", nil, "unknown dataset"),
            ("mnist:", nil, "mnist needs a directory: mnist:DIR"),
            ("cifar10:", nil, "cifar10 needs a directory"),
            ("mnist:d?classes=0", nil, "classes=0 is not an integer in 1...256"),
            ("mnist:d?clases=3", nil, "unknown parameter 'clases' (accepted: classes)"),
            ("cifar10:d?x=1", nil, "unknown parameter 'x' (it takes no parameters)"),
            ("synthetic:moons", nil, "unknown synthetic dataset 'moons' (known: line, spirals, blobs)"),
            ("synthetic:line?n=0", nil, "n=0 is not an integer in 1...10000000"),
            ("synthetic:line?sigma=-1", nil, "sigma=-1 is not a number in [0.0"),
            ("synthetic:line?sigma=nan", nil, "sigma=nan is not a number"),
            ("synthetic:line?sigma", nil, "parameter 'sigma' is not key=value"),
            ("synthetic:line?n=2&n=3", nil, "parameter 'n' is given twice"),
            ("synthetic:line?x=random", nil, "x=random is not one of grid, uniform"),
            ("synthetic:blobs?n=10000000&dim=10000", nil, "is too large for a synthetic dataset"),
            ("a.csv?header=maybe", nil, "header=maybe is not one of auto, yes, no"),
            ("a.npz?target=1", nil, "unknown parameter 'target'"),
            ("a.npz", "1", "--target 1: only .csv and .npy datasets have a target column"),
            ("a.csv?target=x", "y", "--target y conflicts with target=x"),
        ]
        for (spec, target, fragment) in cases {
            assertNablaError(try DatasetSource.parse(spec, target: target), fragment, kind: .invalidArgument)
        }
    }

    func testMissingFilesAreOneLineErrors() throws {
        assertNablaError(try DatasetSource.parse("/nonexistent/x.npz").load(), "/nonexistent/x.npz: no such file", kind: .io)
        assertNablaError(try DatasetSource.parse("/nonexistent/x.csv").load(), "/nonexistent/x.csv: no such file")
        assertNablaError(try DatasetSource.parse("/nonexistent/x.safetensors").load(), "/nonexistent/x.safetensors")
        let dir = try DataTestSupport.temporaryDirectory(self)
        let folder = dir.appendingPathComponent("folder.npy")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        assertNablaError(try DatasetSource.parse(folder.path).load(), "is a directory, expected a file")
    }

    // MARK: - safetensors

    private func writeSafeTensors(_ tensors: [String: SafeTensor]) throws -> URL {
        let url = try DataTestSupport.temporaryDirectory(self).appendingPathComponent("set.safetensors")
        try SafeTensorsFile(tensors: tensors).write(to: url)
        return url
    }

    func testSafeTensorsClassificationWithTestSplit() throws {
        let x = Tensor<Float>(shape: [3, 2], scalars: [1, 2, 3, 4, 5, 6])
        let url = try writeSafeTensors(["x": SafeTensor(x), "y": SafeTensor(int64: [2, 0, 1], shape: [3]),
                                        "x_test": SafeTensor(Tensor<Double>(shape: [1, 2], scalars: [7, 8])),
                                        "y_test": SafeTensor(int64: [4], shape: [1])])
        let (train, test) = try DatasetSource.parse(url.path).load()
        XCTAssertEqual(train.inputs, x)
        XCTAssertEqual(train.targets, .classes([2, 0, 1], classCount: 5))
        XCTAssertEqual(test?.inputs.scalars, [7, 8])
        XCTAssertEqual(train.name, "set/train")
    }

    func testSafeTensorsRegressionAndErrors() throws {
        let url = try writeSafeTensors(["x": SafeTensor(Tensor<Float>(shape: [2], scalars: [1, 2])),
                                        "y": SafeTensor(Tensor<Float>(shape: [2], scalars: [0.5, 1.5]))])
        let train = try DatasetSource.parse(url.path).load().train
        XCTAssertEqual(train.inputs.shape, [2, 1])
        XCTAssertEqual(train.targets, .values(Tensor(shape: [2, 1], scalars: [0.5, 1.5])))

        let cases: [([String: SafeTensor], String)] = [
            (["x": SafeTensor(Tensor<Float>(zeros: [2, 2]))], "has 'x' but no 'y'"),
            (["y": SafeTensor(int64: [1], shape: [1])], "has no array 'x'"),
            (["x": SafeTensor(Tensor<Float>(zeros: [2, 2])), "y": SafeTensor(int64: [1, 2, 3], shape: [3])], "'y' has 3 samples, its inputs have 2"),
            (["x": SafeTensor(Tensor<Float>(zeros: [2, 2])), "y": SafeTensor(int64: [1, -2], shape: [2])], "label -2 at index 1 is out of range"),
            (["x": SafeTensor(Tensor<Float>(zeros: [1, 2])), "y": SafeTensor(int64: [1 << 40], shape: [1])], "is out of range 0..<65536"),
            (["x": SafeTensor(Tensor<Float>(zeros: [2, 2])), "y": SafeTensor(int64: [1, 2, 3, 4], shape: [2, 2])], "integer labels 'y' have shape [2, 2]"),
            (["x": SafeTensor(Tensor<Float>(shape: [2], scalars: [1, .nan])), "y": SafeTensor(int64: [1, 2], shape: [2])], "'x' element 1 is nan"),
            (["x": SafeTensor(Tensor<Float>(shape: [], scalars: [1])), "y": SafeTensor(int64: [1], shape: [1])], "'x' is a scalar"),
            (["x": SafeTensor(Tensor<Float>(zeros: [1, 2])), "y": SafeTensor(int64: [1], shape: [1]),
              "x_test": SafeTensor(Tensor<Float>(zeros: [1, 3])), "y_test": SafeTensor(int64: [1], shape: [1])], "x_test samples are [3], x samples [2]"),
            (["x": SafeTensor(Tensor<Float>(zeros: [1, 2])), "y": SafeTensor(int64: [1], shape: [1]),
              "x_test": SafeTensor(Tensor<Float>(zeros: [1, 2])), "y_test": SafeTensor(Tensor<Float>(zeros: [1]))], "must both be integer labels"),
            (["x": SafeTensor(Tensor<Float>(zeros: [1, 2])), "y": SafeTensor(int64: [1], shape: [1]),
              "x_test": SafeTensor(Tensor<Float>(zeros: [1, 2]))], "has only one of x_test and y_test"),
        ]
        for (tensors, fragment) in cases {
            assertNablaError(try DatasetSource.parse(try writeSafeTensors(tensors).path).load(), "set.safetensors", fragment)
        }
        let bad = try DataTestSupport.temporaryDirectory(self).appendingPathComponent("bad.safetensors")
        try DataTestSupport.write([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0], to: bad)
        assertNablaError(try DatasetSource.parse(bad.path).load(), "bad.safetensors: not a valid safetensors file")
    }

    // MARK: - normalization

    func testChannelStatisticsAndNormalization() throws {
        // Two samples, two channels of 2 values: channel 0 = {1, 3, 5, 7}, channel 1 = {2, 2, 2, 2}.
        let inputs = Tensor<Float>(shape: [2, 2, 2], scalars: [1, 3, 2, 2, 5, 7, 2, 2])
        let dataset = Dataset(name: "d", inputs: inputs, targets: .classes([0, 1], classCount: 2))
        let stats = dataset.channelStatistics()
        XCTAssertEqual(stats.mean, [4, 2])
        XCTAssertEqual(stats.std[0], Float(5).squareRoot(), accuracy: 1e-6)  // population std of {1,3,5,7}
        XCTAssertEqual(stats.std[1], 0)
        let normalized = dataset.normalized(mean: stats.mean, std: stats.std)
        let s = Float(5).squareRoot()
        XCTAssertEqual(normalized.inputs.scalars, [-3 / s, -1 / s, 0, 0, 1 / s, 3 / s, 0, 0])  // constant channel only centred
        let renormalized = ChannelNormalization(statisticsOf: normalized.inputs)
        XCTAssertEqual(renormalized.mean[0], 0, accuracy: 1e-6)
        XCTAssertEqual(renormalized.std[0], 1, accuracy: 1e-6)
        XCTAssertEqual(normalized.targets, dataset.targets)
        var inPlace = dataset
        inPlace.normalize(mean: stats.mean, std: stats.std)
        XCTAssertEqual(inPlace.inputs, normalized.inputs)
        XCTAssertEqual(dataset.inputs, inputs)  // the original is untouched (value semantics)
    }

    func testTabularStatisticsArePerFeature() throws {
        let stats = ChannelNormalization(statisticsOf: Tensor<Float>(shape: [3, 2], scalars: [0, 10, 1, 20, 2, 30]))
        XCTAssertEqual(stats.mean, [1, 20])
        XCTAssertEqual(stats.std[1], Float(200.0 / 3).squareRoot(), accuracy: 1e-4)
        let data = try JSONEncoder().encode(stats)
        XCTAssertEqual(try JSONDecoder().decode(ChannelNormalization.self, from: data), stats)
    }
}
