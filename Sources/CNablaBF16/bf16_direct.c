// The bf16 direct-convolution kernels (see include/nabla_bf16.h): a unit-stride correlation without a
// column matrix, its reduction over channels paired for `vdpbf16ps`.
//
// Each sample is copied once into a zero-padded buffer of channel *pairs*: word (q, h, w) holds
// bf16(x[2q, h, w]) in its low half and bf16(x[2q+1, h, w]) in its high half (zero past the last
// channel), so sixteen consecutive pixels of one pair plane are one ZMM register in the operand layout
// of `vdpbf16ps`. The output-stationary tile then keeps MR × NV vectors of Float accumulators and,
// per tap (pair q, kernel row i, column j), loads NV pixel vectors at the tap's offset, broadcasts MR
// weight pairs and issues MR·NV `vdpbf16ps` — two multiply-adds per lane each, twice the work of a
// Float FMA. This is the layout of the Float direct kernels (NablaNN's DirectConvolution) with
// 32-bit pair words in place of Floats; the Swift driver supplies the tap and vector offsets.
#include "nabla_bf16.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define NABLA_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// 16 Floats rounded to bf16 (ties to even, quiet NaN; nabla_bf16_from_float), each in the low half
/// of its 32-bit lane. The same arithmetic as bf16.c's packing.
NABLA_BF16_TARGET static inline __m512i round16_direct(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i high = _mm512_srli_epi32(u, 16);
    __m512i even = _mm512_and_si512(high, _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(even, _mm512_set1_epi32(0x7FFF))), 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
    return _mm512_mask_mov_epi32(rounded, nan, _mm512_or_si512(high, _mm512_set1_epi32(0x40)));
}

NABLA_BF16_TARGET static void pad_pairs_avx512(const float *x, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                                               ptrdiff_t pad_h, ptrdiff_t pad_w, uint32_t *out, ptrdiff_t count) {
    ptrdiff_t wp = width + 2 * pad_w, hp = height + 2 * pad_h, plane = hp * wp, in_plane = height * width;
    ptrdiff_t pairs = (channels + 1) / 2;
    for (ptrdiff_t q = 0; q < pairs; q++) {
        uint32_t *dst = out + q * plane;
        const float *even = x + 2 * q * in_plane;
        const float *odd = 2 * q + 1 < channels ? even + in_plane : NULL;
        memset(dst, 0, (size_t)(pad_h * wp) * sizeof(uint32_t));
        for (ptrdiff_t h = 0; h < height; h++) {
            uint32_t *row = dst + (pad_h + h) * wp;
            memset(row, 0, (size_t)pad_w * sizeof(uint32_t));
            for (ptrdiff_t w = 0; w < width; w += 16) {
                ptrdiff_t valid = width - w;
                __mmask16 m = valid >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << valid) - 1u);
                __m512i e = round16_direct(_mm512_maskz_loadu_ps(m, even + h * width + w));
                __m512i o = odd ? round16_direct(_mm512_maskz_loadu_ps(m, odd + h * width + w)) : _mm512_setzero_si512();
                _mm512_mask_storeu_epi32(row + pad_w + w, m, _mm512_or_si512(e, _mm512_slli_epi32(o, 16)));
            }
            memset(row + pad_w + width, 0, (size_t)pad_w * sizeof(uint32_t));
        }
        memset(dst + (pad_h + height) * wp, 0, (size_t)(pad_h * wp) * sizeof(uint32_t));
    }
    memset(out + pairs * plane, 0, (size_t)(count - pairs * plane) * sizeof(uint32_t));
}

