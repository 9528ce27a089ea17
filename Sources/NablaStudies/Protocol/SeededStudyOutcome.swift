import Foundation
import NablaTensor
import NablaNN
import NablaTraining

/// Which setting of a variant: the one chosen on validation, or the textbook one.
public enum SettingKind: String, Sendable, CaseIterable, Codable {
    case tuned, textbook
}

/// A number measured on every final run of a variant, with the split it comes from.
public struct StudyMetric: Sendable {
    /// The key in `results.json` (`test_accuracy`).
    public var name: String
    /// The name on the page (`test accuracy`).
    public var title: String
    /// The split the value is measured on (`test`; `train and test` for a gap).
    public var split: String
    /// Whether a larger value is better (accuracy) or worse (error, gap).
    public var higherIsBetter: Bool
    /// Multiply for display (100: fractions shown in percentage points).
    public var displayScale: Double
    /// The unit after a displayed difference (`points`).
    public var unit: String
    /// The value of one run (`nil` when the run has no such figure).
    public var value: @Sendable (StudyRunResult) -> Double?

    /// A metric (see the properties).
    public init(name: String, title: String, split: String, higherIsBetter: Bool, displayScale: Double = 1, unit: String = "",
                value: @escaping @Sendable (StudyRunResult) -> Double?) {
        self.name = name
        self.title = title
        self.split = split
        self.higherIsBetter = higherIsBetter
        self.displayScale = displayScale
        self.unit = unit
        self.value = value
    }

    /// Top-1 accuracy on the test split, evaluated once after training.
    public static let testAccuracy = StudyMetric(name: "test_accuracy", title: "test accuracy", split: "test", higherIsBetter: true,
                                                 displayScale: 100, unit: "points") { $0.test?.accuracy }
    /// The generalization gap: accuracy on the clean training part after the last epoch minus
    /// test accuracy (both in evaluation mode). Smaller is better.
    public static let generalizationGap = StudyMetric(name: "train_minus_test_accuracy", title: "train − test accuracy gap",
                                                      split: "train and test", higherIsBetter: false, displayScale: 100, unit: "points") { run in
        guard let train = run.final?.trainAccuracy, let test = run.test?.accuracy else { return nil }
        return train - test
    }
    /// Expected calibration error on the test split. Smaller is better.
    public static let calibrationError = StudyMetric(name: "test_ece", title: "test calibration error (ECE)", split: "test",
                                                     higherIsBetter: false, displayScale: 100, unit: "points") { $0.test?.calibrationError }
    /// Cross-entropy on the test split.
    public static let testLoss = StudyMetric(name: "test_loss", title: "test loss", split: "test", higherIsBetter: false) { $0.test?.loss }
}

/// What a ``SeededStudy`` produced: the tuning trials, the chosen settings, and the final runs of
/// every variant; comparisons are computed from them on demand.
public struct SeededStudyOutcome: Sendable {
    /// One grid point of a variant's tuning.
    public struct Trial: Sendable {
        /// The grid point.
        public var setting: VariantSetting
        /// The tuning seeds it ran on.
        public var seeds: [UInt64]
        /// The selection score per tuning seed: final validation accuracy, `nil` for a diverged run.
        public var scores: [Double?]
        /// Final validation accuracy per tuning seed, also of diverged runs (last good weights).
        public var validationAccuracies: [Double?]

        /// The mean score over the tuning seeds; `nil` when any run diverged.
        public var score: Double? {
            let values = scores.compactMap { $0 }
            guard values.count == scores.count, !values.isEmpty else { return nil }
            return values.reduce(0, +) / Double(values.count)
        }
    }

    /// A variant at one setting on every final seed.
    public struct Arm: Sendable {
        /// The setting every seed ran at.
        public var setting: VariantSetting
        /// The plan of each seed's run (for reproduce commands).
        public var plans: [TrainingPlan]
        /// Each seed's result, in the order of ``SeededStudyOutcome/seeds``.
        public var runs: [StudyRunResult]
    }

    /// A variant's tuning trials and its final runs at the textbook and the tuned setting.
    public struct Variant: Sendable {
        /// The variant's key (`l2-decay`).
        public var key: String
        /// Its name on the page (`L2 weight decay`).
        public var name: String
        /// One sentence on what it changes.
        public var summary: String
        /// The model (for its model file), when the plans carry it inline.
        public var model: ModelDescription?
        /// The final runs at the textbook setting.
        public var textbook: Arm
        /// `nil` when the study did not tune.
        public var tuned: Arm?
        /// The tuning grid's trials (empty without tuning).
        public var trials: [Trial]

        /// The arm of `kind` (the textbook arm when the study did not tune).
        public func arm(_ kind: SettingKind) -> Arm { kind == .tuned ? (tuned ?? textbook) : textbook }
        /// Whether tuning chose something other than the textbook setting.
        public var tuningChangedTheSetting: Bool { tuned.map { $0.setting != textbook.setting } ?? false }
    }

