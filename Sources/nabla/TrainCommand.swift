import ArgumentParser
import Foundation
import Nabla

/// `nabla train`: trains a model on a dataset and reports the final metrics.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a dataset.",
        discussion: """
            Prints a line per epoch on standard error, then one line on standard output: \
            final<TAB>train_loss=…<TAB>test_loss=…<TAB>test_accuracy=…<TAB>seconds=…<TAB>weights=… — the final \
            weights (weights=epoch:E after the last epoch, step:S after a --steps budget, best:epoch:E when early \
            stopping restored the best epoch's), evaluated in evaluation mode on the whole training set and the \
            test split (test figures when the data has one; accuracy for classification). The epoch lines instead \
            average the training batches as they were trained (dropout on, batch statistics).
            The weights file (--save, and model.safetensors in --checkpoint-dir) carries the model's layers, input \
            shape, normalization and class names, which evaluate and predict apply by themselves. With --ema or \
            --swa the final figures and --save are those of the averaged weights (weights=ema or weights=swa).
            With --steps S --batch-size N --no-shuffle on an N-sample dataset, training takes exactly S \
            full-batch steps in data order, reproducible step for step in PyTorch.
            """)

    @OptionGroup(title: "Model") var modelOptions: ModelOptions
    @OptionGroup(title: "Data") var dataOptions: DataOptions

    @Option(name: .long, help: ArgumentHelp("Re-initialize the weights of every Linear layer (biases zeroed).",
        discussion: "default (PyTorch's), normal (N(0, 1)), xavier-normal (Glorot & Bengio 2010), kaiming-normal (He et al. 2015)."))
    var weightInit: String = "default"
    @Option(name: .long, help: "Initial weights: a .safetensors state dict (PyTorch keys).")
    var `init`: String?
    @Option(name: .long, help: "Save the final weights to this .safetensors file (with the model's metadata).")
    var save: String?

    @Option(name: .long, help: "Epochs (full passes over the training data; default 10).")
    var epochs: Int?
    @Option(name: .long, help: "Train for exactly this many optimizer steps instead of epochs.")
    var steps: Int?
    @Option(name: .long, help: "Mini-batch size.")
    var batchSize: Int = 128
    @Flag(name: .long, help: "Keep the data order (no shuffling).")
    var noShuffle = false
    @Flag(name: .long, help: "Drop the last partial batch of each epoch.")
    var dropLast = false
    @Option(name: .long, help: "Seed of initialization, shuffling, dropout and augmentation.")
    var seed: UInt64 = 0

    @Option(name: .long, help: "Loss: cross-entropy, nll (a model ending in LogSoftmax), mse, l1, smooth-l1, bce, hinge.")
    var loss: String = "cross-entropy"
    @Option(name: .long, help: "Label smoothing ε of the cross-entropy loss.")
    var labelSmoothing: Double = 0

    @OptionGroup(title: "Optimizer") var optimizerOptions: OptimizerOptions
    @OptionGroup(title: "Regularization") var regularization: RegularizationOptions
    @OptionGroup(title: "Weight averaging, mixing, accumulation, kept checkpoints") var toolbox: ToolboxOptions
    @OptionGroup(title: "Performance") var threadOptions: ThreadOptions
    @OptionGroup(title: "Performance") var convolution: ConvolutionOptions
    @OptionGroup(title: "Memory") var memoryOptions: MemoryOptions
    @OptionGroup(title: "Distributed") var distributed: DistributedOptions

    @Option(name: .long, help: "Stop when the validation loss has not improved for this many epochs; restore the best weights.")
    var earlyStop: Int?
    @Option(name: .long, help: ArgumentHelp("Write TensorBoard events and metrics.csv/metrics.jsonl here.",
        discussion: "When DIR already holds another run's logs, this run logs into a fresh DIR/run-N (see --overwrite); a --resume'd run continues its own logs."))
    var logdir: String?
    @Option(name: .long, help: "Also log the loss, learning rate, gradient norm and samples/s to TensorBoard every N steps (with --logdir).")
    var logEvery: Int?
    @Flag(name: .long, help: "Replace the logs already in --logdir instead of logging into a fresh sub-directory.")
    var overwrite = false
    @Option(name: .long, help: "Write checkpoint.safetensors and model.safetensors here after every epoch.")
    var checkpointDir: String?
    @Option(name: .long, help: "Also checkpoint every this many steps (with --checkpoint-dir).")
    var checkpointEvery: Int?
    @Flag(name: .long, help: "Continue the run saved in --checkpoint-dir.")
    var resume = false
    @Flag(name: .long, help: "Skip steps whose loss or gradients are not finite instead of stopping.")
    var skipNonfinite = false
    @Flag(name: .long, help: "Keep training when a step's loss exceeds 1000 × max(1, the first step's loss), or an epoch's mean training loss 5 × that, instead of stopping as diverged.")
    var allowDivergence = false
    @Option(name: .long, help: ArgumentHelp("Arithmetic of linear maps and convolutions: float32 (default) or bf16.",
        discussion: "bf16 runs them as torch.autocast(\"cpu\", dtype=torch.bfloat16): bf16 operands and results, Float accumulation, Float master weights, losses and normalization statistics in Float. Needs a CPU with AVX512_BF16 (vdpbf16ps); elsewhere, or with NABLA_DISABLE_BF16=1, it prints a notice and trains in float32. The final line then says precision=bf16 or precision=float32."))
    var precision: String?
    @Flag(name: .long, help: "No progress output.")
    var quiet = false
    @Flag(name: .long, help: "No parameter and gradient histograms in the TensorBoard logs (with --logdir).")
    var noHistograms = false

    @Option(name: .long, help: ArgumentHelp("Train the plan in this JSON file (written by --print-plan) instead of the flags.",
        discussion: "Only --resume, --quiet, --threads, --conv-algorithm, --max-memory, --world-size and --print-plan may be given with it."))
    var plan: String?
    @Flag(name: .long, help: "Print the training plan these flags describe, as JSON, and exit without training.")
    var printPlan = false

    /// Every flag is checked here, so that a bad value, a bad spec string, or a flag that would be
    /// ignored is a usage error (exit 2) before any data is read.
    func validate() throws {
        let launch = LaunchEnvironment()
        if let worldSize = distributed.worldSize, launch.isLaunchedByMPI, let size = launch.size, size != worldSize {
            throw ValidationError("--world-size \(worldSize): this process is one of \(size) ranks started by an MPI launcher; give the same number, or leave --world-size out")
        }
        if plan != nil {
            var given = flagPlan
            given.output.resume = false
            given.output.quiet = false
            guard given == TrainingPlan(model: .init(name: ""), data: .init(spec: "")) else {
                throw ValidationError("--plan FILE takes the whole run from the file; only --resume, --quiet, --threads, --conv-algorithm, --max-memory, --world-size and --print-plan may be given with it")
            }
            return
        }
        try modelOptions.require()
        try dataOptions.require()
        guard WeightInitialization(rawValue: weightInit.lowercased()) != nil else {
            throw ValidationError("--weight-init \(weightInit): expected one of \(WeightInitialization.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if epochs != nil && steps != nil {
            throw ValidationError("--epochs and --steps are exclusive (--steps S trains exactly S optimizer steps)")
        }
        if let precision {
            guard (try? Precision(parsing: precision)) != nil else {
                throw ValidationError("--precision \(precision): expected one of float32, bf16")
            }
        }
        if checkpointEvery != nil && checkpointDir == nil { throw ValidationError("--checkpoint-every applies to --checkpoint-dir, which is not given") }
        for (flag, given) in [("--log-every", logEvery != nil), ("--overwrite", overwrite), ("--no-histograms", noHistograms)] where given && logdir == nil {
            throw ValidationError("\(flag) applies to --logdir, which is not given")
        }
        try flagPlan.validate()
        // The batch must split across the ranks (the data's size is checked once it is loaded).
        try flagPlan.validate(ranks: distributed.ranks(), trainingSamples: 0)
    }

    /// The plan the flags describe, as typed (no command-line defaults applied).
    var flagPlan: TrainingPlan {
        var plan = TrainingPlan(model: modelOptions.selection, data: dataOptions.selection)
        plan.model.initialWeights = `init`
        plan.model.initialization = WeightInitialization(rawValue: weightInit.lowercased()) ?? .pytorchDefault
        plan.loss = loss
        plan.labelSmoothing = labelSmoothing
        plan.optimizer = optimizerOptions.specification
        plan.schedule = optimizerOptions.schedule
        (plan.sam, plan.lookahead) = optimizerOptions.wrappers
        plan.syncBatchNorm = distributed.syncBn
        try? regularization.apply(to: &plan)
        toolbox.apply(to: &plan)
        plan.epochs = epochs ?? plan.epochs
        plan.steps = steps
        plan.batchSize = batchSize
        plan.shuffle = !noShuffle
        plan.dropLast = dropLast
        plan.seed = seed
        plan.earlyStoppingPatience = earlyStop
        plan.skipNonFinite = skipNonfinite
        plan.allowDivergence = allowDivergence
        plan.precision = precision.flatMap { try? Precision(parsing: $0) }.flatMap { $0 == .float32 ? nil : $0 }
        plan.output.checkpointDirectory = checkpointDir
        plan.output.checkpointEvery = checkpointEvery
        plan.output.resume = resume
        plan.output.logDirectory = logdir
        plan.output.logHistograms = !noHistograms
        plan.output.logEvery = logEvery
        plan.output.overwrite = overwrite
        plan.output.save = save
        plan.output.quiet = quiet
        return plan
    }

    /// The plan to run: the file given with `--plan` (with `--resume`/`--quiet` applied), else the
    /// flags' with `nabla train`'s default learning rate when `--lr` is not given (``LearningRateDefaults``).
    func resolvedPlan() throws -> TrainingPlan {
        guard let path = plan else {
            var plan = flagPlan
            if plan.optimizer.learningRate == nil { plan.optimizer.learningRate = LearningRateDefaults.rate(for: plan.optimizer.name) }
            return plan
        }
        let url = URL(fileURLWithPath: path)
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw NablaError(.io, "--plan \(path): cannot read the file")
        }
        var loaded = try TrainingPlan(json: data, source: path)
        if resume { loaded.output.resume = true }
        if quiet { loaded.output.quiet = true }
        try loaded.validate()
        return loaded
    }

    func run() throws {
        let launch = LaunchEnvironment()
        threadOptions.apply(launch)
        if !printPlan, let ranks = distributed.worldSize, ranks > 1, !launch.isLaunchedByMPI {
            try MPILauncher.run(ranks: ranks)
        }
        try memoryOptions.apply { try convolution.apply { try train(launch) } }
    }

    private func train(_ launch: LaunchEnvironment) throws {
        let job = try TrainingJob.start(launch)
        var plan = try job.agree { try resolvedPlan() }
        if printPlan {
            if job.isCoordinator { try StandardStreams.writeResult(plan.prettyJSON) }
            return try job.finish()
        }
        try job.requireSamePlan(plan)
        let quiet = plan.output.quiet || !job.isCoordinator
        func note(_ line: String) { if !quiet { StandardStreams.note(line + "\n") } }
        // Rank 0 alone writes logs: it alone picks the log directory.
        if job.isCoordinator, let requested = plan.output.logDirectory {
            try job.agree {
                // A directory a live run holds is refused (naming the run), not side-stepped into run-N.
                if FileManager.default.fileExists(atPath: requested) {
                    try DirectoryLock.acquire(URL(fileURLWithPath: requested), purpose: "log directory").release()
                }
                let identity = LogDirectory.runIdentity(checkpointIdentity: plan.checkpointIdentity, checkpointDirectory: plan.output.checkpointDirectory)
                let chosen = try LogDirectory.resolve(URL(fileURLWithPath: requested), identity: identity, resuming: plan.output.resume, overwrite: plan.output.overwrite)
                if chosen.path != URL(fileURLWithPath: requested).path {
                    note("logs: \(requested) holds another run's logs; this run logs to \(chosen.relativePath) (--overwrite replaces them instead)")
                    plan.output.logDirectory = chosen.relativePath
                }
            }
        } else if plan.output.logDirectory != nil {
            try job.agree {}
        }
        let session = try job.agree { () throws -> TrainingSession in
            try plan.validate()
            // Refuse an unusable --save target before training, not after (rank 0 writes it).
            if job.isCoordinator, let save = plan.output.save { try AtomicFile.checkReplaceable(URL(fileURLWithPath: save)) }
            let session = try plan.prepare(group: job.group)
            if plan.testTimeAugmentation != nil {
                guard let test = session.data.test, test.inputs.rank == 4, case .classes = test.targets else {
                    throw NablaError(.invalidArgument, "--tta applies to labelled images [C, H, W] with a test split; --data \(plan.data.spec) has none")
                }
            }
            return session
        }
        let trainer = session.trainer
        if job.isCoordinator, let notice = (plan.precision ?? .float32).resolvedForHardware.notice {
            // A warning, not progress: printed even with --quiet.
            StandardStreams.note("nabla: \(notice)\n")
        }
        for line in session.notes { note(line) }
        if job.isCoordinator, let directory = plan.output.logDirectory {
            trainer.callbacks.append(HParamsLogger(directory: URL(fileURLWithPath: directory), hyperparameters: plan.tensorBoardHyperparameters))
            if let every = plan.output.logEvery {
                trainer.callbacks.append(try StepLogger(directory: URL(fileURLWithPath: directory), every: every))
            }
        }
        if plan.output.resume, let directory = plan.output.checkpointDirectory {
            let url = URL(fileURLWithPath: directory).appendingPathComponent("checkpoint.safetensors")
            let bytes = try job.shareFile(at: url)
            try job.agree {
                guard let bytes else { return }
                let checkpoint = try Checkpoint.parse(bytes, name: url.path)
                if let mismatch = DataParallel.worldSizeMismatch(saved: DataParallel.worldSize(of: checkpoint), current: job.size) {
                    throw NablaError(mismatch.kind, "\(url.path): \(mismatch.message)")
                }
                try trainer.resume(from: checkpoint, source: url)
            }
            note(bytes == nil ? "no checkpoint in \(directory) yet: starting from scratch"
                 : "resuming \(url.path) at epoch \(trainer.progress.epoch + 1), step \(trainer.progress.globalStep)")
        }
        if job.size > 1 {
            note("training on \(job.size) ranks: global batch \(plan.batchSize) = \(job.size) × \(plan.batchSize / job.size)\(plan.syncBatchNorm ? ", synchronized batch norm" : "")")
        }
        if !quiet { trainer.onEpochEnd.append { StandardStreams.note(Self.epochLine($0, ranks: job.size) + "\n") } }
        let result = try Interruption.fit(trainer)
        if let reason = result.stopReason { note(reason) }
        let averaged = try finishToolbox(session, quiet: quiet)
        if let save = plan.output.save, job.isCoordinator {
            try session.model.save(to: URL(fileURLWithPath: save), metadata: session.metadata.safetensorsMetadata)
        }
        // Evaluations are sharded across the ranks (every rank takes part); rank 0 prints.
        let line = try finalLine(session: session, result: result, averaged: averaged, job: job, note: note)
        if job.isCoordinator { try StandardStreams.writeResult(line + "\n") }
        try job.finish()
    }

    /// One epoch's progress line.
    static func epochLine(_ report: EpochReport, ranks: Int = 1) -> String {
        var line = "epoch \(report.epoch)" + (ranks > 1 ? " (\(ranks) ranks)" : "")
        line += String(format: "  train_loss %.4f", report.trainLoss)
        if let a = report.trainAccuracy { line += String(format: "  train_acc %.4f", a) }
        if let l = report.validationLoss { line += String(format: "  val_loss %.4f", l) }
        if let a = report.validationAccuracy { line += String(format: "  val_acc %.4f", a) }
        if let l = report.testLoss { line += String(format: "  test_loss %.4f", l) }
        if let a = report.testAccuracy { line += String(format: "  test_acc %.4f", a) }
        return line + String(format: "  lr %.3g  %.1fs", report.learningRate, report.seconds)
    }

    /// The `final` line: the final weights in evaluation mode on the whole training and test sets,
    /// which weights they are, and (through `note`, unless quiet) a sentence saying so.
    /// `averaged` names the weight average (`ema`, `swa`) the final weights are, when they are one.
    /// With several ranks, every rank evaluates its shard; rank 0 alone adds test-time augmentation.
    func finalLine(session: TrainingSession, result: TrainingResult, averaged: String? = nil, job: TrainingJob? = nil,
                   note: (String) -> Void) throws -> String {
        let trainer = session.trainer
        let progress = result.progress
        let weights: (field: String, words: String)
        if let averaged {
            weights = (averaged, "the \(averaged.uppercased())-averaged weights")
        } else if let best = result.restoredBestEpoch {
            weights = ("best:epoch:\(best)", "the best weights, of epoch \(best) (restored by early stopping)")
        } else if progress.stepInEpoch > 0 {
            weights = ("step:\(progress.globalStep)", "the weights after step \(progress.globalStep)")
        } else {
            weights = ("epoch:\(progress.epoch)", "the weights after epoch \(progress.epoch)")
        }
        let finalTrain = trainer.evaluate(session.data.train)
        var fields = ["final", String(format: "train_loss=%.6f", finalTrain.loss)]
        var sets = "the whole training set (\(session.data.train.count))"
        if let test = session.data.test {
            let m = trainer.evaluate(test)
            fields.append(String(format: "test_loss=%.6f", m.loss))
            if let a = m.accuracy { fields.append(String(format: "test_accuracy=%.4f", a)) }
            if let tta = session.plan.testTimeAugmentation, job?.isCoordinator ?? true,
               let a = try TestTimeAugmentationSpec(parsing: tta).accuracy(of: session.model, on: test) {
                fields.append(String(format: "tta_accuracy=%.4f", a))
            }
            sets += " and test set (\(test.count))"
        }
        fields.append(String(format: "seconds=%.2f", result.seconds))
        fields.append("weights=" + weights.field)
        // Which arithmetic actually ran, when bf16 was asked for (float32 where the CPU lacks it).
        if session.plan.precision != nil { fields.append("precision=\(trainer.configuration.precision)") }
        if let job, job.size > 1 { fields.append("ranks=\(job.size)") }
        note("final: \(weights.words), evaluated in evaluation mode on \(sets); the epoch lines average the batches as they were trained")
        return fields.joined(separator: "\t")
    }
}
