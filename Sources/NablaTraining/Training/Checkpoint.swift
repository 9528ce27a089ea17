import Foundation
import NablaTensor
import NablaIO
import NablaNN

/// Where a training run stands: enough to continue it exactly.
///
/// Stored in a checkpoint as JSON (`nabla.progress`), where NaN and infinities — a diverged loss, an
/// epoch whose steps were all skipped — are the strings `"nan"`, `"inf"` and `"-inf"`.
public struct TrainingProgress: Codable, Equatable, Sendable {
    /// Epochs completed.
    public var epoch = 0
    /// Batches of the current (incomplete) epoch consumed — its optimizer steps, unless gradients
    /// are accumulated over several batches per step. Equal to the batches per epoch in a
    /// checkpoint written after an epoch's last step but before its end-of-epoch work.
    public var stepInEpoch = 0
    /// Optimizer steps taken in total (skipped non-finite steps included): always
    /// `epoch × batches per epoch + stepInEpoch`.
    public var globalStep = 0
    /// Per-epoch metrics so far (`train_loss`, `test_accuracy`, …), oldest first: one entry per
    /// completed epoch, plus one for the current epoch when a step budget ended inside it.
    public var history: [[String: Double]] = []
    /// Early-stopping bookkeeping: best metric value, its epoch, and epochs without improvement.
    public var bestMetric: Double?
    /// The epoch (1-based) of ``bestMetric``, or `nil` before the first evaluation.
    public var bestEpoch: Int?
    /// Epochs since the last improvement of ``bestMetric``.
    public var epochsWithoutImprovement = 0
    /// Early stopping ended the run: a resumed run has nothing left to train.
    public var earlyStopped: Bool?
    /// The training metrics of the current epoch's steps so far, so that an epoch resumed in its
    /// middle reports the loss and accuracy of all its steps.
    public var epochMetrics: MetricAccumulator?
    /// The loss of the run's first step: the reference of divergence detection.
    public var firstLoss: Double?
    /// The progress of a run that has not started: epoch 0, step 0, no history.
    public init() {}
}

/// A complete training checkpoint in one `.safetensors` file: model weights (`model.<key>`, PyTorch's
/// state-dict keys behind the prefix), optimizer state (`optimizer.<key>`), schedule state
/// (`schedule.<key>`), the states of every random generator, the progress, and the run configuration
/// (metadata, JSON). Written atomically, so a run killed at any moment leaves the previous checkpoint
/// intact.
public struct Checkpoint: Equatable, Sendable {
    /// Bumped when the layout changes incompatibly.
    public static let formatVersion = 1

    /// The model's state dict (PyTorch keys such as `0.weight`, `1.running_mean`), stored as `model.<key>`.
    public var model: [String: Tensor<Float>]
    /// Model keys saved as int64 (`num_batches_tracked`).
    public var integerModelKeys: Set<String>
    /// The exact int64 values of integer model keys (``model`` holds them as `Float`, exact only up
    /// to 2²⁴); written in their place when they round to ``model``'s values (so an edit of
    /// ``model`` is not overridden), and read back from the file's int64 entries. The initializer
    /// fills them from ``model``; set them from ``Module/integerState()`` for exactness.
    public var modelCounters: [String: [Int64]] = [:]
    /// The optimizer's state dict (`state.<i>.<name>`, `param_groups.<g>.<key>`), stored as `optimizer.<key>` in `F64`.
    public var optimizer: [String: Tensor<Double>]
    /// The schedule's state dict (e.g. `last_epoch`), stored as `schedule.<key>` in `F64`; empty without a schedule.
    public var schedule: [String: Tensor<Double>]
    /// The state of every dropout-like layer's generator by dotted module name (`"3"`,
    /// `"2.drop_path"`; see ``/NablaNN/Module/randomGeneratorStates()``), each as its four xoshiro256 words.
    public var generators: [String: [UInt64]]
    /// Where the run stands, stored as JSON in the `nabla.progress` metadata.
    public var progress: TrainingProgress
    /// The run's configuration as canonical JSON, compared on resume.
    public var configuration: String
    /// The state of each ``TrainingCallback`` by its ``TrainingCallback/name`` (`callback.<name>.<key>`
    /// in the file): weight averages, per-step schedules and the like.
    public var callbacks: [String: [String: Tensor<Double>]] = [:]
    /// With early stopping, the weights of the best epoch so far (`best.<key>`), so that they are
    /// saved in the same atomic write as the progress that names their epoch.
    public var bestModel: [String: Tensor<Float>] = [:]
    /// The parameters' gradients (`grad.<key>`), kept only in a checkpoint written after an epoch's
    /// last step and before its end-of-epoch work, which logs them (gradient histograms).
    public var gradients: [String: Tensor<Float>] = [:]

