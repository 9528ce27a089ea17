import NablaTensor

/// Sharpness-aware minimization (SAM): the base optimizer steps with the gradient taken at the
/// worst nearby weights within an L2 ball of radius ρ — Foret et al. 2021, Algorithm 1 with p = 2.
///
/// Given the gradients `g` at the weights θ (every parameter that has one), one step is:
///
///     n ← ‖(‖g₁‖₂, ‖g₂‖₂, …)‖₂                 the global gradient norm
///     ε̂ₖ ← gₖ·(ρ / n)                         (ε̂ = 0 when n = 0)
///     g′ ← ∇L(θ + ε̂)                          a second forward and backward pass
///     θ ← θ (restored by copy);  grad ← g′;  base optimizer step
///
/// It takes two gradient evaluations per step, so it needs ``step(reevaluating:)`` (the trainer
/// uses it); weight decay and momentum are the base optimizer's. Parameters without a gradient are
/// not perturbed and stay without one. The reference implementation (davda54/sam) divides by
/// `n + 1e-12`; this divides by `n`. Default `rho` 0.05. State dictionary: the base optimizer's,
/// plus `param_groups.<g>.rho`.
///
/// Reference: Foret, Kleiner, Mobahi, Neyshabur, "Sharpness-Aware Minimization for Efficiently
/// Improving Generalization" (ICLR 2021).
public final class SharpnessAwareMinimization<Scalar: TensorScalar>: ClosureOptimizer {
    /// The optimizer that takes the step with the perturbed gradient.
    public let base: any Optimizer<Scalar>
    /// ρ: the radius of the neighbourhood.
    public private(set) var rho: Double
    /// The global gradient norm `n` of the last step.
    public private(set) var lastGradientNorm = 0.0

    /// SAM around `base`.
    /// - Parameters:
    ///   - base: the optimizer stepping with the perturbed gradient.
    ///   - rho: the radius ρ of the neighbourhood.
    /// - Throws: ``NablaError`` `Invalid rho, should be non-negative: ρ` for a negative or NaN ρ.
    public init(_ base: any Optimizer<Scalar>, rho: Double = 0.05) throws {
        try Self.validate(rho: rho)
        self.base = base
        self.rho = rho
    }

    static func validate(rho: Double) throws {
        guard rho >= 0 && rho.isFinite else { throw NablaError(.invalidArgument, "Invalid rho, should be non-negative: \(rho)") }
    }

    /// The base optimizer's parameter groups.
    public var parameterGroups: [ParameterGroup<Scalar>] { base.parameterGroups }
    /// The base optimizer's learning rates (schedules set these).
    public var learningRates: [Double] {
        get { base.learningRates }
        set { base.learningRates = newValue }
    }
    /// The base optimizer's `initial_lr`s.
    public var initialLearningRates: [Double?] {
        get { base.initialLearningRates }
        set { base.initialLearningRates = newValue }
    }

    /// Sets a hyper-parameter of the base optimizer (a schedule cycling its momentum).
    /// - Parameters:
    ///   - key: the PyTorch `param_groups` key.
    ///   - value: its new value.
    ///   - group: the parameter group.
    /// - Throws: the base optimizer's error for a key it does not read or an invalid value.
    public func setHyperparameter(_ key: String, to value: Hyperparameters.Value, group: Int) throws {
        try base.setHyperparameter(key, to: value, group: group)
    }

    /// SAM cannot step from one gradient.
    /// - Precondition: never called; use ``step(reevaluating:)``.
    public func step() {
        preconditionFailure("SharpnessAwareMinimization needs a second gradient evaluation: call step(reevaluating:)")
    }

    /// The SAM step described above.
    /// - Parameter reevaluate: computes every parameter's gradient at the weights as they are when
    ///   it is called (the perturbed ones).
    /// - Throws: what `reevaluate` throws; the weights are restored first.
    public func step(reevaluating reevaluate: () throws -> Void) throws {
        let parameters = base.parameters
        let active = parameters.map { $0.grad != nil }
        var squares = 0.0
        for parameter in parameters {
            guard let grad = parameter.grad else { continue }
            let tensorNorm = grad.scalars.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            squares += tensorNorm * tensorNorm
        }
        lastGradientNorm = squares.squareRoot()
        let scale = Scalar(lastGradientNorm > 0 ? rho / lastGradientNorm : 0)
        let saved = parameters.map(\.value)
        for parameter in parameters {
            guard let grad = parameter.grad else { continue }
            parameter.value.withUnsafeMutableBufferPointer { theta in
                grad.withUnsafeBufferPointer { g in
                    for i in 0..<theta.count { theta[i] = theta[i] + g[i] * scale }
                }
            }
        }
        do {
            try reevaluate()
        } catch {
            for (parameter, value) in zip(parameters, saved) { parameter.value = value }
            throw error
        }
        for (index, parameter) in parameters.enumerated() {
            parameter.value = saved[index]
            if !active[index] { parameter.grad = nil }
        }
        base.step()
    }

    /// The base optimizer's state dictionary plus this wrapper's entries (described above).
    public func stateDict() -> [String: Tensor<Double>] {
        var dict = base.stateDict()
        for g in base.parameterGroups.indices { dict["param_groups.\(g).rho"] = Tensor(rho) }
        return dict
    }

    /// Restores ``stateDict()``: this wrapper's entries, and the rest through the base optimizer.
    /// - Parameter dict: a state dictionary written by ``stateDict()``.
    /// - Throws: ``/NablaTensor/NablaError`` for a missing, malformed or invalid entry of either.
    public func loadStateDict(_ dict: [String: Tensor<Double>]) throws {
        var rest = dict
        var restored: Double?
        for g in base.parameterGroups.indices {
            let key = "param_groups.\(g).rho"
            guard let tensor = rest.removeValue(forKey: key) else { throw NablaError(.missingKey, "optimizer state dict is missing '\(key)'") }
            guard tensor.count == 1 else { throw NablaError(.shapeMismatch, "optimizer state entry '\(key)' must be one number") }
            try Self.validate(rho: tensor.scalars[0])
            restored = restored ?? tensor.scalars[0]
        }
        try base.loadStateDict(rest)
        if let restored { rho = restored }
    }
}
