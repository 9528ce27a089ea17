import Foundation
import NablaTensor
import NablaIO
import NablaNN
import NablaOptim
import NablaData
import NablaDistributed

/// The data a plan trains and measures on, after its subset, validation split and normalization.
public struct PlanData: Sendable {
    /// The training part.
    public var train: Dataset
    /// The held-out validation part, when the plan has a ``TrainingPlan/DataSelection/validationFraction``.
    public var validation: Dataset?
    /// The dataset's test split, when it has one.
    public var test: Dataset?
    /// The per-channel mean and standard deviation the inputs were standardized with, when the plan
    /// normalizes (statistics of the training part only).
    public var normalization: (mean: [Float], std: [Float])?
}

/// A plan made ready to train: its data, the built model, the optimizer, the schedule and the
/// ``Trainer`` that runs them (``TrainingPlan/prepare(loaded:)``).
public struct TrainingSession {
    /// The plan this session was prepared from.
    public let plan: TrainingPlan
    /// The data after subset, split and normalization.
    public let data: PlanData
    /// The model, built, initialized and (with `--init`) loaded.
    public let built: BuiltModel
    /// The layers of ``built``: the plan's model resolved for its data.
    public let modelDescription: ModelDescription
    /// The loss function the plan names.
    public let loss: LossFunction
    /// The trainer, configured from the plan (its checkpoint identity is the plan's).
    public let trainer: Trainer
    /// The data-parallel side of a run on several processes (also the trainer's
    /// ``Trainer/dataParallel`` and one of its callbacks); `nil` in a single process.
    public var dataParallel: DataParallel?

    /// What preparing decided that the run's output should say (a validation split carved for early
    /// stopping), one line each.
    public var notes: [String] = []

    /// The model being trained.
    public var model: Module<Float> { built.model }
}

extension Dataset {
    /// The outputs a model needs for this data: the class count, or the size of one target.
    public var outputCount: Int {
        switch targets {
        case .classes(_, let classes): return classes
        case .values(let t): return t.shape.dropFirst().reduce(1, *)
        case .probabilities(let t): return t.shape.last ?? 0
        }
    }
}

extension TrainingPlan.DataSelection {
    /// The splits of ``spec`` (or of `loaded`, data the caller read already from the same spec),
    /// then the first ``trainSubset`` training samples, the seeded validation split, and per-channel
    /// normalization with the training part's statistics.
    /// - Throws: ``/NablaTensor/NablaError`` for unreadable data, a subset larger than the data, or a split that
    ///   leaves an empty part.
    public func load(seed: UInt64, loaded: (train: Dataset, test: Dataset?)? = nil) throws -> PlanData {
        var (train, test) = try loaded ?? DatasetSource.parse(spec, target: target).load(seed: seed)
        if let n = trainSubset {
            guard n <= train.count else {
                throw NablaError(.invalidArgument, "--train-subset \(n): the training set has only \(train.count) samples")
            }
            train = train.subset(Array(0..<n))
        }
        var validation: Dataset?
        if validationFraction > 0 {
            let parts = train.split(validationFraction: validationFraction, seed: seed)
            guard parts.train.count > 0, parts.validation.count > 0 else {
                throw NablaError(.invalidArgument, "--val-split \(validationFraction) leaves an empty training or validation set (\(train.count) samples)")
            }
            (train, validation) = (parts.train, parts.validation)
        }
        var statistics: (mean: [Float], std: [Float])?
        if normalize {
            let s = train.channelStatistics()
            train = train.normalized(mean: s.mean, std: s.std)
            validation = validation?.normalized(mean: s.mean, std: s.std)
            test = test?.normalized(mean: s.mean, std: s.std)
            statistics = (s.mean, s.std)
        }
        return PlanData(train: train, validation: validation, test: test, normalization: statistics)
    }
}

extension TrainingPlan.Model {
    /// The model's description: ``description``, else the built-in model or model file ``name``
    /// sized for `inputShape` and `outputCount`.
    public func resolvedDescription(inputShape: [Int], outputCount: Int) throws -> ModelDescription {
        if let description { return description }
        let options = BuiltinModelOptions(normalization: normalization, dropout: dropout ?? 0)
        return try BuiltinModels.resolve(name, inputShape: inputShape, outputCount: outputCount, options: options)
    }

