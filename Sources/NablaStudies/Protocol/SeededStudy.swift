import Foundation
import NablaTensor
import NablaIO
import NablaNN
import NablaTraining

/// A comparison of training variants that a reader can trust: tuned on validation data with equal
/// budgets, trained on several paired seeds, judged on the test set once, with intervals and
/// corrected tests (Bouthillier et al., 2021; Dodge et al., 2019; Henderson et al., 2018).
///
/// **Protocol.**
/// 1. *Tuning* — every variant trains each point of its grid (the same number of points for every
///    variant, the baseline included) on the ``tuningSeeds``, which are not the final seeds. The
///    plan's validation split, carved from the training data with the run's seed, scores each run:
///    its validation accuracy after the last epoch. The point with the best mean score is the
///    variant's *tuned* setting (ties: the earlier grid point; a diverged run scores nothing). The
///    test split is never evaluated in this stage.
/// 2. *Final runs* — every variant trains at its tuned setting and at its *textbook* setting on the
///    final ``seeds``; each final run is evaluated on the test split exactly once, after training.
///    Seed *i* gives every variant the same validation split, data order, augmentation stream and
///    — for weight layers of equal shapes — the same initial weights, so the runs of two variants on
///    seed *i* form a pair.
/// 3. *Comparisons* — ``SeededStudyOutcome/comparison(_:setting:metric:)`` compares each variant
///    of a ``ComparisonFamily`` with the family's baseline on the paired per-seed differences:
///    Student-t interval, paired t-test, Holm–Bonferroni over the family, and a ``Verdict``.
///
/// Both stages go through a ``StudyEngine``, so finished runs are cached and the work of a stage is
/// spread over the engine's executor.
public struct SeededStudy {
    /// A short name: the directory of the study's runs and the prefix of its job ids (`mlp`).
    public var name: String
    /// The heading of the study in the report.
    public var title: String
    /// One paragraph on the data, model and training.
    public var description: String
    /// The variants, the baseline among them, each with its textbook setting and tuning grid.
    public var variants: [StudyVariant]
    /// The comparisons: each family's members against its baseline, Holm-corrected within the family.
    public var families: [ComparisonFamily]
    /// The seeds of the final runs (≥ 5 by default).
    public var seeds: [UInt64]
    /// The seeds of the tuning runs (disjoint from ``seeds``).
    public var tuningSeeds: [UInt64]
    /// Whether to tune at all; without tuning only the textbook settings run.
    public var tunes = true
    /// The ``StudyJob/dataIdentity`` of the plans' data spec.
    public var dataIdentity: String
    /// Where the runs' TensorBoard logs go: `<runsDirectory>/<name>/<variant>/<setting>/seed-<s>`
    /// (and `<name>-tuning/…` for tuning runs); `nil`: no logs.
    public var runsDirectory: URL?
    /// What tuning runs measure (validation every epoch, never the test split).
    public var tuningMeasurement = StudyMeasurement.tuningTrial
    /// What final runs measure (the test split once, after training).
    public var finalMeasurement = StudyMeasurement.finalRun
    /// Histograms of the weights and gradients each epoch in the final runs' TensorBoard logs.
    public var logsHistograms = true

    /// A study of `variants` compared in `families`, on final `seeds` and `tuningSeeds` (see the properties).
    public init(name: String, title: String, description: String, variants: [StudyVariant], families: [ComparisonFamily],
                seeds: [UInt64], tuningSeeds: [UInt64], dataIdentity: String, runsDirectory: URL?) {
        self.name = name
        self.title = title
        self.description = description
        self.variants = variants
        self.families = families
        self.seeds = seeds
        self.tuningSeeds = tuningSeeds
        self.dataIdentity = dataIdentity
        self.runsDirectory = runsDirectory
    }

    /// The log directory of a run: `<runs>/<study>/<variant>/<setting>/seed-<s>` for final runs,
    /// `<runs>/<study>-tuning/…` for tuning runs.
    public static func runDirectory(runs: URL, study: String, tuning: Bool, variant: String, setting: VariantSetting, seed: UInt64) -> URL {
        runs.appendingPathComponent(tuning ? "\(study)-tuning" : study)
            .appendingPathComponent(variant).appendingPathComponent(setting.slug).appendingPathComponent("seed-\(seed)")
    }

    func directory(tuning: Bool, variant: StudyVariant, setting: VariantSetting, seed: UInt64) -> URL? {
        runsDirectory.map { Self.runDirectory(runs: $0, study: name, tuning: tuning, variant: variant.key, setting: setting, seed: seed) }
    }

