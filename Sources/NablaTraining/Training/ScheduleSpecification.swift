import NablaTensor
import NablaNN
import NablaOptim

/// A learning-rate schedule by spec string (`--schedule`):
///
/// - `step:STEP_SIZE[:GAMMA]` — StepLR (γ = 0.1)
/// - `multistep:M1,M2,…[:GAMMA]` — MultiStepLR
/// - `exp:GAMMA` — ExponentialLR
/// - `cosine:T_MAX[:ETA_MIN]` — CosineAnnealingLR
/// - `warmup:EPOCHS[:START_FACTOR]` — LinearLR from `START_FACTOR·lr` (default 0.1) to `lr`
/// - `plateau[:FACTOR[:PATIENCE]]` — ReduceLROnPlateau on the validation loss (0.1, 10)
/// - `A+B` — warm-up `A`, then `B` (SequentialLR with the milestone at A's length), e.g. `warmup:5+cosine:45`
///
/// Schedules step once per epoch.
public struct ScheduleSpecification: Equatable, Sendable, Codable {
    public var spec: String

    public init(parsing spec: String) throws {
        self.spec = spec
        // Validate the grammar eagerly with a throwaway optimizer.
        _ = try make(for: try SGD([Variable(Tensor<Float>([0]), requiresGradient: true)], learningRate: 0.1))
    }

    func fail(_ why: String) -> NablaError { NablaError(.invalidArgument, "--schedule \(spec): \(why)") }

    /// Attaches the schedule to `optimizer`.
    public func make(for optimizer: any Optimizer) throws -> any LearningRateSchedule {
        let parts = spec.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 2 {
            let first = try single(parts[0], optimizer)
            let second = try single(parts[1], optimizer)
            guard let a = first as? EpochSchedule, let b = second as? EpochSchedule else {
                throw fail("plateau cannot be combined with '+'")
            }
            guard let length = warmupLength(parts[0]) else { throw fail("the first part of A+B must be warmup:EPOCHS or step-like with a length") }
            return try SequentialLR(optimizer, schedules: [a, b], milestones: [length])
        }
        guard parts.count == 1 else { throw fail("at most two schedules can be joined with '+'") }
        return try single(spec, optimizer)
    }

    private func warmupLength(_ part: String) -> Int? {
        let fields = part.split(separator: ":").map(String.init)
        guard fields.count >= 2, ["warmup", "linear", "cosine", "step"].contains(fields[0].lowercased()) else { return nil }
        return Int(fields[1])
    }

    private func single(_ part: String, _ optimizer: any Optimizer) throws -> any LearningRateSchedule {
        let fields = part.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        func number(_ i: Int, _ what: String, default value: Double? = nil) throws -> Double {
            guard i < fields.count else {
                if let value { return value }
                throw fail("missing \(what)")
            }
            guard let v = Double(fields[i]), v.isFinite else { throw fail("\(what) '\(fields[i])' is not a number") }
            return v
        }
        func integer(_ i: Int, _ what: String) throws -> Int {
            guard i < fields.count, let v = Int(fields[i]), v > 0 else { throw fail("\(what) must be a positive integer") }
            return v
        }
        func arity(_ n: Int) throws { if fields.count > n { throw fail("too many values for \(fields[0])") } }
        switch fields[0].lowercased() {
        case "step":
            try arity(3)
            return try StepLR(optimizer, stepSize: try integer(1, "step size"), gamma: try number(2, "gamma", default: 0.1))
        case "multistep":
            try arity(3)
            guard fields.count >= 2 else { throw fail("missing milestones") }
            let milestones = fields[1].split(separator: ",").map { Int($0) }
            guard !milestones.isEmpty, milestones.allSatisfy({ ($0 ?? 0) > 0 }) else { throw fail("milestones must be positive integers like 30,60") }
            return try MultiStepLR(optimizer, milestones: milestones.map { $0! }, gamma: try number(2, "gamma", default: 0.1))
        case "exp", "exponential":
            try arity(2)
            return try ExponentialLR(optimizer, gamma: try number(1, "gamma"))
        case "cosine":
            try arity(3)
            return try CosineAnnealingLR(optimizer, maximumSteps: try integer(1, "T_max"), minimumLearningRate: try number(2, "eta_min", default: 0))
        case "warmup", "linear":
            try arity(3)
            return try LinearLR(optimizer, startFactor: try number(2, "start factor", default: 0.1), endFactor: 1, totalSteps: try integer(1, "warm-up length"))
        case "plateau":
            try arity(3)
            let patience = fields.count > 2 ? try integer(2, "patience") : 10
            return try ReduceLROnPlateau(optimizer, factor: try number(1, "factor", default: 0.1), patience: patience)
        default:
            throw fail("unknown schedule '\(fields[0])' (expected step, multistep, exp, cosine, warmup, plateau)")
        }
    }
}