    /// A checkpoint of the given parts; the defaults are an empty optimizer and schedule state, no
    /// generators, a run that has not started, and the configuration `{}`.
    public init(model: [String: Tensor<Float>], integerModelKeys: Set<String> = [], optimizer: [String: Tensor<Double>] = [:],
                schedule: [String: Tensor<Double>] = [:], generators: [String: [UInt64]] = [:],
                progress: TrainingProgress = .init(), configuration: String = "{}") {
        self.model = model
        self.integerModelKeys = integerModelKeys
        self.optimizer = optimizer
        self.schedule = schedule
        self.generators = generators
        self.progress = progress
        self.configuration = configuration
        for key in integerModelKeys { if let t = model[key] { modelCounters[key] = t.scalars.map { Int64(saturating: Double($0)) } } }
    }

    /// The checkpoint as a safetensors file.
    public func file() -> SafeTensorsFile {
        var file = SafeTensorsFile()
        for (prefix, dict) in [("model.", model), ("best.", bestModel), ("grad.", gradients)] {
            for (k, t) in dict {
                if !integerModelKeys.contains(k) {
                    file.tensors[prefix + k] = SafeTensor(t)
                } else if prefix == "model.", let exact = modelCounters[k], exact.map({ Float(Double($0)) }) == t.scalars {
                    file.tensors[prefix + k] = SafeTensor(int64: exact, shape: t.shape)
                } else {
                    file.tensors[prefix + k] = SafeTensor(int64: t.scalars.map { Int64(saturating: Double($0)) }, shape: t.shape)
                }
            }
        }
        for (k, t) in optimizer { file.tensors["optimizer.\(k)"] = SafeTensor(t) }
        for (k, t) in schedule { file.tensors["schedule.\(k)"] = SafeTensor(t) }
        for (owner, state) in callbacks {
            for (k, t) in state { file.tensors["callback.\(owner).\(k)"] = SafeTensor(t) }
        }
        file.metadata["nabla.format"] = String(Checkpoint.formatVersion)
        file.metadata["nabla.progress"] = Self.json(progress)
        file.metadata["nabla.generators"] = Self.json(generators.mapValues { $0.map { String($0, radix: 16) } })
        file.metadata["nabla.configuration"] = configuration
        return file
    }

