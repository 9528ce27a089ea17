import Foundation
import NablaTensor
import NablaNN
import NablaOptim
import NablaData

/// One training run, described completely as a value: the model, the data, the objective, the
/// optimizer and its schedule, regularization, the budget, the seed, and where results go.
///
/// It is the one description every front end shares. `nabla train` parses its flags into a plan
/// (and `--plan FILE.json` reads one, `--print-plan` writes one); the studies construct plans
/// directly; ``prepare(loaded:)`` turns a plan into a ready ``TrainingSession``; ``commandLine(modelFile:)``
/// renders the `nabla train` command that repeats it; ``fingerprint`` names it in result caches.
///
/// Specifications that have a command-line grammar (the loss, penalty, schedule, augmentation)
/// are kept as their spec strings and validated by ``validate()``, so a plan file reads like the
/// command line it came from. JSON keys are snake_case.
public struct TrainingPlan: Codable, Equatable, Sendable {
    /// What is trained.
    public struct Model: Codable, Equatable, Sendable {
        /// A built-in model name (`lenet-bn`, `fcnet:100,100`) or a `.yaml`/`.json` model file
        /// (`--model`). Ignored when ``description`` is set.
        public var name: String
        /// A model given inline, as studies build them; it takes precedence over ``name``.
        public var description: ModelDescription?
        /// Normalization in `fcnet` blocks: `batchnorm`, `layernorm` or `nil` (`--norm`).
        public var normalization: String?
        /// Dropout probability in `fcnet`/`line-mlp` blocks (`--dropout`); `nil` when not given.
        public var dropout: Double?
        /// The variant of every `Dropout` layer (`--dropout-mode`).
        public var dropoutMode: DropoutMode = .inverted
        /// How `Linear` weights are re-initialized after the model is built (`--weight-init`).
        public var initialization: WeightInitialization = .pytorchDefault
        /// Initial weights: a `.safetensors` state dict with PyTorch keys (`--init`).
        public var initialWeights: String?

        /// A model by built-in name or file path, with every option at its default.
        public init(name: String) { self.name = name }

        /// An inline model description.
        public init(description: ModelDescription) {
            self.name = description.name
            self.description = description
        }
    }

    /// Where the examples come from and how they are split.
    public struct DataSelection: Codable, Equatable, Sendable {
        /// The dataset spec (`--data`, see ``/NablaData/DatasetSource``).
        public var spec: String
        /// For tables: the target column by header name or index (`--target`).
        public var target: String?
        /// The fraction of the training data held out for validation (`--val-split`, 0 = none).
        public var validationFraction: Double = 0
        /// Keep only the first N training samples (`--train-subset`).
        public var trainSubset: Int?
        /// Standardize each input channel with the training part's statistics (`--normalize`).
        public var normalize = false

        /// A dataset by spec with no split, subset or normalization.
        public init(spec: String) { self.spec = spec }
    }

    /// Where results go. None of it changes what is trained, so it is not part of
    /// ``checkpointIdentity`` or ``fingerprint``.
    public struct Output: Codable, Equatable, Sendable {
        /// `checkpoint.safetensors` and `model.safetensors` after every epoch (`--checkpoint-dir`).
        public var checkpointDirectory: String?
        /// Also checkpoint every this many optimizer steps (`--checkpoint-every`).
        public var checkpointEvery: Int?
        /// Continue the run saved in ``checkpointDirectory`` (`--resume`).
        public var resume = false
        /// TensorBoard events and `metrics.csv`/`metrics.jsonl` (`--logdir`).
        public var logDirectory: String?
        /// Histograms of every parameter and gradient each epoch in TensorBoard.
        public var logHistograms = true
        /// The final weights as a `.safetensors` state dict (`--save`).
        public var save: String?
        /// No progress output (`--quiet`).
        public var quiet = false
        /// Also log the loss, learning rate, gradient norm and throughput to TensorBoard every this
        /// many optimizer steps (`--log-every`; ``StepLogger``).
        public var logEvery: Int?
        /// Write into ``logDirectory`` even when an earlier run's logs are there, replacing them
        /// (`--overwrite`); without it such a run logs into a fresh sub-directory (``LogDirectory``).
        public var overwrite = false

