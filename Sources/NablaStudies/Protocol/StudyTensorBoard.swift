import Foundation
import NablaTensor
import NablaTraining

/// The TensorBoard side of seeded studies: one run directory per variant, setting and seed (the
/// Trainer's scalars and histograms, written by the run itself), each made a session of the HParams
/// dashboard, and the dashboard's experiment at the top of `runs/`:
///
///     runs/                                   ← tensorboard --logdir here (the experiment)
///       mlp/dropout/lr=0.05,p=0.5/seed-3/     ← a final run: hparams + final metrics
///       mlp-tuning/dropout/lr=0.02,p=0.2/seed-1000/
///
/// The hyper-parameters are the study, the variant, the setting (its values: `lr`, `p`, …) and the
/// seed; the metrics are the final figures, each tagged with its split (`final/test_accuracy`).
/// Sessions of one variant and setting share a group, so the dashboard can average their seeds.
/// A run whose directory has no Trainer events (its result came from a cache made elsewhere) gets
/// its per-epoch scalars written from the result.
public enum StudyTensorBoard {
    /// The suffix of the event files written here; they are replaced on every write.
    static let fileSuffix = ".nabla-study"

    static let metrics: [HParamsExperiment.Metric] = [
        .init(tag: "final/validation_accuracy", displayName: "validation accuracy", description: "after the last epoch, validation split", datasetType: 2),
        .init(tag: "final/train_accuracy", displayName: "train accuracy", description: "after the last epoch, clean training part", datasetType: 1),
        .init(tag: "final/test_accuracy", displayName: "test accuracy", description: "test split, evaluated once after training"),
        .init(tag: "final/test_ece", displayName: "test ECE", description: "expected calibration error, test split"),
    ]

    struct Session {
        var directory: URL
        var hparams: [(name: String, value: HParamValue)]
        var group: String
        var result: StudyRunResult?
        var validationAccuracy: Double?
    }

    /// Writes the sessions of every run of `outcomes` and the experiment into `runsDirectory`.
    /// - Throws: ``NablaError`` (`.io`) when a log directory cannot be written.
    public static func write(_ outcomes: [SeededStudyOutcome], to runsDirectory: URL) throws {
        var sessions: [Session] = []
        for outcome in outcomes {
            for variant in outcome.variants {
                var arms: [(SettingKind, SeededStudyOutcome.Arm)] = [(.textbook, variant.textbook)]
                if let tuned = variant.tuned, tuned.setting != variant.textbook.setting { arms.insert((.tuned, tuned), at: 0) }
                for (kind, arm) in arms {
                    let role = variant.tuned?.setting == variant.textbook.setting ? "tuned = textbook" : kind.rawValue
                    for (seed, run) in zip(outcome.seeds, arm.runs) {
                        sessions.append(Session(
                            directory: SeededStudy.runDirectory(runs: runsDirectory, study: outcome.name, tuning: false, variant: variant.key,
                                                                setting: arm.setting, seed: seed),
                            hparams: hparams(study: outcome.name, variant: variant.key, setting: arm.setting, role: role, seed: seed),
                            group: "\(outcome.name)/\(variant.key)/\(arm.setting.slug)", result: run, validationAccuracy: run.final?.validationAccuracy))
                    }
                }
                for trial in variant.trials {
                    for (seed, accuracy) in zip(trial.seeds, trial.validationAccuracies) {
                        sessions.append(Session(
                            directory: SeededStudy.runDirectory(runs: runsDirectory, study: outcome.name, tuning: true, variant: variant.key,
                                                                setting: trial.setting, seed: seed),
                            hparams: hparams(study: "\(outcome.name)-tuning", variant: variant.key, setting: trial.setting, role: "tuning", seed: seed),
                            group: "\(outcome.name)-tuning/\(variant.key)/\(trial.setting.slug)", result: nil, validationAccuracy: accuracy))
                    }
                }
            }
        }
        var names: [String] = [], examples: [String: HParamValue] = [:], stringValues: [String: Set<String>] = [:]
        for session in sessions {
            for (name, value) in session.hparams {
                if examples[name] == nil { names.append(name); examples[name] = value }
                if case .string(let s) = value { stringValues[name, default: []].insert(s) }
            }
        }
        let experiment = HParamsExperiment(
            name: "nabla study", description: "Every run of the study: its variant, setting and seed, and its final figures by split.",
            hparams: names.map { name in
                HParamsExperiment.HParam(name: name, example: examples[name]!,
                                         values: stringValues[name].map { $0.sorted().map(HParamValue.string) })
            },
            metrics: metrics)
        try replaceStudyFiles(in: runsDirectory)
        let root = try SummaryWriter(logDirectory: runsDirectory, filenameSuffix: fileSuffix)
        try root.addHParamsExperiment(experiment)
        try root.close()
        for session in sessions { try write(session) }
    }

    static func hparams(study: String, variant: String, setting: VariantSetting, role: String, seed: UInt64) -> [(name: String, value: HParamValue)] {
        [("study", .string(study)), ("variant", .string(variant)), ("setting", .string(role))]
            + setting.values.map { ($0.name, .number($0.value)) } + [("seed", .number(Double(seed)))]
    }

    /// Removes the event files an earlier write left in `directory`.
    static func replaceStudyFiles(in directory: URL) throws {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for file in files where file.hasSuffix(fileSuffix) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(file))
        }
    }

    static func write(_ session: Session) throws {
        try replaceStudyFiles(in: session.directory)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: session.directory.path)) ?? []
        let hasTrainerEvents = files.contains { $0.hasPrefix("events.out.tfevents.") }
        let writer = try SummaryWriter(logDirectory: session.directory, filenameSuffix: fileSuffix)
        defer { try? writer.close() }
        var step = 0
        if let result = session.result {
            step = result.final?.step ?? 0
            if !hasTrainerEvents {
                for epoch in result.epochs {
                    var scalars: [(tag: String, value: Double)] = [("loss/train", epoch.runningLoss), ("learning_rate", epoch.learningRate)]
                    if let v = epoch.validationLoss { scalars.append(("loss/validation", v)) }
                    if let v = epoch.validationAccuracy { scalars.append(("accuracy/validation", v)) }
                    try writer.addScalars(scalars, step: epoch.step)
                }
            }
        }
        var metrics: [(tag: String, value: Double)] = []
        if let v = session.validationAccuracy { metrics.append(("final/validation_accuracy", v)) }
        if let v = session.result?.final?.trainAccuracy { metrics.append(("final/train_accuracy", v)) }
        if let v = session.result?.test?.accuracy { metrics.append(("final/test_accuracy", v)) }
        if let v = session.result?.test?.calibrationError { metrics.append(("final/test_ece", v)) }
        let diverged = session.result?.divergence != nil || (session.result == nil && session.validationAccuracy == nil)
        try writer.addHParams(session.hparams, metrics: metrics, step: step, groupName: session.group,
                              status: diverged ? .failure : .success)
    }
}
