import NablaTensor

/// The arithmetic of matrix products and convolutions (`--precision`), PyTorch's CPU autocast.
///
/// ``bfloat16`` is `torch.autocast("cpu", dtype=torch.bfloat16)` for the ops Nabla has: the ops on
/// autocast's CPU lower-precision list that Nabla implements — `linear` (with `mm`/`addmm`) and
/// `conv1d`/`conv2d` (aten/src/ATen/autocast_mode.cpp, `lower_precision_fp` for `DeviceType::CPU`) —
/// take their operands rounded to bf16 (weights, bias and activations; ties to even, NaN stays NaN),
/// multiply with Float accumulation and round their output to bf16 (the bias added in Float before
/// that one rounding, as oneDNN does). Their backward passes round the incoming gradient to bf16 and
/// round each product — `∂x = bf16(bf16(g)·bf16(W))`, `∂W = bf16(bf16(g)ᵀ·bf16(x))`, `∂b = bf16(Σ bf16(g))`
/// — before accumulating it into the Float gradient. Everything else stays Float, as on autocast's
/// fp32 list or outside autocast: losses, softmax and cross-entropy, the statistics of batch, layer and
/// group normalization, pooling, activations, and the optimizer with its Float master weights. Values
/// keep `Float` storage (bf16-representable Floats); no tensor dtype changes.
///
/// The products run on `vdpbf16ps` where the CPU has AVX512_BF16 (``BFloat16Kernels/usesHardware``):
/// matrix products on the bf16 GEMM, unit-stride convolutions on the bf16 direct kernels
/// (`BFloat16DirectConvolution`), other convolutions on im2col and the bf16 GEMM. Without it every
/// product runs on the GEMM's portable loop (slow: the command line trains in float32 there instead,
/// with a notice); its matrix products give the hardware's bits, its convolutions the same definition
/// summed in another order. Only `Float` ops are affected; `Double` ops (gradcheck) ignore the choice.
///
/// The choice is task-local, like ``ConvolutionAlgorithm``: ``withPrecision(_:_:)`` sets it for a
/// closure; an op reads it when its forward pass runs and its backward pass uses the same choice.
public enum Precision: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// IEEE single precision throughout (the default).
    case float32
    /// bf16 matrix products and convolutions with Float accumulation (see above).
    case bfloat16 = "bf16"

    /// The precision of ops started in the current task or thread (default ``float32``).
    @TaskLocal public static var current: Precision = .float32

    public var description: String { rawValue }

    /// Parses a user's `--precision` value: `float32` (also `fp32`) or `bf16` (also `bfloat16`).
    /// - Throws: ``NablaError`` naming the value and the choices.
    public init(parsing text: String) throws {
        switch text.lowercased() {
        case "float32", "fp32": self = .float32
        case "bf16", "bfloat16": self = .bfloat16
        default:
            throw NablaError(.invalidArgument, "precision '\(text)': expected one of float32, bf16")
        }
    }

    /// Whether this precision runs at full speed here: always for ``float32``; for ``bfloat16`` when
    /// the CPU has AVX512_BF16 and `NABLA_DISABLE_BF16` is not set (``BFloat16Kernels/usesHardware``).
    public var hasHardwareSupport: Bool { self == .float32 || BFloat16Kernels.usesHardware }

    /// The precision a training run uses when `self` is requested: `self`, or ``float32`` when bf16
    /// has no hardware support here (with `notice`, the one line the command line prints on stderr).
    public var resolvedForHardware: (precision: Precision, notice: String?) {
        if hasHardwareSupport { return (self, nil) }
        let reason = BFloat16Kernels.hardwareAvailable ? "NABLA_DISABLE_BF16 is set" : "this CPU has no AVX512_BF16 (vdpbf16ps)"
        return (.float32, "--precision bf16: \(reason); training in float32")
    }
}

/// Runs `body` with linear maps and convolutions in the current task or thread computed in
/// `precision`; the previous choice is restored when `body` returns or throws.
@discardableResult
public func withPrecision<R>(_ precision: Precision, _ body: () throws -> R) rethrows -> R {
    try Precision.$current.withValue(precision, operation: body)
}

/// Whether an op on `Scalar` started now runs in bf16: ``Precision/current`` is bf16 and the op is on `Float`.
@inline(__always)
func usesBFloat16<Scalar>(_: Scalar.Type) -> Bool {
    Scalar.self == Float.self && Precision.current == .bfloat16
}