    /// Builds the model for samples of `inputShape` with `outputCount` outputs:
    /// ``build(description:inputShape:seed:)`` of ``resolvedDescription(inputShape:outputCount:)``.
    /// - Throws: ``/NablaTensor/NablaError`` for a model that does not fit the data or unreadable weights.
    public func build(inputShape: [Int], outputCount: Int, seed: UInt64) throws -> BuiltModel {
        try build(description: try resolvedDescription(inputShape: inputShape, outputCount: outputCount), inputShape: inputShape, seed: seed)
    }
}

extension TrainingPlan {
    /// The optimizer over `model`: ``optimizer``, inside ``Lookahead`` when ``lookahead`` is set,
    /// inside ``SharpnessAwareMinimization`` when ``sam`` is set (SAM outermost, so its second
    /// gradient feeds the Lookahead step).
    /// - Throws: ``NablaError`` for an invalid optimizer or wrapper setting.
    public func makeOptimizer(for model: Module<Float>) throws -> any Optimizer<Float> {
        var optimizer = try self.optimizer.make(for: model)
        if let lookahead { optimizer = try Lookahead(optimizer, syncPeriod: lookahead.syncPeriod, alpha: lookahead.alpha) }
        if let sam { optimizer = try SharpnessAwareMinimization(optimizer, rho: sam) }
        return optimizer
    }

