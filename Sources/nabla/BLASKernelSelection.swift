import Nabla
import Foundation

/// OpenBLAS chooses its kernels when the library loads, from the CPU it recognizes. Debian's
/// OpenBLAS 0.3.21 does not know recent AVX-512 CPUs (e.g. AMD family 0x1A) and falls back to its
/// AVX2 "Haswell" kernels; forcing `OPENBLAS_CORETYPE=SkylakeX` on such a CPU made sgemm about 45%
/// faster here (87 vs 60 GFLOP/s on 1024³). Since the choice happens before `main`, the tool re-executes
/// itself once with the variable set — only on Linux, only when the user has not set it, and only when
/// the CPU has every AVX-512 subset those kernels use (F, DQ, BW, VL).
enum BLASKernelSelection {
    static func reexecWithAVX512KernelsIfUseful() {
        #if os(Linux)
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment["NABLA_NO_BLAS_CORETYPE"] == nil,
              cpuHasAVX512Kernels else { return }
        setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
        var arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", &arguments)
        // execv returns only on failure: carry on with the default kernels.
        unsetenv("OPENBLAS_CORETYPE")
        #endif
    }

    /// Whether the CPU has every AVX-512 subset OpenBLAS's SkylakeX kernels use (F, DQ, BW, VL).
    static var cpuHasAVX512Kernels: Bool {
        #if os(Linux)
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        return ["avx512f", "avx512dq", "avx512bw", "avx512vl"].allSatisfy(flags.contains)
        #else
        return false
        #endif
    }

    /// A one-line explanation when the environment pins OpenBLAS to kernels narrower than the CPU's
    /// (an `OPENBLAS_CORETYPE` set before `nabla` started is the user's choice and is kept), else nil.
    static var environmentPinNotice: String? {
        guard let pinned = ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"],
              !["skylakex", "cooperlake", "sapphirerapids"].contains(pinned.lowercased()),
              ProcessInfo.processInfo.environment["NABLA_NO_BLAS_CORETYPE"] == nil,
              cpuHasAVX512Kernels else { return nil }
        return "OPENBLAS_CORETYPE=\(pinned) in the environment selects OpenBLAS's \(BLASBackend.coreName) kernels although "
            + "this CPU has AVX-512; unset it to let nabla use the SkylakeX kernels"
    }
}
