import Nabla
import CustomLayers

/// Finite-difference checks of Swish's hand-written pullback in `Double`, with Nabla's gradient
/// checker (central differences against one reverse pass, max-norm relative error).
enum SwishGradientCheck {
    /// Each check's name and its worst relative error.
    static func run() -> [(name: String, error: Double)] {
        var generator = RandomGenerator(seed: 1)
        let x = Tensor<Double>(uniform: [4, 5], lower: -4, upper: 4, using: &generator)
        let network = Sequential<Double>([Linear(3, 4, using: &generator), Swish(beta: 1.5), Linear(4, 2, using: &generator)])
        let input = Tensor<Double>(normal: [5, 3], using: &generator)
        return [
            ("swish(x)", checkGradients(at: [x]) { $0[0].swish() }.maxRelativeError),
            ("swish(x, beta: 1.5)", checkGradients(at: [x]) { $0[0].swish(beta: 1.5) }.maxRelativeError),
            // x feeds two nodes, so its gradient is the sum of both pullbacks' contributions.
            ("swish(x)·x", checkGradients(at: [x]) { $0[0].swish() * $0[0] }.maxRelativeError),
            // The layer inside a network: gradients with respect to the input and every parameter.
            ("Linear, Swish(beta: 1.5), Linear", checkGradients(of: network, input: input).maxRelativeError),
        ]
    }
}
