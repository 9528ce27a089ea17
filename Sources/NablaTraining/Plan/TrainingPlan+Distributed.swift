import NablaTensor

extension TrainingPlan {
    /// Checks that the plan can run on `ranks` processes with `trainingSamples` training samples:
    /// the global ``batchSize`` splits evenly across the ranks, and every batch — the last partial
    /// one too, unless ``dropLast`` — gives each rank at least one sample.
    /// - Throws: ``NablaError`` naming `--batch-size` and the number of ranks.
    public func validate(ranks: Int, trainingSamples: Int) throws {
        precondition(ranks >= 1, "TrainingPlan.validate(ranks:): \(ranks) ranks")
        guard ranks > 1 else { return }
        guard batchSize % ranks == 0 else {
            throw NablaError(.invalidArgument, "--batch-size \(batchSize) does not split evenly across \(ranks) ranks: the batch size is the global batch, divided among the ranks (use a multiple of \(ranks))")
        }
        let last = trainingSamples % batchSize
        if !dropLast && last > 0 && last < ranks {
            throw NablaError(.invalidArgument, "--batch-size \(batchSize): the last batch of each epoch has \(last) of the \(trainingSamples) training samples, fewer than the \(ranks) ranks; use --drop-last or another batch size")
        }
    }
}
