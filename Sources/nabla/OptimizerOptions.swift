import ArgumentParser
import Foundation
import Nabla

/// Optimizer and schedule flags (PyTorch's `torch.optim` names and defaults).
struct OptimizerOptions: ParsableArguments {
    @Option(name: .long, help: "sgd, adagrad, rmsprop, adam or adamw.")
    var optimizer: String = "sgd"
    @Option(name: .long, help: "Learning rate (default: PyTorch's for the optimizer: 1e-3, or 1e-2 for adagrad/rmsprop).")
    var lr: Double?
    @Option(name: .long, help: "Momentum (sgd, rmsprop).")
    var momentum: Double?
    @Option(name: .long, help: "Dampening of SGD momentum.")
    var dampening: Double?
    @Flag(name: .long, help: "Nesterov momentum (sgd).")
    var nesterov = false
    @Option(name: .long, help: "Weight decay λ: coupled L2 (g += λw), decoupled for adamw (default 0.01 there).")
    var weightDecay: Double?
    @Flag(name: .long, help: "Decay only weights, not biases or normalization parameters.")
    var decayWeightsOnly = false
    @Option(name: .long, help: "Adam betas B1,B2.")
    var betas: String?
    @Option(name: .long, help: "Epsilon of adagrad/rmsprop/adam.")
    var eps: Double?
    @Option(name: .long, help: "Smoothing constant of rmsprop.")
    var alpha: Double?
    @Flag(name: .long, help: "Centered rmsprop.")
    var centered = false
    @Flag(name: .long, help: "AMSGrad variant of adam/adamw.")
    var amsgrad = false
    @Option(name: .long, help: "Learning-rate decay of adagrad.")
    var lrDecay: Double?
    @Option(name: .long, help: ArgumentHelp("Learning-rate schedule, stepped per epoch.",
        discussion: "step:SIZE[:GAMMA], multistep:M1,M2[:GAMMA], exp:GAMMA, cosine:T_MAX[:ETA_MIN], warmup:EPOCHS[:START_FACTOR], plateau[:FACTOR[:PATIENCE]], or A+B (e.g. warmup:5+cosine:45)."))
    var schedule: String?

    func validate() throws {
        guard OptimizerSpecification.names.contains(optimizer.lowercased()) else {
            throw ValidationError("--optimizer \(optimizer): expected one of \(OptimizerSpecification.names.joined(separator: ", "))")
        }
        for (flag, value) in [("lr", lr), ("momentum", momentum), ("dampening", dampening), ("weight-decay", weightDecay),
                              ("eps", eps), ("alpha", alpha), ("lr-decay", lrDecay)] {
            if let value, !value.isFinite { throw ValidationError("--\(flag) \(value) is not a finite number") }
        }
        if let betas {
            let values = betas.split(separator: ",").map { Double($0) }
            guard values.count == 2, values.allSatisfy({ $0 != nil }) else { throw ValidationError("--betas \(betas): expected two numbers B1,B2") }
        }
        if let schedule { _ = try ScheduleSpecification(parsing: schedule) }
    }

    var specification: OptimizerSpecification {
        var s = OptimizerSpecification(name: optimizer.lowercased())
        s.learningRate = lr
        s.momentum = momentum
        s.dampening = dampening
        s.nesterov = nesterov
        s.weightDecay = weightDecay
        s.decayWeightsOnly = decayWeightsOnly
        s.betas = betas?.split(separator: ",").compactMap { Double($0) }
        s.epsilon = eps
        s.alpha = alpha
        s.centered = centered
        s.amsgrad = amsgrad
        s.learningRateDecay = lrDecay
        return s
    }
}

