// BitLinearNeon.cpp: the aarch64 ternary matmul kernels (contract and layouts in BitLinearNeon.h).
//  - neon2b16_sdot: 2-bit codes t + 1 against int8 activations with `sdot` (+dotprod), sum(q) subtracted for
//    the offset. The body is the x86 kernels' generic one (targets/x86-avx2/kernels/BitLinearCore.inc),
//    instantiated with a NEON Isa: same tiles, same exact integer sums, same epilogue.
//  - neonlut16_tbl: no dotprod: per pair of activations, a 16-entry table of the 9 sums q0 t0 + q1 t1 that
//    `tbl` indexes with 16 weight rows' 4-bit pair indices at once.
// Both end in targets/BitLinearEpilogue.h, so outputs equal the x86 kernels' bit for bit (per-group scales too:
// every kernel sums the scaled groups exactly, in double; docs/ternary.md).
#include "targets/aarch64/kernels/BitLinearNeon.h"

#include "codegen/kernels/KernelMath.h"
#include "targets/BitLinearEpilogue.h"

#include <arm_neon.h>

/// Fully unrolls a loop over a tile dimension (the bitcode is built with -fno-unroll-loops).
#ifdef __clang__
#define TK_UNROLL _Pragma("unroll")
#else
#define TK_UNROLL _Pragma("GCC unroll 16")
#endif

// ---- sdot: Armv8.2-A dotprod, 16-byte code blocks -----------------------------------------------------------
namespace tk_bitlinear_sdot {
#define TK_FN static inline __attribute__((always_inline, target("dotprod")))
#define TK_ENTRY __attribute__((target("dotprod")))
#define TK_NAME(x) tk_bitlinear_neon2b16_sdot##x
#define TK_DOT_NAME(x) tk_ternary_dot_neon2b16_sdot##x

struct Isa {
  using V = int32x4_t;  // integer vectors of every element width, reinterpreted where needed
  static constexpr int64_t B = 16;
  // 32 registers: prefill 4 activation rows x 4 panels of accumulators (2 rows with grouped scales, whose
  // double sums take 2 registers per accumulator), 4 code vectors and the broadcast q.
  static constexpr int MR = 4, MRG = 2;
  TK_FN V load(const void *p) { return vreinterpretq_s32_u8(vld1q_u8(static_cast<const uint8_t *>(p))); }
  TK_FN V codes(V packed, int s) {
    uint8x16_t shifted = vshlq_u8(vreinterpretq_u8_s32(packed), vdupq_n_s8(int8_t(-2 * s)));
    return vreinterpretq_s32_u8(vandq_u8(shifted, vdupq_n_u8(3)));
  }
  TK_FN V bcast(const int8_t *p) {
    int32_t x;
    __builtin_memcpy(&x, p, 4);
    return vdupq_n_s32(x);
  }
  TK_FN V bcast32(int32_t x) { return vdupq_n_s32(x); }
  TK_FN V dot(V acc, V u, V q) { return vdotq_s32(acc, vreinterpretq_s8_s32(u), vreinterpretq_s8_s32(q)); }
  TK_FN V zero() { return vdupq_n_s32(0); }
  TK_FN V add(V a, V b) { return vaddq_s32(a, b); }
  TK_FN V sub(V a, V b) { return vsubq_s32(a, b); }
  TK_FN void store(int32_t *p, V v) { vst1q_s32(p, v); }
  TK_FN int32_t sumBytes(const int8_t *p, int64_t n) {
    V acc = zero();
    int64_t k = 0;
    for (; k + 16 <= n; k += 16) acc = vdotq_s32(acc, vdupq_n_s8(1), vld1q_s8(p + k));
    int32_t sum = vaddvq_s32(acc);
    for (; k < n; ++k) sum += p[k];
    return sum;
  }
  /// Doubles: lanes 0-1 and 2-3 of an int32 vector.
  using D = float64x2_t;
  TK_FN D dzero() { return vdupq_n_f64(0.0); }
  TK_FN void scaleAdd(V d, D slo, D shi, D &lo, D &hi) {
    lo = vfmaq_f64(lo, vcvtq_f64_s64(vmovl_s32(vget_low_s32(d))), slo);
    hi = vfmaq_f64(hi, vcvtq_f64_s64(vmovl_high_s32(d)), shi);
  }
  TK_FN void cvtScales(const float *p, D &lo, D &hi) {
    float32x4_t f = vld1q_f32(p);
    lo = vcvt_f64_f32(vget_low_f32(f));
    hi = vcvt_high_f64_f32(f);
  }
  /// 4 binary16 scales times c (tiled scales, targets/BitLinearKernel.h; the aarch64 legalization does not
  /// tile them yet, but the shared core reads them so).
  TK_FN void cvtHalfScales(const uint16_t *p, float c, D &lo, D &hi) {
    float32x4_t f = vmulq_n_f32(vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))), c);
    lo = vcvt_f64_f32(vget_low_f32(f));
    hi = vcvt_high_f64_f32(f);
  }
  /// The 4 floats p[l * stride] (NEON has no gather: four lane loads).
  TK_FN void gatherScales(const float *p, int32_t stride, D &lo, D &hi) {
    float32x4_t f = vdupq_n_f32(0.0f);
    f = vld1q_lane_f32(p, f, 0);
    f = vld1q_lane_f32(p + stride, f, 1);
    f = vld1q_lane_f32(p + 2 * int64_t(stride), f, 2);
    f = vld1q_lane_f32(p + 3 * int64_t(stride), f, 3);
    lo = vcvt_f64_f32(vget_low_f32(f));
    hi = vcvt_high_f64_f32(f);
  }
  TK_FN void dstore(double *p, D lo, D hi) {
    vst1q_f64(p, lo);
    vst1q_f64(p + 2, hi);
  }
};