        /// No outputs.
        public init() {}
    }

    /// The network: a built-in name, a model file or an inline description (`--model`).
    public var model: Model
    /// The dataset and how it is split, subset and normalized (`--data`).
    public var data: DataSelection
    /// The loss by name (`--loss`: cross-entropy, nll, mse, l1, smooth-l1, bce, hinge).
    public var loss = "cross-entropy"
    /// Label smoothing ε of the cross-entropy loss (`--label-smoothing`).
    public var labelSmoothing = 0.0
    /// One weight per class for the cross-entropy or nll loss (`--class-weights`; PyTorch's `weight`).
    public var classWeights: [Double]?
    /// The optimizer by name with its hyper-parameters (`--optimizer`, `--lr`, …).
    public var optimizer = OptimizerSpecification()
    /// A learning-rate schedule spec (`--schedule`, see ``ScheduleSpecification``).
    public var schedule: String?
    /// Sharpness-aware minimization around the optimizer with this neighbourhood radius ρ
    /// (`--sam RHO`, ``SharpnessAwareMinimization``): two forward and backward passes per step.
    public var sam: Double?
    /// Lookahead around the optimizer (`--lookahead K,ALPHA`, ``Lookahead``).
    public var lookahead: LookaheadSetting?
    /// A parameter penalty spec on the weights: `l2:λ`, `l1:λ`, `elastic:λ:β` (`--l2`, `--l1`, `--elastic`).
    public var penalty: String?
    /// Gradient clipping by global L2 norm (`--clip-norm`).
    public var clipNorm: Double?
    /// Gradient clipping by value (`--clip-value`).
    public var clipValue: Double?
    /// Max-norm constraint on weight rows and filters (`--max-norm`).
    public var maxNorm: Double?
    /// The augmentation pipeline spec of training batches (`--augment`, see ``/NablaData/AugmentationPipeline``).
    public var augmentation: String?
    /// Test-time augmentation of the final test accuracy: `ten-crop[:PAD]` (`--tta`).
    public var testTimeAugmentation: String?
    /// `α` of mixup's `Beta(α, α)` for every training batch (`--mixup`, see ``/NablaData/BatchMixing``).
    public var mixupAlpha: Double?
    /// `α` of CutMix's `Beta(α, α)` (`--cutmix`; with `--mixup`, one of the two per batch).
    public var cutMixAlpha: Double?
    /// The decay of an exponential moving average of the weights, evaluated and saved at the end
    /// (`--ema`, see ``WeightAveragingCallback``).
    public var emaDecay: Double?
    /// Stochastic weight averaging: `START[,SWA_LR[,ANNEAL_EPOCHS[,cos|linear]]]` (`--swa`, see
    /// ``StochasticWeightAveragingSpecification``).
    public var swa: String?
    /// Batches per optimizer step (`--accumulate`, gradient accumulation; 1 = none).
    public var accumulationSteps = 1
    /// Keep the weights of the best epoch by this validation metric, `val_loss` or `val_accuracy`
    /// (`--keep-best`, see ``BestCheckpointCallback``).
    public var keepBest: String?
    /// Keep the `K` best epochs, not only the best (`--keep-top-k`, with ``keepBest``).
    public var keepTopK: Int?
    /// Full passes over the training data (`--epochs`; ignored when ``steps`` is set).
    public var epochs = 10
    /// A budget of optimizer steps instead of epochs (`--steps`).
    public var steps: Int?
    /// The mini-batch size (`--batch-size`).
    public var batchSize = 128
    /// Shuffle the training data every epoch (`--no-shuffle` turns it off).
    public var shuffle = true
    /// Drop the last partial batch of each epoch (`--drop-last`).
    public var dropLast = false
    /// The seed of initialization, shuffling, dropout and augmentation (`--seed`).
    public var seed: UInt64 = 0
    /// Stop when the monitored loss has not improved for this many epochs (`--early-stop`).
    public var earlyStoppingPatience: Int?
    /// Skip steps whose loss or gradients are not finite instead of stopping (`--skip-nonfinite`).
    public var skipNonFinite = false
    /// In data-parallel training, normalize every `BatchNorm` with the statistics of the whole
    /// global batch, gathered from every rank (SyncBatchNorm, `--sync-bn`); without it each rank
    /// normalizes with its own part, as PyTorch DDP does. No effect in a single process.
    ///
    /// The number of ranks is not part of a plan: it is how the plan is run (like `--threads`), and
    /// with the global batch split across ranks a `K`-rank run is the same experiment as one process
    /// — the same batches, the same gradient up to the order of float sums, and with `--sync-bn` the
    /// same batch statistics. (Bitwise results, and `--resume`, need the same `K`: each rank has its
    /// own dropout and augmentation streams; a checkpoint records `K`.)
    public var syncBatchNorm = false
    /// Keep training when a step's loss grows above 1000 × max(1, the first step's loss) or an
    /// epoch's mean training loss above 5 × that, which otherwise stop the run as diverged
    /// (`--allow-divergence`; ``TrainerConfiguration/divergenceFactor``, ``TrainerConfiguration/epochDivergenceFactor``).
    public var allowDivergence = false
    /// The arithmetic of linear maps and convolutions (`--precision`): `nil` is float32, the default
    /// (a plan file leaves it out, so plans and checkpoints written before this field keep their
    /// identity); ``Precision/bfloat16`` runs them as `torch.autocast("cpu", dtype=torch.bfloat16)`:
    /// bf16 products with Float accumulation, Float master weights (see ``Precision``). On a CPU
    /// without AVX512_BF16 the run trains in float32 (``Precision/resolvedForHardware``). Part of the
    /// run's identity: a checkpoint resumes only with the precision it was trained with.
    public var precision: Precision?
    /// Where results go.
    public var output = Output()

