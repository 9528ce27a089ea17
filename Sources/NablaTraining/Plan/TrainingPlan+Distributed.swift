import NablaTensor
import NablaNN

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

    /// Checks that every rank's part of every batch is large enough for `model`: a `BatchNorm1d`
    /// normalizing `(N, C)` features needs two samples per rank unless the statistics are synchronized.
    /// - Throws: ``NablaError`` suggesting `--sync-bn`, `--drop-last` or another batch size.
    public func validate(ranks: Int, trainingSamples: Int, model: Module<Float>) throws {
        try validate(ranks: ranks, trainingSamples: trainingSamples)
        guard ranks > 1, !syncBatchNorm,
              model.namedModules().contains(where: { $0.module is BatchNorm1d<Float> }) else { return }
        let last = trainingSamples % batchSize
        let smallest = !dropLast && last > 0 ? last / ranks : batchSize / ranks
        if smallest < 2 {
            throw NablaError(.invalidArgument, "--batch-size \(batchSize) on \(ranks) ranks: a rank's part of \(!dropLast && last > 0 ? "the last batch" : "a batch") has 1 sample, too few for BatchNorm1d's batch statistics; use --sync-bn, --drop-last or another batch size")
        }
    }
}