    /// Everything the plan describes, built and ready: data loaded (or `loaded`, the spec's splits
    /// read once by a caller that runs many plans on the same data), the model, the optimizer, the
    /// schedule, the loader with the plan's augmentation, and the ``Trainer``.
    ///
    /// With a `group` of `K > 1` processes, this process is one rank of a data-parallel run
    /// (``DataParallel``; every rank calls `prepare` with the same plan): its loader yields its
    /// share of every global batch of ``batchSize``, the trainer averages gradients across the
    /// ranks, `--sync-bn` synchronizes batch normalization, and only rank 0 writes checkpoints,
    /// logs and progress. `parallelism` tunes the gradient buckets.
    /// - Throws: ``/NablaTensor/NablaError`` for any invalid value (``validate()``, ``validate(ranks:trainingSamples:)``),
    ///   unreadable data or weights, a model that does not fit the data, or a loss that does not fit
    ///   the targets.
    public func prepare(loaded: (train: Dataset, test: Dataset?)? = nil, group: (any ProcessGroup)? = nil,
                        parallelism: DataParallel.Configuration = .init()) throws -> TrainingSession {
        try validate()
        let ranks = group?.size ?? 1
        let raw = try loaded ?? DatasetSource.parse(self.data.spec, target: self.data.target).load(seed: seed)
        let (selection, note) = monitoredDataSelection(trainingCount: min(self.data.trainSubset ?? raw.train.count, raw.train.count))
        let data = try selection.load(seed: seed, loaded: raw)
        if ranks > 1 { try validate(ranks: ranks, trainingSamples: data.train.count) }
        let evaluationBatchSize = try checkMemory(data: data, evaluationBatchSize: TrainerConfiguration().evaluationBatchSize)
        let loss = try lossFunction()
        var outputCount = data.train.outputCount
        if model.description == nil, let initial = model.initialWeights, case .classes = data.train.targets {
            // Fine-tuning: a built-in model keeps the classes of its initial weights (more outputs
            // than the data's classes is fine; a label beyond them is reported below).
            let probe = try model.resolvedDescription(inputShape: data.train.sampleShape, outputCount: outputCount)
            let weights = try SafeTensorsFile.read(from: URL(fileURLWithPath: initial))
            outputCount = probe.lastLinearOutputCount(in: weights.tensors) ?? outputCount
        }
        let description = try model.resolvedDescription(inputShape: data.train.sampleShape, outputCount: outputCount)
        let built = try model.build(description: description, inputShape: data.train.sampleShape, seed: seed)
        try loss.validate(targets: data.train.targets, outputShape: built.outputShape, name: data.train.name)
        for part in [data.validation, data.test].compactMap({ $0 }) {
            try loss.validate(targets: part.targets, outputShape: built.outputShape, name: part.name)
        }
        if ranks > 1 { try validate(ranks: ranks, trainingSamples: data.train.count, model: built.model) }
        let optimizer = try makeOptimizer(for: built.model)
        var loader = DataLoader(dataset: data.train, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast, seed: seed)
        if let group, ranks > 1 { loader.shard = DataShard(rank: group.rank, count: ranks) }
        loader.mixing = try batchMixing(for: data.train)
        if let augmentation {
            let pipeline = try AugmentationPipeline(parsing: augmentation)
            try pipeline.validate(imageShape: data.train.sampleShape)
            loader.transform = { x, g in x = pipeline(x, using: &g) }
        }
        guard loader.batchCount > 0 else {
            throw NablaError(.invalidArgument, "--batch-size \(batchSize) with --drop-last leaves no batch of the \(data.train.count) training samples")
        }
        var configuration = TrainerConfiguration()
        configuration.epochs = epochs
        configuration.steps = steps
        configuration.loss = loss
        configuration.penalty = try parameterPenalty()
        configuration.clipNorm = clipNorm
        configuration.clipValue = clipValue
        configuration.maxNorm = maxNorm
        configuration.earlyStoppingPatience = earlyStoppingPatience
        configuration.skipNonFinite = skipNonFinite
        if allowDivergence { (configuration.divergenceFactor, configuration.epochDivergenceFactor) = (nil, nil) }
        configuration.checkpointDirectory = output.checkpointDirectory.map { URL(fileURLWithPath: $0) }
        configuration.checkpointEverySteps = output.checkpointEvery
        configuration.logDirectory = output.logDirectory.map { URL(fileURLWithPath: $0) }
        configuration.logHistograms = output.logHistograms
        configuration.quiet = output.quiet
        configuration.evaluationBatchSize = evaluationBatchSize
        configuration.accumulationSteps = accumulationSteps
        // bf16 where the CPU runs it, else float32 (`nabla train` prints the notice).
        configuration.precision = (precision ?? .float32).resolvedForHardware.precision
        if let group, group.rank > 0 {
            // Rank 0 alone writes (it holds the same weights as every other rank).
            configuration.checkpointDirectory = nil
            configuration.logDirectory = nil
            configuration.quiet = true
        }
        // A per-epoch schedule is the trainer's (inside the SWA phase schedule with --swa-lr); a
        // per-step one (onecycle, cyclic) is stepped after every optimizer step by a callback, which
        // also keeps its state in the checkpoints.
        let specification = try self.schedule.map { try ScheduleSpecification(parsing: $0) }
        let stepsPerEpoch = (loader.batchCount + accumulationSteps - 1) / accumulationSteps
        let context = ScheduleContext(optimizerSteps: steps ?? epochs * stepsPerEpoch)
        let regular = try specification?.make(for: optimizer, context: context)
        let perStep = specification?.interval == .step
        let schedule = try averagingSchedule(perStep ? nil : regular, optimizer: optimizer)
        let trainer = try Trainer(model: built.model, optimizer: optimizer, schedule: schedule,
                                  trainLoader: loader, validation: data.validation, test: data.test,
                                  configuration: configuration, runIdentity: checkpointIdentity)
        if perStep, let regular { trainer.callbacks.append(StepScheduleCallback(regular)) }
        trainer.callbacks += try toolboxCallbacks(model: built.model)
        var session = TrainingSession(plan: self, data: data, built: built, modelDescription: description, loss: loss, trainer: trainer,
                                      notes: note.map { [$0] } ?? [])
        trainer.modelMetadata = session.metadata.safetensorsMetadata
        if let group, ranks > 1 {
            if group.rank > 0 {
                for case let keep as BestCheckpointCallback in trainer.callbacks { keep.writesFiles = false }
            }
            let parallel = DataParallel(group: group, model: built.model, loader: loader, seed: seed,
                                        configuration: parallelism)
            if syncBatchNorm { parallel.synchronizeBatchNorm() }
            trainer.dataParallel = parallel
            trainer.callbacks.append(parallel)
            session.dataParallel = parallel
        }
        return session
    }
}
