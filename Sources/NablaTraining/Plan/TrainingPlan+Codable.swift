import Foundation
import NablaNN

// Plan files use snake_case keys, and any key left out takes its default (only `model.name` or
// `model.description`, and `data.spec`, are required), so a hand-written plan can be short:
// `{"model": {"name": "lenet-bn"}, "data": {"spec": "fashion-mnist"}, "epochs": 5}`.
// The keys are spelled out here rather than converted by a key strategy, which would also rewrite
// the PyTorch keys inside the optimizer's hyper-parameters.

/// Reads `key` if present, else returns `fallback`.
private extension KeyedDecodingContainer {
    func value<T: Decodable>(_ key: Key, or fallback: T) throws -> T {
        try decodeIfPresent(T.self, forKey: key) ?? fallback
    }
}

extension TrainingPlan {
    enum CodingKeys: String, CodingKey {
        case model, data, loss, optimizer, schedule, sam, lookahead, penalty, epochs, steps, seed, shuffle, augmentation, output
        case labelSmoothing = "label_smoothing", clipNorm = "clip_norm", clipValue = "clip_value", maxNorm = "max_norm"
        case testTimeAugmentation = "test_time_augmentation", batchSize = "batch_size", dropLast = "drop_last"
        case earlyStoppingPatience = "early_stopping_patience", skipNonFinite = "skip_non_finite"
        case syncBatchNorm = "sync_batch_norm"
        case allowDivergence = "allow_divergence", precision
        case classWeights = "class_weights", mixupAlpha = "mixup", cutMixAlpha = "cutmix", emaDecay = "ema", swa
        case accumulationSteps = "accumulate", keepBest = "keep_best", keepTopK = "keep_top_k"
    }

    /// Decodes a plan from its snake_case keys; `model` and `data` are required, every other key
    /// falls back to its default when absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(model: try c.decode(Model.self, forKey: .model), data: try c.decode(DataSelection.self, forKey: .data))
        loss = try c.value(.loss, or: loss)
        labelSmoothing = try c.value(.labelSmoothing, or: labelSmoothing)
        classWeights = try c.decodeIfPresent([Double].self, forKey: .classWeights)
        optimizer = try c.value(.optimizer, or: optimizer)
        schedule = try c.decodeIfPresent(String.self, forKey: .schedule)
        sam = try c.decodeIfPresent(Double.self, forKey: .sam)
        lookahead = try c.decodeIfPresent(LookaheadSetting.self, forKey: .lookahead)
        penalty = try c.decodeIfPresent(String.self, forKey: .penalty)
        clipNorm = try c.decodeIfPresent(Double.self, forKey: .clipNorm)
        clipValue = try c.decodeIfPresent(Double.self, forKey: .clipValue)
        maxNorm = try c.decodeIfPresent(Double.self, forKey: .maxNorm)
        augmentation = try c.decodeIfPresent(String.self, forKey: .augmentation)
        testTimeAugmentation = try c.decodeIfPresent(String.self, forKey: .testTimeAugmentation)
        mixupAlpha = try c.decodeIfPresent(Double.self, forKey: .mixupAlpha)
        cutMixAlpha = try c.decodeIfPresent(Double.self, forKey: .cutMixAlpha)
        emaDecay = try c.decodeIfPresent(Double.self, forKey: .emaDecay)
        swa = try c.decodeIfPresent(String.self, forKey: .swa)
        accumulationSteps = try c.value(.accumulationSteps, or: accumulationSteps)
        keepBest = try c.decodeIfPresent(String.self, forKey: .keepBest)
        keepTopK = try c.decodeIfPresent(Int.self, forKey: .keepTopK)
        epochs = try c.value(.epochs, or: epochs)
        steps = try c.decodeIfPresent(Int.self, forKey: .steps)
        batchSize = try c.value(.batchSize, or: batchSize)
        shuffle = try c.value(.shuffle, or: shuffle)
        dropLast = try c.value(.dropLast, or: dropLast)
        seed = try c.value(.seed, or: seed)
        earlyStoppingPatience = try c.decodeIfPresent(Int.self, forKey: .earlyStoppingPatience)
        skipNonFinite = try c.value(.skipNonFinite, or: skipNonFinite)
        syncBatchNorm = try c.value(.syncBatchNorm, or: syncBatchNorm)
        allowDivergence = try c.value(.allowDivergence, or: allowDivergence)
        // float32 is the default, stored as nil (the same plan, identity and fingerprint as without the key).
        precision = try c.decodeIfPresent(Precision.self, forKey: .precision).flatMap { $0 == .float32 ? nil : $0 }
        output = try c.value(.output, or: output)
    }
}

extension TrainingPlan.Model {
    enum CodingKeys: String, CodingKey {
        case name, description, normalization, dropout, initialization
        case dropoutMode = "dropout_mode", initialWeights = "initial_weights"
    }

    /// Decodes a model: an inline `description` (its `name` optional) or a built-in or file `name`,
    /// plus the optional `normalization`, `dropout`, `dropout_mode`, `initialization`, `initial_weights`.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let description = try c.decodeIfPresent(ModelDescription.self, forKey: .description) {
            self.init(description: description)
            name = try c.value(.name, or: name)
        } else {
            self.init(name: try c.decode(String.self, forKey: .name))
        }
        normalization = try c.decodeIfPresent(String.self, forKey: .normalization)
        dropout = try c.decodeIfPresent(Double.self, forKey: .dropout)
        dropoutMode = try c.value(.dropoutMode, or: dropoutMode)
        initialization = try c.value(.initialization, or: initialization)
        initialWeights = try c.decodeIfPresent(String.self, forKey: .initialWeights)
    }
}

extension TrainingPlan.DataSelection {
    enum CodingKeys: String, CodingKey {
        case spec, target, normalize
        case validationFraction = "validation_fraction", trainSubset = "train_subset"
    }

    /// Decodes a data selection: `spec` is required; `target`, `validation_fraction`, `train_subset`
    /// and `normalize` fall back to their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(spec: try c.decode(String.self, forKey: .spec))
        target = try c.decodeIfPresent(String.self, forKey: .target)
        validationFraction = try c.value(.validationFraction, or: validationFraction)
        trainSubset = try c.decodeIfPresent(Int.self, forKey: .trainSubset)
        normalize = try c.value(.normalize, or: normalize)
    }
}

extension TrainingPlan.Output {
    enum CodingKeys: String, CodingKey {
        case resume, save, quiet, overwrite
        case checkpointDirectory = "checkpoint_directory", checkpointEvery = "checkpoint_every"
        case logDirectory = "log_directory", logHistograms = "log_histograms", logEvery = "log_every"
    }

    /// Decodes the outputs; every key falls back to its default (no outputs) when absent.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        checkpointDirectory = try c.decodeIfPresent(String.self, forKey: .checkpointDirectory)
        checkpointEvery = try c.decodeIfPresent(Int.self, forKey: .checkpointEvery)
        resume = try c.value(.resume, or: resume)
        logDirectory = try c.decodeIfPresent(String.self, forKey: .logDirectory)
        logHistograms = try c.value(.logHistograms, or: logHistograms)
        save = try c.decodeIfPresent(String.self, forKey: .save)
        quiet = try c.value(.quiet, or: quiet)
        logEvery = try c.decodeIfPresent(Int.self, forKey: .logEvery)
        overwrite = try c.value(.overwrite, or: overwrite)
    }
}
