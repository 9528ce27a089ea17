import ArgumentParser
import Nabla

/// `--conv-algorithm`, shared by the commands that run models: which kernels compute 2-D
/// convolutions (``ConvolutionAlgorithm``). Every choice computes the same function; they differ in
/// the order of the floating-point sums, so `gemm` reproduces runs made before the direct kernels
/// bit for bit, `direct` forces Nabla's SIMD kernels even where `auto` would not pick them, and
/// `winograd` takes F(2×2, 3×3) and `winograd4x4` F(4×4, 3×3) for all three products of every 3×3
/// unit-stride layer.
struct ConvolutionOptions: ParsableArguments {
    @Option(name: .long, help: "Convolution kernels: auto (default: by fixed rules of the shapes, direct where it applies and is faster, Winograd F(4x4,3x3) (>= 16 channels in and out) or F(2x2,3x3) (>= 32) for the forward pass and both gradients of 3x3 layers), gemm (im2col + BLAS), direct, winograd (F(2x2,3x3)) or winograd4x4 (F(4x4,3x3)). Same maths; the last bits differ (F(4x4,3x3) rounds the most).")
    var convAlgorithm: String = "auto"

    func validate() throws { _ = try algorithm() }

    /// The parsed choice.
    /// - Throws: `ValidationError` naming the flag, the value and the choices.
    func algorithm() throws -> ConvolutionAlgorithm {
        do { return try ConvolutionAlgorithm(parsing: convAlgorithm) } catch let error as NablaError {
            throw ValidationError("--conv-algorithm: \(error.message)")
        }
    }

    /// Runs `body` with convolutions on the chosen kernels.
    func apply<R>(_ body: () throws -> R) throws -> R {
        try withConvolutionAlgorithm(try algorithm(), body)
    }
}