/// Penalty, constraint, clipping and augmentation flags.
struct RegularizationOptions: ParsableArguments {
    @Option(name: .long, help: "L1 penalty λ·Σ|w| on the weights (not biases/normalization).")
    var l1: Double?
    @Option(name: .long, help: "L2 penalty λ/2·Σw² on the weights (not biases/normalization).")
    var l2: Double?
    @Option(name: .long, help: "Elastic-net penalty λ·(β·Σw² + Σ|w|), given as λ,β.")
    var elastic: String?
    @Option(name: .long, help: "Clip gradients to this global L2 norm.")
    var clipNorm: Double?
    @Option(name: .long, help: "Clip gradient elements to [−v, v].")
    var clipValue: Double?
    @Option(name: .long, help: "Max-norm constraint on each weight row/filter.")
    var maxNorm: Double?
    @Option(name: .long, help: ArgumentHelp("Data augmentation pipeline for image batches.",
        discussion: "Comma-separated steps, e.g. crop:4,flip,jitter:0.2,erase:0.5 (see README)."))
    var augment: String?
    @Option(name: .long, help: "Test-time augmentation for the final test accuracy: ten-crop[:PAD] (4 corners + center of the image padded by PAD, each also flipped).")
    var tta: String?

    func validate() throws {
        let set = [l1 != nil, l2 != nil, elastic != nil].filter { $0 }.count
        if set > 1 { throw ValidationError("--l1, --l2 and --elastic are exclusive; --elastic λ,β combines L1 and L2") }
        for (flag, value) in [("l1", l1), ("l2", l2), ("clip-norm", clipNorm), ("clip-value", clipValue), ("max-norm", maxNorm)] {
            if let value, !(value >= 0 && value.isFinite) { throw ValidationError("--\(flag) \(value) must be a non-negative number") }
        }
        if let clipNorm, clipNorm == 0 { throw ValidationError("--clip-norm must be positive") }
        if let maxNorm, maxNorm == 0 { throw ValidationError("--max-norm must be positive") }
        _ = try penalty()
        if let augment { _ = try AugmentationPipeline(parsing: augment) }
        if let tta { _ = try tenCropPadding(tta) }
    }

    func penalty() throws -> ParameterPenalty {
        if let l1 { return .l1(lambda: l1) }
        if let l2 { return .l2(lambda: l2) }
        if let elastic { return try ParameterPenalty(parsing: "elastic:" + elastic.replacingOccurrences(of: ",", with: ":")) }
        return .none
    }

    /// The augmentation pipeline, validated against the image shape.
    func augmentationPipeline(imageShape: [Int]) throws -> AugmentationPipeline? {
        guard let augment else { return nil }
        let pipeline = try AugmentationPipeline(parsing: augment)
        try pipeline.validate(imageShape: imageShape)
        return pipeline
    }

    func tenCropPadding(_ spec: String) throws -> Int {
        let parts = spec.split(separator: ":").map(String.init)
        guard parts.first?.lowercased() == "ten-crop", parts.count <= 2 else {
            throw NablaError(.invalidArgument, "--tta \(spec): expected ten-crop or ten-crop:PAD")
        }
        guard parts.count == 2 else { return 2 }
        guard let pad = Int(parts[1]), pad >= 0 else { throw NablaError(.invalidArgument, "--tta \(spec): PAD must be a non-negative integer") }
        return pad
    }

    /// Test accuracy with ten-crop test-time augmentation: each test image is padded by PAD (zeros)
    /// and the model's softmax outputs on the ten crops of the original size are averaged.
    func testTimeAccuracy(model: Module<Float>, test: Dataset) throws -> Double? {
        guard let tta, case .classes(let labels, _) = test.targets, test.inputs.rank == 4 else { return nil }
        let pad = try tenCropPadding(tta)
        let (h, w) = (test.inputs.shape[2], test.inputs.shape[3])
        var correct = 0
        model.evaluating {
            var start = 0
            while start < test.count {
                let end = min(start + 500, test.count)
                let batch = test.inputs[start..<end]
                let padded = paddedCrop(batch, offsets: Array(repeating: (0, 0), count: end - start),
                                        height: h + 2 * pad, width: w + 2 * pad, padding: pad)
                let probabilities = tenCropPrediction(padded, height: h, width: w) { model($0) }
                let predicted = probabilities.argmax(alongAxis: 1)
                for (i, p) in predicted.enumerated() where p == labels[start + i] { correct += 1 }
                start = end
            }
        }
        return Double(correct) / Double(test.count)
    }

    /// A canonical description for checkpoint identity.
    var identity: String {
        "l1=\(l1 ?? 0),l2=\(l2 ?? 0),elastic=\(elastic ?? ""),clip=\(clipNorm ?? 0)/\(clipValue ?? 0),max_norm=\(maxNorm ?? 0),augment=\(augment ?? "")"
    }
}
