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

// Asks the memory system to start bringing the 64-byte line at `address` into the caches, for a
// read soon (`__builtin_prefetch(address, 0, 3)`: x86 `prefetcht0`, arm64 `prfm pldl1keep`). A hint:
// it never faults, whatever the address, and changes no value. For passes that hop between short
// contiguous runs (the runs of one channel in an NCHW tensor lie a sample apart), where the hardware
// prefetcher, which follows streams within a 4 KiB page, starts every run cold.
static inline void nabla_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

// The same for a line about to be written (`__builtin_prefetch(address, 1, 3)`: x86 `prefetchw`,
// arm64 `prfm pstl1keep`): the line arrives owned, so that the stores that fill it later do not wait
// in the store buffer for the line to be read from memory first.
static inline void nabla_prefetch_for_write(void *address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
