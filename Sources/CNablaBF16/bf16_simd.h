// AVX-512 helpers shared by bf16.c and bf16_direct.c (x86-64 only; not part of the module's API).
#ifndef NABLA_BF16_SIMD_H
#define NABLA_BF16_SIMD_H

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

static inline __mmask16 lane_mask(ptrdiff_t valid) {
    return valid >= 16 ? (__mmask16)0xFFFF : valid <= 0 ? (__mmask16)0 : (__mmask16)((1u << valid) - 1u);
}

#define NABLA_BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))

/// 16 Floats rounded to bf16 as nabla_bf16_from_float does (ties to even, quiet NaN), each in the
/// low half of its 32-bit lane.
NABLA_BF16_TARGET static inline __m512i round16(__m512 x) {
    __m512i u = _mm512_castps_si512(x);
    __m512i high = _mm512_srli_epi32(u, 16);
    __m512i even = _mm512_and_si512(high, _mm512_set1_epi32(1));
    __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(u, _mm512_add_epi32(even, _mm512_set1_epi32(0x7FFF))), 16);
    __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(u, _mm512_set1_epi32(0x7FFFFFFF)), _mm512_set1_epi32(0x7F800000));
    return _mm512_mask_mov_epi32(rounded, nan, _mm512_or_si512(high, _mm512_set1_epi32(0x40)));
}

/// 32 consecutive Floats (`valid` of them, the rest read as 0) as 16 words of pairs: word i holds
/// bf16(x[2i]) in its low half and bf16(x[2i+1]) in its high half.
NABLA_BF16_TARGET static inline __m512i pairs16(const float *x, ptrdiff_t valid) {
    __m512i low = round16(_mm512_maskz_loadu_ps(lane_mask(valid), x));
    __m512i high = round16(_mm512_maskz_loadu_ps(lane_mask(valid - 16), x + 16));
    __m256i a = _mm512_cvtepi32_epi16(low), b = _mm512_cvtepi32_epi16(high);
    return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

/// Words of pairs from two rows of 16 Floats (`even` low, `odd` high; `odd` NULL reads zeros), the
/// lanes outside `m` zero.
NABLA_BF16_TARGET static inline __m512i interleave16(const float *even, const float *odd, __mmask16 m) {
    __m512i e = round16(_mm512_maskz_loadu_ps(m, even));
    __m512i o = odd ? round16(_mm512_maskz_loadu_ps(m, odd)) : _mm512_setzero_si512();
    return _mm512_or_si512(e, _mm512_slli_epi32(o, 16));
}

/// `pairs` words of consecutive Float pairs from `x` (`valid` Floats, the rest read as 0), word q
/// stored at `dst[q·stride]`: one k-contiguous row or column scattered into a packed panel.
NABLA_BF16_TARGET static inline void store_pairs_strided(const float *x, ptrdiff_t valid, ptrdiff_t pairs,
                                                         uint32_t *dst, ptrdiff_t stride) {
    for (ptrdiff_t q = 0; q < pairs; q += 16) {
        uint32_t words[16];
        _mm512_storeu_si512(words, pairs16(x + 2 * q, valid - 2 * q));
        ptrdiff_t count = pairs - q < 16 ? pairs - q : 16;
        for (ptrdiff_t i = 0; i < count; i++) dst[(q + i) * stride] = words[i];
    }
}

#endif
