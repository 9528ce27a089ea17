import Foundation
import NablaTensor
import NablaIO
import NablaNN
import NablaOptim

/// Checkpoints, resume and the directory locks of a ``Trainer``.
extension Trainer {
    /// `checkpoint.safetensors` in the checkpoint directory, if one is configured.
    public var checkpointURL: URL? { configuration.checkpointDirectory?.appendingPathComponent("checkpoint.safetensors") }
    /// `best.safetensors`: early stopping's best weights so far, as a PyTorch-readable state dict.
    var bestWeightsURL: URL? { configuration.checkpointDirectory?.appendingPathComponent("best.safetensors") }

    /// The complete state of the run.
    public func checkpoint() -> Checkpoint {
        var progress = self.progress
        if let state = earlyStopping?.state {
            progress.bestMetric = state.bestMetric
            progress.bestEpoch = state.bestEpoch
            progress.epochsWithoutImprovement = state.epochsWithoutImprovement
        }
        var checkpoint = Checkpoint(model: model.stateDict(), integerModelKeys: model.integerStateKeys,
                                    optimizer: optimizer.stateDict(), schedule: schedule?.stateDict() ?? [:],
                                    generators: model.randomGeneratorStates().mapValues(\.words), progress: progress,
                                    configuration: runIdentity)
        for callback in callbacks {
            let state = callback.checkpointState()
            if !state.isEmpty { checkpoint.callbacks[callback.name] = state }
        }
        checkpoint.modelCounters = model.integerState()
        checkpoint.bestModel = earlyStopping?.bestStateDict ?? [:]
        if progress.stepInEpoch == trainLoader.batchCount {
            // The end-of-epoch work still to come logs the last step's gradients.
            for (name, parameter) in model.namedParameters() { checkpoint.gradients[name] = parameter.grad }
        }
        return checkpoint
    }

    /// `model.safetensors` in the checkpoint directory, if one is configured.
    var modelFileURL: URL? { configuration.checkpointDirectory?.appendingPathComponent("model.safetensors") }

    /// Writes `checkpoint.safetensors` and `model.safetensors` (atomically) if a directory is configured.
    ///
    /// Each file is replaced atomically, but not the pair: the checkpoint is written first and is the
    /// commit point, so a kill between the two renames leaves the previous weights in
    /// `model.safetensors` beside the newer checkpoint, and ``resume(from:)`` rewrites them from it.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) naming the file when a write fails (a full disk, a read-only
    ///   directory); the previous checkpoint is then intact, and a later run resumes from it.
    public func saveCheckpoint() throws {
        guard let url = checkpointURL, let modelURL = modelFileURL else { return }
        try checkpoint().write(to: url)
        try model.save(to: modelURL, metadata: modelMetadata)
    }

    /// Rewrites `model.safetensors` unless it already holds exactly the model's state (restored
    /// from the checkpoint), so the pair agrees again after a kill between their writes.
    func synchronizeModelFile() throws {
        guard let url = modelFileURL else { return }
        let bytes = model.stateDictFile(metadata: modelMetadata).serialized()
        if let existing = try? Data(contentsOf: url), existing.elementsEqual(bytes) { return }
        try AtomicFile.write(Data(bytes), to: url)
    }

    /// Restores a run from a checkpoint written by ``saveCheckpoint()``, after checking it against
    /// this run: its configuration, every progress field (``TrainingProgress/validate(against:source:)``),
    /// the schedule's epoch counter, the optimizer's step counters and early stopping's best weights.
    /// Locks the checkpoint and log directories first (until the end of ``fit()``), and makes
    /// `model.safetensors` hold the checkpoint's weights (see ``saveCheckpoint()``).
    /// - Throws: ``/NablaTensor/NablaError`` naming the file and the field when the file is unreadable or
    ///   malformed, was written by a run with a different configuration (model, data, optimizer, …),
    ///   or holds values this run cannot have reached; `.io` when another run holds a directory.
    public func resume(from url: URL) throws {
        try lockDirectories()
        try resume(from: try Checkpoint.read(from: url), source: url)
    }

