// BitLinear.cpp: the x86 ternary matmul kernels (contract in BitLinear.h): 2-bit codes t + 1 of P = B / 4
// weight rows against 4 int8 activations broadcast to every lane, with an unsigned x signed byte multiply-add
// (vpmaddubsw + vpmaddwd on AVX2, vpdpbusd with AVX512-VNNI), then the offset sum(q) subtracted, exact in int32. One generic body (BitLinearCore.inc) is
// instantiated per instruction set, each with its own target features, so one bitcode file serves every x86
// CPU and codegen calls the variant the chosen CPU has.
#include "targets/x86-avx2/kernels/BitLinear.h"

#include "codegen/kernels/KernelMath.h"
#include "targets/BitLinearEpilogue.h"

#include <immintrin.h>

/// Fully unrolls a loop over a tile dimension so its arrays of vectors live in registers. Spelled out on each
/// loop because the bitcode is built with -fno-unroll-loops, and the model's optimizer would otherwise keep
/// such arrays in memory.
#ifdef __clang__
#define TK_UNROLL _Pragma("unroll")
#else
#define TK_UNROLL _Pragma("GCC unroll 16")
#endif

// ---- AVX2: vpmaddubsw (u8 codes x s8 q -> pairs in i16, at most 2 * 2 * 128 = 512) + vpmaddwd -------------
namespace tk_bitlinear_avx2 {
#define TK_FEATURES "avx2,fma,f16c"
#define TK_FN static inline __attribute__((always_inline, target(TK_FEATURES)))
#define TK_ENTRY __attribute__((target(TK_FEATURES)))
#define TK_NAME(x) tk_bitlinear_tern2b32_avx2##x
#define TK_DOT_NAME(x) tk_ternary_dot_tern2b32_avx2##x

struct Isa {
  using V = __m256i;
  static constexpr int64_t B = 32;
  static constexpr int MR = 4, MRG = 2;
  TK_FN V load(const void *p) { return _mm256_loadu_si256(static_cast<const __m256i *>(p)); }
  /// Bits 2s..2s+1 of each byte: the codes of step s of the block (4 weights of each lane's row).
  TK_FN V codes(V packed, int s) { return _mm256_and_si256(_mm256_srli_epi16(packed, 2 * s), _mm256_set1_epi8(3)); }
  /// 4 bytes at p in every int32 lane.
  TK_FN V bcast(const int8_t *p) {
    int32_t x;
    __builtin_memcpy(&x, p, 4);
    return _mm256_set1_epi32(x);
  }
  TK_FN V bcast32(int32_t x) { return _mm256_set1_epi32(x); }
  TK_FN V dot(V acc, V u, V q) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, q), _mm256_set1_epi16(1)));
  }
  TK_FN V zero() { return _mm256_setzero_si256(); }
  TK_FN V add(V a, V b) { return _mm256_add_epi32(a, b); }
  TK_FN V sub(V a, V b) { return _mm256_sub_epi32(a, b); }
  TK_FN void store(int32_t *p, V v) { _mm256_storeu_si256(reinterpret_cast<__m256i *>(p), v); }
  /// sum of n int8 at p: 32 at a time (vpmaddubsw with ones, vpmaddwd), then one at a time.
  TK_FN int32_t sumBytes(const int8_t *p, int64_t n) {
    __m256i acc = _mm256_setzero_si256();
    int64_t k = 0;
    for (; k + 32 <= n; k += 32)
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), load(p + k)),
                                                    _mm256_set1_epi16(1)));
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
    int32_t sum = _mm_cvtsi128_si32(x);
    for (; k < n; ++k) sum += p[k];
    return sum;
  }
  /// Doubles: lanes 0-3 and 4-7 of an int32 vector.
  using D = __m256d;
  TK_FN D dzero() { return _mm256_setzero_pd(); }
  /// lo += lanes 0-3 of d times slo, hi += lanes 4-7 times shi (each product exact).
  TK_FN void scaleAdd(V d, D slo, D shi, D &lo, D &hi) {
    lo = _mm256_fmadd_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(d)), slo, lo);
    hi = _mm256_fmadd_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(d, 1)), shi, hi);
  }
  /// 8 floats at p as two vectors of doubles.
  TK_FN void cvtScales(const float *p, D &lo, D &hi) {
    lo = _mm256_cvtps_pd(_mm_loadu_ps(p));
    hi = _mm256_cvtps_pd(_mm_loadu_ps(p + 4));
  }
  /// 8 halves (IEEE binary16) at p times c, each product rounded to f32 (the tiled scales' value,
  /// BitLinearKernel.h), as two vectors of doubles.
  TK_FN void cvtHalfScales(const uint16_t *p, float c, D &lo, D &hi) {
    __m256 v = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p))),
                             _mm256_set1_ps(c));
    lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  }
  /// The 8 floats p[l * stride] as two vectors of doubles (one row's group scale per lane).
  TK_FN void gatherScales(const float *p, int32_t stride, D &lo, D &hi) {
    __m256i idx = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7), _mm256_set1_epi32(stride));
    __m256 v = _mm256_i32gather_ps(p, idx, 4);
    lo = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    hi = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
  }
  TK_FN void dstore(double *p, D lo, D hi) {
    _mm256_storeu_pd(p, lo);
    _mm256_storeu_pd(p + 4, hi);
  }
};

