import NablaTensor

/// A fully connected layer `y = x·Wᵀ + b` (PyTorch `nn.Linear`).
///
/// Parameters `weight` `[out, in]` and `bias` `[out]`. Default initialization is PyTorch's:
/// `kaiming_uniform(a = √5)` for the weight, which is `U(±1/√in)`, and `U(±1/√in)` for the bias.
public final class Linear<Scalar: TensorScalar>: Module<Scalar> {
    /// `in`, the input features (PyTorch's `in_features`).
    public let inFeatures: Int
    /// `out`, the output features (PyTorch's `out_features`).
    public let outFeatures: Int
    /// `W`, shape `[out, in]`.
    public let weight: Variable<Scalar>
    /// `b`, shape `[out]`, or `nil` when created with `bias: false`.
    public let bias: Variable<Scalar>?

    /// Creates the layer, drawing initial values from `generator`.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, using generator: inout RandomGenerator) {
        precondition(inFeatures > 0 && outFeatures > 0,
                     "Linear(\(inFeatures), \(outFeatures)): feature counts must be positive")
        self.inFeatures = inFeatures
        self.outFeatures = outFeatures
        let bound = Scalar(1 / Double(inFeatures).squareRoot())
        weight = Variable(Tensor(uniform: [outFeatures, inFeatures], lower: -bound, upper: bound, using: &generator),
                          requiresGradient: true)
        self.bias = bias
            ? Variable(Tensor(uniform: [outFeatures], lower: -bound, upper: bound, using: &generator), requiresGradient: true)
            : nil
        super.init()
        registerParameter("weight", weight)
        if let b = self.bias { registerParameter("bias", b) }
    }

    /// Creates the layer, drawing initial values from ``GlobalGenerator/shared``.
    public convenience init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        self.init(inFeatures, outFeatures, bias: bias, using: &GlobalGenerator.shared)
    }

    /// `y = x·Wᵀ + b` for `x` of shape `[*, in]`, one tape node; see ``linear(_:weight:bias:)``.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        linear(input, weight: weight, bias: bias)
    }

    /// PyTorch's `Linear.extra_repr`: `in_features=784, out_features=10, bias=True`.
    public override var configurationDescription: String {
        "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(bias != nil ? "True" : "False")"
    }
}

/// Flattens axes `startAxis…endAxis` into one (PyTorch `nn.Flatten`, default `1…−1`).
public final class Flatten<Scalar: TensorScalar>: Module<Scalar> {
    /// The first axis flattened (PyTorch's `start_dim`); negative counts from the end.
    public let startAxis: Int
    /// The last axis flattened (PyTorch's `end_dim`); negative counts from the end.
    public let endAxis: Int

    /// A flatten of axes `startAxis…endAxis` (default `1…−1`: everything but the batch axis).
    public init(startAxis: Int = 1, endAxis: Int = -1) {
        self.startAxis = startAxis
        self.endAxis = endAxis
        super.init()
    }

    /// The input reshaped with axes `startAxis…endAxis` merged into one of their product (no copy of the gradient's layout).
    /// - Precondition: the axes lie in the input's rank and `start ≤ end`.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        let rank = input.value.rank
        let start = startAxis < 0 ? startAxis + rank : startAxis
        let end = endAxis < 0 ? endAxis + rank : endAxis
        precondition(start >= 0 && end < rank && start <= end,
                     "Flatten(start_dim=\(startAxis), end_dim=\(endAxis)) does not fit an input of shape \(input.shape)")
        let shape = input.shape
        let newShape = Array(shape[..<start]) + [shape[start...end].reduce(1, *)] + Array(shape[(end + 1)...])
        return input.reshaped(to: newShape)
    }

    /// `start_dim=1, end_dim=-1`, as PyTorch prints it.
    public override var configurationDescription: String { "start_dim=\(startAxis), end_dim=\(endAxis)" }
}

/// Applies its children in order (PyTorch `nn.Sequential`); child `i` is named `"i"`.
///
/// A ``BatchNorm`` directly followed by a ``ReLU`` runs as one fused node (the same values and
/// gradients, one pass over the activations instead of two each way).
public final class Sequential<Scalar: TensorScalar>: Module<Scalar> {
    /// The layers, in order.
    public let layers: [Module<Scalar>]

    /// A sequence of `layers`, registered as children `"0"`, `"1"`, ….
    public init(_ layers: [Module<Scalar>]) {
        self.layers = layers
        super.init()
        for (i, layer) in layers.enumerated() { registerModule(String(i), layer) }
    }

    /// A sequence of the listed layers.
    public convenience init(_ layers: Module<Scalar>...) { self.init(layers) }

    /// Applies the layers in order, fusing each ``BatchNorm`` directly followed by a ``ReLU`` into one node.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        var x = input, i = 0
        while i < layers.count {
            if i + 1 < layers.count, let norm = layers[i] as? BatchNorm<Scalar>, layers[i + 1] is ReLU<Scalar> {
                x = norm.forward(x, fusingReLU: true)
                i += 2
            } else {
                x = layers[i](x)
                i += 1
            }
        }
        return x
    }
}
