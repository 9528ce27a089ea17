import NablaTensor

/// Layer normalization over the trailing `normalizedShape` of its input (PyTorch `nn.LayerNorm`;
/// Ba, Kiros & Hinton, 2016): each row of `∏ normalizedShape` values is normalized by its own mean
/// and biased variance, then scaled and shifted elementwise, `y = γ ⊙ x̂ + β`. No running statistics;
/// training and evaluation modes compute the same function. See
/// ``layerNorm(_:normalizedShape:weight:bias:eps:)`` for the mathematics.
///
/// State (PyTorch keys): `weight` (γ, ones, shape `normalizedShape`) and `bias` (β, zeros) when
/// `elementwiseAffine` (the bias only when `bias` is also true).
public final class LayerNorm<Scalar: TensorScalar>: Module<Scalar>, NormalizationLayer {
    /// The trailing shape normalized over (PyTorch's `normalized_shape`).
    public let normalizedShape: [Int]
    /// The constant added to the variance inside the square root.
    public let eps: Double
    /// Whether `γ` (and, with `bias`, `β`) are learned (PyTorch's `elementwise_affine`).
    public let elementwiseAffine: Bool
    /// `γ`, shape `normalizedShape` (when `elementwiseAffine`).
    public let weight: Variable<Scalar>?
    /// `β`, shape `normalizedShape` (when `elementwiseAffine` and `bias`).
    public let bias: Variable<Scalar>?

    /// A layer normalization over the trailing `normalizedShape` (`γ = 1`, `β = 0`).
    /// - Precondition: the configuration passes ``validate(normalizedShape:eps:)``.
    /// - Parameters:
    ///   - normalizedShape: the trailing shape to normalize over, e.g. `[C, H, W]` or `[features]`.
    ///   - eps: added to the variance inside the square root (default `1e-5`).
    ///   - elementwiseAffine: whether to learn `γ` and `β`.
    ///   - bias: whether to learn `β` when `elementwiseAffine` (PyTorch ≥ 2.1's `bias`).
    public init(_ normalizedShape: [Int], eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        do { try Self.validate(normalizedShape: normalizedShape, eps: eps) } catch { preconditionFailure("\(error)") }
        self.normalizedShape = normalizedShape
        self.eps = eps
        self.elementwiseAffine = elementwiseAffine
        weight = elementwiseAffine ? Variable(Tensor(ones: normalizedShape), requiresGradient: true) : nil
        self.bias = elementwiseAffine && bias ? Variable(Tensor(zeros: normalizedShape), requiresGradient: true) : nil
        super.init()
        if let weight { registerParameter("weight", weight) }
        if let b = self.bias { registerParameter("bias", b) }
    }

    /// Normalizes over the last axis of extent `featureCount`.
    public convenience init(_ featureCount: Int, eps: Double = 1e-5, elementwiseAffine: Bool = true, bias: Bool = true) {
        self.init([featureCount], eps: eps, elementwiseAffine: elementwiseAffine, bias: bias)
    }

    /// Checks a configuration a user supplied.
    /// - Throws: ``/NablaTensor/NablaError`` for an empty or non-positive `normalizedShape` or a bad `eps`.
    public static func validate(normalizedShape: [Int], eps: Double = 1e-5) throws {
        if normalizedShape.isEmpty || normalizedShape.contains(where: { $0 <= 0 }) {
            throw NablaError(.invalidArgument,
                             "LayerNorm: normalized_shape must be non-empty with positive extents, got \(normalizedShape)")
        }
        if !(eps >= 0 && eps.isFinite) {
            throw NablaError(.invalidArgument, "LayerNorm: eps must be a finite number ≥ 0, got \(eps)")
        }
    }

    /// Checks that an input of `shape` ends with `normalizedShape`; ``forward(_:)`` traps with the
    /// same message.
    public func checkInput(_ shape: [Int]) throws {
        if let message = layerNormShapeError(input: shape, normalizedShape: normalizedShape) {
            throw NablaError(.shapeMismatch, message)
        }
    }

    /// Normalizes each row of `∏ normalizedShape` trailing values: `y = γ ⊙ (x − μ)/√(σ² + eps) + β`
    /// with the row's mean and biased variance, the same in both modes.
    /// - Precondition: the input passes ``checkInput(_:)``.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        do { try checkInput(input.shape) } catch { preconditionFailure("\(error)") }
        return layerNorm(input, normalizedShape: normalizedShape, weight: weight, bias: bias, eps: eps)
    }

    /// PyTorch's `LayerNorm.extra_repr`: `(64,), eps=1e-05, elementwise_affine=True`.
    public override var configurationDescription: String {
        let tuple = normalizedShape.count == 1
            ? "(\(normalizedShape[0]),)" : "(" + normalizedShape.map(String.init).joined(separator: ", ") + ")"
        return "\(tuple), eps=\(eps), elementwise_affine=\(elementwiseAffine ? "True" : "False")"
    }
}
