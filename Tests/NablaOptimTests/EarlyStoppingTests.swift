import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// Early stopping: the patience counter, `minDelta`, both modes, non-finite metrics, and restoring
/// the best weights.
final class EarlyStoppingTests: XCTestCase {
    func run(_ stopper: EarlyStopping<Float>, _ metrics: [Double], module: Module<Float> = Flatten()) -> Int? {
        for (epoch, metric) in metrics.enumerated() where stopper.update(metric: metric, epoch: epoch, module: module) {
            return epoch
        }
        return nil
    }

    func testPatienceCountsEvaluationsWithoutImprovement() {
        let stopper = EarlyStopping<Float>(mode: .min, patience: 2)
        XCTAssertEqual(run(stopper, [1.0, 0.8, 0.9, 0.7, 0.75, 0.71, 0.6]), 5, "stops at the 2nd epoch without improving on 0.7")
        XCTAssertEqual(stopper.bestMetric, 0.7)
        XCTAssertEqual(stopper.bestEpoch, 3)
        XCTAssertEqual(stopper.epochsWithoutImprovement, 2)
        XCTAssertTrue(stopper.state.stopped)

        XCTAssertNil(run(EarlyStopping(mode: .min, patience: 3), [1.0, 1.1, 1.2, 0.9, 1.0, 1.0]), "the counter resets on improvement")
        XCTAssertEqual(run(EarlyStopping(mode: .min, patience: 0), [1.0, 0.9, 0.9]), 2, "patience 0 stops at the first non-improvement")
    }

    func testMaxModeAndMinDelta() {
        XCTAssertEqual(run(EarlyStopping(mode: .max, patience: 1), [0.5, 0.6, 0.6]), 2)
        let strict = EarlyStopping<Float>(mode: .max, patience: 2, minDelta: 0.05)
        XCTAssertEqual(run(strict, [0.50, 0.54, 0.53, 0.60]), 2, "gains of 0.04 and 0.03 over 0.50 are below min_delta 0.05")
        XCTAssertEqual(strict.bestMetric, 0.50)
        let lenient = EarlyStopping<Float>(mode: .min, patience: 2, minDelta: 0.1)
        XCTAssertTrue(lenient.isImprovement(3))
        _ = lenient.update(metric: 1, epoch: 0, module: Flatten())
        XCTAssertFalse(lenient.isImprovement(0.95))
        XCTAssertTrue(lenient.isImprovement(0.85))
    }

    func testNonFiniteMetricStopsAtOnce() {
        let stopper = EarlyStopping<Float>(mode: .min, patience: 10)
        XCTAssertEqual(run(stopper, [1.0, .nan]), 1)
        XCTAssertEqual(stopper.bestMetric, 1.0)
        XCTAssertEqual(run(EarlyStopping(mode: .max, patience: 10), [.infinity]), 0)
    }

    func testRestoresTheBestWeights() throws {
        var generator = RandomGenerator(seed: 1)
        let model = Sequential<Float>([Linear(3, 2, using: &generator), Dropout(0.5, using: &generator), Linear(2, 1, using: &generator)])
        let stopper = EarlyStopping<Float>(mode: .min, patience: 2)
        var bestWeights: [String: Tensor<Float>] = [:]
        for (epoch, metric) in [0.9, 0.5, 0.6, 0.7].enumerated() {
            for p in model.parameters { p.value.withUnsafeMutableBufferPointer { for i in 0..<$0.count { $0[i] += 0.1 } } }
            if metric == 0.5 { bestWeights = model.stateDict() }
            if stopper.update(metric: metric, epoch: epoch, module: model) { break }
        }
        XCTAssertNotEqual(model.stateDict(), bestWeights, "training moved on after the best epoch")
        XCTAssertTrue(try stopper.restoreBest(into: model))
        XCTAssertEqual(model.stateDict(), bestWeights)
        XCTAssertEqual(stopper.bestEpoch, 1)

        let fresh = EarlyStopping<Float>()
        XCTAssertFalse(try fresh.restoreBest(into: model), "nothing to restore before the first update")
        var otherGenerator = RandomGenerator(seed: 2)
        XCTAssertThrowsError(try stopper.restoreBest(into: Linear<Float>(3, 2, using: &otherGenerator))) { error in
            XCTAssertEqual((error as? NablaError)?.kind, .missingKey)
        }
    }

    func testStateRoundTripsForCheckpoints() throws {
        let stopper = EarlyStopping<Float>(mode: .min, patience: 3)
        _ = run(stopper, [1.0, 0.5, 0.7])
        let data = try JSONEncoder().encode(stopper.state)
        let resumed = EarlyStopping<Float>(mode: .min, patience: 3)
        resumed.state = try JSONDecoder().decode(EarlyStopping<Float>.State.self, from: data)
        XCTAssertEqual(resumed.state, stopper.state)
        XCTAssertEqual(resumed.update(metric: 0.6, epoch: 3, module: Flatten()), stopper.update(metric: 0.6, epoch: 3, module: Flatten()))
        XCTAssertEqual(resumed.epochsWithoutImprovement, 2)
    }

    func testValidation() {
        XCTAssertThrowsError(try EarlyStopping<Float>.validate(patience: -1, minDelta: 0)) {
            XCTAssertEqual(($0 as? NablaError)?.message, "EarlyStopping: patience=-1 must be non-negative")
        }
        XCTAssertThrowsError(try EarlyStopping<Float>.validate(patience: 3, minDelta: -0.1)) {
            XCTAssertEqual(($0 as? NablaError)?.message, "EarlyStopping: min_delta=-0.1 must be a non-negative number")
        }
        XCTAssertNoThrow(try EarlyStopping<Float>.validate(patience: 0, minDelta: 0))
    }
}
