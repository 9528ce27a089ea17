// bf16 ("brain floating point": 1 sign, 8 exponent, 7 fraction bits — the upper half of an IEEE
// binary32) rounding and matrix products with Float accumulation, for Nabla's `--precision bf16`.
//
// Values stay in `float` storage: these functions round their Float inputs to bf16 while packing
// them (round to nearest, ties to even, NaN stays NaN — PyTorch's `Float -> BFloat16` conversion,
// c10/util/BFloat16.h `round_to_nearest_even`), multiply them exactly (a product of two bf16 values
// fits in a Float) and sum in Float. On x86-64 CPUs with AVX512_BF16 the product runs on
// `vdpbf16ps` (`_mm512_dpbf16_ps`), chosen at run time; elsewhere on a portable C loop.
#ifndef NABLA_BF16_H
#define NABLA_BF16_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// `x` rounded to the nearest bf16 value (ties to even), as the upper 16 bits of a binary32. NaN
/// becomes the quiet NaN 0x7FC0 with `x`'s sign; values beyond the largest finite bf16
/// (0x7F7F = 3.3895e38) round to ±infinity exactly as PyTorch's conversion does.
uint16_t nabla_bf16_from_float(float x);

/// The Float whose value is the bf16 `bits` (exact).
float nabla_bf16_to_float(uint16_t bits);

/// `x` rounded to bf16 and widened back to Float.
float nabla_bf16_round(float x);

/// Rounds `count` Floats in place to bf16-representable Floats.
void nabla_bf16_round_array(float *values, ptrdiff_t count);

/// 1 when this process can run the AVX512_BF16 kernels: the CPU reports AVX512F, AVX512BW,
/// AVX512VL (cpuid leaf 7 subleaf 0) and AVX512_BF16 (leaf 7 subleaf 1, EAX bit 5), and the OS saves
/// the vector state (xgetbv: XCR0 bits 1–2 for SSE/AVX and 5–7 for the opmask and ZMM registers).
/// Always 0 on other architectures. Does not read NABLA_DISABLE_BF16 (the Swift side does).
int nabla_bf16_hardware_available(void);

/// `C = op(A)·op(B) + beta·C` in row-major storage, `op(X) = Xᵀ` when `transpose_x` is non-zero, with
/// op(A) `m×k`, op(B) `k×n` and `lda`, `ldb`, `ldc` the row strides of the stored matrices. A and B
/// are read as bf16 (rounded while packing); every output element's sum runs in Float, starting from
/// `beta·C` (`beta` is 0 or 1), over the `k` terms in pairs `(2p, 2p+1)` — for each pair the odd term
/// is added before the even one, `vdpbf16ps`'s order — with odd `k` padded by a zero term. Uses the
/// AVX512_BF16 kernel when `use_hardware` is non-zero (precondition: nabla_bf16_hardware_available()),
/// else the portable loop. Single-threaded; callers split large products over threads by blocks of C.
void nabla_bf16_gemm(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                     const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                     float beta, float *c, ptrdiff_t ldc, int use_hardware);

/// The portable reference of nabla_bf16_gemm, element by element in the documented order (for tests).
void nabla_bf16_gemm_reference(int transpose_a, int transpose_b, ptrdiff_t m, ptrdiff_t n, ptrdiff_t k,
                               const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb,
                               float beta, float *c, ptrdiff_t ldc);

/// Copies one sample of a unit-stride correlation's input — `channels` planes of `height × width`
/// Floats, contiguous — into `count` words of channel pairs, zero-padded by `pad_h` rows above and
/// below and `pad_w` columns left and right: word `q·Hp·Wp + h·Wp + w` (`Hp = height + 2·pad_h`,
/// `Wp = width + 2·pad_w`) holds bf16(x[2q, h − pad_h, w − pad_w]) in its low half and
/// bf16(x[2q+1, …]) in its high half, zero in the padding, past the last channel and after the
/// `⌈channels/2⌉` planes up to `count` (which must cover them). Rounds as nabla_bf16_from_float.
/// `use_hardware` picks the AVX-512 loop (precondition: nabla_bf16_hardware_available()); same words.
void nabla_bf16_pad_pairs(const float *x, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                          ptrdiff_t pad_h, ptrdiff_t pad_w, uint32_t *out, ptrdiff_t count, int use_hardware);