    /// A plan for `model` on `data` with every other setting at its default (SGD, cross-entropy,
    /// 10 epochs of batches of 128, seed 0).
    public init(model: Model, data: DataSelection) {
        self.model = model
        self.data = data
    }
}

/// Lookahead's two settings: sync every `k` steps, moving the slow weights a fraction `alpha` of the
/// way (`--lookahead K,ALPHA`; JSON `{"k": 5, "alpha": 0.5}`).
public struct LookaheadSetting: Codable, Equatable, Sendable, CustomStringConvertible {
    /// `k`: optimizer steps between syncs.
    public var syncPeriod: Int
    /// `α`: the slow weights' step towards the fast ones.
    public var alpha: Double

    /// Sync every `syncPeriod` steps with rate `alpha` (the paper's 5 and 0.5 by default).
    public init(syncPeriod: Int = 5, alpha: Double = 0.5) {
        self.syncPeriod = syncPeriod
        self.alpha = alpha
    }

    /// Parses `K,ALPHA` (`5,0.5`).
    /// - Throws: ``NablaError`` `--lookahead TEXT: …` for anything else or values out of range.
    public init(parsing text: String) throws {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 2, let k = Int(parts[0]), let alpha = Double(parts[1]) else {
            throw NablaError(.invalidArgument, "--lookahead \(text): expected K,ALPHA such as 5,0.5")
        }
        self.init(syncPeriod: k, alpha: alpha)
        try validate()
    }

    /// Throws unless `k ≥ 1` and `0 ≤ alpha ≤ 1`.
    public func validate() throws {
        guard syncPeriod >= 1 else { throw NablaError(.invalidArgument, "--lookahead \(self): K must be at least 1") }
        guard alpha >= 0 && alpha <= 1 else { throw NablaError(.invalidArgument, "--lookahead \(self): ALPHA must be in [0, 1]") }
    }

    /// `K,ALPHA`, as `--lookahead` takes it.
    public var description: String { "\(syncPeriod),\(shortestDecimal(alpha))" }

