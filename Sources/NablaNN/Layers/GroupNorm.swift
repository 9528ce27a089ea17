import NablaTensor

/// Group normalization (PyTorch `nn.GroupNorm`; Wu & He, 2018): the `C` channels of an `[N, C, *]`
/// input are split into `numGroups` groups; each (sample, group) is normalized by its own mean and
/// biased variance, then scaled and shifted per channel, `y = γ_c·x̂ + β_c`. No running statistics,
/// the same function in training and evaluation. See ``groupNorm(_:groupCount:weight:bias:eps:)``.
///
/// `numGroups = 1` is a layer norm over `(C, *)` with a per-channel affine; `numGroups = C` is an
/// instance norm (seed 004 has these reversed).
///
/// State (PyTorch keys): `weight` (γ, ones, `[C]`) and `bias` (β, zeros, `[C]`) when `affine` (no
/// `bias` with `bias: false`, PyTorch's keyword-only `bias=False`).
public final class GroupNorm<Scalar: TensorScalar>: Module<Scalar>, NormalizationLayer {
    /// `G`, the number of groups (PyTorch's `num_groups`).
    public let groupCount: Int
    /// `C`, the number of channels (PyTorch's `num_channels`).
    public let channelCount: Int
    /// The constant added to the variance inside the square root.
    public let eps: Double
    /// Whether `γ` and `β` are learned.
    public let affine: Bool
    /// `γ`, shape `[C]` (when `affine`).
    public let weight: Variable<Scalar>?
    /// `β`, shape `[C]` (when `affine`).
    public let bias: Variable<Scalar>?

    /// A group normalization of `numChannels` channels in `numGroups` groups (`γ = 1`, `β = 0`).
    /// - Precondition: the configuration passes ``validate(numGroups:numChannels:eps:)``.
    /// - Parameters:
    ///   - numGroups: `G`, which must divide `numChannels`.
    ///   - numChannels: `C`.
    ///   - eps: added to the variance inside the square root (default `1e-5`).
    ///   - affine: whether to learn `γ` and `β`.
    ///   - bias: whether an affine layer also learns `β` (PyTorch's keyword-only `bias`, default true).
    public init(_ numGroups: Int, _ numChannels: Int, eps: Double = 1e-5, affine: Bool = true, bias: Bool = true) {
        do {
            try Self.validate(numGroups: numGroups, numChannels: numChannels, eps: eps)
        } catch { preconditionFailure("\(error)") }
        groupCount = numGroups
        channelCount = numChannels
        self.eps = eps
        self.affine = affine
        weight = affine ? Variable(Tensor(ones: [numChannels]), requiresGradient: true) : nil
        self.bias = affine && bias ? Variable(Tensor(zeros: [numChannels]), requiresGradient: true) : nil
        super.init()
        if let weight { registerParameter("weight", weight) }
        if let bias = self.bias { registerParameter("bias", bias) }
    }

    /// Checks a configuration a user supplied.
    /// - Throws: ``/NablaTensor/NablaError`` when a count is not positive, `numChannels` is not divisible by
    ///   `numGroups`, or `eps` is negative or not finite.
    public static func validate(numGroups: Int, numChannels: Int, eps: Double = 1e-5) throws {
        if numGroups <= 0 || numChannels <= 0 {
            throw NablaError(.invalidArgument,
                             "GroupNorm: num_groups=\(numGroups) and num_channels=\(numChannels) must be positive")
        }
        if numChannels % numGroups != 0 {
            throw NablaError(.invalidArgument,
                             "GroupNorm: num_channels=\(numChannels) is not divisible by num_groups=\(numGroups)")
        }
        if !(eps >= 0 && eps.isFinite) {
            throw NablaError(.invalidArgument, "GroupNorm: eps must be a finite number ≥ 0, got \(eps)")
        }
    }

    /// Checks that an input of `shape` is `[N, C, *]` with `num_channels` channels; ``forward(_:)``
    /// traps with the same message.
    public func checkInput(_ shape: [Int]) throws {
        guard shape.count >= 2 else {
            throw NablaError(.shapeMismatch, "GroupNorm: expected input of shape [N, C, *], got \(shape)")
        }
        guard shape[1] == channelCount else {
            throw NablaError(.shapeMismatch, "GroupNorm(num_groups=\(groupCount), num_channels=\(channelCount)): "
                             + "input of shape \(shape) has \(shape[1]) channels, expected \(channelCount)")
        }
    }

    /// Normalizes each (sample, group) of `[N, C, *]` by its mean and biased variance over the group's
    /// `C/G` channels and `*`: `y = γ_c·(x − μ_ng)/√(σ²_ng + eps) + β_c`, the same in both modes.
    /// - Precondition: the input passes ``checkInput(_:)``.
    public override func forward(_ input: Variable<Scalar>) -> Variable<Scalar> {
        do { try checkInput(input.shape) } catch { preconditionFailure("\(error)") }
        return groupNorm(input, groupCount: groupCount, weight: weight, bias: bias, eps: eps)
    }

    /// PyTorch's `GroupNorm.extra_repr`: `4, 16, eps=1e-05, affine=True`.
    public override var configurationDescription: String {
        "\(groupCount), \(channelCount), eps=\(eps), affine=\(affine ? "True" : "False")" + (affine && bias == nil ? ", bias=False" : "")
    }
}
