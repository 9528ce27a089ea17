import ArgumentParser
import Foundation
import Nabla

/// `nabla study regularization` — the main job (`make run`).
struct StudyRegularizationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regularization",
        abstract: "Baseline vs L2, L1, elastic net, dropout, BatchNorm, augmentation, stochastic depth and all combined on a small Fashion-MNIST subset, plus a noisy-line regression, initialization and dropout-scale demos.",
        discussion: """
            Default: the first 2000 training images, the whole test set, 50 epochs (a few minutes on 2 cores). \
            --quick: 1000 training and 2000 test images in batches of 32, shorter line and initialization demos (under a minute). \
            --full: the whole training set, 10 epochs.
            """)

    @OptionGroup var options: StudyOptions

    @Option(name: .long, parsing: .upToNextOption, help: ArgumentHelp("Run only these variants (comma or space separated).",
        discussion: RegularizationStudy.variantKeys.joined(separator: ", ")))
    var variants: [String] = []
    @Option(name: .long, help: "Steps (epochs of one full batch) of the noisy-line runs.")
    var lineEpochs: Int?
    @Option(name: .long, help: "Epochs of the initialization runs.")
    var initEpochs: Int?
    @Flag(name: .long, help: "Skip the noisy-line, initialization and dropout-scale demos.")
    var noDemos = false

    @Option(name: .long, help: "Hidden widths of the MLP, e.g. 256,256,256 (the residual net uses the first).")
    var hidden: String?
    @Option(name: .long, help: "Initial learning rate of SGD (momentum 0.9, cosine annealing).")
    var lr: Double?
    @Option(name: .long, help: "λ of the weight decay and of the L2 penalty λ/2·Σw².")
    var weightDecay: Double?
    @Option(name: .long, help: "λ of the L1 penalty λ·Σ|w|.")
    var l1: Double?
    @Option(name: .long, help: "λ,β of the elastic net λ·(β·Σw² + Σ|w|).")
    var elastic: String?
    @Option(name: .long, help: "Dropout probability of the dropout variants.")
    var dropout: Double?
    @Option(name: .long, help: "Drop probability of the last residual block (stochastic depth, linear rule).")
    var dropPath: Double?
    @Option(name: .long, help: "Augmentation of the augmentation variants (see nabla train --augment).")
    var augment: String?

    func validate() throws {
        for (flag, value) in [("line-epochs", lineEpochs), ("init-epochs", initEpochs)] {
            if let value, value < 1 { throw ValidationError("--\(flag) \(value) must be at least 1") }
        }
        var probe = RegularizationStudyConfiguration()
        _ = try applyHyperParameters(to: &probe)
        for key in selectedVariants ?? [] where !RegularizationStudy.variantKeys.contains(key) {
            throw ValidationError("--variants \(key): unknown variant; expected some of \(RegularizationStudy.variantKeys.joined(separator: ", "))")
        }
    }

    /// Applies the hyper-parameter flags to `c`; returns them as words for the reproduce command.
    func applyHyperParameters(to c: inout RegularizationStudyConfiguration) throws -> [String] {
        var words: [String] = []
        if let hidden {
            let widths = hidden.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ValidationError("--hidden \(hidden): expected positive widths like 256,256,256")
            }
            c.hidden = widths.map { $0! }
        }
        func check(_ flag: String, _ value: Double?, _ range: ClosedRange<Double>) throws -> Double? {
            guard let value else { return nil }
            guard range.contains(value) else { throw ValidationError("--\(flag) \(value) is out of range [\(range.lowerBound), \(range.upperBound)]") }
            return value
        }
        c.learningRate = try check("lr", lr, 0...1e6) ?? c.learningRate
        c.weightDecay = try check("weight-decay", weightDecay, 0...1e6) ?? c.weightDecay
        c.l1 = try check("l1", l1, 0...1e6) ?? c.l1
        c.dropout = try check("dropout", dropout, 0...1) ?? c.dropout
        c.maxDropPath = try check("drop-path", dropPath, 0...1) ?? c.maxDropPath
        if let elastic {
            let parts = elastic.split(separator: ",").map { Double($0.trimmingCharacters(in: .whitespaces)) }
            guard parts.count == 2, let lambda = parts[0], let beta = parts[1], lambda >= 0, beta >= 0 else {
                throw ValidationError("--elastic \(elastic): expected two non-negative numbers λ,β")
            }
            (c.elasticLambda, c.elasticBeta) = (lambda, beta)
        }
        if let augment {
            _ = try AugmentationPipeline(parsing: augment)
            c.augmentation = augment
        }
        let f = { (x: Double) in "\(x)" }
        words += ["--hidden", c.hidden.map(String.init).joined(separator: ","), "--lr", f(c.learningRate),
                  "--weight-decay", f(c.weightDecay), "--l1", f(c.l1), "--elastic", "\(f(c.elasticLambda)),\(f(c.elasticBeta))",
                  "--dropout", f(c.dropout), "--drop-path", f(c.maxDropPath), "--augment", c.augmentation]
        return words
    }

    var selectedVariants: [String]? {
        let keys = variants.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }.filter { !$0.isEmpty }
        return keys.isEmpty ? nil : keys
    }

    func run() throws {
        Parallelism.setThreadCount(Parallelism.availableCoreCount)
        let progress = StudyProgress(quiet: options.quiet)
        let directory = options.outputDirectory("regularization")
        let sizes = options.sizes(trainDefault: 2000, testDefault: nil, quickTrain: 1000, quickTest: 2000)
        let data = try options.loadData(sizes, directory: directory)

        var c = RegularizationStudyConfiguration()
        c.seed = options.seed
        c.epochs = options.epochs ?? (options.full ? 10 : 50)
        // --quick has half the images: half the batch keeps the number of steps (and so the pull of the penalties).
        c.batchSize = options.batchSize ?? (options.quick ? 32 : c.batchSize)
        c.variants = selectedVariants
        c.lineEpochs = lineEpochs ?? (options.quick ? 1000 : 2000)
        c.initializationEpochs = initEpochs ?? (options.quick ? 6 : 15)
        c.includesLine = !noDemos
        c.includesInitialization = !noDemos

        var extra = try applyHyperParameters(to: &c)
        extra += ["--line-epochs", String(c.lineEpochs), "--init-epochs", String(c.initializationEpochs)]
        if let keys = c.variants { extra += ["--variants", keys.joined(separator: ",")] }
        if noDemos { extra.append("--no-demos") }
        let command = options.command("regularization", sizes: sizes, epochs: c.epochs, batchSize: c.batchSize, extra: extra)

        let result = try RegularizationStudy.run(c, data: data, outputDirectory: directory, progress: progress)
        try options.finish(report: result.report(command: command, outputDirectory: directory),
                           csv: StudyReport.csv(result.runs + (result.line?.runs ?? []) + result.initialization),
                           summary: result.plainText, study: "regularization")
    }
}
