import ArgumentParser
import Foundation
import Nabla

/// Optimizer and schedule flags (PyTorch's `torch.optim` names and defaults). Each hyper-parameter
/// flag sets one PyTorch key (``OptimizerFlag``); which optimizers read it, and `--help`'s list of
/// optimizers and schedules, come from the registries.
struct OptimizerOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The optimizer, by name.", discussion: Self.optimizerList))
    var optimizer: String = "sgd"
    @Option(name: .long, help: "Learning rate (default: nabla train's for the optimizer, listed under --optimizer).")
    var lr: Double?
    @Option(name: .long, help: "Momentum (\(readers("momentum"))).")
    var momentum: Double?
    @Option(name: .long, help: "Dampening of the momentum (\(readers("dampening"))).")
    var dampening: Double?
    @Flag(name: .long, help: "Nesterov momentum (\(readers("nesterov"))).")
    var nesterov = false
    @Option(name: .long, help: "Weight decay λ: coupled L2 (g += λw), decoupled for adamw (default 0.01 there).")
    var weightDecay: Double?
    @Flag(name: .long, help: "Decay only weights, not biases or normalization parameters.")
    var decayWeightsOnly = false
    @Option(name: .long, help: "Betas B1,B2 (\(readers("betas"))).")
    var betas: String?
    @Option(name: .long, help: "Epsilon (\(readers("eps"))).")
    var eps: Double?
    @Option(name: .long, help: "Smoothing constant (\(readers("alpha"))).")
    var alpha: Double?
    @Flag(name: .long, help: "Centered variant (\(readers("centered"))).")
    var centered = false
    @Flag(name: .long, help: "AMSGrad variant (\(readers("amsgrad"))).")
    var amsgrad = false
    @Option(name: .long, help: "Learning-rate decay (\(readers("lr_decay"))).")
    var lrDecay: Double?
    @Option(name: .long, help: "Decay of the running averages (\(readers("rho"))).")
    var rho: Double?
    @Option(name: .long, help: "Momentum decay ψ of the μ schedule (\(readers("momentum_decay"))).")
    var momentumDecay: Double?
    @Flag(name: .long, help: "Decoupled (AdamW-style) weight decay θ ← θ·(1 − lr·λ) (\(readers("decoupled_weight_decay"))).")
    var decoupledWeightDecay = false
    @Option(name: .long, help: ArgumentHelp("Sharpness-aware minimization around the optimizer with radius RHO (Foret et al. 2021; two forward/backward passes per step).", valueName: "RHO"))
    var sam: Double?
    @Option(name: .long, help: ArgumentHelp("Lookahead around the optimizer: sync slow weights every K steps with rate ALPHA (Zhang et al. 2019; the paper uses 5,0.5).", valueName: "K,ALPHA"))
    var lookahead: String?
    @Option(name: .long, help: ArgumentHelp("Learning-rate schedule, stepped per epoch (onecycle and cyclic: per optimizer step).",
        discussion: ScheduleRegistry.grammar + ", or A+B (A, then B from A's length on; e.g. warmup:5+cosine:45)."))
    var schedule: String?

    /// The value each hyper-parameter flag was given, by flag name (`nil`: not given) — the
    /// command line's half of ``OptimizerFlag/all``, which maps the flags to PyTorch keys.
    private var givenValues: [String: Hyperparameters.Value?] {
        let values: [String: Hyperparameters.Value?] = [
            "lr": lr.map { .number($0) },
            "momentum": momentum.map { .number($0) },
            "dampening": dampening.map { .number($0) },
            "nesterov": nesterov ? .flag(true) : nil,
            "weight-decay": weightDecay.map { .number($0) },
            "betas": betaPair.map { .pair($0.0, $0.1) },
            "eps": eps.map { .number($0) },
            "alpha": alpha.map { .number($0) },
            "centered": centered ? .flag(true) : nil,
            "amsgrad": amsgrad ? .flag(true) : nil,
            "lr-decay": lrDecay.map { .number($0) },
            "rho": rho.map { .number($0) },
            "momentum-decay": momentumDecay.map { .number($0) },
            "decoupled-weight-decay": decoupledWeightDecay ? .flag(true) : nil,
        ]
        assert(Set(values.keys) == Set(OptimizerFlag.all.map(\.flag)), "OptimizerOptions and OptimizerFlag.all list different flags")
        return values
    }

    /// `--betas B1,B2` as two numbers, or `nil` when absent or malformed.
    private var betaPair: (Double, Double)? {
        guard let values = betas?.split(separator: ",", omittingEmptySubsequences: false).map({ Double($0) }),
              values.count == 2, let b1 = values[0], let b2 = values[1] else { return nil }
        return (b1, b2)
    }

    /// The flags that were given, in table order, with their values.
    private var givenFlags: [(flag: OptimizerFlag, value: Hyperparameters.Value)] {
        let values = givenValues
        return OptimizerFlag.all.compactMap { flag in values[flag.flag]!.map { (flag, $0) } }
    }

    func validate() throws {
        guard let registration = try? OptimizerRegistry.registration(named: optimizer) else {
            throw ValidationError("--optimizer \(optimizer): expected one of \(OptimizerRegistry.names.joined(separator: ", "))")
        }
        if betas != nil && betaPair == nil { throw ValidationError("--betas \(betas!): expected two numbers B1,B2") }
        for (flag, value) in givenFlags {
            switch value {
            case .number(let x) where !x.isFinite, .pair(let x, _) where !x.isFinite, .pair(_, let x) where !x.isFinite:
                throw ValidationError("--\(flag.flag) \(flag.kind == .pair ? betas! : "\(x)") is not a finite number")
            default: break
            }
            guard registration.defaults[flag.key] != nil else {
                let reads = OptimizerFlag.flags(of: registration).map { "--\($0.flag)" }.joined(separator: ", ")
                throw ValidationError("--\(flag.flag) does not apply to --optimizer \(registration.name) (\(registration.name) reads \(reads))")
            }
        }
        if decayWeightsOnly && weightDecay == nil && registration.defaults["weight_decay"]?.number == 0 {
            throw ValidationError("--decay-weights-only applies to a weight decay, and \(registration.name)'s is 0 unless --weight-decay is given")
        }
        if let schedule {
            do { _ = try ScheduleSpecification(parsing: schedule) } catch let error as NablaError { throw ValidationError(error.message) }
        }
        if let sam, !(sam >= 0 && sam.isFinite) { throw ValidationError("--sam \(sam) must be a non-negative number") }
        if let lookahead {
            do { _ = try LookaheadSetting(parsing: lookahead) } catch let error as NablaError { throw ValidationError(error.message) }
        }
    }

    /// The wrappers `--sam` and `--lookahead` put around the optimizer.
    var wrappers: (sam: Double?, lookahead: LookaheadSetting?) { (sam, lookahead.flatMap { try? LookaheadSetting(parsing: $0) }) }

    /// The optimizer the flags select.
    var specification: OptimizerSpecification {
        var hyperparameters = Hyperparameters()
        for (flag, value) in givenFlags { hyperparameters[flag.key] = value }
        return OptimizerSpecification(name: optimizer.lowercased(), hyperparameters: hyperparameters, decayWeightsOnly: decayWeightsOnly)
    }

    /// `--help`'s list of optimizers: name, summary, default learning rate, and the flags each reads.
    static var optimizerList: String {
        OptimizerRegistry.registrations.map { r in
            let flags = OptimizerFlag.flags(of: r).map { "--\($0.flag)" }.joined(separator: " ")
            return "\(r.name) (\(r.displayName)): \(r.summary). \(LearningRateDefaults.help(r)); reads \(flags)."
        }.joined(separator: "\n")
    }

    /// The optimizers that read `key`, for a flag's help (`sgd, rmsprop`).
    static func readers(_ key: String) -> String {
        OptimizerRegistry.registrations.filter { $0.defaults[key] != nil }.map(\.name).joined(separator: ", ")
    }
}

