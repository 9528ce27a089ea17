import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
import NablaTestSupport

/// Golden 10-step trajectories from `torch.optim` (Scripts/fixtures/gen_optimizers.py): every
/// optimizer × {no decay, decay} × its variants, plus parameter groups and skipped gradients, on the
/// fixed quadratic-plus-noise objective stored in `objective.safetensors`.
final class OptimizerTrajectoryTests: XCTestCase {
    func testFixturesCoverEveryOptimizerAndVariant() {
        let names = Set(trajectoryFixtureNames().map { String($0.dropFirst("traj_".count)) })
        for required in [
            "sgd_plain", "sgd_momentum", "sgd_dampening", "sgd_nesterov", "sgd_maximize",
            "adagrad_plain", "adagrad_lr_decay", "adagrad_initial_accumulator", "adagrad_maximize",
            "rmsprop_plain", "rmsprop_momentum", "rmsprop_centered", "rmsprop_centered_momentum", "rmsprop_maximize",
            "adam_plain", "adam_amsgrad", "adam_maximize", "adamw_plain", "adamw_amsgrad",
        ] {
            XCTAssertTrue(names.contains(required + "_nodecay"), "missing fixture \(required)_nodecay")
            XCTAssertTrue(names.contains(required + "_decay"), "missing fixture \(required)_decay")
        }
        for extra in ["sgd_groups", "adam_groups", "adamw_groups", "sgd_skip", "adagrad_skip", "rmsprop_skip",
                      "adam_skip", "adamw_skip"] {
            XCTAssertTrue(names.contains(extra), "missing fixture \(extra)")
        }
    }

    func testDoubleTrajectoriesMatchPyTorch() throws {
        let objective = try QuadraticObjective<Double>()
        for name in trajectoryFixtureNames() {
            let fixture = try Fixtures.load("optimizers", name)
            let (optimizer, parameters) = try makeTrajectoryOptimizer(Double.self, fixture: fixture, objective: objective)
            let mask = fixture.tensor("grad_mask", as: Double.self)
            let expected = [fixture.tensor("trajectory0", as: Double.self), fixture.tensor("trajectory1", as: Double.self)]
            for t in 0..<QuadraticObjective<Double>.steps {
                objective.setGradients(parameters, step: t, mask: mask)
                optimizer.step()
                for k in 0..<2 {
                    assertClose(parameters[k].value, slice(expected[k], t + 1), relative: 1e-9, absolute: 1e-12,
                                "\(name): parameter \(k) after step \(t + 1)")
                }
            }
            // The final optimizer state has PyTorch's keys and values.
            let state = optimizer.stateDict().filter { $0.key.hasPrefix("state.") }
            let golden = fixture.tensors.keys.filter { $0.hasPrefix("state.") }
            XCTAssertEqual(Set(state.keys), Set(golden), "\(name): state keys")
            for key in golden {
                guard let ours = state[key] else { continue }
                assertClose(ours, fixture.tensor(key, as: Double.self), relative: 1e-9, absolute: 1e-12, "\(name): \(key)")
            }
        }
    }

    /// The same trajectories computed in Float stay within Float rounding of the float64 reference.
    func testFloatTrajectoriesTrackPyTorch() throws {
        let objective = try QuadraticObjective<Float>()
        for name in trajectoryFixtureNames() {
            let fixture = try Fixtures.load("optimizers", name)
            let (optimizer, parameters) = try makeTrajectoryOptimizer(Float.self, fixture: fixture, objective: objective)
            let mask = fixture.tensor("grad_mask", as: Float.self)
            for t in 0..<QuadraticObjective<Float>.steps {
                objective.setGradients(parameters, step: t, mask: mask)
                optimizer.step()
            }
            for k in 0..<2 {
                let expected = slice(fixture.tensor("trajectory\(k)", as: Float.self), QuadraticObjective<Float>.steps)
                assertClose(parameters[k].value, expected, relative: 1e-5, absolute: 1e-6, "\(name) (Float): parameter \(k)")
            }
        }
    }

    /// A trajectory check must be able to fail: Adam's trajectory is not SGD's, and dropping the
    /// bias correction (the book's bug is one variant of it) moves the first step.
    func testTrajectoryComparisonDistinguishesOptimizers() throws {
        let objective = try QuadraticObjective<Double>()
        let adam = try Fixtures.load("optimizers", "traj_adam_plain_nodecay")
        let parameters = objective.initialParameters()
        let sgd = try SGD(parameters, learningRate: 0.05)
        objective.setGradients(parameters, step: 0, mask: nil)
        sgd.step()
        let expected = slice(adam.tensor("trajectory0", as: Double.self), 1)
        let difference = zip(parameters[0].value.scalars, expected.scalars).map { abs($0 - $1) }.max()!
        XCTAssertGreaterThan(difference, 1e-3)
    }
}

// MARK: - Shared support for the optimizer tests

/// The objective of the trajectory fixtures: gradient of parameter k at step t is
/// `A_k · vec(p_k) − b_k + noise_k[t]`.
struct QuadraticObjective<Scalar: TensorScalar> {
    static var steps: Int { 10 }
    let a: [Tensor<Scalar>], b: [Tensor<Scalar>], noise: [Tensor<Scalar>], initial: [Tensor<Scalar>]

