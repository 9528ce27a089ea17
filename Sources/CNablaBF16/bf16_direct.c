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
#include "bf16_simd.h"

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
                __mmask16 m = lane_mask(valid);
                _mm512_mask_storeu_epi32(row + pad_w + w, m, interleave16(even + h * width + w, odd ? odd + h * width + w : NULL, m));
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

// MARK: weight gradient: pixel pairs

static void sliding_pairs_portable(const float *x, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                                   ptrdiff_t pad_h, ptrdiff_t pad_w, uint32_t *out, ptrdiff_t count) {
    ptrdiff_t wp = width + 2 * pad_w, hp = height + 2 * pad_h, plane = hp * wp;
    memset(out, 0, (size_t)count * sizeof(uint32_t));
    for (ptrdiff_t c = 0; c < channels; c++) {
        for (ptrdiff_t h = 0; h < height; h++) {
            const float *source = x + (c * height + h) * width;
            uint32_t *row = out + c * plane + (h + pad_h) * wp + pad_w;
            // Element w of the padded row is the low half of word w and the high half of word w − 1.
            for (ptrdiff_t w = 0; w < width; w++) {
                uint32_t bits = nabla_bf16_from_float(source[w]);
                row[w] |= bits;
                if (pad_w + w > 0) row[w - 1] |= bits << 16;
            }
        }
    }
}

static void transpose_pixel_pairs_portable(const float *gy, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                                           uint32_t *out, ptrdiff_t stride) {
    ptrdiff_t pairs = (width + 1) / 2;
    for (ptrdiff_t h = 0; h < height; h++) {
        for (ptrdiff_t q = 0; q < pairs; q++) {
            uint32_t *dst = out + (h * pairs + q) * stride;
            ptrdiff_t w = 2 * q;
            for (ptrdiff_t o = 0; o < channels; o++) {
                const float *row = gy + (o * height + h) * width;
                uint32_t odd = w + 1 < width ? (uint32_t)nabla_bf16_from_float(row[w + 1]) : 0;
                dst[o] = (uint32_t)nabla_bf16_from_float(row[w]) | odd << 16;
            }
            for (ptrdiff_t o = channels; o < stride; o++) dst[o] = 0;
        }
    }
}

#if defined(__x86_64__)
NABLA_BF16_TARGET static void sliding_pairs_avx512(const float *x, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                                                   ptrdiff_t pad_h, ptrdiff_t pad_w, uint32_t *out, ptrdiff_t count) {
    ptrdiff_t wp = width + 2 * pad_w, plane = (height + 2 * pad_h) * wp;
    memset(out, 0, (size_t)count * sizeof(uint32_t));
    for (ptrdiff_t c = 0; c < channels; c++) {
        for (ptrdiff_t h = 0; h < height; h++) {
            // Padded column k reads source[k − pad_w] when 0 ≤ k − pad_w < width, else 0: masked loads
            // (lanes outside the mask are not read, so the pointer may start before the row).
            const float *source = x + (c * height + h) * width - pad_w;
            uint32_t *row = out + c * plane + (h + pad_h) * wp;
            for (ptrdiff_t w = 0; w < wp; w += 16) {
                __mmask16 store = lane_mask(wp - w);
                __mmask16 even = lane_mask(pad_w + width - w) & (__mmask16)~lane_mask(pad_w - w);
                __mmask16 odd = lane_mask(pad_w + width - w - 1) & (__mmask16)~lane_mask(pad_w - w - 1);
                __m512i e = round16(_mm512_maskz_loadu_ps(even, source + w));
                __m512i o = round16(_mm512_maskz_loadu_ps(odd, source + w + 1));
                _mm512_mask_storeu_epi32(row + w, store, _mm512_or_si512(e, _mm512_slli_epi32(o, 16)));
            }
        }
    }
}

NABLA_BF16_TARGET static void transpose_pixel_pairs_avx512(const float *gy, ptrdiff_t channels, ptrdiff_t height,
                                                           ptrdiff_t width, uint32_t *out, ptrdiff_t stride) {
    ptrdiff_t pairs = (width + 1) / 2;
    for (ptrdiff_t h = 0; h < height; h++) {
        uint32_t *dst = out + h * pairs * stride;
        for (ptrdiff_t o = 0; o < channels; o++) {
            const float *row = gy + (o * height + h) * width;
            store_pairs_strided(row, width, pairs, dst + o, stride);
        }
        for (ptrdiff_t q = 0; q < pairs; q++)
            for (ptrdiff_t o = channels; o < stride; o++) dst[q * stride + o] = 0;
    }
}
#endif

