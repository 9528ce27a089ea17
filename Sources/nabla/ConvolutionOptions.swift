import ArgumentParser
import Nabla

/// `--conv-algorithm`, shared by the commands that run models: which kernels compute 2-D
/// convolutions (``ConvolutionAlgorithm``). Every choice computes the same function; they differ in
/// the order of the floating-point sums, so `gemm` reproduces runs made before the direct kernels
/// bit for bit and `direct` forces Nabla's SIMD kernels even where `auto` would not pick them.
struct ConvolutionOptions: ParsableArguments {
    @Option(name: .long, help: "Convolution kernels: auto (default: direct where it applies and, by a fixed rule of the shapes, is faster), gemm (im2col + BLAS) or direct. Same maths; the last bits differ.")
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
