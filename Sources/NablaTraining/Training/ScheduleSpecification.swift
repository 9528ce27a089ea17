import NablaTensor
import NablaNN
import NablaOptim

/// A learning-rate schedule by spec string (`--schedule`): one schedule named by its first field,
/// from the ``/NablaOptim/ScheduleRegistry`` —
///
/// - `step:STEP_SIZE[:GAMMA]` — StepLR (γ = 0.1)
/// - `multistep:M1,M2,…[:GAMMA]` — MultiStepLR
/// - `exp:GAMMA` — ExponentialLR
/// - `cosine:T_MAX[:ETA_MIN]` — CosineAnnealingLR
/// - `warmup:EPOCHS[:START_FACTOR]` — LinearLR from `START_FACTOR·lr` (default 0.1) to `lr`
/// - `plateau[:FACTOR[:PATIENCE]]` — ReduceLROnPlateau on the validation loss (0.1, 10)
/// - `onecycle:MAX_LR[:PCT_START]` — OneCycleLR over the run's optimizer steps, per step
/// - `cosine-restarts:T0[:T_MULT]` — CosineAnnealingWarmRestarts
/// - `poly:TOTAL[:POWER]` — PolynomialLR
/// - `cyclic:BASE:MAX[:STEP_UP]` — triangular CyclicLR, per step
///
/// or two joined as `A+B`: `A` first, then `B` (SequentialLR with the milestone at A's length),
/// e.g. `warmup:5+cosine:45`. Most schedules step once per epoch; `onecycle` and `cyclic` step after
/// every optimizer step (``interval``). The two cycling schedules cycle the optimizer's momentum or
/// β₁ as PyTorch's defaults do; an optimizer with neither (Adagrad, Adadelta) keeps its settings
/// (PyTorch refuses that combination unless `cycle_momentum=False`, which is what this does).
public struct ScheduleSpecification: Equatable, Sendable, Codable {
    /// The spec as written (`warmup:5+cosine:45`).
    public var spec: String

    /// Parses `spec`, checking its grammar and values by attaching it to a throwaway optimizer in a
    /// run of ``/NablaOptim/ScheduleContext/nominal`` length.
    /// - Parameter spec: the spec as written.
    /// - Throws: ``/NablaTensor/NablaError`` `--schedule SPEC: …` naming the problem.
    public init(parsing spec: String) throws {
        self.spec = spec
        _ = try make(for: try SGD([Variable(Tensor<Float>([0]), requiresGradient: true)], learningRate: 0.1))
    }

    func fail(_ why: String) -> NablaError { NablaError(.invalidArgument, "--schedule \(spec): \(why)") }

    /// When the schedule steps: per epoch or per optimizer step (`.epoch` for a spec that does not parse).
    public var interval: SchedulingInterval { (try? parts())?.first?.kind.interval ?? .epoch }

    /// Each `+`-separated part's kind and parsed schedule.
    private func parts() throws -> [(kind: ScheduleKind, schedule: ParsedSchedule)] {
        let parts = spec.split(separator: "+", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2 else { throw fail("at most two schedules can be joined with '+'") }
        return try parts.map { part in
            let fields = ScheduleFields(part, spec: spec)
            guard let kind = ScheduleRegistry.kind(named: fields.name) else {
                throw fail("unknown schedule '\(fields.name)' (expected \(ScheduleRegistry.kinds.map(\.name).joined(separator: ", ")))")
            }
            return (kind, try kind.parse(fields))
        }
    }

    /// Attaches the schedule to `optimizer` in a run described by `context` (one-cycle spans its
    /// optimizer steps).
    /// - Parameters:
    ///   - optimizer: the optimizer whose learning rates the schedule sets.
    ///   - context: the run (its number of optimizer steps).
    /// - Throws: ``/NablaTensor/NablaError`` for a bad spec or value.
    public func make(for optimizer: any Optimizer, context: ScheduleContext = .nominal) throws -> any LearningRateSchedule {
        let parts = try parts()
        guard parts.count == 2 else { return try parts[0].schedule.build(optimizer, context) }
        let schedules = try parts.map { try $0.schedule.build(optimizer, context) }
        guard let a = schedules[0] as? EpochSchedule, let b = schedules[1] as? EpochSchedule else {
            let part = schedules[0] is EpochSchedule ? parts[1] : parts[0]
            throw fail("\(part.kind.name) cannot be combined with '+'")
        }
        guard let length = parts[0].schedule.length else {
            throw fail("the first part of A+B must be warmup:EPOCHS or step-like with a length")
        }
        guard parts[0].kind.interval == parts[1].kind.interval else {
            throw fail("\(parts[0].kind.name) steps per \(parts[0].kind.interval.rawValue) and \(parts[1].kind.name) per \(parts[1].kind.interval.rawValue); A+B needs one interval")
        }
        return try SequentialLR(optimizer, schedules: [a, b], milestones: [length])
    }
}
