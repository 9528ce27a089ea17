// The ten-row, kernel-height-5 row-reusing tile of `RowReuseKernel.swift` for 8-float vectors on
// x86-64 with AVX2 and FMA, for 16-register files: the Swift tile keeps all five broadcast weights in
// registers, and with ten accumulators and the loaded row that is 16 live vectors, so LLVM spills
// accumulators. Here the weights of kernel rows 0–2 are broadcast into registers and those of rows 3
// and 4 are read by each multiply-add as a memory operand (inline assembly, so the compiler cannot
// hoist them into registers): 10 accumulators + 3 weights + the row = 14 registers, and per channel
// and kernel column 14 row loads and 20 weight loads for 50 multiply-adds, within two loads a cycle.
// The sums are the Swift tile's, term for term and in its order, so the bits are the same.
#ifndef NABLA_ROWREUSE_X86_H
#define NABLA_ROWREUSE_X86_H

#if defined(__x86_64__)

// Whether this CPU runs `nabla_rows10_height5_avx2` (AVX2 and FMA), checked at run time: the header
// is compiled with the target of the Swift module that imports it, which may be baseline x86-64.
static inline int nabla_cpu_has_avx2_fma(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

// s[r] = initial + Σ_c Σ_j Σ_i w[c][j][i] · x[c][r + i][j·dilationWidth] for r < 10, i < 5, added in
// that order (c, then j, then i) with one fused multiply-add per tap; `weights` is [C][kW][5], row r
// of channel c starts at input + c·planeStride + r·rowPitch, and s[r] is stored (8 floats, unaligned)
// at output + r·outputPitch, in increasing r.
__attribute__((target("avx2,fma")))
static inline void nabla_rows10_height5_avx2(long channels, long kernelWidth, long dilationWidth,
                                             const float *weights, const float *input, long planeStride,
                                             long rowPitch, float *output, long outputPitch, float initial) {
    typedef float v8 __attribute__((vector_size(32)));
    typedef float v8u __attribute__((vector_size(32), aligned(4)));
    // s += a·b with b in a register, and s += a·m with m read from memory by the instruction.
#define NABLA_FMA(s, a, b) __asm__("vfmadd231ps %2, %1, %0" : "+x"(s) : "x"(a), "x"(b))
#define NABLA_FMA_M(s, a, m) __asm__("vfmadd231ps %2, %1, %0" : "+x"(s) : "x"(a), "m"(m))
    v8 s0 = {initial, initial, initial, initial, initial, initial, initial, initial};
    v8 s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0, s8 = s0, s9 = s0;
    v8 w34[2] __attribute__((aligned(32)));
    const float *w = weights;
    for (long c = 0; c < channels; c++) {
        const float *plane = input + c * planeStride;
        for (long j = 0; j < kernelWidth; j++) {
            const float *row = plane + j * dilationWidth;
            v8 w0 = {w[0], w[0], w[0], w[0], w[0], w[0], w[0], w[0]};
            v8 w1 = {w[1], w[1], w[1], w[1], w[1], w[1], w[1], w[1]};
            v8 w2 = {w[2], w[2], w[2], w[2], w[2], w[2], w[2], w[2]};
            w34[0] = (v8){w[3], w[3], w[3], w[3], w[3], w[3], w[3], w[3]};
            w34[1] = (v8){w[4], w[4], w[4], w[4], w[4], w[4], w[4], w[4]};
            w += 5;
            v8 x;
#define NABLA_ROW(k) x = *(const v8u *)(row + (k) * rowPitch)
            NABLA_ROW(0);  NABLA_FMA(s0, x, w0);
            NABLA_ROW(1);  NABLA_FMA(s0, x, w1); NABLA_FMA(s1, x, w0);
            NABLA_ROW(2);  NABLA_FMA(s0, x, w2); NABLA_FMA(s1, x, w1); NABLA_FMA(s2, x, w0);
            NABLA_ROW(3);  NABLA_FMA_M(s0, x, w34[0]); NABLA_FMA(s1, x, w2); NABLA_FMA(s2, x, w1);
                           NABLA_FMA(s3, x, w0);
            // Rows 4–9 meet five output rows each: kernel row 4 for the first, down to kernel row 0 for the last.
#define NABLA_FULL_ROW(k, a, b, c, d, e)                                                              \
            NABLA_ROW(k); NABLA_FMA_M(a, x, w34[1]); NABLA_FMA_M(b, x, w34[0]); NABLA_FMA(c, x, w2); \
            NABLA_FMA(d, x, w1); NABLA_FMA(e, x, w0)
            NABLA_FULL_ROW(4, s0, s1, s2, s3, s4);
            NABLA_FULL_ROW(5, s1, s2, s3, s4, s5);
            NABLA_FULL_ROW(6, s2, s3, s4, s5, s6);
            NABLA_FULL_ROW(7, s3, s4, s5, s6, s7);
            NABLA_FULL_ROW(8, s4, s5, s6, s7, s8);
            NABLA_FULL_ROW(9, s5, s6, s7, s8, s9);
#undef NABLA_FULL_ROW
            NABLA_ROW(10); NABLA_FMA_M(s6, x, w34[1]); NABLA_FMA_M(s7, x, w34[0]); NABLA_FMA(s8, x, w2);
                           NABLA_FMA(s9, x, w1);
            NABLA_ROW(11); NABLA_FMA_M(s7, x, w34[1]); NABLA_FMA_M(s8, x, w34[0]); NABLA_FMA(s9, x, w2);
            NABLA_ROW(12); NABLA_FMA_M(s8, x, w34[1]); NABLA_FMA_M(s9, x, w34[0]);
            NABLA_ROW(13); NABLA_FMA_M(s9, x, w34[1]);
#undef NABLA_ROW
        }
    }
#undef NABLA_FMA
#undef NABLA_FMA_M
    *(v8u *)(output) = s0;
    *(v8u *)(output + outputPitch) = s1;
    *(v8u *)(output + 2 * outputPitch) = s2;
    *(v8u *)(output + 3 * outputPitch) = s3;
    *(v8u *)(output + 4 * outputPitch) = s4;
    *(v8u *)(output + 5 * outputPitch) = s5;
    *(v8u *)(output + 6 * outputPitch) = s6;
    *(v8u *)(output + 7 * outputPitch) = s7;
    *(v8u *)(output + 8 * outputPitch) = s8;
    *(v8u *)(output + 9 * outputPitch) = s9;
}

#endif
#endif