#include "targets/x86-avx2/kernels/BitLinearCore.inc"
#undef TK_FEATURES
#undef TK_FN
#undef TK_ENTRY
#undef TK_NAME
#undef TK_DOT_NAME
} // namespace tk_bitlinear_avx2

// ---- AVX512-VNNI on 256-bit vectors: vpdpbusd, same layout as AVX2 ------------------------------------------
namespace tk_bitlinear_vnni256 {
#define TK_FEATURES "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni"
#define TK_FN static inline __attribute__((always_inline, target(TK_FEATURES)))
#define TK_ENTRY __attribute__((target(TK_FEATURES)))
#define TK_NAME(x) tk_bitlinear_tern2b32_vnni256##x
#define TK_DOT_NAME(x) tk_ternary_dot_tern2b32_vnni256##x

struct Isa : tk_bitlinear_avx2::Isa {
  static constexpr int MR = 4, MRG = 4;
  TK_FN V dot(V acc, V u, V q) { return _mm256_dpbusd_epi32(acc, u, q); }
};

#include "targets/x86-avx2/kernels/BitLinearCore.inc"
#undef TK_FEATURES
#undef TK_FN
#undef TK_ENTRY
#undef TK_NAME
#undef TK_DOT_NAME
} // namespace tk_bitlinear_vnni256

// ---- AVX512-VNNI on 512-bit vectors: 64-byte code blocks, codes extracted with GFNI --------------------------
namespace tk_bitlinear_vnni512 {
#define TK_FEATURES "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,gfni"
#define TK_FN static inline __attribute__((always_inline, target(TK_FEATURES)))
#define TK_ENTRY __attribute__((target(TK_FEATURES)))
#define TK_NAME(x) tk_bitlinear_tern2b64_vnni512##x
#define TK_DOT_NAME(x) tk_ternary_dot_tern2b64_vnni512##x

struct Isa {
  using V = __m512i;
  static constexpr int64_t B = 64;
  static constexpr int MR = 8, MRG = 8;
  TK_FN V load(const void *p) { return _mm512_loadu_si512(p); }
  /// Bits 2s..2s+1 of each byte into bits 0..1: one GF(2) affine transform per byte (row i of the bit matrix
  /// is byte 7 - i of the qword) instead of a shift and a mask.
  TK_FN V codes(V packed, int s) {
    if (s == 0) return _mm512_and_si512(packed, _mm512_set1_epi8(3));
    long long m = (static_cast<long long>(1) << (56 + 2 * s)) | (static_cast<long long>(2) << (48 + 2 * s));
    return _mm512_gf2p8affine_epi64_epi8(packed, _mm512_set1_epi64(m), 0);
  }
  TK_FN V bcast(const int8_t *p) {
    int32_t x;
    __builtin_memcpy(&x, p, 4);
    return _mm512_set1_epi32(x);
  }
  TK_FN V bcast32(int32_t x) { return _mm512_set1_epi32(x); }
  TK_FN V dot(V acc, V u, V q) { return _mm512_dpbusd_epi32(acc, u, q); }
  TK_FN V zero() { return _mm512_setzero_si512(); }
  TK_FN V add(V a, V b) { return _mm512_add_epi32(a, b); }
  TK_FN V sub(V a, V b) { return _mm512_sub_epi32(a, b); }
  TK_FN void store(int32_t *p, V v) { _mm512_storeu_si512(p, v); }
  TK_FN int32_t sumBytes(const int8_t *p, int64_t n) {
    __m512i acc = _mm512_setzero_si512();
    int64_t k = 0;
    for (; k + 64 <= n; k += 64) acc = _mm512_dpbusd_epi32(acc, _mm512_set1_epi8(1), load(p + k));
    int32_t sum = _mm512_reduce_add_epi32(acc);
    return sum + tk_bitlinear_avx2::Isa::sumBytes(p + k, n - k);
  }
  /// Doubles: lanes 0-7 and 8-15 of an int32 vector.
  using D = __m512d;
  TK_FN D dzero() { return _mm512_setzero_pd(); }
  TK_FN void scaleAdd(V d, D slo, D shi, D &lo, D &hi) {
    lo = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(d)), slo, lo);
    hi = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(d, 1)), shi, hi);
  }
  TK_FN void cvtScales(const float *p, D &lo, D &hi) {
    lo = _mm512_cvtps_pd(_mm256_loadu_ps(p));
    hi = _mm512_cvtps_pd(_mm256_loadu_ps(p + 8));
  }
  TK_FN void cvtHalfScales(const uint16_t *p, float c, D &lo, D &hi) {
    __m512 v = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p))),
                             _mm512_set1_ps(c));
    lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
  }
  TK_FN void gatherScales(const float *p, int32_t stride, D &lo, D &hi) {
    __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                     _mm512_set1_epi32(stride));
    __m512 v = _mm512_i32gather_ps(idx, p, 4);
    lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
    hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
  }
  TK_FN void dstore(double *p, D lo, D hi) {
    _mm512_storeu_pd(p, lo);
    _mm512_storeu_pd(p + 8, hi);
  }
};

#include "targets/x86-avx2/kernels/BitLinearCore.inc"
#undef TK_FEATURES
#undef TK_FN
#undef TK_ENTRY
#undef TK_NAME
#undef TK_DOT_NAME
} // namespace tk_bitlinear_vnni512
