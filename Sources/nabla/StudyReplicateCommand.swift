import ArgumentParser
import Foundation
import Nabla

/// `nabla study replicate [NAME…]`.
struct StudyReplicateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replicate",
        abstract: "Scaled-down replications of published results, one card each: dropout, AdamW, batch norm, augmentation vs weight decay, a Fashion-MNIST baseline.",
        discussion: """
            Cards: \(ReplicationCards.keys.joined(separator: ", ")) (default: all). Each card states the paper's claim and number, \
            how it is scaled down, and the band that counts as replicated; it reports what was measured (mean and 95% interval over \
            seeds) and whether it falls in the band. --epochs N trains every card N epochs instead of its own (a smoke test: \
            the bands assume the cards' own epochs). About 10–15 minutes on 2 cores for all cards (fashion-mnist-cnn trains on all \
            60,000 images); --quick halves the epochs.
            """)

    @OptionGroup var options: StudyOptions

    @Argument(help: ArgumentHelp("Cards to run (default: all).", discussion: ReplicationCards.keys.joined(separator: ", ")))
    var names: [String] = []

    func validate() throws {
        for name in names where !ReplicationCards.keys.contains(name) {
            throw ValidationError("\(name): unknown replication; expected some of \(ReplicationCards.keys.joined(separator: ", "))")
        }
        if options.batchSize != nil {
            throw ValidationError("the replication cards fix their own batch sizes")
        }
    }

    func run() throws {
        let progress = StudyProgress(quiet: options.quiet)
        let directory = options.outputDirectory("replicate")
        let selected = names.isEmpty ? ReplicationCards.keys : names
        let needsFull = selected.contains("fashion-mnist-cnn")
        // The cards take the first 10,000 training images at most, except the Fashion-MNIST baseline (all of them).
        let subset = options.full ? nil : (options.trainSubset ?? 10_000)
        let data = try options.loadData((subset, options.testSubset), directory: directory)
        let fullData = needsFull ? (subset == nil ? data : try options.loadData((nil, options.testSubset), directory: directory)) : nil
        var context = ReplicationContext(data: data, fullData: fullData, dataIdentity: try StudyJob.dataIdentity(of: data.dataSpec),
                                         runsDirectory: directory.appendingPathComponent("runs"),
                                         seeds: (0..<UInt64(options.seeds ?? 5)).map { options.seed + $0 })
        context.fullDataIdentity = try fullData.map { try StudyJob.dataIdentity(of: $0.dataSpec) }
        context.epochScale = options.quick ? 0.5 : 1
        context.epochOverride = options.epochs
        let cards = try ReplicationCards.cards(names, context: context)
        let engine = options.engine(study: "replicate", progress: progress)
        let result = try ReplicationStudy.run(cards, engine: engine)
        var words = ["nabla", "study", "replicate"] + names + ["--seed", String(options.seed), "--seeds", String(context.seeds.count)]
        if let spec = options.data { words += ["--data", spec] }
        if let n = options.trainSubset { words += ["--train-subset", String(n)] }
        if let n = options.testSubset { words += ["--test-subset", String(n)] }
        if let n = options.epochs { words += ["--epochs", String(n)] }
        if options.quick { words.append("--quick") }
        words += ["--output", directory.relativePath]
        let command = words.joined(separator: " ")
        try AtomicFile.write(Data(result.markdownTable.utf8), to: directory.appendingPathComponent("replications.md"))
        try options.finish(report: result.report(command: command, outputDirectory: directory), csv: result.csv,
                           summary: result.plainText, study: "replicate", results: result.resultsFile(command: command))
    }
}