    /// How NaN and infinities appear in the checkpoint's JSON (JSON itself has no such numbers).
    static let nonFiniteStrings = (positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

    /// `value` as JSON with sorted keys, non-finite numbers as ``nonFiniteStrings``.
    static func json<Value: Encodable>(_ value: Value) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFiniteStrings.positiveInfinity, negativeInfinity: nonFiniteStrings.negativeInfinity,
            nan: nonFiniteStrings.nan)
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            // Unreachable: progress and generator words are numbers, strings, arrays and maps, and
            // every Double (non-finite ones included) has an encoding under this strategy.
            preconditionFailure("checkpoint metadata cannot be encoded as JSON: \(error)")
        }
    }

    /// A JSON decoder that reads what ``json(_:)`` writes.
    static var jsonDecoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: nonFiniteStrings.positiveInfinity, negativeInfinity: nonFiniteStrings.negativeInfinity,
            nan: nonFiniteStrings.nan)
        return decoder
    }

    /// Writes the checkpoint atomically.
    public func write(to url: URL) throws { try file().write(to: url) }

    /// Reads a checkpoint written by ``write(to:)``.
    /// - Throws: ``/NablaTensor/NablaError`` naming the file when it is unreadable, not a Nabla checkpoint, or of
    ///   another format version.
    public static func read(from url: URL) throws -> Checkpoint {
        try parse(try SafeTensorsFile.read(from: url), name: url.path)
    }

    /// Parses the bytes of a checkpoint file; `name` prefixes error messages.
    public static func parse(_ bytes: [UInt8], name: String) throws -> Checkpoint {
        try parse(try SafeTensorsFile.parse(bytes, name: name), name: name)
    }

    /// Interprets a parsed safetensors file as a checkpoint.
    static func parse(_ file: SafeTensorsFile, name: String) throws -> Checkpoint {
        func fail(_ why: String) -> NablaError { NablaError(.invalidFile, "\(name): \(why)") }
        guard let version = file.metadata["nabla.format"] else { throw fail("not a Nabla checkpoint (no nabla.format metadata)") }
        guard version == String(formatVersion) else { throw fail("checkpoint format \(version) is not supported (expected \(formatVersion))") }
        let decoder = jsonDecoder
        guard let progressJSON = file.metadata["nabla.progress"],
              let progress = try? decoder.decode(TrainingProgress.self, from: Data(progressJSON.utf8)) else {
            throw fail("checkpoint progress metadata is missing or malformed")
        }
        guard let generatorJSON = file.metadata["nabla.generators"],
              let hex = try? decoder.decode([String: [String]].self, from: Data(generatorJSON.utf8)) else {
            throw fail("checkpoint generator metadata is missing or malformed")
        }
        var generators: [String: [UInt64]] = [:]
        for (owner, words) in hex {
            let values = words.compactMap { UInt64($0, radix: 16) }
            guard values.count == 4, words.count == 4 else { throw fail("generator state of '\(owner)' is malformed") }
            // xoshiro256 never leaves the all-zero state: it would draw zeros forever.
            guard values.contains(where: { $0 != 0 }) else { throw fail("generator state of '\(owner)' is all zeros, which no generator reaches") }
            generators[owner] = values
        }
        var model: [String: Tensor<Float>] = [:], best: [String: Tensor<Float>] = [:], gradients: [String: Tensor<Float>] = [:], optimizer: [String: Tensor<Double>] = [:], schedule: [String: Tensor<Double>] = [:]
        var integerKeys = Set<String>(), counters: [String: [Int64]] = [:]
        var callbacks: [String: [String: Tensor<Double>]] = [:]
        for (key, entry) in file.tensors {
            if key.hasPrefix("model.") {
                let k = String(key.dropFirst(6))
                model[k] = entry.tensor(as: Float.self)
                if entry.dtype == .i64 {
                    integerKeys.insert(k)
                    counters[k] = entry.intValues.map(Int64.init)
                }
            } else if key.hasPrefix("best.") {
                best[String(key.dropFirst(5))] = entry.tensor(as: Float.self)
            } else if key.hasPrefix("grad.") {
                gradients[String(key.dropFirst(5))] = entry.tensor(as: Float.self)
            } else if key.hasPrefix("optimizer.") {
                optimizer[String(key.dropFirst(10))] = entry.tensor(as: Double.self)
            } else if key.hasPrefix("schedule.") {
                schedule[String(key.dropFirst(9))] = entry.tensor(as: Double.self)
            } else if key.hasPrefix("callback."), let dot = key.dropFirst(9).firstIndex(of: "."),
                      dot > key.index(key.startIndex, offsetBy: 9), key.index(after: dot) < key.endIndex {
                let owner = String(key[key.index(key.startIndex, offsetBy: 9)..<dot])
                callbacks[owner, default: [:]][String(key[key.index(after: dot)...])] = entry.tensor(as: Double.self)
            } else {
                throw fail("unexpected tensor '\(key)' in checkpoint")
            }
        }
        var checkpoint = Checkpoint(model: model, integerModelKeys: integerKeys, optimizer: optimizer, schedule: schedule,
                                    generators: generators, progress: progress, configuration: file.metadata["nabla.configuration"] ?? "{}")
        checkpoint.modelCounters = counters
        checkpoint.callbacks = callbacks
        checkpoint.bestModel = best
        checkpoint.gradients = gradients
        return checkpoint
    }
}

extension RandomGenerator {
    /// The state as four words, for checkpoints.
    public var words: [UInt64] { [state.0, state.1, state.2, state.3] }

    /// A generator continuing from saved words.
    public init(words: [UInt64]) {
        precondition(words.count == 4, "a generator state has 4 words, got \(words.count)")
        self.init(seed: 0)
        state = (words[0], words[1], words[2], words[3])
    }
}
