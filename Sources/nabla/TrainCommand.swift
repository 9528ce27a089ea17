import ArgumentParser
import Foundation
import Nabla

/// `nabla train`: trains a model on a dataset and reports the final metrics.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on a dataset.",
        discussion: """
            Ends with one line: final<TAB>train_loss=…<TAB>test_loss=…<TAB>test_accuracy=…<TAB>seconds=… \
            (test figures when the data has a test split; accuracy for classification). With --ema or --swa \
            the final figures and --save are those of the averaged weights, and the line also has weights=ema|swa.
            With --steps S --batch-size N --no-shuffle on an N-sample dataset, training takes exactly S \
            full-batch steps in data order, reproducible step for step in PyTorch.
            """)

    @OptionGroup(title: "Model") var modelOptions: ModelOptions
    @OptionGroup(title: "Data") var dataOptions: DataOptions

    @Option(name: .long, help: "Initial weights: a .safetensors state dict (PyTorch keys).")
    var `init`: String?
    @Option(name: .long, help: "Save the final weights to this .safetensors file.")
    var save: String?

    @Option(name: .long, help: "Epochs (full passes over the training data).")
    var epochs: Int = 10
    @Option(name: .long, help: "Train for exactly this many optimizer steps instead of --epochs.")
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
    @OptionGroup(title: "Distributed") var distributed: DistributedOptions
    @OptionGroup(title: "Memory") var memoryOptions: MemoryOptions

    @Option(name: .long, help: "Stop when the validation loss has not improved for this many epochs; restore the best weights.")
    var earlyStop: Int?
    @Option(name: .long, help: "Write TensorBoard events and metrics.csv/metrics.jsonl here.")
    var logdir: String?
    @Option(name: .long, help: "Write checkpoint.safetensors and model.safetensors here after every epoch.")
    var checkpointDir: String?
    @Option(name: .long, help: "Also checkpoint every this many steps.")
    var checkpointEvery: Int?
    @Flag(name: .long, help: "Continue the run saved in --checkpoint-dir.")
    var resume = false
    @Flag(name: .long, help: "Skip steps whose loss or gradients are not finite instead of stopping.")
    var skipNonfinite = false
    @Flag(name: .long, help: "Keep training when a step's loss exceeds 1000 × max(1, the first step's loss), or an epoch's mean training loss 5 × that, instead of stopping as diverged.")
    var allowDivergence = false
    @Flag(name: .long, help: "No progress output.")
    var quiet = false
    @Flag(name: .long, help: "No parameter and gradient histograms in the TensorBoard logs.")
    var noHistograms = false

    @Option(name: .long, help: ArgumentHelp("Train the plan in this JSON file (written by --print-plan) instead of the flags.",
        discussion: "Only --resume, --quiet, --threads, --max-memory and --world-size may be given with it."))
    var plan: String?
    @Flag(name: .long, help: "Print the training plan these flags describe, as JSON, and exit without training.")
    var printPlan = false

    func validate() throws {
        // A bad flag value is a usage error (exit 2), whichever layer notices it.
        if plan == nil {
            try modelOptions.require()
            try dataOptions.require()
        }
        do {
            if plan == nil {
                try flagPlan.validate()
                // The batch must split across the ranks (the data's size is checked once it is loaded).
                try flagPlan.validate(ranks: distributed.ranks(), trainingSamples: 0)
            }
        } catch let error as NablaError {
            throw ValidationError(error.message)
        }
        let launch = LaunchEnvironment()
        if let worldSize = distributed.worldSize, launch.isLaunchedByMPI, let size = launch.size, size != worldSize {
            throw ValidationError("--world-size \(worldSize): this process is one of \(size) ranks started by an MPI launcher; give the same number, or leave --world-size out")
        }
    }

    /// The plan the flags describe.
    var flagPlan: TrainingPlan {
        var plan = TrainingPlan(model: modelOptions.selection, data: dataOptions.selection)
        plan.model.initialWeights = `init`
        plan.loss = loss
        plan.labelSmoothing = labelSmoothing
        plan.optimizer = optimizerOptions.specification
        plan.schedule = optimizerOptions.schedule
        (plan.sam, plan.lookahead) = optimizerOptions.wrappers
        try? regularization.apply(to: &plan)
        toolbox.apply(to: &plan)
        plan.epochs = epochs
        plan.steps = steps
        plan.batchSize = batchSize
        plan.shuffle = !noShuffle
        plan.dropLast = dropLast
        plan.seed = seed
        plan.earlyStoppingPatience = earlyStop
        plan.skipNonFinite = skipNonfinite
        plan.syncBatchNorm = distributed.syncBn
        plan.allowDivergence = allowDivergence
        plan.output.checkpointDirectory = checkpointDir
        plan.output.checkpointEvery = checkpointEvery
        plan.output.resume = resume
        plan.output.logDirectory = logdir
        plan.output.logHistograms = !noHistograms
        plan.output.save = save
        plan.output.quiet = quiet
        return plan
    }

    /// The plan to run: the file given with `--plan` (with `--resume`/`--quiet` applied), else the flags'.
    func resolvedPlan() throws -> TrainingPlan {
        guard let path = plan else { return flagPlan }
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
        try memoryOptions.apply { try train(launch) }
    }

    private func train(_ launch: LaunchEnvironment) throws {
        let job = try TrainingJob.start(launch)
        let plan = try job.agree { try resolvedPlan() }
        if printPlan {
            if job.isCoordinator { try StandardStreams.writeResult(plan.prettyJSON) }
            return try job.finish()
        }
        try job.requireSamePlan(plan)
        let session = try job.agree { () throws -> TrainingSession in
            try plan.validate()
            // Refuse an unusable --save target before training, not after (rank 0 writes it).
            if job.isCoordinator, let save = plan.output.save { try AtomicFile.checkReplaceable(URL(fileURLWithPath: save)) }
            return try plan.prepare(group: job.group)
        }
        let trainer = session.trainer
        let quiet = plan.output.quiet || !job.isCoordinator
        if !quiet { for note in session.notes { StandardStreams.note(note + "\n") } }
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
            if !quiet {
                let line = bytes == nil ? "no checkpoint in \(directory) yet: starting from scratch"
                    : "resuming \(url.path) at epoch \(trainer.progress.epoch + 1), step \(trainer.progress.globalStep)"
                StandardStreams.note(line + "\n")
            }
        }
        if job.size > 1 && !quiet {
            StandardStreams.note("training on \(job.size) ranks: global batch \(plan.batchSize) = \(job.size) × \(plan.batchSize / job.size)\(plan.syncBatchNorm ? ", synchronized batch norm" : "")\n")
        }
        if !quiet {
            trainer.onEpochEnd.append { report in
                var line = "epoch \(report.epoch)" + (job.size > 1 ? " (\(job.size) ranks)" : "")
                line += String(format: "  train_loss %.4f", report.trainLoss)
                if let a = report.trainAccuracy { line += String(format: "  train_acc %.4f", a) }
                if let l = report.validationLoss { line += String(format: "  val_loss %.4f", l) }
                if let a = report.validationAccuracy { line += String(format: "  val_acc %.4f", a) }
                if let l = report.testLoss { line += String(format: "  test_loss %.4f", l) }
                if let a = report.testAccuracy { line += String(format: "  test_acc %.4f", a) }
                line += String(format: "  lr %.3g  %.1fs", report.learningRate, report.seconds)
                StandardStreams.note(line + "\n")
            }
        }
        let result = try Interruption.fit(trainer)
        if let reason = result.stopReason, !quiet { StandardStreams.note("\(reason)\n") }
        let averaged = try finishToolbox(session, quiet: quiet)
        if let save = plan.output.save, job.isCoordinator { try session.model.save(to: URL(fileURLWithPath: save)) }

        // Evaluations are sharded across the ranks (every rank takes part); rank 0 prints.
        let finalTrain = trainer.evaluate(session.data.train)
        var fields = ["final", String(format: "train_loss=%.6f", finalTrain.loss)]
        if let test = session.data.test {
            let m = trainer.evaluate(test)
            fields.append(String(format: "test_loss=%.6f", m.loss))
            if let a = m.accuracy { fields.append(String(format: "test_accuracy=%.4f", a)) }
            if let tta = plan.testTimeAugmentation, job.isCoordinator,
               let a = try TestTimeAugmentationSpec(parsing: tta).accuracy(of: session.model, on: test) {
                fields.append(String(format: "tta_accuracy=%.4f", a))
            }
        }
        fields.append(String(format: "seconds=%.2f", result.seconds))
        if let averaged { fields.append("weights=\(averaged)") }
        if job.size > 1 { fields.append("ranks=\(job.size)") }
        if job.isCoordinator { try StandardStreams.writeResult(fields.joined(separator: "\t") + "\n") }
        try job.finish()
    }
}
