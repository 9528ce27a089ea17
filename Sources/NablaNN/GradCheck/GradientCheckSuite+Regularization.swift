import NablaTensor

/// Gradient-check cases for the regularization family: the dropout variants with fixed masks, the
/// parameter penalties, and the stochastic layers with their generators pinned.
extension GradientCheckSuite {
    static var regularization: [GradientCheckCase] {
        var generator = RandomGenerator(seed: 2024)
        let elementMask: Tensor<Double> = dropoutMask(shape: [4, 6], probability: 0.4, using: &generator)
        let channelMask: Tensor<Double> = Tensor(shape: [2, 3], scalars: [1, 0, 1, 0, 1, 1])
        let sampleMask: Tensor<Double> = Tensor([1, 0, 1])
        return [
            .function("dropout (fixed mask, p 0.4)", shapes: [[4, 6]]) {
                dropout($0[0], mask: elementMask, probability: 0.4)
            },
            .function("dropout (vanilla, fixed mask)", shapes: [[4, 6]]) {
                dropout($0[0], mask: elementMask, probability: 0.4, mode: .vanilla)
            },
            .function("dropout (vanilla, eval)", shapes: [[4, 6]]) {
                var unused = RandomGenerator(seed: 0)
                return dropout($0[0], probability: 0.3, training: false, mode: .vanilla, using: &unused)
            },
            .function("dropout2d (fixed mask)", shapes: [[2, 3, 2, 3]]) {
                dropout2d($0[0], mask: channelMask, probability: 0.25)
            },
            .function("dropout2d ([N, C, L], fixed mask)", shapes: [[2, 3, 4]]) {
                dropout2d($0[0], mask: channelMask, probability: 0.5)
            },
            .function("dropPath (fixed mask)", shapes: [[3, 2, 4]]) {
                dropPath($0[0], mask: sampleMask, probability: 0.2)
            },
            .function("l2Penalty", shapes: [[3, 4], [5]]) { l2Penalty($0, lambda: 0.3) },
            .function("l1Penalty", shapes: [[3, 4], [5]], kinkMargin: 0.05) { l1Penalty($0, lambda: 0.3) },
            .function("elasticNetPenalty", shapes: [[3, 4], [5]], kinkMargin: 0.05) {
                elasticNetPenalty($0, lambda: 0.3, beta: 0.7)
            },
            .function("loss + l2Penalty (shared weight)", shapes: [[4, 3], [2, 3]]) { xs in
                linear(xs[0], weight: xs[1], bias: nil).tanh().sum() + l2Penalty([xs[1]], lambda: 0.5)
            },
            .module("Dropout(0.3) (training, pinned generator)", input: [4, 5]) { g in
                PinnedGenerators(Sequential([Linear(5, 4, using: &g), Dropout(0.3, using: &g)]), seed: 11)
            },
            .module("Dropout2d(0.5) (training, pinned generator)", input: [3, 4, 2, 2]) { g in
                PinnedGenerators(Dropout2d(0.5, using: &g), seed: 12)
            },
            .module("Residual(Linear, Tanh, Linear; dropPath 0.5)", input: [6, 4]) { g in
                PinnedGenerators(Residual(Sequential([Linear(4, 5, using: &g), Tanh(), Linear(5, 4, using: &g)]),
                                          dropPath: 0.5, using: &g), seed: 13)
            },
            .module("Residual(Linear; projection shortcut)", input: [3, 4]) { g in
                Residual(Linear(4, 2, using: &g), shortcut: Linear(4, 2, bias: false, using: &g), using: &g)
            },
        ]
    }
}

/// Wraps a module and resets the generator of every ``StochasticModule`` inside it to a fixed seed
/// before each forward pass, so every evaluation of a finite-difference check draws the same masks.
final class PinnedGenerators<Scalar: TensorScalar>: Module<Scalar> {
    let inner: Module<Scalar>
    let seed: UInt64

    init(_ inner: Module<Scalar>, seed: UInt64) {
        self.inner = inner
        self.seed = seed
        super.init()
        registerModule("inner", inner)
    }

    override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        for (_, module) in inner.namedModules() {
            (module as? StochasticModule)?.generator = RandomGenerator(seed: seed)
        }
        return inner(input)
    }
}
