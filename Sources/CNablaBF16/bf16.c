// bf16 rounding and the bf16 matrix product with Float accumulation (see include/nabla_bf16.h).
//
// The AVX512_BF16 path is a blocked GEMM in the style of Goto & van de Geijn (2008): op(B) is packed,
// KC×NC at a time, into panels of NR = 64 columns and op(A), MC×KC at a time, into panels of MR = 6
// rows; both hold pairs of consecutive k values as one 32-bit word (bf16 of the even k in the low
// half), the layout `vdpbf16ps` multiplies. The 6×64 micro-kernel keeps 24 ZMM accumulators in
// Float and per pair of k issues 4 loads, 6 broadcasts and 24 `vdpbf16ps` (64 multiply-adds each).
// Functions built for AVX-512 carry a target attribute, so the file compiles for any x86-64 (and
// arm64, where only the portable code exists); the choice happens at run time.
#include "nabla_bf16.h"

#include <stdlib.h>
#include <string.h>

uint16_t nabla_bf16_from_float(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
        return (uint16_t)((bits >> 16) | 0x0040u);   // NaN: keep the sign, make it quiet
    }
    uint32_t rounding = 0x7FFFu + ((bits >> 16) & 1u);   // ties to the even upper half
    return (uint16_t)((bits + rounding) >> 16);
}

float nabla_bf16_to_float(uint16_t bits) {
    uint32_t wide = (uint32_t)bits << 16;
    float x;
    memcpy(&x, &wide, sizeof x);
    return x;
}

float nabla_bf16_round(float x) { return nabla_bf16_to_float(nabla_bf16_from_float(x)); }

void nabla_bf16_round_array(float *values, ptrdiff_t count) {
    for (ptrdiff_t i = 0; i < count; i++) values[i] = nabla_bf16_round(values[i]);
}

/// op(X)[row, col] of a row-major matrix with row stride `ld`.
static inline float element(const float *x, ptrdiff_t ld, int transposed, ptrdiff_t row, ptrdiff_t col) {
    return transposed ? x[col * ld + row] : x[row * ld + col];
}

void nabla_bf16_gemm_reference(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                               const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                               float beta, float *c, ptrdiff_t ldc) {
    if (m <= 0 || n <= 0) return;
    // Rounded copies, op(A) as rows and op(B) as columns, k padded to even with zeros.
    ptrdiff_t kp = (k + 1) & ~(ptrdiff_t)1;
    float *ra = calloc((size_t)(m * kp + n * kp + 1), sizeof(float));
    float *rb = ra + m * kp;
    for (ptrdiff_t i = 0; i < m; i++)
        for (ptrdiff_t p = 0; p < k; p++) ra[i * kp + p] = nabla_bf16_round(element(a, lda, transpose_a, i, p));
    for (ptrdiff_t j = 0; j < n; j++)
        for (ptrdiff_t p = 0; p < k; p++) rb[j * kp + p] = nabla_bf16_round(element(b, ldb, transpose_b, p, j));
    for (ptrdiff_t i = 0; i < m; i++) {
        const float *row = ra + i * kp;
        for (ptrdiff_t j = 0; j < n; j++) {
            const float *column = rb + j * kp;
            float sum = beta != 0 ? c[i * ldc + j] : 0;
            for (ptrdiff_t p = 0; p < kp; p += 2) {
                // Each product of two bf16 values is exact in Float; only the additions round.
                sum += row[p + 1] * column[p + 1];
                sum += row[p] * column[p];
            }
            c[i * ldc + j] = sum;
        }
    }
    free(ra);
}

#if defined(__x86_64__)
#include <cpuid.h>
#include "bf16_simd.h"

int nabla_bf16_hardware_available(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return 0;   // OSXSAVE
    unsigned xcr0_low, xcr0_high;
    __asm__ volatile("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    if ((xcr0_low & 0xE6u) != 0xE6u) return 0;   // XMM, YMM (bits 1-2), opmask, ZMM (bits 5-7)
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, eax, ebx, ecx, edx);
    const unsigned avx512f = 1u << 16, avx512bw = 1u << 30, avx512vl = 1u << 31;
    if ((ebx & (avx512f | avx512bw | avx512vl)) != (avx512f | avx512bw | avx512vl)) return 0;
    __cpuid_count(7, 1, eax, ebx, ecx, edx);
    return (eax >> 5) & 1u;   // AVX512_BF16
}