#include "targets/x86-avx2/kernels/BitLinearCore.inc"
#undef TK_FN
#undef TK_ENTRY
#undef TK_NAME
#undef TK_DOT_NAME
} // namespace tk_bitlinear_sdot

// ---- tbl: lookup tables over pairs of weights, any Armv8-A ---------------------------------------------------
namespace tk_bitlinear_tbl {
#define TK_FN static inline __attribute__((always_inline))

constexpr int64_t kRows = TK_NEON_LUT_ROWS;
/// Weight pairs summed in int16 before widening: |q0 t0 + q1 t1| <= 256, so 64 pairs stay within 2^14.
constexpr int64_t kChunkPairs = 64;
/// Items (groups of 16 weight rows) that share one activation row's tables.
constexpr int64_t kItemBlock = 4;

/// One activation row's tables for a chunk of pairs: lo[p] and hi[p] are the low and high bytes of the int16
/// sums q0 t0 + q1 t1 at index (t0 + 1) + 3 (t1 + 1) (indices 9..15 are 0).
struct Tables {
  alignas(16) uint8_t lo[kChunkPairs][16];
  alignas(16) uint8_t hi[kChunkPairs][16];
};

/// Builds the tables of pairs [p0, p0 + pairs) of q row `qr` (K activations; zero past K).
TK_FN void buildTables(const int8_t *qr, int64_t K, int64_t p0, int64_t pairs, Tables &t) {
  const int16x8_t a0 = {-1, 0, 1, -1, 0, 1, -1, 0}, a1 = {1, 0, 0, 0, 0, 0, 0, 0};   // t0 of indices 0-7, 8-15
  const int16x8_t b0 = {-1, -1, -1, 0, 0, 0, 1, 1}, b1 = {1, 0, 0, 0, 0, 0, 0, 0};   // t1
  for (int64_t i = 0; i < pairs; ++i) {
    int64_t k = 2 * (p0 + i);
    int16_t q0 = k < K ? qr[k] : 0, q1 = k + 1 < K ? qr[k + 1] : 0;
    int16x8_t v0 = vmlaq_n_s16(vmulq_n_s16(a0, q0), b0, q1), v1 = vmlaq_n_s16(vmulq_n_s16(a1, q0), b1, q1);
    uint8x16_t u0 = vreinterpretq_u8_s16(v0), u1 = vreinterpretq_u8_s16(v1);
    vst1q_u8(t.lo[i], vuzp1q_u8(u0, u1));  // little endian: even bytes are the low halves
    vst1q_u8(t.hi[i], vuzp2q_u8(u0, u1));
  }
}

/// acc (16 rows' int32 sums) += the exact dot products of the tables' pairs with weight group `wg` (its
/// columns from pair p0 on; `pairs` even or the last pairs of K).
TK_FN void lookup(const Tables &t, const uint8_t *wg, int64_t p0, int64_t pairs, int32x4_t (&acc)[4]) {
  int16x8_t s0 = vdupq_n_s16(0), s1 = vdupq_n_s16(0);  // rows 0-7, 8-15
  for (int64_t i = 0; i < pairs; i += 2) {
    uint8x16_t idx = vld1q_u8(wg + ((p0 + i) / 2) * kRows);
    uint8x16_t lo = vandq_u8(idx, vdupq_n_u8(15)), hi = vshrq_n_u8(idx, 4);
    uint8x16_t l0 = vqtbl1q_u8(vld1q_u8(t.lo[i]), lo), h0 = vqtbl1q_u8(vld1q_u8(t.hi[i]), lo);
    s0 = vaddq_s16(s0, vreinterpretq_s16_u8(vzip1q_u8(l0, h0)));
    s1 = vaddq_s16(s1, vreinterpretq_s16_u8(vzip2q_u8(l0, h0)));
    if (i + 1 < pairs) {
      uint8x16_t l1 = vqtbl1q_u8(vld1q_u8(t.lo[i + 1]), hi), h1 = vqtbl1q_u8(vld1q_u8(t.hi[i + 1]), hi);
      s0 = vaddq_s16(s0, vreinterpretq_s16_u8(vzip1q_u8(l1, h1)));
      s1 = vaddq_s16(s1, vreinterpretq_s16_u8(vzip2q_u8(l1, h1)));
    }
  }
  acc[0] = vaddw_s16(acc[0], vget_low_s16(s0));
  acc[1] = vaddw_high_s16(acc[1], s0);
  acc[2] = vaddw_s16(acc[2], vget_low_s16(s1));
  acc[3] = vaddw_high_s16(acc[3], s1);
}

struct Problem {
  const int8_t *q;
  const float *s;
  const uint8_t *w, *gate;
  const float *wscale, *gscale, *bias, *gbias, *residual;
  float *y;
  int32_t *dotOut;
  int64_t M, N, K, sRow, group, act, dequantMul;
  int64_t pairs;      // pairs covering K
  int64_t groupBytes; // bytes of a group of 16 rows
  int64_t chunk;      // pairs per chunk: 64, or fewer so that a scale group is whole chunks
  bool grouped;
};

/// D(w) of activation row m for the items [i0, i0 + count): out[i][r] for row 16 (i0 + i) + r.
TK_FN void dots(const Problem &p, const uint8_t *w, const float *scale, int64_t m, int64_t i0, int64_t count,
                Tables &t, double (&out)[kItemBlock][kRows], int32_t (&ints)[kItemBlock][kRows]) {
  int32x4_t acc[kItemBlock][4];
  for (int64_t i = 0; i < count; ++i)
    for (int c = 0; c < 4; ++c) acc[i][c] = vdupq_n_s32(0);
  for (int64_t i = 0; i < count; ++i)
    for (int r = 0; r < kRows; ++r) out[i][r] = 0.0;
  const int8_t *qr = p.q + m * p.K;
  for (int64_t p0 = 0; p0 < p.pairs; p0 += p.chunk) {
    int64_t pairs = p0 + p.chunk < p.pairs ? p.chunk : p.pairs - p0;
    buildTables(qr, p.K, p0, pairs, t);
    for (int64_t i = 0; i < count; ++i) lookup(t, w + (i0 + i) * p.groupBytes, p0, pairs, acc[i]);
    if (p.grouped) {  // a chunk lies in one scale group: scale its exact sums, then start again
      int64_t g = 2 * p0 / p.group;
      for (int64_t i = 0; i < count; ++i) {
        int32_t d[kRows];
        for (int c = 0; c < 4; ++c) vst1q_s32(d + 4 * c, acc[i][c]);
        for (int r = 0; r < kRows; ++r) {
          int64_t n = (i0 + i) * kRows + r;
          if (n < p.N) out[i][r] += double(d[r]) * double(scale[n * p.sRow + g]);
        }
        for (int c = 0; c < 4; ++c) acc[i][c] = vdupq_n_s32(0);
      }
    }
  }
  if (p.grouped) return;
  for (int64_t i = 0; i < count; ++i) {
    for (int c = 0; c < 4; ++c) vst1q_s32(ints[i] + 4 * c, acc[i][c]);
    for (int r = 0; r < kRows; ++r) {
      int64_t n = (i0 + i) * kRows + r;
      if (n < p.N && scale) out[i][r] = double(ints[i][r]) * double(scale[n * p.sRow]);
    }
  }
}

TK_FN void run(const Problem &p, int64_t begin, int64_t end) {
  Tables t;
  double dw[kItemBlock][kRows], dg[kItemBlock][kRows];
  int32_t ints[kItemBlock][kRows];
  for (int64_t i0 = begin; i0 < end; i0 += kItemBlock) {
    int64_t count = i0 + kItemBlock < end ? kItemBlock : end - i0;
    for (int64_t m = 0; m < p.M; ++m) {
      dots(p, p.w, p.wscale, m, i0, count, t, dw, ints);
      if (p.dotOut) {
        for (int64_t i = 0; i < count; ++i)
          for (int r = 0; r < kRows; ++r) {
            int64_t n = (i0 + i) * kRows + r;
            if (n < p.N) p.dotOut[m * p.N + n] = ints[i][r];
          }
        continue;
      }
      if (p.gate) dots(p, p.gate, p.gscale, m, i0, count, t, dg, ints);
      double sm = double(p.s[m]);
      for (int64_t i = 0; i < count; ++i)
        for (int r = 0; r < kRows; ++r) {
          int64_t n = (i0 + i) * kRows + r;
          if (n < p.N)
            p.y[m * p.N + n] = tk::bitLinearEpilogue(dw[i][r], p.gate ? dg[i][r] : 0.0, p.gate != nullptr, sm,
                                                     p.dequantMul, p.bias, p.gbias, p.residual, p.act, m, n, p.N);
        }
    }
  }
}

TK_FN Problem problem(const int8_t *q, const float *s, const uint8_t *w, const float *wscale, const float *bias,
                      const uint8_t *gate, const float *gscale, const float *gbias, const float *residual, float *y,
                      int32_t *dotOut, int64_t M, int64_t N, int64_t K, int64_t sRow, int64_t group, int64_t act,
                      int64_t dequantMul) {
  Problem p{q, s, w, gate, wscale, gscale, bias, gbias, residual, y, dotOut, M, N, K, sRow, group, act, dequantMul,
            0, 0, kChunkPairs, false};
  p.pairs = (K + 1) / 2;
  p.groupBytes = kRows * ((K + 3) / 4);
  p.grouped = group < K;
  if (p.grouped) {  // groups are multiples of 32 weights = 16 pairs
    int64_t gp = group / 2;
    while (gp % p.chunk != 0) p.chunk /= 2;
  }
  return p;
}

TK_FN int64_t items(int64_t N) { return (N + kRows - 1) / kRows; }
/// About 2^20 multiply-adds per task.
TK_FN int64_t grain(int64_t M, int64_t K) {
  int64_t perItem = kRows * (K > 0 ? K : 1) * (M > 0 ? M : 1);
  int64_t g = (int64_t(1) << 20) / perItem;
  return g > 1 ? g : 1;
}

extern "C" {

int64_t tk_bitlinear_neonlut16_tbl_items(TK_BITLINEAR_ARGS) { return items(N); }
int64_t tk_bitlinear_neonlut16_tbl_grain(TK_BITLINEAR_ARGS) { return grain(M, K); }
void tk_bitlinear_neonlut16_tbl(TK_BITLINEAR_ARGS, int64_t begin, int64_t end) {
  run(problem(q, s, w, wscale, bias, gate, gscale, gbias, residual, y, nullptr, M, N, K, sRow, group, act,
              dequantMul),
      begin, end);
}
int64_t tk_ternary_dot_neonlut16_tbl_items(const int8_t *q, const uint8_t *w, int32_t *out, int64_t M, int64_t N,
                                           int64_t K) {
  return items(N);
}
void tk_ternary_dot_neonlut16_tbl(const int8_t *q, const uint8_t *w, int32_t *out, int64_t M, int64_t N, int64_t K,
                                  int64_t begin, int64_t end) {
  run(problem(q, nullptr, w, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, out, M, N, K, 0, K, 0, 0),
      begin, end);
}

} // extern "C"
#undef TK_FN
} // namespace tk_bitlinear_tbl