/// The MR × NV tile: c_v[m·ldc] = init[m] + Σ_k dot2(w[k·MR + m], x̂[taps[k] + in_v]) for k < depth.
#define NABLA_BF16_DIRECT_TILE(MR, NV)                                                                         \
    NABLA_BF16_TARGET static void direct_tile_##MR##x##NV(                                                    \
        ptrdiff_t depth, const uint32_t *weights, const ptrdiff_t *taps, const uint32_t *input,              \
        const ptrdiff_t *input_offsets, float *output, const ptrdiff_t *output_offsets, ptrdiff_t ldc,       \
        const float *initial) {                                                                               \
        __m512 acc[MR][NV];                                                                                   \
        const uint32_t *b[NV];                                                                                \
        for (int v = 0; v < NV; v++) b[v] = input + input_offsets[v];                                         \
        for (int m = 0; m < MR; m++) {                                                                        \
            __m512 start = initial ? _mm512_set1_ps(initial[m]) : _mm512_setzero_ps();                        \
            for (int v = 0; v < NV; v++) acc[m][v] = start;                                                   \
        }                                                                                                     \
        for (ptrdiff_t k = 0; k < depth; k++) {                                                               \
            ptrdiff_t offset = taps[k];                                                                       \
            __m512bh x[NV];                                                                                   \
            for (int v = 0; v < NV; v++) x[v] = (__m512bh)_mm512_loadu_si512(b[v] + offset);                  \
            for (int m = 0; m < MR; m++) {                                                                    \
                __m512bh w = (__m512bh)_mm512_set1_epi32((int)weights[m]);                                    \
                for (int v = 0; v < NV; v++) acc[m][v] = _mm512_dpbf16_ps(acc[m][v], w, x[v]);                \
            }                                                                                                 \
            weights += MR;                                                                                    \
        }                                                                                                     \
        for (int m = 0; m < MR; m++)                                                                          \
            for (int v = 0; v < NV; v++) _mm512_storeu_ps(output + output_offsets[v] + m * ldc, acc[m][v]);   \
    }

NABLA_BF16_DIRECT_TILE(8, 3)
NABLA_BF16_DIRECT_TILE(6, 4)
NABLA_BF16_DIRECT_TILE(3, 8)
#endif

void nabla_bf16_pad_pairs(const float *x, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                          ptrdiff_t pad_h, ptrdiff_t pad_w, uint32_t *out, ptrdiff_t count, int use_hardware) {
#if defined(__x86_64__)
    if (use_hardware) {
        pad_pairs_avx512(x, channels, height, width, pad_h, pad_w, out, count);
        return;
    }
#else
    (void)use_hardware;
#endif
    ptrdiff_t wp = width + 2 * pad_w, plane = (height + 2 * pad_h) * wp;
    memset(out, 0, (size_t)count * sizeof(uint32_t));
    for (ptrdiff_t c = 0; c < channels; c++) {
        uint32_t *dst = out + (c / 2) * plane + pad_h * wp + pad_w;
        int shift = (c % 2) * 16;
        for (ptrdiff_t h = 0; h < height; h++)
            for (ptrdiff_t w = 0; w < width; w++)
                dst[h * wp + w] |= (uint32_t)nabla_bf16_from_float(x[(c * height + h) * width + w]) << shift;
    }
}

int nabla_bf16_direct_tile(int mr, int nv, ptrdiff_t depth, const uint32_t *weights, const ptrdiff_t *taps,
                           const uint32_t *input, const ptrdiff_t *input_offsets, float *output,
                           const ptrdiff_t *output_offsets, ptrdiff_t ldc, const float *initial) {
#if defined(__x86_64__)
    if (mr == 8 && nv == 3) { direct_tile_8x3(depth, weights, taps, input, input_offsets, output, output_offsets, ldc, initial); return 1; }
    if (mr == 6 && nv == 4) { direct_tile_6x4(depth, weights, taps, input, input_offsets, output, output_offsets, ldc, initial); return 1; }
    if (mr == 3 && nv == 8) { direct_tile_3x8(depth, weights, taps, input, input_offsets, output, output_offsets, ldc, initial); return 1; }
#else
    (void)mr; (void)nv; (void)depth; (void)weights; (void)taps; (void)input; (void)input_offsets;
    (void)output; (void)output_offsets; (void)ldc; (void)initial;
#endif
    return 0;
}
