import NablaTensor

/// Gradient-check cases for the foundation: tensor arithmetic, activations, losses, core layers.
extension GradientCheckSuite {
    static var tensorOperations: [GradientCheckCase] {
        typealias V = Variable<Double>
        return [
            .function("add (broadcast)", shapes: [[3, 4], [4]]) { $0[0] + $0[1] },
            .function("subtract (broadcast)", shapes: [[2, 1, 3], [4, 1]]) { $0[0] - $0[1] },
            .function("multiply (broadcast)", shapes: [[3, 4], [3, 1]]) { $0[0] * $0[1] },
            .function("divide (broadcast)", shapes: [[3, 4], [4]], lower: 0.5, upper: 2) { $0[0] / $0[1] },
            .function("negate, scalar ops", shapes: [[5]]) { (-$0[0] * 3 + 1) / 2 },
            .function("squared", shapes: [[6]]) { $0[0].squared() },
            .function("abs", shapes: [[6]], kinkMargin: 0.1) { $0[0].abs() },
            .function("exp", shapes: [[6]]) { $0[0].exp() },
            .function("log", shapes: [[6]], lower: 0.2, upper: 3) { $0[0].log() },
            .function("squareRoot", shapes: [[6]], lower: 0.2, upper: 3) { $0[0].squareRoot() },
            .function("sum", shapes: [[3, 4]]) { $0[0].sum() },
            .function("mean", shapes: [[3, 4]]) { $0[0].mean() },
            .function("sum(alongAxes: [0, 2])", shapes: [[2, 3, 4]]) { $0[0].sum(alongAxes: [0, 2]) },
            .function("mean(alongAxes: [1], keeping)", shapes: [[2, 3, 4]]) { $0[0].mean(alongAxes: [1], keepingDimensions: true) },
            .function("reshaped", shapes: [[2, 6]]) { $0[0].reshaped(to: [3, -1]) },
            .function("permuted", shapes: [[2, 3, 4]]) { $0[0].permuted([2, 0, 1]) },
            .function("transposed", shapes: [[3, 5]]) { $0[0].transposed() },
            .function("matmul", shapes: [[3, 4], [4, 5]]) { $0[0].matmul($0[1]) },
            .function("matmul (batched)", shapes: [[2, 3, 4], [2, 4, 2]]) { $0[0].matmul($0[1]) },
            .function("concatenate(axis 1)", shapes: [[2, 3], [2, 2]]) { V.concatenate($0, alongAxis: 1) },
            .function("linear", shapes: [[4, 5], [3, 5], [3]]) { linear($0[0], weight: $0[1], bias: $0[2]) },
            .function("linear (no bias, [2,3,5])", shapes: [[2, 3, 5], [4, 5]]) { linear($0[0], weight: $0[1], bias: nil) },
        ]
    }

    static var activations: [GradientCheckCase] {
        [
            .function("relu", shapes: [[4, 5]], kinkMargin: 0.05) { $0[0].relu() },
            .function("leakyRelu", shapes: [[4, 5]], kinkMargin: 0.05) { $0[0].leakyRelu(negativeSlope: 0.1) },
            .function("sigmoid", shapes: [[4, 5]], lower: -6, upper: 6) { $0[0].sigmoid() },
            .function("tanh", shapes: [[4, 5]]) { $0[0].tanh() },
            .function("gelu", shapes: [[4, 5]], lower: -4, upper: 4) { $0[0].gelu() },
            .function("softmax", shapes: [[3, 5]]) { $0[0].softmax() },
            .function("softmax(axis 0)", shapes: [[3, 5]]) { $0[0].softmax(alongAxis: 0) },
            .function("logSoftmax", shapes: [[3, 5]]) { $0[0].logSoftmax() },
        ]
    }

    static var losses: [GradientCheckCase] {
        let labels = [2, 0, 4, 1]
        var generator = RandomGenerator(seed: 99)
        let target = Tensor<Double>(normal: [4, 3], using: &generator)
        let binary = Tensor<Double>(bernoulli: [4, 3], probability: 0.5, using: &generator)
        let classWeights: [Double] = [0.5, 2, 1, 0.25, 1.5]
        // Mixup-like soft targets: rows of positive probabilities.
        let soft = Tensor<Double>(uniform: [4, 5], lower: 0.1, upper: 1, using: &generator).softmax(alongAxis: 1)
        return [
            .function("crossEntropy", shapes: [[4, 5]]) { crossEntropy(logits: $0[0], labels: labels) },
            .function("crossEntropy(labelSmoothing 0.1)", shapes: [[4, 5]]) {
                crossEntropy(logits: $0[0], labels: labels, labelSmoothing: 0.1)
            },
            .function("crossEntropy(classWeights)", shapes: [[4, 5]], seed: 7) {
                crossEntropy(logits: $0[0], labels: labels, classWeights: classWeights)
            },
            .function("crossEntropy(classWeights, labelSmoothing 0.2)", shapes: [[4, 5]], seed: 8) {
                crossEntropy(logits: $0[0], labels: labels, classWeights: classWeights, labelSmoothing: 0.2)
            },
            .function("crossEntropy(probabilities)", shapes: [[4, 5]], seed: 9) {
                crossEntropy(logits: $0[0], probabilities: soft)
            },
            .function("crossEntropy(probabilities, classWeights, labelSmoothing 0.1)", shapes: [[4, 5]], seed: 10) {
                crossEntropy(logits: $0[0], probabilities: soft, classWeights: classWeights, labelSmoothing: 0.1)
            },
            .function("nllLoss", shapes: [[4, 5]], seed: 11) { nllLoss(logProbabilities: $0[0], labels: labels) },
            .function("nllLoss(classWeights) ∘ logSoftmax", shapes: [[4, 5]], seed: 12) {
                nllLoss(logProbabilities: $0[0].logSoftmax(), labels: labels, classWeights: classWeights)
            },
            .function("meanSquaredError", shapes: [[4, 3]]) { meanSquaredError($0[0], target) },
            .function("l1Loss", shapes: [[4, 3]], seed: 3) { l1Loss($0[0], target) },
            .function("smoothL1Loss(beta 0.5)", shapes: [[4, 3]], seed: 4) { smoothL1Loss($0[0], target, beta: 0.5) },
            .function("huberLoss(delta 0.7)", shapes: [[4, 3]], seed: 5) { huberLoss($0[0], target, delta: 0.7) },
            .function("binaryCrossEntropy", shapes: [[4, 3]], lower: -4, upper: 4) { binaryCrossEntropy(logits: $0[0], targets: binary) },
            .function("multiclassHingeLoss", shapes: [[4, 5]], seed: 6) { multiclassHingeLoss(scores: $0[0], labels: labels) },
        ]
    }

    static var coreLayers: [GradientCheckCase] {
        [
            .module("Linear(5, 3)", input: [4, 5]) { Linear(5, 3, using: &$0) },
            .module("Linear(5, 3, bias: false)", input: [4, 5]) { Linear(5, 3, bias: false, using: &$0) },
            .module("Sequential(Flatten, Linear, Tanh, Linear)", input: [2, 2, 3]) { g in
                Sequential([Flatten(), Linear(6, 4, using: &g), Tanh(), Linear(4, 2, using: &g)])
            },
            .module("Sequential(Linear, GELU, Linear, LogSoftmax)", input: [3, 4]) { g in
                Sequential([Linear(4, 6, using: &g), GELU(), Linear(6, 3, using: &g), LogSoftmax()])
            },
        ]
    }
}