    enum CodingKeys: String, CodingKey { case syncPeriod = "k", alpha }
}

extension TrainingPlan {
    /// Checks every value the way the command line does, so a plan read from a file or built by
    /// code fails with the same one-line messages as the equivalent flags.
    /// - Throws: ``/NablaTensor/NablaError`` naming the flag and the bad value.
    public func validate() throws {
        func fail(_ message: String) -> NablaError { NablaError(.invalidArgument, message) }
        guard epochs >= 1 else { throw fail("--epochs \(epochs) must be at least 1") }
        if let steps, steps < 1 { throw fail("--steps \(steps) must be at least 1") }
        guard batchSize >= 1 else { throw fail("--batch-size \(batchSize) must be at least 1") }
        guard labelSmoothing >= 0 && labelSmoothing <= 1 else {
            throw fail("--label-smoothing \(labelSmoothing) is out of range [0, 1]")
        }
        if let earlyStoppingPatience, earlyStoppingPatience < 1 { throw fail("--early-stop \(earlyStoppingPatience) must be at least 1") }
        if let every = output.checkpointEvery, every < 1 { throw fail("--checkpoint-every \(every) must be at least 1") }
        if output.resume && output.checkpointDirectory == nil { throw fail("--resume needs --checkpoint-dir") }
        guard data.validationFraction >= 0 && data.validationFraction < 1 else {
            throw fail("--val-split \(data.validationFraction) is out of range [0, 1)")
        }
        if let subset = data.trainSubset, subset < 1 { throw fail("--train-subset \(subset) must be at least 1") }
        if let dropout = model.dropout, !(dropout >= 0 && dropout <= 1) { throw fail("--dropout \(dropout) is out of range [0, 1]") }
        if let norm = model.normalization, !["batchnorm", "layernorm", "none"].contains(norm.lowercased()) {
            throw fail("--norm \(norm): expected batchnorm, layernorm or none")
        }
        for (flag, value) in [("clip-norm", clipNorm), ("clip-value", clipValue), ("max-norm", maxNorm)] {
            if let value, !(value > 0 && value.isFinite) { throw fail("--\(flag) \(value) must be a positive number") }
        }
        try validateToolbox()
        _ = try lossFunction()
        _ = try parameterPenalty()
        if let schedule { _ = try ScheduleSpecification(parsing: schedule) }
        if let sam, !(sam >= 0 && sam.isFinite) { throw fail("--sam \(sam) must be a non-negative number") }
        try lookahead?.validate()
        // SAM's second pass recomputes the gradient of the step's last batch only, so with
        // accumulation it would perturb by one batch's gradient and step on another's.
        if sam != nil && accumulationSteps > 1 {
            throw fail("--sam cannot be combined with --accumulate \(accumulationSteps): SAM's second pass sees one batch, not the accumulated group")
        }
        // A per-step schedule and the SWA phase's SWALR would both set the learning rate.
        if let schedule, swa != nil, try ScheduleSpecification(parsing: schedule).interval == .step,
           try swaSpecification()?.learningRate != nil {
            throw fail("--schedule \(schedule) steps every batch, which the SWA phase's learning rate (--swa with LR) cannot share: use an epoch schedule")
        }
        if let augmentation { _ = try AugmentationPipeline(parsing: augmentation) }
        if let testTimeAugmentation { _ = try TestTimeAugmentationSpec(parsing: testTimeAugmentation) }
        try optimizer.validate()
        try validateSpecifications()
    }

    /// The loss function ``loss``, ``labelSmoothing`` and ``classWeights`` name.
    public func lossFunction() throws -> LossFunction {
        try LossFunction(name: loss, labelSmoothing: labelSmoothing, classWeights: classWeights)
    }

    /// The penalty ``penalty`` names (``/NablaNN/ParameterPenalty/none`` when unset).
    public func parameterPenalty() throws -> ParameterPenalty {
        guard let penalty else { return .none }
        return try ParameterPenalty(parsing: penalty)
    }
}
