import NablaTensor
import NablaNN
import NablaData

/// The training objective, chosen by name on the command line (`--loss`).
public enum LossFunction: Equatable, Sendable {
    /// Softmax cross-entropy from logits, optional label smoothing ε.
    case crossEntropy(labelSmoothing: Double)
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
    public static let names = ["cross-entropy", "mse", "l1", "smooth-l1", "bce", "hinge"]

    /// Parses a CLI name.
    /// - Throws: ``/NablaTensor/NablaError`` listing the accepted names.
    public init(name: String, labelSmoothing: Double = 0) throws {
        switch name.lowercased() {
        case "cross-entropy", "crossentropy", "ce": self = .crossEntropy(labelSmoothing: labelSmoothing)
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
    }

    /// The name ``init(name:labelSmoothing:)`` reads (`--loss`): `cross-entropy`, `mse`, `l1`,
    /// `smooth-l1`, `bce` or `hinge`. (Smooth L1's β and the hinge margin other than PyTorch's and
    /// cs231n's defaults of 1 have no command-line spelling.)
    public var name: String {
        switch self {
        case .crossEntropy: return "cross-entropy"
        case .meanSquaredError: return "mse"
        case .l1: return "l1"
        case .smoothL1: return "smooth-l1"
        case .binaryCrossEntropy: return "bce"
        case .hinge: return "hinge"
        }
    }

    /// The label smoothing ε of the cross-entropy loss (0 for every other loss).
    public var labelSmoothing: Double {
        if case .crossEntropy(let eps) = self { return eps }
        return 0
    }

    /// Whether the loss needs class-index targets.
    public var needsClasses: Bool {
        switch self {
        case .crossEntropy, .hinge: return true
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
        case (.crossEntropy, .classes(let labels, _)), (.hinge, .classes(let labels, _)), (.binaryCrossEntropy, .classes(let labels, _)):
            let data = name.map { "\($0) has" } ?? "the data has"
            guard outputShape.count == 1 else {
                throw NablaError(.shapeMismatch, "the model outputs per-sample shape \(outputShape), but class labels need one score per class ([classes])")
            }
            if let sample = labels.firstIndex(where: { $0 >= outputShape[0] }) {
                let largest = labels.max()!
                throw NablaError(.shapeMismatch, "\(data) label \(labels[sample]) (sample \(sample)) but the model has \(outputShape[0]) outputs: "
                                 + "the last layer needs at least \(largest + 1)")
            }
        case (.crossEntropy, .values), (.hinge, .values):
            throw NablaError(.invalidArgument, "--loss \(self): needs class labels, but the data has real-valued targets (use --loss mse)")
        case (_, .values(let t)):
            guard Array(t.shape.dropFirst()) == outputShape else {
                throw NablaError(.shapeMismatch, "the model outputs per-sample shape \(outputShape) but the targets have shape \(Array(t.shape.dropFirst()))")
            }
        case (_, .classes):
            throw NablaError(.invalidArgument, "--loss \(self): needs real-valued targets, but the data has class labels (use --loss cross-entropy)")
        }
    }

    /// The mean loss of a batch.
    public func callAsFunction(_ output: Variable<Float>, _ targets: Targets) -> Variable<Float> {
        switch (self, targets) {
        case (.crossEntropy(let eps), .classes(let labels, _)):
            return NablaNN.crossEntropy(logits: output, labels: labels, labelSmoothing: Float(eps))
        case (.hinge(let margin), .classes(let labels, _)):
            return NablaNN.multiclassHingeLoss(scores: output, labels: labels, margin: Float(margin))
        case (.binaryCrossEntropy, .classes(let labels, _)):
            // One column per output (the model may have more outputs than the data has classes).
            let c = output.value.shape.last ?? 1
            var onehot = Tensor<Float>(zeros: [labels.count, c])
            for (i, y) in labels.enumerated() { onehot.scalars[i * c + y] = 1 }
            return NablaNN.binaryCrossEntropy(logits: output, targets: onehot)
        case (.binaryCrossEntropy, .values(let t)): return NablaNN.binaryCrossEntropy(logits: output, targets: t)
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
        switch self {
        case .crossEntropy(let eps): return eps == 0 ? "cross-entropy" : "cross-entropy(label_smoothing=\(eps))"
        case .meanSquaredError: return "mse"
        case .l1: return "l1"
        case .smoothL1(let beta): return "smooth-l1(beta=\(beta))"
        case .binaryCrossEntropy: return "bce"
        case .hinge(let margin): return "hinge(margin=\(margin))"
        }
    }
}
