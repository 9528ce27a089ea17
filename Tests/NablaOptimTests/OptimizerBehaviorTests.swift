import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// Skipped gradients, parameter groups, learning-rate access, in-place updates and the Module
/// convenience for decay groups.
final class OptimizerBehaviorTests: XCTestCase {
    func makeParameters() -> (Variable<Double>, Variable<Double>) {
        (Variable(Tensor([1.0, -2.0, 3.0]), requiresGradient: true), Variable(Tensor([0.5, 0.25]), requiresGradient: true))
    }

    func allOptimizers(_ groups: [ParameterGroup<Double>]) throws -> [any Optimizer<Double>] {
        [try SGD(groups, learningRate: 0.1, momentum: 0.9), try Adagrad(groups, learningRate: 0.1),
         try RMSprop(groups, learningRate: 0.01, momentum: 0.5, centered: true),
         try Adam(groups, learningRate: 0.1, amsgrad: true), try AdamW(groups, learningRate: 0.1)]
    }

    /// A parameter whose grad is nil is neither moved nor given state, and the state it has is not
    /// touched (its step counter does not advance), as PyTorch.
    func testParametersWithoutGradientAreSkippedAndTheirStateUntouched() throws {
        let (a, b) = makeParameters()
        for optimizer in try allOptimizers([ParameterGroup([a, b])]) {
            a.value = Tensor([1.0, -2.0, 3.0]); b.value = Tensor([0.5, 0.25])
            let name = String(describing: type(of: optimizer))
            a.grad = Tensor([0.1, 0.2, 0.3]); b.grad = nil
            optimizer.step()
            XCTAssertEqual(b.value, Tensor([0.5, 0.25]), name)
            XCTAssertNotEqual(a.value, Tensor([1.0, -2.0, 3.0]), name)
            let before = optimizer.stateDict()
            let stateOfB = before.keys.filter { $0.hasPrefix("state.1.") }
            if name.hasPrefix("Adagrad") {
                XCTAssertEqual(before["state.1.step"]?.scalar, 0, "Adagrad creates state at construction")
            } else {
                XCTAssertTrue(stateOfB.isEmpty, "\(name) created state for a parameter without gradient: \(stateOfB)")
            }
            // Now b has state; skip it again and check its state does not change.
            b.grad = Tensor([1.0, 1.0]); optimizer.step()
            let withState = optimizer.stateDict()
            a.grad = Tensor([0.3, 0.2, 0.1]); b.grad = nil
            let bValue = b.value
            optimizer.step()
            let after = optimizer.stateDict()
            XCTAssertEqual(b.value, bValue, name)
            for key in withState.keys where key.hasPrefix("state.1.") {
                XCTAssertEqual(after[key], withState[key], "\(name): \(key) changed while skipped")
            }
            XCTAssertNotEqual(after["state.0.step"] ?? after["state.0.momentum_buffer"],
                              withState["state.0.step"] ?? withState["state.0.momentum_buffer"], name)
        }
    }

    /// Groups with different learning rates and decay: each group is updated exactly as a
    /// one-group optimizer with its own options would update it.
    func testParameterGroupsUseTheirOwnOptions() throws {
        let (a, b) = makeParameters()
        let (a1, b1) = makeParameters()
        let grouped = try SGD([ParameterGroup([a], learningRate: 0.2, weightDecay: 0.1), ParameterGroup([b], ["momentum": 0])],
                              learningRate: 0.05, momentum: 0.9)
        let alone = [try SGD([a1], learningRate: 0.2, momentum: 0.9, weightDecay: 0.1), try SGD([b1], learningRate: 0.05)]
        XCTAssertEqual(grouped.learningRates, [0.2, 0.05])
        XCTAssertEqual(grouped.parameterGroups[1].weightDecay, 0)
        XCTAssertEqual(grouped.groupOptions[1].momentum, 0)
        XCTAssertEqual(grouped.groupOptions[0].momentum, 0.9)
        XCTAssertNil(grouped.parameterGroups[0].hyperparameters["betas"])
        for step in 0..<5 {
            let ga = Tensor([0.3, -0.1, Double(step)]), gb = Tensor([1.0, -1.0])
            a.grad = ga; a1.grad = ga; b.grad = gb; b1.grad = gb
            grouped.step()
            alone.forEach { $0.step() }
            XCTAssertEqual(a.value, a1.value)
            XCTAssertEqual(b.value, b1.value)
        }
        XCTAssertNil(grouped.state(ofParameter: 1)?.momentumBuffer, "group 1 has no momentum")
        XCTAssertNotNil(grouped.state(ofParameter: 0)?.momentumBuffer)
    }

    func testLearningRateAccessors() throws {
        let (a, b) = makeParameters()
        let adam = try Adam([ParameterGroup([a]), ParameterGroup([b], learningRate: 0.01)], learningRate: 0.1)
        XCTAssertEqual(adam.learningRate, 0.1)
        XCTAssertEqual(adam.learningRates, [0.1, 0.01])
        adam.learningRate = 0.5
        XCTAssertEqual(adam.learningRates, [0.5, 0.5])
        XCTAssertEqual(adam.parameterGroups.map(\.learningRate), [0.5, 0.5])
        adam.learningRates = [0.3, 0.2]
        XCTAssertEqual(adam.stateDict()["param_groups.1.lr"]?.scalar, 0.2)
        XCTAssertEqual(adam.parameters.count, 2)
    }

