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
            (test figures when the data has a test split; accuracy for classification).
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

    @Option(name: .long, help: "Loss: cross-entropy, mse, l1, smooth-l1, bce, hinge.")
    var loss: String = "cross-entropy"
    @Option(name: .long, help: "Label smoothing ε of the cross-entropy loss.")
    var labelSmoothing: Double = 0

    @OptionGroup(title: "Optimizer") var optimizerOptions: OptimizerOptions
    @OptionGroup(title: "Regularization") var regularization: RegularizationOptions
    @OptionGroup(title: "Performance") var threadOptions: ThreadOptions

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
    @Flag(name: .long, help: "No progress output.")
    var quiet = false

    func validate() throws {
        guard epochs >= 1 else { throw ValidationError("--epochs \(epochs) must be at least 1") }
        if let steps, steps < 1 { throw ValidationError("--steps \(steps) must be at least 1") }
        guard batchSize >= 1 else { throw ValidationError("--batch-size \(batchSize) must be at least 1") }
        guard labelSmoothing >= 0 && labelSmoothing <= 1 else { throw ValidationError("--label-smoothing \(labelSmoothing) is out of range [0, 1]") }
        if let earlyStop, earlyStop < 1 { throw ValidationError("--early-stop \(earlyStop) must be at least 1") }
        if let checkpointEvery, checkpointEvery < 1 { throw ValidationError("--checkpoint-every \(checkpointEvery) must be at least 1") }
        if resume && checkpointDir == nil { throw ValidationError("--resume needs --checkpoint-dir") }
    }

    func run() throws {
        threadOptions.apply()
        let (train, validation, test) = try dataOptions.load(seed: seed)
        let lossFunction = try LossFunction(name: loss, labelSmoothing: labelSmoothing)
        let built = try modelOptions.build(inputShape: train.sampleShape, outputCount: outputCount(of: train), seed: seed)
        try lossFunction.validate(targets: train.targets, outputShape: built.outputShape)
        let model = built.model
        if let path = `init` { try model.load(from: URL(fileURLWithPath: path)) }

        let optimizer = try optimizerOptions.specification.make(for: model)
        let schedule = try optimizerOptions.schedule.map { try ScheduleSpecification(parsing: $0).make(for: optimizer) }
        var loader = DataLoader(dataset: train, batchSize: batchSize, shuffle: !noShuffle, dropLast: dropLast, seed: seed)
        if let pipeline = try regularization.augmentationPipeline(imageShape: train.sampleShape) {
            loader.transform = { x, g in x = pipeline(x, using: &g) }
        }
        guard loader.batchCount > 0 else {
            throw NablaError(.invalidArgument, "--batch-size \(batchSize) with --drop-last leaves no batch of the \(train.count) training samples")
        }

        var configuration = TrainerConfiguration()
        configuration.epochs = epochs
        configuration.steps = steps
        configuration.loss = lossFunction
        configuration.penalty = try regularization.penalty()
        configuration.clipNorm = regularization.clipNorm
        configuration.clipValue = regularization.clipValue
        configuration.maxNorm = regularization.maxNorm
        configuration.earlyStoppingPatience = earlyStop
        configuration.skipNonFinite = skipNonfinite
        configuration.checkpointDirectory = checkpointDir.map { URL(fileURLWithPath: $0) }
        configuration.checkpointEverySteps = checkpointEvery
        configuration.logDirectory = logdir.map { URL(fileURLWithPath: $0) }
        configuration.quiet = quiet

        let identity = canonicalJSON([
            "model": modelOptions.model, "data": dataOptions.data, "seed": String(seed), "batch_size": String(batchSize),
            "shuffle": String(!noShuffle), "loss": lossFunction.description, "optimizer": optimizerOptions.identity,
            "schedule": optimizerOptions.schedule ?? "", "regularization": regularization.identity,
            "val_split": String(dataOptions.valSplit), "train_subset": String(dataOptions.trainSubset ?? 0),
            "normalize": String(dataOptions.normalize), "dropout_mode": modelOptions.dropoutMode,
        ])
        let trainer = try Trainer(model: model, optimizer: optimizer, schedule: schedule, trainLoader: loader,
                                  validation: validation, test: test, configuration: configuration, runIdentity: identity)
        if resume, let url = trainer.checkpointURL {
            if FileManager.default.fileExists(atPath: url.path) {
                try trainer.resume(from: url)
                if !quiet { FileHandle.standardError.write(Data("resuming \(url.path) at epoch \(trainer.progress.epoch + 1), step \(trainer.progress.globalStep)\n".utf8)) }
            } else if !quiet {
                FileHandle.standardError.write(Data("no checkpoint in \(checkpointDir!) yet: starting from scratch\n".utf8))
            }
        }
        if !quiet {
            trainer.onEpochEnd.append { report in
                var line = String(format: "epoch %d  train_loss %.4f", report.epoch, report.trainLoss)
                if let a = report.trainAccuracy { line += String(format: "  train_acc %.4f", a) }
                if let l = report.validationLoss { line += String(format: "  val_loss %.4f", l) }
                if let a = report.validationAccuracy { line += String(format: "  val_acc %.4f", a) }
                if let l = report.testLoss { line += String(format: "  test_loss %.4f", l) }
                if let a = report.testAccuracy { line += String(format: "  test_acc %.4f", a) }
                line += String(format: "  lr %.3g  %.1fs", report.learningRate, report.seconds)
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
        let result = try trainer.fit()
        if let reason = result.stopReason, !quiet { FileHandle.standardError.write(Data("\(reason)\n".utf8)) }
        if let save { try model.save(to: URL(fileURLWithPath: save)) }

        let finalTrain = trainer.evaluate(train)
        var fields = ["final", String(format: "train_loss=%.6f", finalTrain.loss)]
        if let test {
            let m = trainer.evaluate(test)
            fields.append(String(format: "test_loss=%.6f", m.loss))
            if let a = m.accuracy { fields.append(String(format: "test_accuracy=%.4f", a)) }
            if regularization.tta != nil, let a = try regularization.testTimeAccuracy(model: model, test: test) {
                fields.append(String(format: "tta_accuracy=%.4f", a))
            }
        }
        fields.append(String(format: "seconds=%.2f", result.seconds))
        print(fields.joined(separator: "\t"))
    }
}
