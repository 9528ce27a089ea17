import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// The synthetic generators: seed 004's noisy line, cs231n spirals, Gaussian blobs.
final class SyntheticDataTests: XCTestCase {
    private func load(_ spec: String, seed: UInt64 = 0) throws -> (train: Dataset, test: Dataset?) {
        try DatasetSource.parse(spec).load(seed: seed)
    }

    private func values(_ targets: Targets) -> [Float] {
        guard case .values(let t) = targets else { XCTFail("expected regression targets"); return [] }
        return t.scalars
    }

    func testLineMatchesSeed004Shapes() throws {
        let (train, test) = try load("synthetic:line")
        XCTAssertEqual(train.inputs.shape, [10, 1])
        XCTAssertEqual(test?.inputs.shape, [10, 1])
        XCTAssertEqual(train.inputs.scalars.first, -1)
        XCTAssertEqual(train.inputs.scalars.last, 1)
        XCTAssertEqual(train.inputs.scalars[1], Float(-1 + 2.0 / 9), accuracy: 1e-7)  // torch.linspace(-1, 1, 10)
        XCTAssertEqual(test?.inputs, train.inputs)  // the seed's test_x is the same grid
        XCTAssertEqual(values(train.targets).count, 10)
        XCTAssertNotEqual(values(train.targets), values(test!.targets))
    }

    func testLineNoiseHasTheRequestedSlopeAndSigma() throws {
        let (train, test) = try load("synthetic:line?n=20000&sigma=0.5&test_sigma=0.3", seed: 7)
        let x = train.inputs.scalars.map(Double.init)
        for (dataset, sigma) in [(train, 0.5), (test!, 0.3)] {
            let y = values(dataset.targets).map(Double.init)
            let slope = zip(x, y).map { $0 * $1 }.reduce(0, +) / x.map { $0 * $0 }.reduce(0, +)
            XCTAssertEqual(slope, 1.5, accuracy: 0.02)
            let residuals = zip(x, y).map { $1 - 1.5 * $0 }
            let std = (residuals.map { $0 * $0 }.reduce(0, +) / Double(residuals.count)).squareRoot()
            XCTAssertEqual(std, sigma, accuracy: 0.01)
        }
        let uniform = try load("synthetic:line?n=1000&x=uniform&slope=-2&sigma=0").train
        XCTAssertTrue(uniform.inputs.scalars.allSatisfy { $0 >= -1 && $0 < 1 })
        XCTAssertEqual(values(uniform.targets), uniform.inputs.scalars.map { -2 * $0 })
    }

    func testDeterministicUnderASeedAndDifferentAcrossSeeds() throws {
        for spec in ["synthetic:line", "synthetic:spirals", "synthetic:blobs"] {
            let a = try load(spec, seed: 3), b = try load(spec, seed: 3), c = try load(spec, seed: 4)
            XCTAssertEqual(a.train.inputs, b.train.inputs, spec)
            XCTAssertEqual(a.train.targets, b.train.targets, spec)
            XCTAssertEqual(a.test?.inputs, b.test?.inputs, spec)
            XCTAssertFalse(a.train.inputs == c.train.inputs && a.train.targets == c.train.targets, spec)
        }
    }

    func testSpiralsFollowCS231n() throws {
        let (train, test) = try load("synthetic:spirals?n=50&classes=4&noise=0&test_n=10")
        XCTAssertEqual(train.inputs.shape, [200, 2])
        XCTAssertEqual(test?.inputs.shape, [40, 2])
        XCTAssertEqual(train.targets, .classes((0..<4).flatMap { Array(repeating: $0, count: 50) }, classCount: 4))
        // Without noise, point i of class k is r·(sin t, cos t), r = i/49, t = 4k + 4i/49.
        let (k, i) = (2, 30)
        let r = Double(i) / 49, t = Double(4 * k) + 4 * Double(i) / 49
        XCTAssertEqual(Double(train.inputs[k * 50 + i, 0]), r * sin(t), accuracy: 1e-6)
        XCTAssertEqual(Double(train.inputs[k * 50 + i, 1]), r * cos(t), accuracy: 1e-6)
        XCTAssertTrue(train.inputs.scalars.allSatisfy { abs($0) <= 1 })
        XCTAssertNil(try load("synthetic:spirals?test_n=0").test)
    }

    func testBlobsClusterAroundSharedCenters() throws {
        let (train, test) = try load("synthetic:blobs?n=2000&classes=3&dim=3&std=0.5&box=10", seed: 11)
        XCTAssertEqual(train.inputs.shape, [6000, 3])
        XCTAssertEqual(train.classCount, 3)
        let testSet = try XCTUnwrap(test)
        for k in 0..<3 {
            let trainMean = train.inputs[(k * 2000)..<((k + 1) * 2000)].mean(alongAxes: [0])
            let testMean = testSet.inputs[(k * 2000)..<((k + 1) * 2000)].mean(alongAxes: [0])
            XCTAssertTrue(trainMean.isApproximatelyEqual(to: testMean, relative: 0, absolute: 0.06), "class \(k): \(trainMean) vs \(testMean)")
            XCTAssertTrue(trainMean.scalars.allSatisfy { abs($0) <= 10.1 })
            let spread = train.inputs[(k * 2000)..<((k + 1) * 2000)].variance(alongAxes: [0]).scalars
            for v in spread { XCTAssertEqual(v.squareRoot(), 0.5, accuracy: 0.03) }
        }
    }
}
