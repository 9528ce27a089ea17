import Foundation
import NablaTensor
import NablaIO

/// `results.json`: every number behind a study report's verdicts, in a shape outside tools can read.
///
///     {"studies": [{"name", "metric", "higher_is_better", "baseline",
///                   "variants": [{"name", "runs": [{"seed", "split", "value"}],
///                                 "verdict": {"label", "difference", "interval": [lo, hi], "p_value", "test"}}]}]}
///
/// One entry of `studies` is one ``StudyComparison``: a family of variants compared with its
/// baseline on one metric at one setting kind. Extra keys say everything else a checker needs: the
/// split of every value, the setting each variant ran at and how it was chosen (`selection`: the
/// tuning trials, each scored on the validation split), the unadjusted p-value, the correction
/// (Holm–Bonferroni), the interval (Student t, 95%) and the effect size. The baseline is listed
/// among the variants with `"verdict": null`. `label` is `better`, `worse` or `no detectable
/// difference`; `p_value` is the Holm-adjusted p-value the verdict was judged on.
public struct StudyResultsFile: Encodable {
    struct Run: Encodable {
        var seed: UInt64
        var split: String
        var value: Double?
    }

    struct Trial: Encodable {
        var setting: [String: Double]
        var split = "validation"
        var metric = "validation_accuracy"
        var seeds: [UInt64]
        var values: [Double?]
        var value: Double?
    }

    struct Selection: Encodable {
        var split = "validation"
        var metric = "validation_accuracy"
        var rule = "highest mean final validation accuracy over the tuning seeds; ties and diverged runs: the earlier grid point"
        var tuningSeeds: [UInt64]
        var chosen: [String: Double]
        var textbook: [String: Double]
        var trials: [Trial]
    }

    struct EffectSize: Encodable {
        var cohensDz: Double
        var hedgesGz: Double
    }

    struct VerdictEntry: Encodable {
        var label: String
        var text: String
        var difference: Double
        var interval: [Double]
        var intervalLevel = 0.95
        var intervalMethod = "student-t"
        var pValue: Double
        var pValueUnadjusted: Double
        var correction = "holm-bonferroni"
        var alpha: Double
        var test: String
        var n: Int
        var effectSize: EffectSize?
    }

    struct VariantEntry: Encodable {
        var name: String
        var displayName: String
        var setting: [String: Double]
        var runs: [Run]
        var mean: Double?
        var sd: Double?
        var meanInterval: [Double]?
        var verdict: VerdictEntry?
        var selection: Selection?
    }

    struct StudyEntry: Encodable {
        var name: String
        var regime: String
        var family: String
        var question: String
        var setting: String
        var metric: String
        var split: String
        var higherIsBetter: Bool
        var baseline: String
        var seeds: [UInt64]
        var variants: [VariantEntry]
    }

    struct BestModel: Encodable {
        var regime: String
        var variant: String
        var setting: [String: Double]
        var chosenBy = "highest mean final validation accuracy of the final runs (validation split)"
        var validationAccuracy: Double
    }

    /// A replication card's outcome (`nabla study replicate`).
    struct Replication: Encodable {
        var key: String
        var title: String
        var source: String
        var claim: String
        var setup: String
        var band: String
        var measured: String
        var status: String
        var explanation: String
    }

    /// The record of `nabla study search`: every run with its split, the re-runs, the winner and
    /// its final test runs.
    struct Search: Encodable {
        struct Entry: Encodable {
            var lr: Double
            var weightDecay: Double
            var rung: Int
            var epochs: Int
            var seed: UInt64
            var split = "validation"
            var value: Double?
        }
        var trials: [Entry]
        var reruns: [Entry]
        var winner: [String: Double]
        var chosenBy = "highest mean final validation accuracy over the re-run seeds (validation split)"
        var final: [Run]
    }

    var studies: [StudyEntry]
    var bestModels: [BestModel]
    var replications: [Replication]?
    var search: Search?
    var command: String
    var generated: String

    /// The file's content for `comparisons` of `outcomes`, the best models (chosen on validation)
    /// and the command that made them.
    public init(outcomes: [SeededStudyOutcome], comparisons: [StudyComparison], bestModels: [(SeededStudyOutcome, String, SettingKind)],
                command: String) {
        func dictionary(_ s: VariantSetting) -> [String: Double] { Dictionary(uniqueKeysWithValues: s.values.map { ($0.name, $0.value) }) }
        studies = comparisons.map { comparison in
            let regime = comparison.name.split(separator: "/").first.map(String.init) ?? comparison.name
            let outcome = outcomes.first { $0.name == regime }
            func entry(_ row: StudyComparison.Row) -> VariantEntry {
                var selection: Selection?
                if let variant = outcome?.variant(row.key), let tuned = variant.tuned, comparison.setting == .tuned {
                    selection = Selection(tuningSeeds: outcome?.tuningSeeds ?? [], chosen: dictionary(tuned.setting),
                                          textbook: dictionary(variant.textbook.setting),
                                          trials: variant.trials.map { Trial(setting: dictionary($0.setting), seeds: $0.seeds,
                                                                             values: $0.scores, value: $0.score) })
                }
                var verdict: VerdictEntry?
                if let c = row.comparison, let v = row.verdict, let interval = c.interval, let p = c.pValue {
                    verdict = VerdictEntry(label: v.label == .noDetectableDifference ? "no detectable difference" : v.label.rawValue,
                                           text: v.text, difference: c.meanDifference, interval: [interval.lower, interval.upper],
                                           pValue: v.adjustedPValue ?? p, pValueUnadjusted: p, alpha: v.alpha, test: c.test.name,
                                           n: c.count, effectSize: c.effectSize.map { EffectSize(cohensDz: $0.cohensDz, hedgesGz: $0.hedgesGz) })
                }
                return VariantEntry(name: row.key, displayName: row.name, setting: dictionary(row.setting),
                                    runs: zip(comparison.seeds, row.values).map { Run(seed: $0, split: comparison.metric.split, value: $1) },
                                    mean: row.summary?.mean, sd: row.summary?.standardDeviation,
                                    meanInterval: row.summary?.interval.map { [$0.lower, $0.upper] }, verdict: verdict, selection: selection)
            }
            return StudyEntry(name: comparison.name, regime: regime, family: comparison.family.name, question: comparison.family.question,
                              setting: comparison.setting.rawValue, metric: comparison.metric.name, split: comparison.metric.split,
                              higherIsBetter: comparison.metric.higherIsBetter, baseline: comparison.baseline.key, seeds: comparison.seeds,
                              variants: [entry(comparison.baseline)] + comparison.members.map(entry))
        }
        self.bestModels = bestModels.compactMap { outcome, key, kind in
            guard let variant = outcome.variant(key) else { return nil }
            let arm = variant.arm(kind)
            let accuracies = arm.runs.compactMap { $0.final?.validationAccuracy }
            guard !accuracies.isEmpty else { return nil }
            return BestModel(regime: outcome.name, variant: key, setting: dictionary(arm.setting),
                             validationAccuracy: accuracies.reduce(0, +) / Double(accuracies.count))
        }
        self.command = command
        let formatter = ISO8601DateFormatter()
        generated = formatter.string(from: Date())
    }

    /// The JSON text (sorted keys, snake_case; a missing value is `null`, a non-finite one the
    /// string `"nan"`, `"inf"` or `"-inf"`).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        guard let data = try? encoder.encode(self) else { preconditionFailure("StudyResultsFile holds a value JSON cannot encode") }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Writes ``json`` atomically.
    public func write(to url: URL) throws {
        try AtomicFile.write(Data(json.utf8), to: url)
    }
}