    /// The job of one run.
    func job(_ variant: StudyVariant, _ setting: VariantSetting, seed: UInt64, tuning: Bool) throws -> StudyJob {
        var plan = try variant.plan(setting)
        plan.seed = seed
        plan.output = TrainingPlan.Output()
        plan.output.logDirectory = directory(tuning: tuning, variant: variant, setting: setting, seed: seed)?.path
        plan.output.logHistograms = !tuning && logsHistograms
        plan.output.quiet = true
        let stage = tuning ? "tune" : "final"
        return StudyJob(id: "\(name)/\(stage)/\(variant.key)/\(setting.slug)/seed-\(seed)", plan: plan,
                        measurement: tuning ? tuningMeasurement : finalMeasurement, dataIdentity: dataIdentity)
    }

    /// Checks the study's shape: unique keys, families over known variants, equal budgets.
    /// - Throws: ``NablaError`` naming the problem.
    public func validate() throws {
        let keys = variants.map(\.key)
        guard Set(keys).count == keys.count else { throw NablaError(.invalidArgument, "study \(name): variant keys repeat: \(keys)") }
        for family in families {
            for key in [family.baseline] + family.members where !keys.contains(key) {
                throw NablaError(.invalidArgument, "study \(name): family \(family.name) names unknown variant '\(key)'")
            }
        }
        guard !seeds.isEmpty else { throw NablaError(.invalidArgument, "study \(name): no seeds") }
        guard Set(seeds).isDisjoint(with: tuningSeeds) else {
            throw NablaError(.invalidArgument, "study \(name): tuning seeds \(tuningSeeds) overlap the final seeds")
        }
        if tunes {
            guard !tuningSeeds.isEmpty else { throw NablaError(.invalidArgument, "study \(name): tuning needs at least one tuning seed") }
            let budgets = Set(variants.map(\.grid.count))
            guard budgets.count == 1, let budget = budgets.first, budget >= 1 else {
                throw NablaError(.invalidArgument, "study \(name): every variant needs a grid of the same size (equal budgets), got "
                                 + variants.map { "\($0.key) \($0.grid.count)" }.joined(separator: ", "))
            }
        }
    }

    /// Runs the protocol: tuning (if ``tunes``), selection on validation, final runs.
    /// - Throws: ``NablaError`` from a plan, a run, or the cache.
    public func run(engine: StudyEngine) throws -> SeededStudyOutcome {
        try validate()
        var trials: [String: [SeededStudyOutcome.Trial]] = [:]
        var tuned: [String: VariantSetting] = [:]
        if tunes {
            var jobs: [StudyJob] = []
            for variant in variants {
                for setting in variant.grid {
                    for seed in tuningSeeds { jobs.append(try job(variant, setting, seed: seed, tuning: true)) }
                }
            }
            let results = try engine.run(jobs, stage: "\(title) — tuning on the validation split")
            for variant in variants {
                let rows = try variant.grid.map { setting -> SeededStudyOutcome.Trial in
                    let runs = try tuningSeeds.map { results[try job(variant, setting, seed: $0, tuning: true).id]! }
                    return SeededStudyOutcome.Trial(setting: setting, seeds: tuningSeeds, scores: runs.map(\.selectionScore),
                                                    validationAccuracies: runs.map { $0.final?.validationAccuracy })
                }
                trials[variant.key] = rows
                tuned[variant.key] = SeededStudyOutcome.select(rows) ?? variant.textbook
            }
        }
        var jobs: [StudyJob] = []
        for variant in variants {
            var settings = tuned[variant.key].map { [$0] } ?? []
            if !settings.contains(variant.textbook) { settings.append(variant.textbook) }
            for setting in settings {
                for seed in seeds { jobs.append(try job(variant, setting, seed: seed, tuning: false)) }
            }
        }
        let results = try engine.run(jobs, stage: "\(title) — final runs on \(seeds.count) seeds")
        var outcomes: [SeededStudyOutcome.Variant] = []
        for variant in variants {
            func arm(_ setting: VariantSetting) throws -> SeededStudyOutcome.Arm {
                let runJobs = try seeds.map { try job(variant, setting, seed: $0, tuning: false) }
                return SeededStudyOutcome.Arm(setting: setting, plans: runJobs.map(\.plan), runs: runJobs.map { results[$0.id]! })
            }
            let model = try variant.plan(variant.textbook).model.description
            outcomes.append(SeededStudyOutcome.Variant(
                key: variant.key, name: variant.name, summary: variant.summary, model: model,
                textbook: try arm(variant.textbook), tuned: try tuned[variant.key].map(arm), trials: trials[variant.key] ?? []))
        }
        return SeededStudyOutcome(name: name, title: title, description: description, seeds: seeds, tuningSeeds: tunes ? tuningSeeds : [],
                                  families: families, variants: outcomes,
                                  budget: tunes ? (variants.first?.grid.count ?? 0) : 0, runsDirectory: runsDirectory)
    }
}
