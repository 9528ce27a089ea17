import Foundation
import NablaNN
import NablaOptim

extension TrainingPlan {
    /// The `nabla train` arguments that repeat this plan: flags at their defaults are left out, but
    /// the budget, the seed, the optimizer's name and its effective learning rate are always given
    /// (the budget as `--steps` when the plan has one, which makes its ``epochs`` irrelevant).
    /// `nabla train` parses them back into an equal plan (the command-line tests check the round trip).
    ///
    /// - Parameter modelFile: the path under which ``Model/description`` of a plan with an inline
    ///   model is saved (its ``/NablaNN/ModelDescription/yaml``); ignored for a model given by name.
    public func commandLineArguments(modelFile: String? = nil) -> [String] {
        let f = shortestDecimal
        var words: [String] = []
        func add(_ flag: String, _ value: String?) { if let value { words += ["--" + flag, value] } }
        func add(_ flag: String, _ isSet: Bool) { if isSet { words.append("--" + flag) } }

        add("model", model.description == nil ? model.name : (modelFile ?? "\(model.name).yaml"))
        add("norm", model.normalization)
        add("dropout", model.dropout.map(f))
        add("dropout-mode", model.dropoutMode == .inverted ? nil : model.dropoutMode.rawValue)
        add("weight-init", model.initialization == .pytorchDefault ? nil : model.initialization.rawValue)
        add("init", model.initialWeights)

        add("data", data.spec)
        add("target", data.target)
        add("val-split", data.validationFraction == 0 ? nil : f(data.validationFraction))
        add("train-subset", data.trainSubset.map(String.init))
        add("normalize", data.normalize)

        // The budget and the seed are always spelled out: a reproduce command should not lean on defaults.
        add("epochs", steps != nil ? nil : String(epochs))      // --steps replaces the epoch budget
        add("steps", steps.map(String.init))
        add("batch-size", String(batchSize))
        add("no-shuffle", !shuffle)
        add("drop-last", dropLast)
        add("seed", String(seed))

        add("loss", loss == "cross-entropy" ? nil : loss)
        add("label-smoothing", labelSmoothing == 0 ? nil : f(labelSmoothing))
        add("class-weights", classWeights.map { $0.map(f).joined(separator: ",") })
        words += optimizer.commandLineArguments
        add("schedule", schedule)
        add("sam", sam.map(f))
        add("lookahead", lookahead?.description)
        if let penalty = try? parameterPenalty() {
            switch penalty {
            case .none: break
            case .l2(let lambda): add("l2", f(lambda))
            case .l1(let lambda): add("l1", f(lambda))
            case .elasticNet(let lambda, let beta): add("elastic", "\(f(lambda)),\(f(beta))")
            }
        }
        add("clip-norm", clipNorm.map(f))
        add("clip-value", clipValue.map(f))
        add("max-norm", maxNorm.map(f))
        add("augment", augmentation)
        add("tta", testTimeAugmentation)
        add("mixup", mixupAlpha.map(f))
        add("cutmix", cutMixAlpha.map(f))
        add("ema", emaDecay.map(f))
        add("swa", swa)
        add("accumulate", accumulationSteps == 1 ? nil : String(accumulationSteps))
        add("keep-best", keepBest)
        add("keep-top-k", keepTopK.map(String.init))

        add("early-stop", earlyStoppingPatience.map(String.init))
        add("skip-nonfinite", skipNonFinite)
        add("sync-bn", syncBatchNorm)
        add("allow-divergence", allowDivergence)
        add("precision", precision == .bfloat16 ? precision?.rawValue : nil)

        add("checkpoint-dir", output.checkpointDirectory)
        add("checkpoint-every", output.checkpointEvery.map(String.init))
        add("resume", output.resume)
        add("logdir", output.logDirectory)
        add("no-histograms", !output.logHistograms)
        add("log-every", output.logEvery.map(String.init))
        add("overwrite", output.overwrite)
        add("save", output.save)
        add("quiet", output.quiet)
        return words
    }

    /// `nabla train …` with ``commandLineArguments(modelFile:)``, each word quoted for a POSIX
    /// shell where it needs it — the line a report prints under "reproduce".
    public func commandLine(modelFile: String? = nil) -> String {
        (["nabla", "train"] + commandLineArguments(modelFile: modelFile)).map(shellQuoted).joined(separator: " ")
    }
}

/// `word` quoted for a POSIX shell when it needs it (`'it'\''s'`).
public func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,:=+@%")
    if !word.isEmpty && word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
