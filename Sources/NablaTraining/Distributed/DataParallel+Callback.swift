import Foundation
import NablaTensor
import NablaIO
import NablaNN
import NablaDistributed

/// The points of ``Trainer/fit()`` where the replicas of a ``DataParallel`` run must meet: the
/// start and end of training (rank 0's weights everywhere), every step (a stop request on one rank
/// stops all), checkpoints (every rank's generator states, saved by rank 0), and the end of every
/// epoch (the replicas' weights must still be identical).
extension DataParallel: TrainingCallback {
    /// `data_parallel`: the checkpoint prefix (`callback.data_parallel.world_size`, …).
    public var name: String { "data_parallel" }

    /// Rank 0's parameters and buffers on every replica (after a resume too).
    public func trainingWillBegin(_ trainer: Trainer) throws { broadcastState() }

    /// Shares stop requests (a signal may reach one rank a step before another), gathers the
    /// generator states when a checkpoint follows, and checks the weights after an epoch's last step.
    public func stepDidEnd(_ trainer: Trainer, loss: Double) throws {
        let stop = sum([trainer.stopRequest == nil ? 0 : 1])[0] > 0
        if stop && trainer.stopRequest == nil { trainer.requestStop(reason: "stopped because another rank was asked to stop") }
        let every = trainer.configuration.checkpointEverySteps
        if stop || every.map({ trainer.progress.globalStep % $0 == 0 }) == true { gatherGenerators() }
        if trainer.progress.stepInEpoch == loader.batchCount { try verifyIdenticalWeights(trainer) }
    }

    /// Gathers the generator states for the epoch's checkpoint.
    public func epochDidEnd(_ trainer: Trainer, report: EpochReport) throws { gatherGenerators() }

    /// Rank 0's weights everywhere: early stopping may have restored its best weights on rank 0
    /// only (the best-weights file is rank 0's).
    public func trainingDidEnd(_ trainer: Trainer, result: TrainingResult) throws { broadcastState() }

    /// `world_size`, and `rank<r>.<module>` for each dropout generator of ranks `1…K−1` (rank 0's are
    /// the checkpoint's own generators): each 64-bit word as two 32-bit halves, exact in `Double`.
    public func checkpointState() -> [String: Tensor<Double>] {
        ["world_size": Tensor(shape: [1], scalars: [Double(group.size)])].merging(gatheredGenerators) { $1 }
    }

    /// Takes back this rank's generators.
    /// - Throws: ``NablaError`` when the checkpoint was written by a run with another number of ranks.
    public func restore(checkpointState state: [String: Tensor<Double>]) throws {
        let saved = state["world_size"].map { Int($0.scalars.first ?? 0) } ?? 1
        if let mismatch = Self.worldSizeMismatch(saved: saved, current: group.size) { throw mismatch }
        gatheredGenerators = state.filter { $0.key.hasPrefix("rank") }
        guard rank > 0 else { return }
        let prefix = "rank\(rank)."
        var generators: [String: RandomGenerator] = [:]
        for (key, halves) in state where key.hasPrefix(prefix) {
            let h = halves.scalars.map { UInt64(exactly: $0) ?? 0 }
            guard h.count == 8 else { throw NablaError(.invalidFile, "callback.data_parallel.\(key) has \(h.count) values, expected 8") }
            generators[String(key.dropFirst(prefix.count))] = RandomGenerator(words: (0..<4).map { h[2 * $0] << 32 | h[2 * $0 + 1] })
        }
        try model.restoreRandomGenerators(generators)
    }

    /// The error for resuming a checkpoint of `saved` ranks with `current` ranks, if they differ.
    /// The data order is the same for any number of ranks, but each rank's dropout and augmentation
    /// streams are its own, so only the same number resumes exactly.
    public static func worldSizeMismatch(saved: Int, current: Int) -> NablaError? {
        guard saved != current else { return nil }
        func runs(_ k: Int) -> String { k == 1 ? "a single-process run" : "a run on \(k) ranks" }
        let how = saved == 1 ? "without --world-size or mpirun" : "with \(saved) ranks (--world-size \(saved), or mpirun -np \(saved))"
        return NablaError(.invalidArgument, "the checkpoint was written by \(runs(saved)) and this is \(runs(current)); resume it \(how)")
    }

    /// The world size a checkpoint was written with (1 unless a ``DataParallel`` saved its state).
    public static func worldSize(of checkpoint: Checkpoint) -> Int {
        checkpoint.callbacks["data_parallel"]?["world_size"].map { Int($0.scalars.first ?? 0) } ?? 1
    }

    /// Collects every rank's generator states into ``gatheredGenerators`` (one allgather).
    func gatherGenerators() {
        let stochastic = model.namedModules().compactMap { entry in (entry.module as? StochasticModule).map { (entry.name, $0) } }
        guard !stochastic.isEmpty else { return }
        let words = stochastic.flatMap { $0.1.generator.words }
        let group = self.group
        let all = collective { try group.allGather(words) }
        gatheredGenerators = [:]
        for (r, rankWords) in all.enumerated().dropFirst() {
            for (index, (name, _)) in stochastic.enumerated() {
                let halves = rankWords[(4 * index)..<(4 * index + 4)].flatMap { [Double($0 >> 32), Double($0 & 0xFFFF_FFFF)] }
                gatheredGenerators["rank\(r).\(name)"] = Tensor(shape: [8], scalars: halves)
            }
        }
    }

    /// Compares a checksum of every replica's parameters: they must be bit for bit the same.
    /// - Throws: ``NablaError`` naming the epoch when they are not (a reduction that is not
    ///   deterministic, or memory corruption) — continuing would train `K` different models.
    func verifyIdenticalWeights(_ trainer: Trainer) throws {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for parameter in model.parameters {
            parameter.value.withUnsafeBufferPointer { values in
                for value in values { hash = (hash ^ UInt64(value.bitPattern)) &* 0x0000_0100_0000_01B3 }
            }
        }
        let group = self.group
        let hashes = collective { try group.allGather([hash]) }.map { $0.first ?? 0 }
        if let odd = hashes.firstIndex(where: { $0 != hashes[0] }) {
            throw NablaError(.nonFinite, "the weights of rank \(odd) differ from rank 0's after epoch \(trainer.progress.epoch + 1) (global step \(trainer.progress.globalStep)): the replicas diverged")
        }
    }
}
