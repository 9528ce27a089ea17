import ArgumentParser
import Foundation
import Nabla

/// `nabla train`'s toolbox flags: class weights, mixup/CutMix, weight averaging, gradient
/// accumulation and keep-best checkpoints. Each sets one ``TrainingPlan`` field; the plan validates them.
struct ToolboxOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("One weight per class for --loss cross-entropy or nll: W1,W2,… (PyTorch's weight).",
        discussion: "With class labels the loss is the weighted mean Σ w[y]·loss / Σ w[y]; with the soft targets of --mixup/--cutmix, the mean over the batch."))
    var classWeights: String?

    @Option(name: .long, help: "Mixup (Zhang et al. 2018) of every training batch with λ ~ Beta(α, α); trains on soft targets.")
    var mixup: Double?
    @Option(name: .long, help: "CutMix (Yun et al. 2019) with λ ~ Beta(α, α); with --mixup, one of the two per batch.")
    var cutmix: Double?

    @Option(name: .long, help: ArgumentHelp("Keep an exponential moving average of the weights with this decay, updated after every step.",
        discussion: "PyTorch's AveragedModel with get_ema_multi_avg_fn(decay), buffers averaged. The final metrics and --save use the EMA weights; checkpoints keep both (ema.safetensors beside model.safetensors)."))
    var ema: Double?
    @Option(name: .long, help: ArgumentHelp("Stochastic weight averaging: START[,SWA_LR[,ANNEAL_EPOCHS[,cos|linear]]].",
        discussion: "Averages the weights after every epoch from START (1-based) on; with SWA_LR, PyTorch's SWALR (default 10 annealing epochs, cos) replaces the schedule from the end of epoch START. At the end, update_bn recomputes batch-norm statistics; the final metrics and --save use the SWA weights (swa.safetensors in --checkpoint-dir)."))
    var swa: String?

    @Option(name: .long, help: "Gradient accumulation: one optimizer step per N batches (the N×-batch gradient; batch norm still sees each batch).")
    var accumulate: Int = 1

    @Option(name: .long, help: "Keep the weights of the best epoch by a validation metric (val_loss or val_accuracy) as best-METRIC.safetensors in --checkpoint-dir.")
    var keepBest: String?
    @Option(name: .long, help: "With --keep-best: keep the K best epochs in --checkpoint-dir/top-METRIC/.")
    var keepTopK: Int?

    /// `--class-weights` as numbers, or `nil` when absent.
    func weights() throws -> [Double]? {
        guard let classWeights else { return nil }
        let values = classWeights.split(separator: ",", omittingEmptySubsequences: false).map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil && $0!.isFinite }) else {
            throw ValidationError("--class-weights \(classWeights): expected one number per class, W1,W2,…")
        }
        return values.map { $0! }
    }

    func validate() throws { _ = try weights() }

    /// Sets the plan's toolbox fields from these flags.
    func apply(to plan: inout TrainingPlan) {
        plan.classWeights = try? weights()
        plan.mixupAlpha = mixup
        plan.cutMixAlpha = cutmix
        plan.emaDecay = ema
        plan.swa = swa
        plan.accumulationSteps = accumulate
        plan.keepBest = keepBest
        plan.keepTopK = keepTopK
    }
}

extension TrainCommand {
    /// After training: puts the averaged weights (`--ema`, `--swa`) into the model, so the final
    /// metrics and `--save` use them, and says so; reports the epochs `--keep-best` kept.
    /// - Returns: `"ema"` or `"swa"` when the final weights are averaged.
    func finishToolbox(_ session: TrainingSession, quiet: Bool) throws -> String? {
        func note(_ line: String) { if !quiet { StandardStreams.note(line + "\n") } }
        if let keep = session.trainer.callbacks.lazy.compactMap({ $0 as? BestCheckpointCallback }).first, let best = keep.kept.first {
            note("kept the best \(keep.metric.rawValue): epoch \(best.epoch) (\(best.value)) in \(keep.bestURL.path)"
                 + (keep.count > 1 ? "; top \(keep.count): epochs \(keep.kept.map { String($0.epoch) }.joined(separator: ", "))" : ""))
        }
        guard let averaging = session.weightAveraging else { return nil }
        guard averaging.hasAverage else {
            note("\(averaging.name.uppercased()): no weights averaged yet; the final metrics and --save use the trained weights")
            return nil
        }
        try averaging.apply(to: session.model)
        let file = session.plan.output.checkpointDirectory.map { "; the trained weights stay in \($0)/model.safetensors, the averaged in \($0)/\(averaging.name).safetensors" } ?? ""
        note("final metrics and --save use the averaged weights: \(averaging.summary)\(file)")
        return averaging.name
    }
}