    func testZeroGradClearsEveryGradient() throws {
        let (a, b) = makeParameters()
        let sgd = try SGD([ParameterGroup([a]), ParameterGroup([b])])
        a.grad = Tensor([1, 2, 3]); b.grad = Tensor([1, 2])
        sgd.zeroGrad()
        XCTAssertNil(a.grad)
        XCTAssertNil(b.grad)
    }

    /// The update runs in place: the parameter and state storage is reused after the first step.
    func testUpdatesReuseParameterAndStateStorage() throws {
        let p = Variable(Tensor<Float>(repeating: 1, shape: [64]), requiresGradient: true)
        let adam = try Adam([p], learningRate: 0.01, amsgrad: true)
        p.grad = Tensor(repeating: 0.5, shape: [64])
        adam.step()
        func address(_ array: [Float]) -> UnsafeRawPointer { array.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) } }
        // Reads the addresses without keeping a reference (which would force a copy on write).
        func addresses() -> [UnsafeRawPointer] {
            let state = adam.state(ofParameter: 0)!
            return [address(p.value.scalars), address(state.exponentialAverage), address(state.exponentialSquareAverage),
                    address(state.maxExponentialSquareAverage!)]
        }
        let first = addresses()
        for _ in 0..<3 { adam.step() }
        XCTAssertEqual(addresses(), first)
        let later = adam.state(ofParameter: 0)!
        XCTAssertEqual(later.step, 4)
    }

    /// Large parameters are updated in parallel chunks; the result is bit-identical to updating the
    /// same values as several small parameters (one chunk each).
    func testChunkedUpdatesOfLargeParametersMatchSmallOnes() throws {
        let count = (1 << 17) + 3, pieces = 4, piece = (count + pieces - 1) / pieces
        var generator = RandomGenerator(seed: 7)
        let values = Tensor<Float>(normal: [count], mean: 0, standardDeviation: 1, using: &generator)
        let gradients = (0..<3).map { _ in Tensor<Float>(normal: [count], mean: 0, standardDeviation: 1, using: &generator) }
        func pieceOf(_ t: Tensor<Float>, _ k: Int) -> Tensor<Float> {
            Tensor(Array(t.scalars[k * piece..<min(count, (k + 1) * piece)]))
        }
        let makers: [(String, ([Variable<Float>]) throws -> any Optimizer<Float>)] = [
            ("SGD", { try SGD($0, learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true) }),
            ("Adagrad", { try Adagrad($0, learningRate: 0.1, learningRateDecay: 0.1, weightDecay: 0.01) }),
            ("RMSprop", { try RMSprop($0, learningRate: 0.01, weightDecay: 0.01, momentum: 0.9, centered: true) }),
            ("Adam", { try Adam($0, learningRate: 0.01, weightDecay: 0.01, amsgrad: true) }),
            ("AdamW", { try AdamW($0, learningRate: 0.01, amsgrad: true) }),
        ]
        for (name, make) in makers {
            let large = Variable(values, requiresGradient: true)
            let small = (0..<pieces).map { Variable(pieceOf(values, $0), requiresGradient: true) }
            let largeOptimizer = try make([large]), smallOptimizer = try make(small)
            for g in gradients {
                large.grad = g
                for (k, p) in small.enumerated() { p.grad = pieceOf(g, k) }
                largeOptimizer.step()
                smallOptimizer.step()
            }
            XCTAssertEqual(large.value.scalars, small.flatMap(\.value.scalars), name)
        }
    }

    /// AdamW's decay is decoupled: with a zero gradient it shrinks the weights by exactly lr·λ,
    /// while Adam's coupled decay goes through the normalized moments.
    func testAdamWDecouplesWeightDecay() throws {
        let p = Variable(Tensor([2.0]), requiresGradient: true), q = Variable(Tensor([2.0]), requiresGradient: true)
        let adamW = try AdamW([p], learningRate: 0.1, weightDecay: 0.5)
        let adam = try Adam([q], learningRate: 0.1, weightDecay: 0.5)
        p.grad = Tensor([0.0]); q.grad = Tensor([0.0])
        adamW.step(); adam.step()
        XCTAssertEqual(p.value.scalar, 2 * (1 - 0.1 * 0.5), accuracy: 1e-15)
        XCTAssertEqual(q.value.scalar, 2 - 0.1, accuracy: 1e-6, "coupled decay: m/√v = sign(λθ) on step 1")
    }

    func testModuleParameterGroupsExcludeBiasesFromDecay() throws {
        var generator = RandomGenerator(seed: 1)
        let model = Sequential<Double>(Linear(3, 4, using: &generator), ReLU(), Linear(4, 2, bias: false, using: &generator))
        let groups = model.parameterGroups(weightDecay: 5e-4)
        XCTAssertEqual(groups.count, 2)
        XCTAssertEqual(groups[0].parameters.map(\.shape), [[4, 3], [2, 4]])
        XCTAssertEqual(groups[0].weightDecay, 5e-4)
        XCTAssertEqual(groups[1].parameters.map(\.shape), [[4]])
        XCTAssertEqual(groups[1].weightDecay, 0)
        let sgd = try SGD(groups, learningRate: 0.1, momentum: 0.9)
        XCTAssertEqual(sgd.parameterGroups.map(\.weightDecay), [5e-4, 0])
    }
}