enum { MR = 6, NR = 64, KC = 128, MC = 96, NC = 512 };

/// Per-thread packing buffers, grown on demand and kept for the thread's life (no allocation per call).
static __thread uint32_t *packed_a, *packed_b;
static __thread size_t packed_a_capacity, packed_b_capacity;

static uint32_t *reserve(uint32_t **buffer, size_t *capacity, size_t words) {
    if (*capacity < words) {
        free(*buffer);
        *buffer = aligned_alloc(64, ((words * sizeof(uint32_t)) + 63) & ~(size_t)63);
        *capacity = *buffer ? words : 0;
    }
    return *buffer;
}

/// Packs op(A)[i0 ..< i0+mc, p0 ..< p0+kc] into MR-row panels of `pairs` k pairs, zero-padded.
NABLA_BF16_TARGET static void pack_a(const float *a, ptrdiff_t lda, int ta, ptrdiff_t i0, ptrdiff_t mc, ptrdiff_t p0,
                                     ptrdiff_t kc, uint32_t *out) {
    ptrdiff_t pairs = (kc + 1) / 2;
    for (ptrdiff_t panel = 0; panel < mc; panel += MR) {
        ptrdiff_t rows = mc - panel < MR ? mc - panel : MR;
        uint32_t *dst = out + panel * pairs;   // panel / MR · pairs · MR
        if (ta) {
            // Rows of the panel are consecutive in memory for each k: one masked load per k.
            __mmask16 m = lane_mask(rows);
            for (ptrdiff_t q = 0; q < pairs; q++) {
                const float *even = a + (p0 + 2 * q) * lda + i0 + panel;
                _mm512_mask_storeu_epi32(dst + q * MR, (__mmask16)0x3F, interleave16(even, 2 * q + 1 < kc ? even + lda : NULL, m));
            }
        } else {
            for (ptrdiff_t r = 0; r < MR; r++) {
                if (r >= rows) {
                    for (ptrdiff_t q = 0; q < pairs; q++) dst[q * MR + r] = 0;
                    continue;
                }
                store_pairs_strided(a + (i0 + panel + r) * lda + p0, kc, pairs, dst + r, MR);
            }
        }
    }
}

/// Packs op(B)[p0 ..< p0+kc, j0 ..< j0+nc] into NR-column panels of `pairs` k pairs, zero-padded.
NABLA_BF16_TARGET static void pack_b(const float *b, ptrdiff_t ldb, int tb, ptrdiff_t p0, ptrdiff_t kc, ptrdiff_t j0,
                                     ptrdiff_t nc, uint32_t *out) {
    ptrdiff_t pairs = (kc + 1) / 2;
    for (ptrdiff_t panel = 0; panel < nc; panel += NR) {
        ptrdiff_t width = nc - panel < NR ? nc - panel : NR;
        uint32_t *dst = out + (panel / NR) * pairs * NR;
        if (!tb) {
            // Rows 2q and 2q+1 of op(B) are rows of B: 16 columns per vector, interleaved by shifts.
            for (ptrdiff_t q = 0; q < pairs; q++) {
                const float *even = b + (p0 + 2 * q) * ldb + j0 + panel;
                int has_odd = 2 * q + 1 < kc;
                for (ptrdiff_t j = 0; j < NR; j += 16)
                    _mm512_store_si512(dst + q * NR + j, interleave16(even + j, has_odd ? even + ldb + j : NULL, lane_mask(width - j)));
            }
        } else {
            // Column j of op(B) is row j of B, its k values consecutive.
            for (ptrdiff_t j = 0; j < NR; j++) {
                if (j >= width) {
                    for (ptrdiff_t q = 0; q < pairs; q++) dst[q * NR + j] = 0;
                    continue;
                }
                store_pairs_strided(b + (j0 + panel + j) * ldb + p0, kc, pairs, dst + j, NR);
            }
        }
    }
}

