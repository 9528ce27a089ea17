import NablaTensor

/// How the weights of every `Linear` and `Conv2d` layer are set before training — seed 004's
/// initialization study (`nn.init.normal_(m.weight, 0, 1)` against careful initialization and
/// BatchNorm). Biases are zeroed by every choice but ``pytorchDefault``, as the seed's
/// `initialize_weights` does.
///
/// The weights are re-drawn in module order from the generator passed to ``apply(to:using:)``
/// alone, so two models whose weight layers have the same shapes get the same weights whatever
/// else they contain (dropout, normalization): the studies use this to give every variant of a
/// comparison the same initial weights for the same seed.
public enum WeightInitialization: String, Sendable, CaseIterable, Codable {
    /// PyTorch's `nn.Linear` default: `kaiming_uniform(a = √5)` weights (`U(±1/√fan_in)`) and biases.
    case pytorchDefault = "default"
    /// `N(0, 1)` — far too large for a layer with hundreds of inputs: activations grow by `≈√fan_in`
    /// per layer.
    case standardNormal = "normal"
    /// Xavier/Glorot normal (Glorot & Bengio, 2010): `σ = √(2/(fan_in + fan_out))`.
    case xavierNormal = "xavier-normal"
    /// Kaiming/He normal for ReLU (He et al., 2015): `σ = √2/√fan_in`.
    case kaimingNormal = "kaiming-normal"

    /// The name in reports: `normal(0,1)` for ``standardNormal``, else the raw value (the
    /// `--weight-init` spelling).
    public var displayName: String { self == .standardNormal ? "normal(0,1)" : rawValue }

    /// Re-initializes every `Linear` and `Conv2d` of `model` (in ``Module/namedModules(prefix:)``
    /// order; fans of a convolution count its receptive field).
    public func apply(to model: Module<Float>, using generator: inout RandomGenerator) {
        guard self != .pytorchDefault else { return }
        for (_, module) in model.namedModules() {
            let weight: Variable<Float>, bias: Variable<Float>?
            if let linear = module as? Linear<Float> {
                (weight, bias) = (linear.weight, linear.bias)
            } else if let convolution = module as? Conv2d<Float> {
                (weight, bias) = (convolution.weight, convolution.bias)
            } else {
                continue
            }
            let shape = weight.shape
            switch self {
            case .pytorchDefault: break
            case .standardNormal: weight.value = Tensor(normal: shape, mean: 0, standardDeviation: 1, using: &generator)
            case .xavierNormal: weight.value = .xavierNormal(shape, using: &generator)
            case .kaimingNormal: weight.value = .kaimingNormal(shape, nonlinearity: .relu, using: &generator)
            }
            if let bias { bias.value = Tensor(zeros: bias.shape) }
        }
    }
}
