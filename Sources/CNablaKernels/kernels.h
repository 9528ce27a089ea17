// Nabla's small C helpers for its SIMD kernels. Header-only: the functions are `static inline`, so
// Swift's Clang importer compiles them inside the Swift module that calls them, with that module's
// target CPU (`-target-cpu`). That makes the preprocessor tests below report what the *Swift* code
// of the module is compiled for.
#ifndef NABLA_KERNELS_H
#define NABLA_KERNELS_H

// The width, in bits, of the SIMD registers the Swift code of this build targets: 512 (AVX-512F),
// 256 (AVX2 with FMA), 128 (arm64 NEON), or 0 when vector fused multiply-add is not part of the
// target (e.g. a portable x86-64 build: `addingProduct` would become a libm call per lane), in which
// case Nabla's own convolution kernels stand aside for the BLAS path.
static inline int nabla_simd_vector_bits(void) {
#if defined(__AVX512F__)
    return 512;
#elif defined(__AVX2__) && defined(__FMA__)
    return 256;
#elif defined(__aarch64__) && defined(__ARM_NEON)
    return 128;
#else
    return 0;
#endif
}

// The number of architectural vector registers of that target: 32 with AVX-512 and on arm64, 16 with
// AVX2. Kernels pick register tiles that fit.
static inline int nabla_simd_register_count(void) {
#if defined(__AVX512F__) || defined(__aarch64__)
    return 32;
#else
    return 16;
#endif
}

#endif
