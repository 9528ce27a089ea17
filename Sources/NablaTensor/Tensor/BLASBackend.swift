#if !canImport(Accelerate)
import CBLAS
#endif

/// What does Nabla's matrix products: the BLAS library and the kernels it chose for this CPU.
public enum BLASBackend {
    /// The kernel family OpenBLAS selected when it loaded — from the CPU it recognized, or from the
    /// `OPENBLAS_CORETYPE` environment variable (e.g. `Haswell` for AVX2 kernels, `SkylakeX` for
    /// AVX-512); `Accelerate` on Apple platforms. Benchmarks report it, since it sets the GEMM rate.
    public static var coreName: String {
        #if canImport(Accelerate)
        return "Accelerate"
        #else
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
        #endif
    }
}