    /// The study's name (`mlp`).
    public var name: String
    /// The study's heading.
    public var title: String
    /// One paragraph on the data, model and training.
    public var description: String
    /// The final seeds, paired across variants.
    public var seeds: [UInt64]
    /// Empty when the study did not tune.
    public var tuningSeeds: [UInt64]
    /// The comparisons the study makes.
    public var families: [ComparisonFamily]
    /// Every variant, the baselines among them.
    public var variants: [Variant]
    /// Grid points per variant (0 without tuning).
    public var budget: Int
    /// Where the runs' logs are (see ``SeededStudy/runDirectory(runs:study:tuning:variant:setting:seed:)``).
    public var runsDirectory: URL?

    /// The variant with `key`, if any.
    public func variant(_ key: String) -> Variant? { variants.first { $0.key == key } }

    /// The setting kinds the outcome has: `[.tuned, .textbook]` after tuning, `[.textbook]` without.
    public var settingKinds: [SettingKind] { tuningSeeds.isEmpty ? [.textbook] : [.tuned, .textbook] }

    /// The grid point with the best score (ties: the earlier one), or `nil` when every run diverged.
    static func select(_ trials: [Trial]) -> VariantSetting? {
        var best: Trial?
        for trial in trials {
            guard let score = trial.score else { continue }
            if best == nil || score > best!.score! { best = trial }
        }
        return best?.setting
    }

    /// The comparison of `family`'s members with its baseline on `metric`, every variant at its
    /// `setting` kind.
    /// - Throws: ``StatisticsError`` only for malformed numbers (a non-finite metric value).
    public func comparison(_ family: ComparisonFamily, setting: SettingKind, metric: StudyMetric) throws -> StudyComparison {
        func row(_ key: String) -> StudyComparison.Row {
            let v = variant(key)!
            let arm = v.arm(setting)
            return StudyComparison.Row(key: key, name: v.name, setting: arm.setting, values: arm.runs.map(metric.value))
        }
        return try StudyComparison(name: "\(name)/\(family.name)/\(setting.rawValue)/\(metric.name)", family: family, setting: setting,
                                   metric: metric, seeds: seeds, baseline: row(family.baseline), members: family.members.map(row))
    }
}

/// One family of paired comparisons on one metric — an entry of `results.json`'s `studies`.
public struct StudyComparison: Sendable {
    /// A variant's per-seed values and, for members, its comparison with the baseline.
    public struct Row: Sendable {
        /// The variant's key.
        public var key: String
        /// The variant's name on the page.
        public var name: String
        /// The setting its values were measured at.
        public var setting: VariantSetting
        /// One value per seed (`nil` where the run has no such figure).
        public var values: [Double?]
        /// Mean, standard deviation and t-interval of the values (`nil` if any is missing).
        public var summary: SampleSummary?
        /// The paired comparison with the baseline (members only; `nil` if a value is missing).
        public var comparison: PairedComparison?
        /// The verdict after Holm–Bonferroni over the family (members only).
        public var verdict: Verdict?

        init(key: String, name: String, setting: VariantSetting, values: [Double?]) {
            self.key = key
            self.name = name
            self.setting = setting
            self.values = values
        }

        /// The values when none is missing.
        public var completeValues: [Double]? {
            let present = values.compactMap { $0 }
            return present.count == values.count && !present.isEmpty ? present : nil
        }
    }

    /// `<study>/<family>/<setting kind>/<metric>` (`mlp/regularizers/tuned/test_accuracy`).
    public var name: String
    /// The family compared.
    public var family: ComparisonFamily
    /// Textbook or tuned settings.
    public var setting: SettingKind
    /// The metric compared.
    public var metric: StudyMetric
    /// The seeds that pair the values.
    public var seeds: [UInt64]
    /// The baseline's values.
    public var baseline: Row
    /// The members' values, comparisons and verdicts.
    public var members: [Row]
    /// The family-wise significance level.
    public var alpha: Double

    /// Compares every member with the baseline on the same seeds: paired t-test and t-interval of
    /// the difference (member − baseline), p-values Holm-adjusted over the members, verdicts.
    /// - Throws: ``StatisticsError`` for a non-finite value.
    public init(name: String, family: ComparisonFamily, setting: SettingKind, metric: StudyMetric, seeds: [UInt64],
                baseline: Row, members: [Row], alpha: Double = 0.05) throws {
        self.name = name
        self.family = family
        self.setting = setting
        self.metric = metric
        self.seeds = seeds
        self.alpha = alpha
        var baseline = baseline
        var members = members
        baseline.summary = try baseline.completeValues.map { try SampleSummary(of: $0) }
        for i in members.indices {
            members[i].summary = try members[i].completeValues.map { try SampleSummary(of: $0) }
            if let b = baseline.completeValues, let v = members[i].completeValues {
                members[i].comparison = try PairedComparison(baseline: b, variant: v)
            }
        }
        let adjusted = try HolmBonferroni.adjustedPValues(members.map { $0.comparison?.pValue })
        for i in members.indices {
            if let comparison = members[i].comparison {
                members[i].verdict = try Verdict(comparison: comparison, adjustedPValue: adjusted[i], alpha: alpha,
                                                 higherIsBetter: metric.higherIsBetter)
            }
        }
        self.baseline = baseline
        self.members = members
    }
}