    init() throws {
        let file = try Fixtures.load("optimizers", "objective")
        a = (0..<2).map { file.tensor("A\($0)") }
        b = (0..<2).map { file.tensor("b\($0)") }
        noise = (0..<2).map { file.tensor("noise\($0)") }
        initial = (0..<2).map { file.tensor("init\($0)") }
    }

    func initialParameters() -> [Variable<Scalar>] { initial.map { Variable($0, requiresGradient: true) } }

    func gradient(_ k: Int, at value: Tensor<Scalar>, step t: Int) -> Tensor<Scalar> {
        let n = value.count
        var g = [Scalar](repeating: 0, count: n)
        for i in 0..<n {
            var sum: Scalar = 0
            for j in 0..<n { sum += a[k].scalars[i * n + j] * value.scalars[j] }
            g[i] = sum - b[k].scalars[i] + noise[k].scalars[t * n + i]
        }
        return Tensor(shape: value.shape, scalars: g)
    }

    /// Sets each parameter's gradient for step `t`, or `nil` where `mask[t, k] == 0`.
    func setGradients(_ parameters: [Variable<Scalar>], step t: Int, mask: Tensor<Scalar>?) {
        for (k, p) in parameters.enumerated() {
            let active = mask.map { $0.scalars[t * 2 + k] != 0 } ?? true
            p.grad = active ? gradient(k, at: p.value, step: t) : nil
        }
    }
}

/// Element `i` along the leading axis.
func slice<Scalar>(_ tensor: Tensor<Scalar>, _ i: Int) -> Tensor<Scalar> {
    tensor[i..<i + 1].reshaped(to: Array(tensor.shape.dropFirst()))
}

func trajectoryFixtureNames() -> [String] { Fixtures.names("optimizers").filter { $0.hasPrefix("traj_") } }

/// Builds the optimizer a trajectory fixture's metadata describes, over fresh parameters.
func makeTrajectoryOptimizer<Scalar: TensorScalar>(
    _ type: Scalar.Type, fixture: SafeTensorsFile, objective: QuadraticObjective<Scalar>
) throws -> (any Optimizer<Scalar>, [Variable<Scalar>]) {
    let meta = fixture.metadata
    let parameters = objective.initialParameters()
    var groups = [ParameterGroup(parameters)]
    if meta.keys.contains(where: { $0.hasPrefix("group1.") }) {
        var second = ParameterGroup([parameters[1]])
        second.learningRate = meta["group1.lr"].flatMap(Double.init)
        second.weightDecay = meta["group1.weight_decay"].flatMap(Double.init)
        second.hyperparameters["momentum"] = meta["group1.momentum"].flatMap(Double.init).map { .number($0) }
        second.hyperparameters["amsgrad"] = meta["group1.amsgrad"].map { .flag($0 == "True") }
        groups = [ParameterGroup([parameters[0]]), second]
    }
    return (try makeOptimizer(meta, groups), parameters)
}

/// An optimizer from PyTorch-style hyper-parameters (`lr`, `momentum`, `betas` as "0.9,0.999", …).
func makeOptimizer<Scalar>(_ meta: [String: String], _ groups: [ParameterGroup<Scalar>]) throws -> any Optimizer<Scalar> {
    func number(_ key: String, _ fallback: Double) -> Double { meta[key].flatMap(Double.init) ?? fallback }
    func flag(_ key: String) -> Bool { meta[key] == "True" }
    let lr = number("lr", 1e-3), decay = number("weight_decay", 0)
    switch meta["optimizer"] {
    case "SGD":
        return try SGD(groups, learningRate: lr, momentum: number("momentum", 0), dampening: number("dampening", 0),
                       weightDecay: decay, nesterov: flag("nesterov"), maximize: flag("maximize"))
    case "Adagrad":
        return try Adagrad(groups, learningRate: lr, learningRateDecay: number("lr_decay", 0), weightDecay: decay,
                           initialAccumulatorValue: number("initial_accumulator_value", 0),
                           epsilon: number("eps", 1e-10), maximize: flag("maximize"))
    case "RMSprop":
        return try RMSprop(groups, learningRate: lr, alpha: number("alpha", 0.99), epsilon: number("eps", 1e-8),
                           weightDecay: decay, momentum: number("momentum", 0), centered: flag("centered"),
                           maximize: flag("maximize"))
    case "Adam", "AdamW":
        let betas = meta["betas"].map { $0.split(separator: ",").map { Double($0)! } } ?? [0.9, 0.999]
        if meta["optimizer"] == "Adam" {
            return try Adam(groups, learningRate: lr, betas: (betas[0], betas[1]), epsilon: number("eps", 1e-8),
                            weightDecay: decay, amsgrad: flag("amsgrad"), maximize: flag("maximize"))
        }
        return try AdamW(groups, learningRate: lr, betas: (betas[0], betas[1]), epsilon: number("eps", 1e-8),
                         weightDecay: number("weight_decay", 0.01), amsgrad: flag("amsgrad"), maximize: flag("maximize"))
    default:
        throw NablaError(.invalidArgument, "unknown optimizer \(meta["optimizer"] ?? "nil")")
    }
}
