import NablaTensor

/// Finite-difference gradient checking in `Double`.
///
/// For a function `f` of several tensors, the check reduces the output to a scalar with a fixed random
/// projection `L = Σ f(x) ⊙ R` (so every output element contributes), runs reverse mode once for the
/// analytic gradients, and compares them with central differences
/// `∂L/∂x_i ≈ (L(x + εe_i) − L(x − εe_i)) / 2ε`.
///
/// The reported error is the max-norm relative error `‖a − n‖∞ / max(‖a‖∞, ‖n‖∞)` over each input's
/// gradient, the worst over all inputs: it is scale-free and not fooled by elements whose gradient is
/// zero. With `ε = 1e-6` in `Double` a correct smooth operation scores around 1e-9.
public struct GradientCheckResult: Sendable {
    /// The largest relative error over all inputs.
    public let maxRelativeError: Double
    /// The relative error of each input's gradient, in input order.
    public let relativeErrors: [Double]
}

/// Checks the reverse-mode gradients of `f` at `inputs` against central differences.
/// - Parameters:
///   - inputs: the points; each becomes a leaf that requires a gradient.
///   - epsilon: the finite-difference step.
///   - seed: seeds the random projection of the output.
///   - f: the function under test. It must be deterministic (fix any random mask outside it).
public func checkGradients(
    at inputs: [Tensor<Double>], epsilon: Double = 1e-6, seed: UInt64 = 7,
    _ f: ([Variable<Double>]) -> Variable<Double>
) -> GradientCheckResult {
    let leaves = inputs.map { Variable($0, requiresGradient: true) }
    return compareGradients(leaves: leaves, epsilon: epsilon, seed: seed) { f(leaves) }
}

/// Checks a module's gradients with respect to its input and every parameter at once
/// (the module's current training mode is used as is).
public func checkGradients(of module: Module<Double>, input: Tensor<Double>, epsilon: Double = 1e-6, seed: UInt64 = 7) -> GradientCheckResult {
    let x = Variable(input, requiresGradient: true)
    module.zeroGrad()
    defer { module.zeroGrad() }
    return compareGradients(leaves: [x] + module.parameters, epsilon: epsilon, seed: seed) { module(x) }
}

/// The shared core: `evaluate` computes the output from the current values of `leaves`; analytic
/// gradients come from one backward pass, numeric ones from perturbing each leaf element in place.
private func compareGradients(
    leaves: [Variable<Double>], epsilon: Double, seed: UInt64, evaluate: () -> Variable<Double>
) -> GradientCheckResult {
    for leaf in leaves { leaf.grad = nil }
    let out = evaluate()
    var generator = RandomGenerator(seed: seed)
    let projection = Tensor<Double>(normal: out.shape, using: &generator)
    out.backward(seed: projection)
    let analytic = leaves.map { $0.grad ?? Tensor(zeros: $0.shape) }
    for leaf in leaves { leaf.grad = nil }
    return compareWithCentralDifferences(analytic: analytic, leaves: leaves, epsilon: epsilon) {
        withoutGradient { (evaluate().value * projection).sum() }
    }
}

/// Compares `analytic[k]` with central differences `(L(x + ε) − L(x − ε)) / 2ε` of `objective`,
/// perturbing each element of `leaves[k]` in place (and restoring it): per leaf the max-norm relative
/// error `max|a − n| / max(|a|, |n|)` (0 when both vanish). Shared by ``checkGradients(at:epsilon:seed:_:)``
/// and ``checkBFloat16Gradients(at:epsilon:seed:float:double:)``.
func compareWithCentralDifferences(analytic: [Tensor<Double>], leaves: [Variable<Double>], epsilon: Double,
                                   objective: () -> Double) -> GradientCheckResult {
    var errors: [Double] = []
    for (k, leaf) in leaves.enumerated() {
        var difference = 0.0, scale = 0.0
        for i in 0..<leaf.value.count {
            let original = leaf.value.scalars[i]
            leaf.value.scalars[i] = original + epsilon
            let plus = objective()
            leaf.value.scalars[i] = original - epsilon
            let minus = objective()
            leaf.value.scalars[i] = original
            let numeric = (plus - minus) / (2 * epsilon)
            difference = max(difference, abs(analytic[k].scalars[i] - numeric))
            scale = max(scale, abs(analytic[k].scalars[i]), abs(numeric))
        }
        errors.append(scale == 0 ? 0 : difference / scale)
    }
    return GradientCheckResult(maxRelativeError: errors.max() ?? 0, relativeErrors: errors)
}
