import Foundation
import NablaTensor
import NablaNN
import NablaTraining

/// How a replication came out.
public enum ReplicationStatus: String, Sendable, Codable {
    /// The measurement falls in the band the card fixed in advance.
    case replicated
    /// It does not.
    case notReplicated = "not replicated"

    /// `replicated` or `not replicated`.
    public var text: String { rawValue }
}

/// What a card measured and how it is judged.
public struct ReplicationOutcome {
    /// Whether the measurement falls in the card's band.
    public var status: ReplicationStatus
    /// One line: the measured numbers (mean ± interval over seeds) that decide the status.
    public var measured: String
    /// Why it came out this way, in a sentence or two, written from the numbers.
    public var explanation: String
    /// Tables and charts for the card.
    public var tables: [ReportTable]
    /// Charts of the card, each with an optional caption.
    public var charts: [(any Chart, String?)]
    /// Paired comparisons of the card, for `results.json`.
    public var comparisons: [StudyComparison]
}

/// A scaled-down replication of a published result: the paper's claim and number, our setup (what
/// was scaled down), the band that counts as replicated — fixed before running — and, once its jobs
/// ran, what was measured and whether it falls in the band.
public struct ReplicationCard {
    /// A short name for `nabla study replicate NAME` (`dropout`).
    public var key: String
    /// The card's heading (`(a) Dropout lowers the test error of an MLP`).
    public var title: String
    /// The paper, cited by author and year.
    public var source: String
    /// The claim being replicated, with the paper's number.
    public var claim: String
    /// Our setup and what was scaled down.
    public var setup: String
    /// The band that counts as replicated.
    public var band: String
    /// The runs the card needs (run by the study's engine together with the other cards' runs).
    public var jobs: [StudyJob]
    /// Judges the results (by job id).
    public var judge: ([String: StudyRunResult]) throws -> ReplicationOutcome

    /// A card (see the properties).
    public init(key: String, title: String, source: String, claim: String, setup: String, band: String, jobs: [StudyJob],
                judge: @escaping ([String: StudyRunResult]) throws -> ReplicationOutcome) {
        self.key = key
        self.title = title
        self.source = source
        self.claim = claim
        self.setup = setup
        self.band = band
        self.jobs = jobs
        self.judge = judge
    }
}

/// What the cards share: the data, where logs go, the seeds, and helpers to build plans and jobs.
public struct ReplicationContext {
    /// The data of most cards (a training subset and the test set).
    public var data: StudyData
    /// The data of cards that need the whole training set (the Fashion-MNIST baseline).
    public var fullData: StudyData?
    /// The ``StudyJob/dataIdentity`` of ``data``.
    public var dataIdentity: String
    /// Where the runs' TensorBoard logs go (`nil`: none).
    public var runsDirectory: URL?
    /// Seeds of every paired comparison.
    public var seeds: [UInt64]
    /// Scale factor on the cards' epochs (`--quick`: fewer).
    public var epochScale: Double = 1
    /// Every card's epochs, instead of its own (`--epochs`: a smoke test; the bands assume the cards' own).
    public var epochOverride: Int?

    /// A context (see the properties).
    public init(data: StudyData, fullData: StudyData?, dataIdentity: String, runsDirectory: URL?, seeds: [UInt64]) {
        self.data = data
        self.fullData = fullData
        self.dataIdentity = dataIdentity
        self.runsDirectory = runsDirectory
        self.seeds = seeds
    }

    var classCount: Int { data.train.classCount ?? 10 }
    var inputShape: [Int] { data.train.sampleShape }

    /// The first `n` training images, or all of them when there are fewer (so the setup text says what ran).
    func subset(_ n: Int) -> Int { min(n, data.train.count) }

    func epochs(_ n: Int) -> Int { epochOverride ?? max(1, Int((Double(n) * epochScale).rounded())) }

    /// How the setup texts name the data that ran: `Fashion-MNIST` for `--data fashion-mnist`, `synthetic
    /// images` for the generated stand-in, otherwise the name the data's description starts with (a
    /// file's name without its directory).
    var dataName: String {
        let name = data.description.range(of: ": ").map { String(data.description[..<$0.lowerBound]) } ?? data.dataSpec
        if name == "fashion-mnist" { return "Fashion-MNIST" }
        return name.contains("/") ? URL(fileURLWithPath: name).lastPathComponent : name
    }

    /// A plan on the first `subset` training images (all when `nil` or larger than the data) with a
    /// validation split, standardized inputs and Kaiming-normal weights.
    func plan(_ model: ModelDescription, subset: Int?, validationFraction: Double, epochs: Int, batchSize: Int,
              full: Bool = false) -> TrainingPlan {
        let source = full ? (fullData ?? data) : data
        var plan = TrainingPlan(model: .init(description: model), data: .init(spec: source.dataSpec))
        plan.data.trainSubset = subset.map { min($0, source.train.count) } ?? source.trainSubset
        plan.data.validationFraction = validationFraction
        plan.data.normalize = source.normalizes
        plan.model.initialization = .kaimingNormal
        plan.epochs = self.epochs(epochs)
        plan.batchSize = batchSize
        return plan
    }

    /// The job of `plan` at `seed`, logged under `runs/<card>/<arm>/seed-<seed>`.
    func job(card: String, arm: String, plan: TrainingPlan, seed: UInt64, measurement: StudyMeasurement = .finalRun,
             full: Bool = false) -> StudyJob {
        var plan = plan
        plan.seed = seed
        plan.output = TrainingPlan.Output()
        plan.output.logDirectory = runsDirectory?.appendingPathComponent(card).appendingPathComponent(arm)
            .appendingPathComponent("seed-\(seed)").path
        plan.output.logHistograms = false
        plan.output.quiet = true
        return StudyJob(id: "\(card)/\(arm)/seed-\(seed)", plan: plan, measurement: measurement,
                        dataIdentity: full ? (fullDataIdentity ?? dataIdentity) : dataIdentity)
    }

    /// The data identity of ``fullData``.
    public var fullDataIdentity: String?
}

extension ReplicationCard {
    static func percent(_ x: Double, digits: Int = 2) -> String { String(format: "%.\(digits)f%%", x * 100) }

    /// `91.23% [90.80, 91.66]` — mean and 95% t-interval.
    static func meanWithInterval(_ values: [Double], scale: Double = 100, digits: Int = 2, unit: String = "%") -> String {
        guard let s = try? SampleSummary(of: values) else { return "—" }
        var text = String(format: "%.\(digits)f", s.mean * scale) + unit
        if let i = s.interval { text += String(format: " [%.\(digits)f, %.\(digits)f]", i.lower * scale, i.upper * scale) }
        return text
    }
}
