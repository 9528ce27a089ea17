import NablaTensor
import NablaNN
import NablaData

/// The training objective, chosen by name on the command line (`--loss`).
public enum LossFunction: Equatable, Sendable {
    /// Softmax cross-entropy from logits (`F.cross_entropy`), optional label smoothing ε and class
    /// weights (`weight`: with class labels a weighted mean that divides by the sum of the targets'
    /// weights; with the probability targets of mixup/CutMix a mean over the batch).
    case crossEntropy(labelSmoothing: Double, classWeights: [Double]? = nil)
    /// The negative log-likelihood of log-probabilities (`F.nll_loss`), for models whose last layer
    /// is `LogSoftmax`; optional class weights (the same weighted mean).
    case negativeLogLikelihood(classWeights: [Double]? = nil)
    /// Mean squared error.
    case meanSquaredError
    /// Mean absolute error.
    case l1
    /// Smooth L1 with threshold β (Fast R-CNN); β = 1 is PyTorch's default.
    case smoothL1(beta: Double)
    /// Binary cross-entropy from logits; class targets become one-hot vectors.
    case binaryCrossEntropy
    /// The cs231n multiclass SVM hinge loss with the given margin.
    case hinge(margin: Double)

    /// The CLI names, in help order.
    public static let names = ["cross-entropy", "nll", "mse", "l1", "smooth-l1", "bce", "hinge"]

    /// Parses a CLI name.
    /// - Throws: ``/NablaTensor/NablaError`` listing the accepted names, or when label smoothing or class weights
    ///   are given for a loss that does not take them, or a weight is not finite.
    public init(name: String, labelSmoothing: Double = 0, classWeights: [Double]? = nil) throws {
        switch name.lowercased() {
        case "cross-entropy", "crossentropy", "ce": self = .crossEntropy(labelSmoothing: labelSmoothing, classWeights: classWeights)
        case "nll", "nll-loss", "nllloss": self = .negativeLogLikelihood(classWeights: classWeights)
        case "mse": self = .meanSquaredError
        case "l1": self = .l1
        case "smooth-l1", "huber": self = .smoothL1(beta: 1)
        case "bce": self = .binaryCrossEntropy
        case "hinge", "svm": self = .hinge(margin: 1)
        default: throw NablaError(.invalidArgument, "--loss \(name): expected one of \(LossFunction.names.joined(separator: ", "))")
        }
        if labelSmoothing != 0, case .crossEntropy = self {} else if labelSmoothing != 0 {
            throw NablaError(.invalidArgument, "--label-smoothing applies to the cross-entropy loss only")
        }
        if let classWeights {
            switch self {
            case .crossEntropy, .negativeLogLikelihood: break
            default: throw NablaError(.invalidArgument, "--class-weights applies to the cross-entropy and nll losses only")
            }
            guard !classWeights.isEmpty, classWeights.allSatisfy(\.isFinite) else {
                throw NablaError(.invalidArgument, "--class-weights \(classWeights.map { "\($0)" }.joined(separator: ",")): expected one finite number per class")
            }
        }
    }

    /// The name ``init(name:labelSmoothing:classWeights:)`` reads (`--loss`): `cross-entropy`, `nll`,
    /// `mse`, `l1`, `smooth-l1`, `bce` or `hinge`. (Smooth L1's β and the hinge margin other than
    /// PyTorch's and cs231n's defaults of 1 have no command-line spelling.)
    public var name: String {
        switch self {
        case .crossEntropy: return "cross-entropy"
        case .negativeLogLikelihood: return "nll"
        case .meanSquaredError: return "mse"
        case .l1: return "l1"
        case .smoothL1: return "smooth-l1"
        case .binaryCrossEntropy: return "bce"
        case .hinge: return "hinge"
        }
    }

    /// The label smoothing ε of the cross-entropy loss (0 for every other loss).
    public var labelSmoothing: Double {
        if case .crossEntropy(let eps, _) = self { return eps }
        return 0
    }

    /// The class weights of the cross-entropy or nll loss, if any.
    public var classWeights: [Double]? {
        switch self {
        case .crossEntropy(_, let w), .negativeLogLikelihood(let w): return w
        default: return nil
        }
    }

    /// Whether the loss needs class-index targets.
    public var needsClasses: Bool {
        switch self {
        case .crossEntropy, .negativeLogLikelihood, .hinge: return true
        default: return false
        }
    }

    /// Whether the loss trains on the soft targets of mixup and CutMix (``/NablaData/Targets/probabilities(_:)``):
    /// cross-entropy and binary cross-entropy (PyTorch's `nll_loss` and the hinge loss take class
    /// indices only).
    public var acceptsProbabilities: Bool {
        switch self {
        case .crossEntropy, .binaryCrossEntropy: return true
        default: return false
        }
    }

