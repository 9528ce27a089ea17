import NablaTensor
import NablaOptim

/// The `--swa` setting of a run: `START[,SWA_LR[,ANNEAL_EPOCHS[,cos|linear]]]` — average the weights
/// at the end of every epoch from epoch `START` (1-based) on (PyTorch's `AveragedModel` and, at the
/// end, `update_bn`); with `SWA_LR`, the learning rate follows PyTorch's `SWALR(swa_lr, anneal_epochs,
/// anneal_strategy)` from the end of epoch `START` instead of the run's schedule (defaults 10 epochs,
/// cosine), else the run's own schedule continues. Colons may stand for the commas.
public struct StochasticWeightAveragingSpecification: Equatable, Sendable, CustomStringConvertible {
    /// The first epoch (1-based) whose weights are averaged.
    public var startEpoch: Int
    /// The SWA learning rate, or `nil` to keep the run's schedule.
    public var learningRate: Double?
    /// `anneal_epochs` of the SWALR.
    public var annealingEpochs: Int
    /// `anneal_strategy` of the SWALR.
    public var annealing: SWALR.Annealing

    /// A specification from its parts (PyTorch's SWALR defaults: 10 annealing epochs, cosine).
    public init(startEpoch: Int, learningRate: Double? = nil, annealingEpochs: Int = 10, annealing: SWALR.Annealing = .cosine) {
        self.startEpoch = startEpoch
        self.learningRate = learningRate
        self.annealingEpochs = annealingEpochs
        self.annealing = annealing
    }

    /// Parses the spec (grammar above).
    /// - Throws: ``/NablaTensor/NablaError`` naming `--swa` and the problem.
    public init(parsing spec: String) throws {
        func fail(_ problem: String) -> NablaError { NablaError(.invalidArgument, "--swa \(spec): \(problem)") }
        let parts = spec.split(whereSeparator: { $0 == "," || $0 == ":" }).map { $0.trimmingCharacters(in: .whitespaces) }
        guard (1...4).contains(parts.count), !spec.hasSuffix(","), !spec.hasSuffix(":") else {
            throw fail("expected START[,SWA_LR[,ANNEAL_EPOCHS[,cos|linear]]]")
        }
        guard let start = Int(parts[0]), start >= 1 else { throw fail("the start epoch '\(parts[0])' must be a whole number ≥ 1") }
        self.init(startEpoch: start)
        if parts.count > 1 {
            guard let lr = Double(parts[1]), lr >= 0, lr.isFinite else { throw fail("the SWA learning rate '\(parts[1])' must be a non-negative number") }
            learningRate = lr
        }
        if parts.count > 2 {
            guard let epochs = Int(parts[2]), epochs >= 0 else { throw fail("anneal_epochs must be equal or greater than 0, got \(parts[2])") }
            annealingEpochs = epochs
        }
        if parts.count > 3 {
            guard let strategy = SWALR.Annealing(rawValue: parts[3].lowercased() == "cosine" ? "cos" : parts[3].lowercased()) else {
                throw fail("anneal_strategy must be one of 'cos' or 'linear', instead got \(parts[3])")
            }
            annealing = strategy
        }
    }

    /// The shortest spec that parses back to this value.
    public var description: String {
        var parts = [String(startEpoch)]
        if let learningRate {
            parts.append(shortestDecimal(learningRate))
            if annealingEpochs != 10 || annealing != .cosine { parts.append(String(annealingEpochs)) }
            if annealing != .cosine { parts.append(annealing.rawValue) }
        }
        return parts.joined(separator: ",")
    }
}
