import Foundation
import NablaTensor
import NablaIO
import NablaNN

/// Keeps the weights of the best epochs by a validation metric (`--keep-best METRIC`,
/// `--keep-top-k K`), as PyTorch Lightning's `ModelCheckpoint(monitor=…, save_top_k=K)`.
///
/// After every finished epoch with the metric measured, the epoch's (live) weights are compared with
/// the kept ones: `best-<metric>.safetensors` in the checkpoint directory always holds the best
/// epoch's state dict, and with `K > 1` `top-<metric>/epoch-<E>.safetensors` holds each of the `K`
/// best (a file leaves when its epoch drops out of the top `K`). Ties keep the earlier epoch; a NaN
/// value never enters. Each file's metadata names its epoch and value. Selection is on the
/// validation split only — never on the test set. The kept epochs and values are checkpoint state,
/// so a resumed run keeps choosing exactly as an uninterrupted one.
public final class BestCheckpointCallback: TrainingCallback {
    /// A validation metric to select on.
    public enum Metric: String, CaseIterable, Sendable {
        /// The validation loss (lower is better).
        case validationLoss = "val_loss"
        /// The validation accuracy (higher is better).
        case validationAccuracy = "val_accuracy"

        /// Whether larger values are better.
        public var maximizes: Bool { self == .validationAccuracy }

        /// The metric of an epoch report, if it was measured.
        public func value(in report: EpochReport) -> Double? {
            switch self {
            case .validationLoss: return report.validationLoss
            case .validationAccuracy: return report.validationAccuracy
            }
        }

        /// Parses a metric name (`val_loss`, `val_accuracy`; `val_acc` and dashes accepted).
        /// - Throws: ``/NablaTensor/NablaError`` naming the accepted metrics; test metrics are refused with the reason.
        public init(parsing text: String) throws {
            let name = text.lowercased().replacingOccurrences(of: "-", with: "_")
            if let metric = Metric(rawValue: name == "val_acc" ? "val_accuracy" : name) { self = metric; return }
            if name.hasPrefix("test") {
                throw NablaError(.invalidArgument, "--keep-best \(text): weights are never selected on the test set; use val_loss or val_accuracy with --val-split")
            }
            throw NablaError(.invalidArgument, "--keep-best \(text): expected one of \(Metric.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// The metric epochs are ranked by.
    public let metric: Metric
    /// How many epochs to keep (`K`).
    public let count: Int
    /// Where the files go (the checkpoint directory).
    public let directory: URL
    /// The kept epochs (1-based) and their values, best first.
    public private(set) var kept: [(epoch: Int, value: Double)] = []

    /// `"keep-best"`, the checkpoint prefix of the kept epochs.
    public var name: String { "keep-best" }

    /// A callback keeping the `count` best epochs by `metric` in `directory`.
    /// - Throws: ``/NablaTensor/NablaError`` when `count < 1`.
    public init(metric: Metric, count: Int = 1, directory: URL) throws {
        guard count >= 1 else { throw NablaError(.invalidArgument, "--keep-top-k \(count): must be at least 1") }
        self.metric = metric
        self.count = count
        self.directory = directory
    }

    /// `best-<metric>.safetensors`.
    public var bestURL: URL { directory.appendingPathComponent("best-\(metric.rawValue).safetensors") }

    /// The file of a kept epoch when `K > 1`.
    public func url(epoch: Int) -> URL {
        directory.appendingPathComponent("top-\(metric.rawValue)").appendingPathComponent("epoch-\(epoch).safetensors")
    }

    /// Whether `a` ranks before `b` (strictly better).
    private func isBetter(_ a: Double, than b: Double) -> Bool { metric.maximizes ? a > b : a < b }

    /// Ranks a finished epoch's metric among the kept ones and writes its weights if it enters.
    public func epochDidEnd(_ trainer: Trainer, report: EpochReport) throws {
        guard trainer.progress.stepInEpoch == 0, let value = metric.value(in: report), !value.isNaN else { return }
        let position = kept.firstIndex { isBetter(value, than: $0.value) } ?? kept.count
        guard position < count else { return }
        var file = trainer.model.stateDictFile()
        file.metadata["nabla.epoch"] = String(report.epoch)
        file.metadata["nabla.\(metric.rawValue)"] = "\(value)"
        if position == 0 { try file.write(to: bestURL) }
        kept.insert((report.epoch, value), at: position)
        if count > 1 {
            try FileManager.default.createDirectory(at: url(epoch: report.epoch).deletingLastPathComponent(), withIntermediateDirectories: true)
            try file.write(to: url(epoch: report.epoch))
            for dropped in kept.dropFirst(count) { try? FileManager.default.removeItem(at: url(epoch: dropped.epoch)) }
        }
        kept = Array(kept.prefix(count))
    }

    /// The kept epochs and values, best first (`epochs`, `values`).
    public func checkpointState() -> [String: Tensor<Double>] {
        ["epochs": Tensor(kept.map { Double($0.epoch) }), "values": Tensor(kept.map(\.value))]
    }

    /// Restores what ``checkpointState()`` returned.
    /// - Throws: ``/NablaTensor/NablaError`` for a missing or malformed entry.
    public func restore(checkpointState: [String: Tensor<Double>]) throws {
        guard let epochs = checkpointState["epochs"], let values = checkpointState["values"], epochs.count == values.count,
              epochs.count <= count, epochs.scalars.allSatisfy({ $0 >= 1 && $0 == $0.rounded() }) else {
            throw NablaError(.invalidFile, "keep-best: the kept epochs in the checkpoint are missing or malformed")
        }
        kept = zip(epochs.scalars, values.scalars).map { (Int($0), $1) }
    }
}
