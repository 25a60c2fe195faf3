// BitLinear.cpp: the x86 ternary matmul kernels (contract in BitLinear.h): 2-bit codes t + 1 against int8
// activations with an unsigned x signed byte multiply-add (vpmaddubsw + vpmaddwd on AVX2, vpdpbusd with
// AVX512-VNNI), then the offset sum(q) subtracted, exact in int32. One generic body (BitLinearCore.inc) is
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
#define TK_FEATURES "avx2,fma"
#define TK_FN static inline __attribute__((always_inline, target(TK_FEATURES)))
#define TK_ENTRY __attribute__((target(TK_FEATURES)))
#define TK_NAME(x) tk_bitlinear_tern2b32_avx2##x
#define TK_DOT_NAME(x) tk_ternary_dot_tern2b32_avx2##x

struct Isa {
  using V = __m256i;
  static constexpr int64_t B = 32;
  static constexpr int MR = 2, MRG = 1, NR = 4, NR1 = 4;
  TK_FN V load(const void *p) { return _mm256_loadu_si256(static_cast<const __m256i *>(p)); }
  TK_FN V codes(V packed, int s) { return _mm256_and_si256(_mm256_srli_epi16(packed, 2 * s), _mm256_set1_epi8(3)); }
  TK_FN V dot(V acc, V u, V q) {
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, q), _mm256_set1_epi16(1)));
  }
  TK_FN V ones() { return _mm256_set1_epi8(1); }
  TK_FN V zero() { return _mm256_setzero_si256(); }
  TK_FN V sub(V a, V b) { return _mm256_sub_epi32(a, b); }
  TK_FN int32_t hsum(V v) {
    __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0x4e));
    x = _mm_add_epi32(x, _mm_shuffle_epi32(x, 0xb1));
    return _mm_cvtsi128_si32(x);
  }
  template <int N> TK_FN void hsums(const V (&a)[N], int32_t (&out)[N]) {
    TK_UNROLL for (int j = 0; j < N; ++j) out[j] = hsum(a[j]);
  }
  /// acc + the low 4 lanes of d times lo + the high 4 times hi, in double (each product exact).
  using D = __m256d;
  TK_FN D dzero() { return _mm256_setzero_pd(); }
  TK_FN D scaleAdd(V d, double lo, double hi, D acc) {
    acc = _mm256_fmadd_pd(_mm256_cvtepi32_pd(_mm256_castsi256_si128(d)), _mm256_set1_pd(lo), acc);
    return _mm256_fmadd_pd(_mm256_cvtepi32_pd(_mm256_extracti128_si256(d, 1)), _mm256_set1_pd(hi), acc);
  }
  TK_FN double dhsum(D v) {
    __m128d x = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    return _mm_cvtsd_f64(_mm_add_sd(x, _mm_unpackhi_pd(x, x)));
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
#define TK_FEATURES "avx2,fma,avx512f,avx512vl,avx512bw,avx512vnni"
#define TK_FN static inline __attribute__((always_inline, target(TK_FEATURES)))
#define TK_ENTRY __attribute__((target(TK_FEATURES)))
#define TK_NAME(x) tk_bitlinear_tern2b32_vnni256##x
#define TK_DOT_NAME(x) tk_ternary_dot_tern2b32_vnni256##x

struct Isa : tk_bitlinear_avx2::Isa {
  static constexpr int MR = 4, MRG = 2, NR = 4, NR1 = 8;
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
#define TK_FEATURES "avx2,fma,avx512f,avx512vl,avx512bw,avx512dq,avx512vnni,gfni"
#define TK_FN static inline __attribute__((always_inline, target(TK_FEATURES)))
#define TK_ENTRY __attribute__((target(TK_FEATURES)))
#define TK_NAME(x) tk_bitlinear_tern2b64_vnni512##x
#define TK_DOT_NAME(x) tk_ternary_dot_tern2b64_vnni512##x

struct Isa {
  using V = __m512i;
  static constexpr int64_t B = 64;
  static constexpr int MR = 4, MRG = 4, NR = 4, NR1 = 8;
  TK_FN V load(const void *p) { return _mm512_loadu_si512(p); }
  /// Bits 2s..2s+1 of each byte into bits 0..1: one GF(2) affine transform per byte (row i of the bit matrix
  /// is byte 7 - i of the qword) instead of a shift and a mask.
  TK_FN V codes(V packed, int s) {
    if (s == 0) return _mm512_and_si512(packed, _mm512_set1_epi8(3));
    long long m = (static_cast<long long>(1) << (56 + 2 * s)) | (static_cast<long long>(2) << (48 + 2 * s));
    return _mm512_gf2p8affine_epi64_epi8(packed, _mm512_set1_epi64(m), 0);
  }
  TK_FN V dot(V acc, V u, V q) { return _mm512_dpbusd_epi32(acc, u, q); }
  TK_FN V ones() { return _mm512_set1_epi8(1); }
  TK_FN V zero() { return _mm512_setzero_si512(); }
  TK_FN V sub(V a, V b) { return _mm512_sub_epi32(a, b); }
  TK_FN int32_t hsum(V v) {
    __m256i x = _mm256_add_epi32(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    __m128i y = _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
    y = _mm_add_epi32(y, _mm_shuffle_epi32(y, 0x4e));
    y = _mm_add_epi32(y, _mm_shuffle_epi32(y, 0xb1));
    return _mm_cvtsi128_si32(y);
  }
  /// The sums of 8 accumulators at once: 128-bit blocks of pairs, then of pairs of pairs, then lanes; 24
  /// instructions where 8 separate reductions take about 64.
  template <int N> TK_FN void hsums(const V (&a)[N], int32_t (&out)[N]) {
    if constexpr (N == 8) {
      V p[4];
      TK_UNROLL for (int i = 0; i < 4; ++i)  // blocks: [a0+a2, a1+a3, b0+b2, b1+b3] for a = a[2i], b = a[2i+1]
        p[i] = _mm512_add_epi32(_mm512_shuffle_i64x2(a[2 * i], a[2 * i + 1], 0x44),
                                _mm512_shuffle_i64x2(a[2 * i], a[2 * i + 1], 0xee));
      V x = _mm512_add_epi32(_mm512_shuffle_i64x2(p[0], p[1], 0x88), _mm512_shuffle_i64x2(p[0], p[1], 0xdd));
      V y = _mm512_add_epi32(_mm512_shuffle_i64x2(p[2], p[3], 0x88), _mm512_shuffle_i64x2(p[2], p[3], 0xdd));
      // Block i of x holds the 4 partial sums of accumulator i, of y those of accumulator 4 + i.
      V u = _mm512_add_epi32(_mm512_unpacklo_epi32(x, y), _mm512_unpackhi_epi32(x, y));
      V w = _mm512_add_epi32(u, _mm512_shuffle_epi32(u, _MM_PERM_BADC));
      // Lane 4i of w is accumulator i, lane 4i + 1 accumulator 4 + i.
      V order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 0, 0, 0, 0, 0, 0, 0, 0);
      _mm256_storeu_si256(reinterpret_cast<__m256i *>(out), _mm512_castsi512_si256(_mm512_permutexvar_epi32(order, w)));
    } else {
      TK_UNROLL for (int j = 0; j < N; ++j) out[j] = hsum(a[j]);
    }
  }
  /// acc + lanes 0-7 of d times lo + lanes 8-15 times hi, in double (each product exact).
  using D = __m512d;
  TK_FN D dzero() { return _mm512_setzero_pd(); }
  TK_FN D scaleAdd(V d, double lo, double hi, D acc) {
    acc = _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_castsi512_si256(d)), _mm512_set1_pd(lo), acc);
    return _mm512_fmadd_pd(_mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(d, 1)), _mm512_set1_pd(hi), acc);
  }
  TK_FN double dhsum(D v) {
    __m256d x = _mm256_add_pd(_mm512_castpd512_pd256(v), _mm512_extractf64x4_pd(v, 1));
    __m128d y = _mm_add_pd(_mm256_castpd256_pd128(x), _mm256_extractf128_pd(x, 1));
    return _mm_cvtsd_f64(_mm_add_sd(y, _mm_unpackhi_pd(y, y)));
  }
};

#include "targets/x86-avx2/kernels/BitLinearCore.inc"
#undef TK_FEATURES
#undef TK_FN
#undef TK_ENTRY
#undef TK_NAME
#undef TK_DOT_NAME
} // namespace tk_bitlinear_vnni512
