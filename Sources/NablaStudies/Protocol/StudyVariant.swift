import Foundation
import NablaTensor
import NablaTraining

/// One named hyper-parameter value of a variant: the learning rate, a penalty's λ, a dropout p.
public struct HyperParameter: Codable, Equatable, Hashable, Sendable {
    /// A short name used in labels, file names and `results.json` (`lr`, `weight_decay`, `p`).
    public var name: String
    /// The value used in the run.
    public var value: Double

    /// `name = value`.
    public init(_ name: String, _ value: Double) {
        self.name = name
        self.value = value
    }
}

/// A point of a variant's grid: its hyper-parameters in a fixed order (`lr 0.05, weight_decay 5e-4`).
public struct VariantSetting: Codable, Equatable, Hashable, Sendable {
    /// The hyper-parameters, in the variant's order.
    public var values: [HyperParameter]

    /// A setting of `values`.
    public init(_ values: [HyperParameter]) { self.values = values }

    /// `lr 0.05, p 0.5` (shortest decimal forms), or `default` for no hyper-parameters.
    public var label: String {
        values.isEmpty ? "default" : values.map { "\($0.name) \(Self.format($0.value))" }.joined(separator: ", ")
    }

    /// `lr=0.05,p=0.5`: the directory name of the setting's runs.
    public var slug: String {
        values.isEmpty ? "default" : values.map { "\($0.name)=\(Self.format($0.value))" }.joined(separator: ",")
    }

    /// The value of the hyper-parameter `name`, if the setting has it.
    public subscript(_ name: String) -> Double? { values.first { $0.name == name }?.value }

    /// A number as short as it reads exactly (`0.05`, `1e-05`).
    static func format(_ x: Double) -> String {
        let text = "\(x)"
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// The grid `first × second × …`: every combination, the first hyper-parameter varying slowest.
    public static func grid(_ axes: [(name: String, values: [Double])]) -> [VariantSetting] {
        axes.reduce([VariantSetting([])]) { settings, axis in
            settings.flatMap { s in axis.values.map { VariantSetting(s.values + [HyperParameter(axis.name, $0)]) } }
        }
    }
}

/// One arm of a seeded study: what it changes, its textbook setting, the grid it is tuned over, and
/// how to build its run at a setting.
///
/// Every variant of a study is tuned with the same budget — the same number of grid points, each
/// trained for the same epochs on the same tuning seeds — so that a variant with more knobs does not
/// win by being searched harder (Dodge et al., 2019, "Show Your Work"). The baseline is a variant
/// like the others and is tuned too.
public struct StudyVariant {
    /// A short identifier (`l2-decay`): directory names, `results.json`.
    public var key: String
    /// The name in tables and legends (`L2 weight decay`).
    public var name: String
    /// One sentence on what the variant changes.
    public var summary: String
    /// The setting a textbook would use (λ = 5e-4, p = 0.5) at the study's default learning rate.
    public var textbook: VariantSetting
    /// The tuning grid (its size is the study's budget per variant).
    public var grid: [VariantSetting]
    /// The training plan at a setting, without seed or outputs (the study sets those).
    public var plan: (VariantSetting) throws -> TrainingPlan

    /// A variant (see the properties).
    public init(key: String, name: String, summary: String, textbook: VariantSetting, grid: [VariantSetting],
                plan: @escaping (VariantSetting) throws -> TrainingPlan) {
        self.key = key
        self.name = name
        self.summary = summary
        self.textbook = textbook
        self.grid = grid
        self.plan = plan
    }
}

/// A group of variants compared with one reference variant (the baseline), with one
/// Holm–Bonferroni correction over its comparisons — one entry of `results.json`'s `studies`.
public struct ComparisonFamily: Sendable, Equatable {
    /// `regularizers`, `stochastic-depth`, …
    public var name: String
    /// What the family asks, for the report.
    public var question: String
    /// The key of the reference variant.
    public var baseline: String
    /// The keys of the variants compared with it.
    public var members: [String]

    /// A family that compares `members` (variant keys) with `baseline` to answer `question`.
    public init(name: String, question: String, baseline: String, members: [String]) {
        self.name = name
        self.question = question
        self.baseline = baseline
        self.members = members
    }
}
