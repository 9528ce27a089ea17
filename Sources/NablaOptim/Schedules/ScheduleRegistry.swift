import NablaTensor

/// When a learning-rate schedule steps: after every epoch (all of PyTorch's classic schedules) or
/// after every optimizer step (one-cycle and cyclic schedules). The trainer reads it to decide
/// where to call ``LearningRateSchedule/step()``.
public enum SchedulingInterval: String, Sendable, Codable {
    /// Once per epoch, after evaluation (every classic `torch.optim.lr_scheduler` schedule).
    case epoch
    /// Once per optimizer step (one-cycle and cyclic schedules).
    case step
}

/// What a schedule may need to know about the run it is attached to.
public struct ScheduleContext: Sendable {
    /// The number of optimizer steps the run takes (one-cycle's `total_steps`).
    public var optimizerSteps: Int

    /// A run of `optimizerSteps` optimizer steps.
    public init(optimizerSteps: Int) { self.optimizerSteps = optimizerSteps }

    /// The context used to check a spec before the run is known: 100 optimizer steps.
    public static let nominal = ScheduleContext(optimizerSteps: 100)
}

/// One schedule parsed from its fields, ready to be attached to an optimizer.
public struct ParsedSchedule {
    /// How many intervals this schedule runs before the next one takes over when it leads an
    /// `A+B` spec (`warmup:5` → 5); `nil` when it cannot lead.
    public var length: Int?
    /// Attaches the schedule to an optimizer in a run (setting its learning rates for interval 0).
    public var build: (any Optimizer, ScheduleContext) throws -> any LearningRateSchedule

    /// A schedule made by `make`, leading `A+B` for `length` intervals when that is not `nil`.
    public init(length: Int? = nil, make: @escaping (any Optimizer) throws -> any LearningRateSchedule) {
        self.length = length
        self.build = { optimizer, _ in try make(optimizer) }
    }

    /// A schedule that depends on the run (`onecycle` needs its number of optimizer steps).
    public init(length: Int? = nil, build: @escaping (any Optimizer, ScheduleContext) throws -> any LearningRateSchedule) {
        self.length = length
        self.build = build
    }

    /// Attaches the schedule to an optimizer in a run of ``ScheduleContext/nominal`` length.
    public var make: (any Optimizer) throws -> any LearningRateSchedule { { [build] in try build($0, .nominal) } }
}

/// A kind of schedule a `--schedule` spec can name by its first field: `cosine:T_MAX[:ETA_MIN]`.
public struct ScheduleKind: Sendable {
    /// The name of the first field, lower-case (`"cosine"`).
    public let name: String
    /// Other names for it (`"exponential"` for `exp`).
    public let aliases: [String]
    /// The grammar, for help and messages (`"cosine:T_MAX[:ETA_MIN]"`).
    public let grammar: String
    /// One line for help: the schedule and its reference.
    public let summary: String
    /// Whether it steps per epoch or per optimizer step.
    public let interval: SchedulingInterval
    /// Reads the fields (the name is field 0) into a schedule; throws ``ScheduleFields/fail(_:)``
    /// errors for bad values.
    public let parse: @Sendable (ScheduleFields) throws -> ParsedSchedule

    /// A kind named `name` (and `aliases`), described by `grammar` and `summary`, stepped every
    /// `interval`, whose specs `parse` reads.
    public init(_ name: String, aliases: [String] = [], grammar: String, summary: String,
                interval: SchedulingInterval = .epoch, parse: @escaping @Sendable (ScheduleFields) throws -> ParsedSchedule) {
        self.name = name.lowercased()
        self.aliases = aliases.map { $0.lowercased() }
        self.grammar = grammar
        self.summary = summary
        self.interval = interval
        self.parse = parse
    }
}

extension ScheduleKind: RegistryEntry {
    var lookupNames: [String] { [name] + aliases }
    var identity: String { grammar }
}

