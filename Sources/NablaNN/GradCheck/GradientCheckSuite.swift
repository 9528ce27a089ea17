import NablaTensor

/// One entry of the library-wide gradient check (`nabla gradcheck` and the test suite).
public struct GradientCheckCase: Sendable {
    /// The operation or layer, e.g. `"linear"` or `"Conv2d(stride=2)"`.
    public let name: String
    /// The input shapes, for the table.
    public let shapes: String
    /// Runs the check.
    public let run: @Sendable () -> GradientCheckResult

    /// A case named `name` whose `run` performs the check; `shapes` is shown in the table.
    public init(_ name: String, shapes: String, run: @escaping @Sendable () -> GradientCheckResult) {
        self.name = name
        self.shapes = shapes
        self.run = run
    }

    /// A case for a function of random inputs of the given shapes, drawn from `U(lower, upper)`.
    /// Values within `kinkMargin` of zero are pushed away from it, so that functions with a kink at
    /// zero (ReLU, |x|) are checked where they are differentiable.
    public static func function(
        _ name: String, shapes: [[Int]], lower: Double = -2, upper: Double = 2, kinkMargin: Double = 0,
        seed: UInt64 = 1, _ f: @escaping @Sendable ([Variable<Double>]) -> Variable<Double>
    ) -> GradientCheckCase {
        GradientCheckCase(name, shapes: shapes.map { "\($0)" }.joined(separator: " ")) {
            var generator = RandomGenerator(seed: seed)
            let inputs = shapes.map { shape in
                Tensor<Double>(uniform: shape, lower: lower, upper: upper, using: &generator).map { x in
                    Swift.abs(x) < kinkMargin ? (x < 0 ? x - kinkMargin : x + kinkMargin) : x
                }
            }
            return checkGradients(at: inputs, f)
        }
    }

    /// A case for a module built by `make` (parameters initialized from a fixed seed), checked with
    /// respect to its input and all of its parameters.
    public static func module(
        _ name: String, input shape: [Int], seed: UInt64 = 1, kinkMargin: Double = 0,
        _ make: @escaping @Sendable (inout RandomGenerator) -> Module<Double>
    ) -> GradientCheckCase {
        GradientCheckCase(name, shapes: "\(shape)") {
            var generator = RandomGenerator(seed: seed)
            let module = make(&generator)
            let input = Tensor<Double>(normal: shape, using: &generator).map { x in
                Swift.abs(x) < kinkMargin ? (x < 0 ? x - kinkMargin : x + kinkMargin) : x
            }
            return checkGradients(of: module, input: input)
        }
    }
}

/// Every differentiable operation and layer of the library, for `nabla gradcheck` and the tests.
/// Each family contributes its own list (`GradientCheckSuite+Family.swift`).
public enum GradientCheckSuite {
    /// The pass threshold on the max-norm relative error (SPEC §11).
    public static let threshold = 1e-6

    /// All cases, in table order.
    public static var all: [GradientCheckCase] {
        tensorOperations + activations + losses + coreLayers + convolution + normalization + regularization
    }
}