/// Penalty, constraint, clipping and augmentation flags.
struct RegularizationOptions: ParsableArguments {
    @Option(name: .long, help: "L1 penalty λ·Σ|w| on the weights (not biases/normalization).")
    var l1: Double?
    @Option(name: .long, help: "L2 penalty λ/2·Σw² on the weights (not biases/normalization).")
    var l2: Double?
    @Option(name: .long, help: "Elastic-net penalty λ·(β·Σw² + Σ|w|), given as λ,β.")
    var elastic: String?
    @Option(name: .long, help: "Clip gradients to this global L2 norm.")
    var clipNorm: Double?
    @Option(name: .long, help: "Clip gradient elements to [−v, v].")
    var clipValue: Double?
    @Option(name: .long, help: "Max-norm constraint on each weight row/filter.")
    var maxNorm: Double?
    @Option(name: .long, help: ArgumentHelp("Data augmentation pipeline for image batches.",
        discussion: "Comma-separated steps, e.g. crop:4,flip,jitter:0.2,erase:0.5, or rotate:15, affine:DEG[:T[:SMIN:SMAX[:SHEAR]]], randaugment:N,M, trivialaugment (see README)."))
    var augment: String?
    @Option(name: .long, help: "Test-time augmentation for the final test accuracy: ten-crop[:PAD] (4 corners + center of the image padded by PAD, each also flipped).")
    var tta: String?

    func validate() throws {
        let set = [l1 != nil, l2 != nil, elastic != nil].filter { $0 }.count
        if set > 1 { throw ValidationError("--l1, --l2 and --elastic are exclusive; --elastic λ,β combines L1 and L2") }
        for (flag, value) in [("l1", l1), ("l2", l2), ("clip-norm", clipNorm), ("clip-value", clipValue), ("max-norm", maxNorm)] {
            if let value, !(value >= 0 && value.isFinite) { throw ValidationError("--\(flag) \(value) must be a non-negative number") }
        }
        if let clipNorm, clipNorm == 0 { throw ValidationError("--clip-norm must be positive") }
        if let maxNorm, maxNorm == 0 { throw ValidationError("--max-norm must be positive") }
        _ = try penalty()
        if let augment { _ = try AugmentationPipeline(parsing: augment) }
        if let tta { _ = try TestTimeAugmentationSpec(parsing: tta) }
    }

    func penalty() throws -> ParameterPenalty {
        if let l1 { return .l1(lambda: l1) }
        if let l2 { return .l2(lambda: l2) }
        if let elastic { return try ParameterPenalty(parsing: "elastic:" + elastic.replacingOccurrences(of: ",", with: ":")) }
        return .none
    }

    /// Sets the plan's penalty, clipping, constraint and augmentation from these flags.
    func apply(to plan: inout TrainingPlan) throws {
        let penalty = try self.penalty()
        plan.penalty = penalty == .none ? nil : penalty.description
        plan.clipNorm = clipNorm
        plan.clipValue = clipValue
        plan.maxNorm = maxNorm
        plan.augmentation = augment
        plan.testTimeAugmentation = tta
    }
}