/// C[0 ..< rows, 0 ..< columns] (+)= the MR×NR product of one A panel and one B panel over `pairs`.
NABLA_BF16_TARGET
static void micro_kernel(ptrdiff_t pairs, const uint32_t *ap, const uint32_t *bp, float *c, ptrdiff_t ldc,
                         ptrdiff_t rows, ptrdiff_t columns, int load_c) {
    __mmask16 m0 = lane_mask(columns), m1 = lane_mask(columns - 16), m2 = lane_mask(columns - 32),
              m3 = lane_mask(columns - 48);
    __m512 acc[MR][4];
    for (int r = 0; r < MR; r++) {
        if (load_c && r < rows) {
            float *row = c + r * ldc;
            acc[r][0] = _mm512_maskz_loadu_ps(m0, row);
            acc[r][1] = _mm512_maskz_loadu_ps(m1, row + 16);
            acc[r][2] = _mm512_maskz_loadu_ps(m2, row + 32);
            acc[r][3] = _mm512_maskz_loadu_ps(m3, row + 48);
        } else {
            acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm512_setzero_ps();
        }
    }
    for (ptrdiff_t q = 0; q < pairs; q++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512(bp), b1 = (__m512bh)_mm512_load_si512(bp + 16),
                 b2 = (__m512bh)_mm512_load_si512(bp + 32), b3 = (__m512bh)_mm512_load_si512(bp + 48);
        bp += NR;
#pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            __m512bh x = (__m512bh)_mm512_set1_epi32((int)ap[r]);
            acc[r][0] = _mm512_dpbf16_ps(acc[r][0], x, b0);
            acc[r][1] = _mm512_dpbf16_ps(acc[r][1], x, b1);
            acc[r][2] = _mm512_dpbf16_ps(acc[r][2], x, b2);
            acc[r][3] = _mm512_dpbf16_ps(acc[r][3], x, b3);
        }
        ap += MR;
    }
    for (int r = 0; r < MR; r++) {
        if (r >= rows) break;
        float *row = c + r * ldc;
        _mm512_mask_storeu_ps(row, m0, acc[r][0]);
        _mm512_mask_storeu_ps(row + 16, m1, acc[r][1]);
        _mm512_mask_storeu_ps(row + 32, m2, acc[r][2]);
        _mm512_mask_storeu_ps(row + 48, m3, acc[r][3]);
    }
}

NABLA_BF16_TARGET static void gemm_avx512bf16(int ta, int tb, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k, const float *a, ptrdiff_t lda,
                            const float *b, ptrdiff_t ldb, float beta, float *c, ptrdiff_t ldc) {
    if (k <= 0) {
        // An empty sum: C = beta·C.
        if (beta == 0) for (ptrdiff_t i = 0; i < m; i++) memset(c + i * ldc, 0, (size_t)n * sizeof(float));
        return;
    }
    size_t b_words = (size_t)((NC + NR - 1) / NR * NR) * (KC / 2);
    size_t a_words = (size_t)((MC + MR - 1) / MR * MR) * (KC / 2);
    uint32_t *bp = reserve(&packed_b, &packed_b_capacity, b_words);
    uint32_t *ap = reserve(&packed_a, &packed_a_capacity, a_words);
    if (!bp || !ap) abort();
    for (ptrdiff_t j0 = 0; j0 < n; j0 += NC) {
        ptrdiff_t nc = n - j0 < NC ? n - j0 : NC;
        for (ptrdiff_t p0 = 0; p0 < k; p0 += KC) {
            ptrdiff_t kc = k - p0 < KC ? k - p0 : KC, pairs = (kc + 1) / 2;
            int load_c = p0 > 0 || beta != 0;
            pack_b(b, ldb, tb, p0, kc, j0, nc, bp);
            for (ptrdiff_t i0 = 0; i0 < m; i0 += MC) {
                ptrdiff_t mc = m - i0 < MC ? m - i0 : MC;
                pack_a(a, lda, ta, i0, mc, p0, kc, ap);
                for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
                    const uint32_t *b_panel = bp + (jr / NR) * pairs * NR;
                    for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
                        micro_kernel(pairs, ap + (ir / MR) * pairs * MR, b_panel, c + (i0 + ir) * ldc + j0 + jr, ldc,
                                     mc - ir < MR ? mc - ir : MR, nc - jr < NR ? nc - jr : NR, load_c);
                    }
                }
            }
        }
    }
}
#else
int nabla_bf16_hardware_available(void) { return 0; }
#endif

void nabla_bf16_gemm(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                     const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                     float beta, float *c, ptrdiff_t ldc, int use_hardware) {
    if (m <= 0 || n <= 0) return;
#if defined(__x86_64__)
    if (use_hardware) {
        gemm_avx512bf16(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
        return;
    }
#else
    (void)use_hardware;
#endif
    nabla_bf16_gemm_reference(transpose_a, transpose_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
}