/// Every schedule kind a `--schedule` spec can name, found by the spec's first field (any case);
/// `ScheduleSpecification` (NablaTraining) parses specs through it, `--help` lists it. A kind defined elsewhere
/// is registered once, before a spec names it:
///
/// ```swift
/// ScheduleRegistry.register(ScheduleKind("halve", grammar: "halve:EVERY", summary: "…") { fields in
///     try fields.allow(atMost: 2)
///     let every = try fields.positiveInteger(1, "EVERY")
///     return ParsedSchedule(length: every) { try StepLR($0, stepSize: every, gamma: 0.5) }
/// })
/// ```
///
/// The registry is safe to use from several threads.
public enum ScheduleRegistry {
    /// The schedules Nabla ships, in the order help lists them.
    static var builtIns: [ScheduleKind] {
        [
            ScheduleKind("step", grammar: "step:STEP_SIZE[:GAMMA]",
                         summary: "StepLR: lr × GAMMA (0.1) every STEP_SIZE epochs") { f in
                try f.allow(atMost: 3)
                let size = try f.positiveInteger(1, "step size"), gamma = try f.number(2, "gamma", default: 0.1)
                return ParsedSchedule(length: size) { try StepLR($0, stepSize: size, gamma: gamma) }
            },
            ScheduleKind("multistep", grammar: "multistep:M1,M2,…[:GAMMA]",
                         summary: "MultiStepLR: lr × GAMMA (0.1) at each milestone epoch") { f in
                try f.allow(atMost: 3)
                let milestones = try f.positiveIntegers(1, "milestones"), gamma = try f.number(2, "gamma", default: 0.1)
                return ParsedSchedule { try MultiStepLR($0, milestones: milestones, gamma: gamma) }
            },
            ScheduleKind("exp", aliases: ["exponential"], grammar: "exp:GAMMA",
                         summary: "ExponentialLR: lr × GAMMA every epoch") { f in
                try f.allow(atMost: 2)
                let gamma = try f.number(1, "gamma")
                return ParsedSchedule { try ExponentialLR($0, gamma: gamma) }
            },
            ScheduleKind("cosine", grammar: "cosine:T_MAX[:ETA_MIN]",
                         summary: "CosineAnnealingLR: cosine from lr to ETA_MIN (0) over T_MAX epochs (Loshchilov, Hutter, ICLR 2017)") { f in
                try f.allow(atMost: 3)
                let tMax = try f.positiveInteger(1, "T_max"), etaMin = try f.number(2, "eta_min", default: 0)
                return ParsedSchedule(length: tMax) { try CosineAnnealingLR($0, maximumSteps: tMax, minimumLearningRate: etaMin) }
            },
            ScheduleKind("warmup", aliases: ["linear"], grammar: "warmup:EPOCHS[:START_FACTOR]",
                         summary: "LinearLR: linear warm-up from START_FACTOR (0.1) × lr to lr over EPOCHS (Goyal et al. 2017)") { f in
                try f.allow(atMost: 3)
                let epochs = try f.positiveInteger(1, "warm-up length"), start = try f.number(2, "start factor", default: 0.1)
                return ParsedSchedule(length: epochs) { try LinearLR($0, startFactor: start, endFactor: 1, totalSteps: epochs) }
            },
            ScheduleKind("plateau", grammar: "plateau[:FACTOR[:PATIENCE]]",
                         summary: "ReduceLROnPlateau: lr × FACTOR (0.1) after PATIENCE (10) epochs without a lower validation loss") { f in
                try f.allow(atMost: 3)
                let patience = try f.positiveInteger(2, "patience", default: 10), factor = try f.number(1, "factor", default: 0.1)
                return ParsedSchedule { try ReduceLROnPlateau($0, factor: factor, patience: patience) }
            },
            ScheduleKind("onecycle", grammar: "onecycle:MAX_LR[:PCT_START]",
                         summary: "OneCycleLR per optimizer step over the whole run: lr MAX_LR/25 → MAX_LR (first PCT_START, 0.3) → MAX_LR/25e4 by cosine, momentum or β1 0.95 → 0.85 → 0.95 (Smith, Topin 2019)",
                         interval: .step) { f in
                try f.allow(atMost: 3)
                let maximum = try f.number(1, "MAX_LR"), start = try f.number(2, "PCT_START", default: 0.3)
                guard maximum > 0 else { throw f.fail("MAX_LR must be positive") }
                guard start > 0 && start < 1 else { throw f.fail("PCT_START must be between 0 and 1") }
                return ParsedSchedule { optimizer, context in
                    try OneCycleLR(optimizer, maximumLearningRates: [maximum], totalSteps: context.optimizerSteps, percentStart: start,
                                   cycleMomentum: MomentumCycling(optimizer) != nil)
                }
            },
            ScheduleKind("cosine-restarts", grammar: "cosine-restarts:T0[:T_MULT]",
                         summary: "CosineAnnealingWarmRestarts: cosine from lr to 0 over T0 epochs, restarting with periods × T_MULT (1) (Loshchilov, Hutter, ICLR 2017)") { f in
                try f.allow(atMost: 3)
                let first = try f.positiveInteger(1, "T0"), multiplier = try f.positiveInteger(2, "T_MULT", default: 1)
                return ParsedSchedule(length: first) {
                    try CosineAnnealingWarmRestarts($0, firstPeriod: first, periodMultiplier: multiplier)
                }
            },
            ScheduleKind("poly", aliases: ["polynomial"], grammar: "poly:TOTAL[:POWER]",
                         summary: "PolynomialLR: lr × (1 − epoch/TOTAL)^POWER (1), then 0") { f in
                try f.allow(atMost: 3)
                let total = try f.positiveInteger(1, "TOTAL"), power = try f.number(2, "POWER", default: 1)
                return ParsedSchedule(length: total) { try PolynomialLR($0, totalIterations: total, power: power) }
            },
            ScheduleKind("cyclic", grammar: "cyclic:BASE:MAX[:STEP_UP]",
                         summary: "CyclicLR per optimizer step: triangular between BASE and MAX, STEP_UP (2000) steps up and as many down, momentum or β1 0.9 → 0.8 (Smith, WACV 2017)",
                         interval: .step) { f in
                try f.allow(atMost: 4)
                let base = try f.number(1, "BASE"), maximum = try f.number(2, "MAX"), up = try f.positiveInteger(3, "STEP_UP", default: 2000)
                guard base >= 0, maximum >= 0 else { throw f.fail("BASE and MAX must be non-negative") }
                return ParsedSchedule { optimizer in
                    try CyclicLR(optimizer, baseLearningRates: [base], maximumLearningRates: [maximum], stepSizeUp: up,
                                 cycleMomentum: MomentumCycling(optimizer) != nil)
                }
            },
        ]
    }

    private static let table = RegistryTable("schedule", builtIns: builtIns)

    /// Registers `kind` under its name and aliases; registering the same kind (same names and
    /// grammar) again does nothing.
    /// - Precondition: no other kind has one of its names.
    public static func register(_ kind: ScheduleKind) { table.register(kind) }

    /// Every registered kind, built-ins first, in registration order.
    public static var kinds: [ScheduleKind] { table.all }

    /// The kind named `name` (any case, aliases included), or `nil`.
    public static func kind(named name: String) -> ScheduleKind? { table.entry(named: name) }

    /// Every kind's grammar, comma-separated (`step:STEP_SIZE[:GAMMA], multistep:…`), for help.
    public static var grammar: String { kinds.map(\.grammar).joined(separator: ", ") }
}