/// One register tile of the bf16 direct correlation on `vdpbf16ps` (precondition:
/// nabla_bf16_hardware_available()): for `m < mr` and `v < nv`, the 16 Floats at
/// `output + output_offsets[v] + m·ldc` become `initial[m]` (0 when `initial` is NULL) plus, for each
/// `k < depth` in order, the pair dot products of the weight word `weights[k·mr + m]` with the 16 words
/// at `input + input_offsets[v] + taps[k]` (each lane: its odd product, then its even one, added in
/// Float). Tiles (mr, nv): (8, 3), (6, 4), (3, 8). Returns 0 — and writes nothing — for any other
/// tile or on a CPU architecture without the kernel, 1 otherwise.
int nabla_bf16_direct_tile(int mr, int nv, ptrdiff_t depth, const uint32_t *weights, const ptrdiff_t *taps,
                           const uint32_t *input, const ptrdiff_t *input_offsets, float *output,
                           const ptrdiff_t *output_offsets, ptrdiff_t ldc, const float *initial);

/// The weight gradient's input layout: one sample's `channels` planes (`height × width` Floats) zero-
/// padded as nabla_bf16_pad_pairs pads them, but as *sliding* pixel pairs of one channel: word
/// `c·Hp·Wp + h·Wp + w` holds bf16(x̂[c, h, w]) low and bf16(x̂[c, h, w+1]) high, with x̂ the padded
/// plane and x̂[c, h, Wp] = 0 (a pair never reaches into the next row). Zeros after the planes up to
/// `count` words. `use_hardware` picks the AVX-512 loop (precondition: nabla_bf16_hardware_available());
/// the same words, as for nabla_bf16_transpose_pixel_pairs.
void nabla_bf16_sliding_pairs(const float *x, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                              ptrdiff_t pad_h, ptrdiff_t pad_w, uint32_t *out, ptrdiff_t count, int use_hardware);

/// The weight gradient's upstream layout: `gy` (`channels × height × width`) as pixel pairs by row,
/// channels last: word `(h·⌈width/2⌉ + q)·stride + o` holds bf16(gy[o, h, 2q]) low and
/// bf16(gy[o, h, 2q+1]) high (zero past the row's end, for odd widths), zero for `o ≥ channels`.
void nabla_bf16_transpose_pixel_pairs(const float *gy, ptrdiff_t channels, ptrdiff_t height, ptrdiff_t width,
                                      uint32_t *out, ptrdiff_t stride, int use_hardware);

/// One 3×3 weight-gradient sweep on `vdpbf16ps` (precondition: nabla_bf16_hardware_available()) over
/// `vectors` (1 or 2) vectors of 16 output channels: for tap `t = 3i + j` and lane `l`,
/// `out[t·out_stride + l] +=` the sum, over `rows` rows and `column_pairs` pixel pairs `q`, of the
/// pair dot product of `x[row·pitch + 2q + i·row_step + j·column_step]` (sliding pairs of one input
/// channel) with `g[(row·column_pairs + q)·gradient_stride + l]` (pixel pairs of the upstream
/// gradient), accumulated in Float from zero and then added to `out`. Returns 0 (writing nothing) for
/// other `vectors` or without the kernel, else 1.
int nabla_bf16_outer_3x3(int vectors, const uint32_t *x, const uint32_t *g, float *out, ptrdiff_t rows,
                         ptrdiff_t column_pairs, ptrdiff_t pitch, ptrdiff_t row_step, ptrdiff_t column_step,
                         ptrdiff_t gradient_stride, ptrdiff_t out_stride);

#ifdef __cplusplus
}
#endif

#endif
