import NablaTensor

/// How the weights of every `Linear` layer are set before training — seed 004's initialization
/// study (`nn.init.normal_(m.weight, 0, 1)` against careful initialization and BatchNorm).
/// Biases are zeroed by every choice but ``pytorchDefault``, as the seed's `initialize_weights` does.
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

    /// Re-initializes every `Linear` of `model` (in ``Module/namedModules(prefix:)`` order).
    public func apply(to model: Module<Float>, using generator: inout RandomGenerator) {
        guard self != .pytorchDefault else { return }
        for (_, module) in model.namedModules() {
            guard let linear = module as? Linear<Float> else { continue }
            let shape = linear.weight.shape
            switch self {
            case .pytorchDefault: break
            case .standardNormal: linear.weight.value = Tensor(normal: shape, mean: 0, standardDeviation: 1, using: &generator)
            case .xavierNormal: linear.weight.value = .xavierNormal(shape, using: &generator)
            case .kaimingNormal: linear.weight.value = .kaimingNormal(shape, nonlinearity: .relu, using: &generator)
            }
            linear.bias?.value = Tensor(zeros: [linear.outFeatures])
        }
    }
}