    /// Checks the loss against a dataset's targets and the model's per-sample output shape.
    ///
    /// Class labels need one score per class: a model with `K` outputs takes labels `0..<K`, as
    /// PyTorch's `cross_entropy` does — more outputs than the data's classes is fine (a subset, a
    /// fine-tuning set); only a label `≥ K` is an error, naming it. `name` names the data in messages.
    public func validate(targets: Targets, outputShape: [Int], name: String? = nil) throws {
        switch (self, targets) {
        case (.crossEntropy, .classes(let labels, let c)), (.negativeLogLikelihood, .classes(let labels, let c)), (.hinge, .classes(let labels, let c)),
             (.binaryCrossEntropy, .classes(let labels, let c)):
            let data = name.map { "\($0) has" } ?? "the data has"
            guard outputShape.count == 1 else {
                throw NablaError(.shapeMismatch, "the model outputs per-sample shape \(outputShape), but class labels need one score per class ([classes])")
            }
            if let sample = labels.firstIndex(where: { $0 >= outputShape[0] }) {
                let largest = labels.max()!
                throw NablaError(.shapeMismatch, "\(data) label \(labels[sample]) (sample \(sample)) but the model has \(outputShape[0]) outputs: "
                                 + "the last layer needs at least \(largest + 1)")
            }
            if let weights = classWeights, weights.count != outputShape[0] {
                // One weight per output, as torch's `weight` argument (outputs ≥ the data's classes).
                let what = outputShape[0] == c ? "the data has \(c) classes" : "the model has \(outputShape[0]) outputs (one weight per output)"
                throw NablaError(.shapeMismatch, "--class-weights has \(weights.count) weights but \(what)")
            }
        case (.crossEntropy, .probabilities(let t)), (.binaryCrossEntropy, .probabilities(let t)):
            let c = t.shape.last ?? 0
            guard outputShape == [c] else {
                throw NablaError(.shapeMismatch, "the model outputs per-sample shape \(outputShape) but the targets have \(c) classes")
            }
            if let weights = classWeights, weights.count != c {
                throw NablaError(.shapeMismatch, "--class-weights has \(weights.count) weights but the data has \(c) classes")
            }
        case (.negativeLogLikelihood, .probabilities), (.hinge, .probabilities):
            throw NablaError(.invalidArgument, "--loss \(self.name): needs class labels, but the targets are class probabilities (use --loss cross-entropy)")
        case (.crossEntropy, .values), (.negativeLogLikelihood, .values), (.hinge, .values):
            throw NablaError(.invalidArgument, "--loss \(self): needs class labels, but the data has real-valued targets (use --loss mse)")
        case (_, .values(let t)):
            guard Array(t.shape.dropFirst()) == outputShape else {
                throw NablaError(.shapeMismatch, "the model outputs per-sample shape \(outputShape) but the targets have shape \(Array(t.shape.dropFirst()))")
            }
        case (_, .classes), (_, .probabilities):
            throw NablaError(.invalidArgument, "--loss \(self): needs real-valued targets, but the data has class labels (use --loss cross-entropy)")
        }
    }

    /// The mean loss of a batch.
    public func callAsFunction(_ output: Variable<Float>, _ targets: Targets) -> Variable<Float> {
        switch (self, targets) {
        case (.crossEntropy(let eps, let weights), .classes(let labels, _)):
            return NablaNN.crossEntropy(logits: output, labels: labels, classWeights: weights?.map { Float($0) }, labelSmoothing: Float(eps))
        case (.crossEntropy(let eps, let weights), .probabilities(let t)):
            return NablaNN.crossEntropy(logits: output, probabilities: t, classWeights: weights?.map { Float($0) }, labelSmoothing: Float(eps))
        case (.negativeLogLikelihood(let weights), .classes(let labels, _)):
            return NablaNN.nllLoss(logProbabilities: output, labels: labels, classWeights: weights?.map { Float($0) })
        case (.hinge(let margin), .classes(let labels, _)):
            return NablaNN.multiclassHingeLoss(scores: output, labels: labels, margin: Float(margin))
        case (.binaryCrossEntropy, .classes(let labels, _)):
            // One column per output (the model may have more outputs than the data has classes).
            return NablaNN.binaryCrossEntropy(logits: output, targets: oneHot(labels, classCount: output.value.shape.last ?? 1))
        case (.binaryCrossEntropy, .values(let t)), (.binaryCrossEntropy, .probabilities(let t)):
            return NablaNN.binaryCrossEntropy(logits: output, targets: t)
        case (.meanSquaredError, .values(let t)): return NablaNN.meanSquaredError(output, t)
        case (.l1, .values(let t)): return NablaNN.l1Loss(output, t)
        case (.smoothL1(let beta), .values(let t)): return NablaNN.smoothL1Loss(output, t, beta: Float(beta))
        default: preconditionFailure("loss \(self) does not fit targets \(targets); call validate(targets:outputShape:) first")
        }
    }
}

extension LossFunction: CustomStringConvertible {
    /// The loss as the CLI spells it in messages: `cross-entropy`, `cross-entropy(label_smoothing=0.1)`,
    /// `mse`, `l1`, `smooth-l1(beta=1.0)`, `bce`, `hinge(margin=1.0)`.
    public var description: String {
        func weights(_ w: [Double]?) -> String? { w.map { "weight=[" + $0.map { "\($0)" }.joined(separator: ", ") + "]" } }
        switch self {
        case .crossEntropy(let eps, let w):
            let options = [eps == 0 ? nil : "label_smoothing=\(eps)", weights(w)].compactMap { $0 }
            return options.isEmpty ? "cross-entropy" : "cross-entropy(\(options.joined(separator: ", ")))"
        case .negativeLogLikelihood(let w): return weights(w).map { "nll(\($0))" } ?? "nll"
        case .meanSquaredError: return "mse"
        case .l1: return "l1"
        case .smoothL1(let beta): return "smooth-l1(beta=\(beta))"
        case .binaryCrossEntropy: return "bce"
        case .hinge(let margin): return "hinge(margin=\(margin))"
        }
    }
}