void nabla_bf16_sliding_pairs(const float *x, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                              ptrdiff_t pad_h, ptrdiff_t pad_w, uint32_t *out, ptrdiff_t count, int use_hardware) {
#if defined(__x86_64__)
    if (use_hardware) { sliding_pairs_avx512(x, channels, height, width, pad_h, pad_w, out, count); return; }
#else
    (void)use_hardware;
#endif
    sliding_pairs_portable(x, channels, height, width, pad_h, pad_w, out, count);
}

void nabla_bf16_transpose_pixel_pairs(const float *gy, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                                      uint32_t *out, ptrdiff_t stride, int use_hardware) {
#if defined(__x86_64__)
    if (use_hardware) { transpose_pixel_pairs_avx512(gy, channels, height, width, out, stride); return; }
#else
    (void)use_hardware;
#endif
    transpose_pixel_pairs_portable(gy, channels, height, width, out, stride);
}

#if defined(__x86_64__)
/// The 3×3 outer-product sweep over NV vectors of 16 output channels (see nabla_bf16_outer_3x3).
#define NABLA_BF16_OUTER(NV)                                                                                   \
    NABLA_BF16_TARGET static void outer_3x3_##NV(const uint32_t *x, const uint32_t *g, float *out,            \
                                                 ptrdiff_t rows, ptrdiff_t column_pairs, ptrdiff_t pitch,     \
                                                 ptrdiff_t row_step, ptrdiff_t column_step,                  \
                                                 ptrdiff_t gradient_stride, ptrdiff_t out_stride) {          \
        __m512 acc[9][NV];                                                                                    \
        for (int t = 0; t < 9; t++)                                                                           \
            for (int v = 0; v < NV; v++) acc[t][v] = _mm512_setzero_ps();                                     \
        ptrdiff_t offsets[9];                                                                                 \
        for (int i = 0; i < 3; i++)                                                                           \
            for (int j = 0; j < 3; j++) offsets[3 * i + j] = i * row_step + j * column_step;                  \
        const uint32_t *gp = g;                                                                               \
        for (ptrdiff_t row = 0; row < rows; row++) {                                                          \
            const uint32_t *x0 = x + row * pitch;                                                             \
            for (ptrdiff_t q = 0; q < column_pairs; q++) {                                                    \
                __m512bh d[NV];                                                                               \
                for (int v = 0; v < NV; v++) d[v] = (__m512bh)_mm512_loadu_si512(gp + 16 * v);                \
                for (int t = 0; t < 9; t++) {                                                                 \
                    __m512bh w = (__m512bh)_mm512_set1_epi32((int)x0[offsets[t]]);                            \
                    for (int v = 0; v < NV; v++) acc[t][v] = _mm512_dpbf16_ps(acc[t][v], w, d[v]);            \
                }                                                                                             \
                gp += gradient_stride;                                                                        \
                x0 += 2;                                                                                      \
            }                                                                                                 \
        }                                                                                                     \
        for (int t = 0; t < 9; t++)                                                                           \
            for (int v = 0; v < NV; v++) {                                                                    \
                float *target = out + t * out_stride + 16 * v;                                                \
                _mm512_storeu_ps(target, _mm512_add_ps(_mm512_loadu_ps(target), acc[t][v]));                 \
            }                                                                                                 \
    }

NABLA_BF16_OUTER(1)
NABLA_BF16_OUTER(2)
#endif

int nabla_bf16_outer_3x3(int vectors, const uint32_t *x, const uint32_t *g, float *out, ptrdiff_t rows,
                         ptrdiff_t column_pairs, ptrdiff_t pitch, ptrdiff_t row_step, ptrdiff_t column_step,
                         ptrdiff_t gradient_stride, ptrdiff_t out_stride) {
#if defined(__x86_64__)
    if (vectors == 2) { outer_3x3_2(x, g, out, rows, column_pairs, pitch, row_step, column_step, gradient_stride, out_stride); return 1; }
    if (vectors == 1) { outer_3x3_1(x, g, out, rows, column_pairs, pitch, row_step, column_step, gradient_stride, out_stride); return 1; }
#else
    (void)vectors; (void)x; (void)g; (void)out; (void)rows; (void)column_pairs; (void)pitch; (void)row_step;
    (void)column_step; (void)gradient_stride; (void)out_stride;
#endif
    return 0;
}