    /// ``resume(from:)`` with a checkpoint read already (data-parallel replicas receive the bytes
    /// rank 0 read); `source` names it in errors.
    public func resume(from saved: Checkpoint, source url: URL) throws {
        try lockDirectories()
        guard saved.configuration == runIdentity else {
            throw NablaError(.invalidArgument, "\(url.path): checkpoint was written by a run with a different configuration; resume with the same flags (epochs/steps may change)")
        }
        let geometry = RunGeometry(batchesPerEpoch: trainLoader.batchCount, batchSize: trainLoader.batchSize,
                                   epochs: configuration.steps == nil ? configuration.epochs : nil, steps: configuration.steps,
                                   accumulationSteps: configuration.accumulationSteps)
        try saved.progress.validate(against: geometry, source: url.path)
        do {
            try validateCounters(of: saved)
            try model.loadStateDict(saved.model)
            try model.loadIntegerState(saved.modelCounters)
            try restoreGradients(saved.gradients)
            try optimizer.loadStateDict(saved.optimizer)
            if let schedule {
                try schedule.loadStateDict(saved.schedule)
                guard schedule.lastEpoch == saved.progress.epoch else {
                    throw NablaError(.invalidArgument, "schedule last_epoch \(schedule.lastEpoch) does not match the \(saved.progress.epoch) completed epoch(s)")
                }
            }
            try model.restoreRandomGenerators(saved.generators.mapValues { RandomGenerator(words: $0) })
            for callback in callbacks { try callback.restore(checkpointState: saved.callbacks[callback.name] ?? [:]) }
            if let unknown = Set(saved.callbacks.keys).subtracting(callbacks.map(\.name)).sorted().first {
                throw NablaError(.unexpectedKey, "checkpoint holds the state of '\(unknown)', which this run does not have")
            }
            if let earlyStopping {
                earlyStopping.state = .init(bestMetric: saved.progress.bestMetric, bestEpoch: saved.progress.bestEpoch,
                                            epochsWithoutImprovement: saved.progress.epochsWithoutImprovement,
                                            stopped: saved.progress.earlyStopped == true)
                earlyStopping.setBestStateDict(try bestWeights(of: saved))
            } else if saved.progress.bestEpoch != nil || !saved.bestModel.isEmpty {
                throw NablaError(.unexpectedKey, "checkpoint holds early-stopping state, but this run has no early stopping")
            }
        } catch let error as NablaError {
            throw NablaError(error.kind, "\(url.path): \(error.message)")
        }
        progress = saved.progress
        try synchronizeModelFile()
    }

    /// Checks the optimizer's per-parameter step counters (`state.<i>.step`) against the run's steps,
    /// and the model's integer counters (`num_batches_tracked`) for whole, non-negative values.
    private func validateCounters(of saved: Checkpoint) throws {
        for (key, tensor) in saved.optimizer where key.hasSuffix(".step") {
            if let bad = tensor.scalars.first(where: { !($0 >= 0 && $0 <= Double(saved.progress.globalStep)) }) {
                throw NablaError(.invalidArgument, "optimizer state '\(key)' is \(bad), outside 0...\(saved.progress.globalStep) (the steps taken)")
            }
        }
        for key in model.integerStateKeys {
            if let bad = saved.model[key]?.scalars.first(where: { !($0 >= 0 && $0 == $0.rounded()) }) {
                throw NablaError(.invalidArgument, "model counter '\(key)' is \(bad), not a non-negative whole number")
            }
            if let bad = saved.modelCounters[key]?.first(where: { $0 < 0 }) {
                throw NablaError(.invalidArgument, "model counter '\(key)' is \(bad), not a non-negative whole number")
            }
        }
    }

    /// Puts the gradients a checkpoint kept back on the parameters, after checking their names and shapes.
    private func restoreGradients(_ gradients: [String: Tensor<Float>]) throws {
        guard !gradients.isEmpty else { return }
        let parameters = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.name, $0.variable) })
        for (name, gradient) in gradients {
            guard let parameter = parameters[name], parameter.value.shape == gradient.shape else {
                throw NablaError(.unexpectedKey, "checkpoint gradient '\(name)' of shape \(gradient.shape) does not fit a parameter")
            }
        }
        for (name, gradient) in gradients { parameters[name]?.grad = gradient }
    }

    /// Early stopping's best weights: from the checkpoint itself, or — for a checkpoint written
    /// before they were part of it — from `best.safetensors`; checked against the model's keys and shapes.
    private func bestWeights(of saved: Checkpoint) throws -> [String: Tensor<Float>]? {
        guard let bestEpoch = saved.progress.bestEpoch else {
            guard saved.bestModel.isEmpty else { throw NablaError(.unexpectedKey, "checkpoint holds best weights but no best epoch") }
            return nil
        }
        var best = saved.bestModel
        if best.isEmpty, let url = bestWeightsURL, FileManager.default.fileExists(atPath: url.path) {
            best = try SafeTensorsFile.read(from: url).tensors.mapValues { $0.tensor(as: Float.self) }
        }
        let expected = model.stateDict()
        guard Set(best.keys) == Set(expected.keys), best.allSatisfy({ expected[$0.key]?.shape == $0.value.shape }) else {
            throw NablaError(.missingKey, "the best weights of epoch \(bestEpoch) are missing or do not fit the model")
        }
        return best
    }

    /// Locks the checkpoint and log directories (each once; creating them) unless already held, and
    /// removes temporary files that writers killed mid-write left in them.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) naming the directory and the process that holds it.
    func lockDirectories() throws {
        guard locks.isEmpty else { return }
        var acquired: [DirectoryLock] = []
        for (directory, purpose) in [(configuration.checkpointDirectory, "checkpoint directory"), (configuration.logDirectory, "log directory")] {
            guard let directory = directory?.standardizedFileURL,
                  !acquired.contains(where: { $0.directory.resolvingSymlinksInPath() == directory.resolvingSymlinksInPath() }) else { continue }
            acquired.append(try DirectoryLock.acquire(directory, purpose: purpose))
            AtomicFile.removeStaleTemporaries(in: directory)
        }
        locks = acquired
    }

    /// Releases the directory locks.
    func releaseLocks() {
        for lock in locks { lock.release() }
        locks = []
    }
}
