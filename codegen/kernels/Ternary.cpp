// Ternary.cpp: tk_actquant_f32 (optional row norm, then per-token absmax int8 quantization, bit-exact with
// ternc's interpreter) and tk_ternary_matmul_f32 (float activations times a ternary weight with per-tensor,
// per-row or per-group scales).
#include "GemmCore.h" // dispatchRows
#include "KernelMath.h"
#include "Kernels.h"

namespace {
using namespace tk;

// ---- ActQuant ---------------------------------------------------------------------------------------------

/// One item per row. Every float step is the interpreter's (ir/ops/Ternary.cpp, normalizeRow and
/// quantizeRow): where it rounds a double result of f32 operands to f32 (+ - * / sqrt), that is the f32
/// operation itself; its double sums (sums of squares, LayerNorm's statistics) are double sums here too, in
/// the same sequential order, and so are LayerNorm's double per-element steps. Products and sums are kept in
/// separate statements so that -ffp-contract=on cannot fuse them. The normalized row is not stored (no
/// scratch): it is recomputed, identically, for the max and for the quantization.
struct ActQuant {
  enum Norm : int64_t { None = 0, Rms = 1, RmsDiv = 2, Layer = 3 };
  enum ScaleMode : int64_t { Div = 0, RcpMul = 1, Step = 2 };
  static constexpr int64_t MinTaskWork = 16384;

  static TK_INLINE int64_t items(int64_t rows, int64_t K) { return rows > 0 ? rows : 0; }
  static TK_INLINE int64_t grain(int64_t rows, int64_t K) { return maxI(1, ceilDiv(MinTaskWork, maxI(K, 1))); }

  /// rint(v) clamped to [-128, 127], NaN to 0. Clamping first is the same (the bounds are integers); in
  /// [-128, 127], adding 1.5 * 2^23 rounds to an integer (to nearest even, in the FPU's default mode) in
  /// the low mantissa bits, which vectorizes everywhere without a rounding instruction.
  static TK_INLINE int8_t quantize(float v) {
    const float round = 12582912.0f;
    v = v > 127.0f ? 127.0f : v;
    v = v < -128.0f ? -128.0f : v;
    v = v == v ? v : 0.0f;
    float t = v + round;
    return int8_t(int32_t(floatBits(t) - floatBits(round)));
  }

  /// The norm statistics of a row and its normalized elements.
  template <int64_t NormK, bool HasScale, bool HasBias> struct Normalized {
    const float *x, *scale, *bias;
    float a = 0, b = 0; // Rms: a = 1 / stddev; RmsDiv: a = stddev; Layer: a = mean, b = 1 / stddev

    TK_INLINE Normalized(const float *x, const float *scale, const float *bias, int64_t K, float normEps)
        : x(x), scale(scale), bias(bias) {
      if constexpr (NormK == Rms || NormK == RmsDiv) {
        double sum = 0;
        for (int64_t j = 0; j < K; ++j) {
          float sq = x[j] * x[j];
          sum += double(sq);
        }
        float meanSquare = float(sum / double(K));
        float stddev = sqrtOf(meanSquare + normEps);
        a = NormK == Rms ? 1.0f / stddev : stddev;
      } else if constexpr (NormK == Layer) {
        double sum = 0, sq = 0;
        for (int64_t j = 0; j < K; ++j) sum += double(x[j]);
        a = float(sum / double(K));
        for (int64_t j = 0; j < K; ++j) {
          double d = double(x[j]) - double(a);
          double d2 = d * d;
          sq += d2;
        }
        double var = sq / double(K);
        double stddev = sqrtOf(var + double(normEps));
        b = float(1.0 / stddev);
      }
    }

    TK_INLINE float operator()(int64_t j) const {
      if constexpr (NormK == None) {
        return x[j];
      } else if constexpr (NormK == Layer) {
        double d = double(x[j]) - double(a);
        float n = float(d * double(b));
        double p = HasScale ? double(n) * double(scale[j]) : double(n);
        double o = p + (HasBias ? double(bias[j]) : 0.0);
        return float(o);
      } else {
        float t = NormK == Rms ? x[j] * a : x[j] / a;
        return HasScale ? t * scale[j] : t;
      }
    }
  };

  template <int64_t NormK, bool HasScale, bool HasBias>
  static TK_INLINE void rows(const float *x, const float *nscale, const float *nbias, int8_t *q, float *s,
                             int64_t K, int64_t scaleMode, bool epsAdd, float eps, float normEps, int64_t begin,
                             int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      if (K <= 0) { // no elements: the interpreter leaves the zero-filled scale
        s[r] = 0.0f;
        continue;
      }
      const float *xr = x + r * K;
      int8_t *qr = q + r * K;
      Normalized<NormK, HasScale, HasBias> h(xr, nscale, nbias, K, normEps);
      // max |h| as the max of the magnitude bits: a NaN (bits above inf's) wins, as in the interpreter.
      uint32_t mb = 0;
      for (int64_t j = 0; j < K; ++j) {
        uint32_t bits = floatBits(h(j)) & 0x7fffffffu;
        mb = bits > mb ? bits : mb;
      }
      float m = floatFromBits(mb);
      float c = epsAdd ? m + eps : (m < eps ? eps : m);
      float sc = scaleMode == Div ? 127.0f / c : scaleMode == RcpMul ? (1.0f / c) * 127.0f : c / 127.0f;
      s[r] = sc;
      if (scaleMode == Step) {
        for (int64_t j = 0; j < K; ++j) qr[j] = quantize(h(j) / sc);
      } else {
        for (int64_t j = 0; j < K; ++j) qr[j] = quantize(h(j) * sc);
      }
    }
  }

  static TK_INLINE void run(const float *x, const float *nscale, const float *nbias, int8_t *q, float *s,
                            int64_t K, int64_t norm, int64_t scaleMode, int64_t epsAdd, float eps, float normEps,
                            int64_t begin, int64_t end) {
    bool ea = epsAdd != 0;
#define TK_AQ_ROWS(N, S, B) rows<N, S, B>(x, nscale, nbias, q, s, K, scaleMode, ea, eps, normEps, begin, end)
    switch (norm) {
    case Rms:
      if (nscale) TK_AQ_ROWS(Rms, true, false);
      else TK_AQ_ROWS(Rms, false, false);
      break;
    case RmsDiv:
      if (nscale) TK_AQ_ROWS(RmsDiv, true, false);
      else TK_AQ_ROWS(RmsDiv, false, false);
      break;
    case Layer:
      if (nscale && nbias) TK_AQ_ROWS(Layer, true, true);
      else if (nscale) TK_AQ_ROWS(Layer, true, false);
      else if (nbias) TK_AQ_ROWS(Layer, false, true);
      else TK_AQ_ROWS(Layer, false, false);
      break;
    default: TK_AQ_ROWS(None, false, false); break;
    }
#undef TK_AQ_ROWS
  }
};

// ---- TernaryMatMul ----------------------------------------------------------------------------------------

/// An item is a block of output columns (16, or up to 64 when there are many rows and enough columns for
/// several items), all M rows of them. Outputs are computed in tiles of a few rows x C columns that keep a
/// vector accumulator per output over k, loading a vector of x per row and of weights per column each step;
/// the tile's rows of x stay in cache across the item's columns and the item's weights across the row
/// tiles. The sums of a tile are folded together (LaneFold, GemmCore.h) rather than each summed across its lanes. Two
/// ways to get the weights:
///  - Direct: t is read and converted in the tile itself. Per-tensor and per-row scales multiply the
///    finished sums; per-group scales multiply the converted weights (one more multiply per weight vector).
///  - Packed (per-group scales and at least PackRows rows): for each block of KC values of k, the item's
///    weights are converted once into a stack buffer of floats with their scales applied (exactly +-scale or
///    0, the interpreter's weights), so each tile step is plain loads and multiply-adds.
/// Measured on an AMD EPYC (AVX-512) host, one thread, 2560 x 2560 weights, compiled for znver4 (64-byte
/// vectors) / haswell (32-byte): direct ~95 / ~45 GFMA/s without groups at any M; with groups of 128, direct
/// ~75 / ~35, packed ~80 / ~45 from M = 32 / 8 on.
struct TernaryMatMul {
  static constexpr int L = kLanes<float>;
  using V = Vec<float>;
  typedef int8_t TV __attribute__((vector_size(L)));
  /// Tile rows (direct, packed) and columns: 16 accumulators (of 32 registers) on AVX-512 and NEON; on AVX2
  /// (16 registers) 8 for direct tiles, which also need registers to convert t, and 12 for packed tiles.
  static constexpr int DR = TK_VECTOR_BYTES == 32 ? 2 : 4;
  static constexpr int PR = TK_VECTOR_BYTES == 32 ? 3 : 4;
  static constexpr int C = 4;
  /// Columns per item at most, and k per packed block: the packed weights are at most 128 KB.
  static constexpr int64_t MaxCols = 64;
  static constexpr int64_t KC = 512;
  /// Rows from which grouped weights are packed (where packing measured faster).
  static constexpr int64_t PackRows = TK_VECTOR_BYTES == 32 ? 8 : 32;
  static constexpr int64_t MinTaskWork = int64_t(1) << 15;

  static TK_INLINE int64_t cols(int64_t M, int64_t N) {
    if (M < 16) return 16;
    return minI(MaxCols, maxI(16, ceilDiv(ceilDiv(N, 8), 16) * 16)); // aims at 8 items
  }
  static TK_INLINE int64_t items(int64_t M, int64_t N) { return M > 0 && N > 0 ? ceilDiv(N, cols(M, N)) : 0; }
  static TK_INLINE int64_t grain(int64_t M, int64_t N, int64_t K) {
    return maxI(1, ceilDiv(MinTaskWork, maxI(1, maxI(M, 1) * cols(M, N) * maxI(K, 1))));
  }

  /// y(m0 .. m0+RR, n0 .. n0+CC) = the tile's sums (vector lanes plus the scalar tail) times `post` of each
  /// column, or y += them when not `first`.
  template <int RR, int CC>
  static TK_INLINE void storeTile(float *y, int64_t N, int64_t m0, int64_t n0, V (&acc)[RR][CC],
                                  float (&tail)[RR][CC], const float (&post)[CC], bool first) {
    constexpr int Chunks = (RR * CC + L - 1) / L;
    float sums[Chunks * L];
    staticFor<Chunks>([&](auto ch) TK_LAMBDA_INLINE {
      V v[L];
      staticFor<L>([&](auto l) TK_LAMBDA_INLINE {
        constexpr int a = ch * L + l;
        if constexpr (a < RR * CC) v[l] = acc[a / CC][a % CC];
        else v[l] = V{};
      });
      LaneFold<V, L>::sums<L>(v);
      storeVec(sums + ch * L, v[0]);
    });
    staticFor<RR>([&](auto i) TK_LAMBDA_INLINE {
      staticFor<CC>([&](auto j) TK_LAMBDA_INLINE {
        float v = (sums[i * CC + j] + tail[i][j]) * post[j];
        float *dst = y + (m0 + i) * N + n0 + j;
        *dst = first ? v : *dst + v;
      });
    });
  }

  /// Direct: the tile at rows m0.., columns n0.., over all of k; the scale of a weight is that of its group
  /// when Grouped (group < K), else of its row, applied at the end.
  template <int RR, int CC, bool Grouped>
  static TK_INLINE void directTile(const float *x, const int8_t *t, const float *scale, float *y, int64_t N,
                                   int64_t K, int64_t sRow, int64_t group, int64_t m0, int64_t n0) {
    const float *xr[RR];
    const int8_t *tr[CC];
    staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { xr[i] = x + (m0 + i) * K; });
    staticFor<CC>([&](auto j) TK_LAMBDA_INLINE { tr[j] = t + (n0 + j) * K; });
    V acc[RR][CC] = {};
    float tail[RR][CC] = {};
    int64_t step = Grouped ? group : K;
    for (int64_t g0 = 0, gi = 0; g0 < K; g0 += step, ++gi) {
      int64_t g1 = minI(K, g0 + step);
      float sc[CC];
      staticFor<CC>([&](auto j) TK_LAMBDA_INLINE {
        if constexpr (Grouped) sc[j] = scale[(n0 + j) * sRow + gi];
      });
      int64_t k = g0;
      for (; k + L <= g1; k += L) {
        V xv[RR];
        staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { loadVec(xv[i], xr[i] + k); });
        staticFor<CC>([&](auto j) TK_LAMBDA_INLINE {
          TV tv;
          __builtin_memcpy(&tv, tr[j] + k, sizeof(TV));
          V w = __builtin_convertvector(tv, V);
          if constexpr (Grouped) w = w * sc[j];
          staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { acc[i][j] += xv[i] * w; });
        });
      }
      for (; k < g1; ++k)
        staticFor<CC>([&](auto j) TK_LAMBDA_INLINE {
          float w = float(tr[j][k]);
          if constexpr (Grouped) w = w * sc[j];
          staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { tail[i][j] += xr[i][k] * w; });
        });
    }
    float post[CC];
    staticFor<CC>([&](auto j) TK_LAMBDA_INLINE { post[j] = Grouped ? 1.0f : scale[(n0 + j) * sRow]; });
    storeTile<RR, CC>(y, N, m0, n0, acc, tail, post, true);
  }

  /// Packs t(n0 .. n1, k0 .. k1) times their group's scales as floats, column n0 + c at wp[c * (k1 - k0)].
  static TK_INLINE void pack(const int8_t *t, const float *scale, float *wp, int64_t K, int64_t sRow,
                             int64_t group, int64_t n0, int64_t n1, int64_t k0, int64_t k1) {
    int64_t kc = k1 - k0;
    for (int64_t n = n0; n < n1; ++n) {
      const int8_t *tr = t + n * K;
      float *dst = wp + (n - n0) * kc - k0;
      for (int64_t k = k0; k < k1;) {
        int64_t gi = k / group, ke = minI(k1, (gi + 1) * group);
        float s = scale[n * sRow + gi];
        for (; k < ke; ++k) dst[k] = float(tr[k]) * s;
      }
    }
  }

  /// Packed: the tile at rows m0.., columns n0 + c0.., over k in [k0, k0 + kc) from the packed weights.
  template <int RR, int CC>
  static TK_INLINE void packedTile(const float *x, const float *wp, float *y, int64_t N, int64_t K, int64_t m0,
                                   int64_t n0, int64_t c0, int64_t k0, int64_t kc, bool first) {
    const float *xr[RR];
    const float *wr[CC];
    staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { xr[i] = x + (m0 + i) * K + k0; });
    staticFor<CC>([&](auto j) TK_LAMBDA_INLINE { wr[j] = wp + (c0 + j) * kc; });
    V acc[RR][CC] = {};
    float tail[RR][CC] = {};
    int64_t k = 0;
    for (; k + L <= kc; k += L) {
      V xv[RR];
      staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { loadVec(xv[i], xr[i] + k); });
      staticFor<CC>([&](auto j) TK_LAMBDA_INLINE {
        V w;
        loadVec(w, wr[j] + k);
        staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { acc[i][j] += xv[i] * w; });
      });
    }
    for (; k < kc; ++k)
      staticFor<CC>([&](auto j) TK_LAMBDA_INLINE {
        staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { tail[i][j] += xr[i][k] * wr[j][k]; });
      });
    float one[CC];
    staticFor<CC>([&](auto j) TK_LAMBDA_INLINE { one[j] = 1.0f; });
    storeTile<RR, CC>(y, N, m0, n0 + c0, acc, tail, one, first);
  }

  /// Calls tile(Index<rows>, Index<cols>, m, c) over an rows x cols grid in R x C tiles (remainders by
  /// smaller tiles).
  template <int R, typename F> static TK_INLINE void tiles(int64_t rows, int64_t cols, F &&tile) {
    auto rowBlock = [&](auto rr, int64_t m) TK_LAMBDA_INLINE {
      int64_t c = 0;
      for (; c + C <= cols; c += C) tile(rr, Index<C>(), m, c);
      if (c < cols) dispatchRows<1, C>(cols - c, [&](auto cc) TK_LAMBDA_INLINE { tile(rr, cc, m, c); });
    };
    int64_t m = 0;
    for (; m + R <= rows; m += R) rowBlock(Index<R>(), m);
    if (m < rows) dispatchRows<1, R>(rows - m, [&](auto rr) TK_LAMBDA_INLINE { rowBlock(rr, m); });
  }

  static TK_INLINE void run(const float *x, const int8_t *t, const float *scale, float *y, int64_t M, int64_t N,
                            int64_t K, int64_t sRow, int64_t group, int64_t begin, int64_t end) {
    int64_t nb = cols(M, N);
    bool grouped = group > 0 && group < K;
    for (int64_t it = begin; it < end; ++it) {
      int64_t n0 = it * nb, n1 = minI(N, n0 + nb);
      if (grouped && M >= PackRows) {
        alignas(64) float wp[MaxCols * KC];
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
          int64_t kc = minI(KC, K - k0);
          pack(t, scale, wp, K, sRow, group, n0, n1, k0, k0 + kc);
          tiles<PR>(M, n1 - n0, [&](auto rr, auto cc, int64_t m, int64_t c) TK_LAMBDA_INLINE {
            packedTile<decltype(rr)::value, decltype(cc)::value>(x, wp, y, N, K, m, n0, c, k0, kc, k0 == 0);
          });
        }
      } else {
        // K = 0 takes the grouped tiles too: no steps, and sums of 0 times 1 (zeros without a memset).
        tiles<DR>(M, n1 - n0, [&](auto rr, auto cc, int64_t m, int64_t c) TK_LAMBDA_INLINE {
          constexpr int RR = decltype(rr)::value, CC = decltype(cc)::value;
          if (grouped || K <= 0) directTile<RR, CC, true>(x, t, scale, y, N, K, sRow, group, m, n0 + c);
          else directTile<RR, CC, false>(x, t, scale, y, N, K, sRow, group, m, n0 + c);
        });
      }
    }
  }
};

} // namespace

extern "C" {

int64_t tk_actquant_f32_items(const float *x, const float *nscale, const float *nbias, int8_t *q, float *s,
                              int64_t rows, int64_t K, int64_t norm, int64_t scaleMode, int64_t epsAdd, float eps,
                              float normEps) {
  return ActQuant::items(rows, K);
}

int64_t tk_actquant_f32_grain(const float *x, const float *nscale, const float *nbias, int8_t *q, float *s,
                              int64_t rows, int64_t K, int64_t norm, int64_t scaleMode, int64_t epsAdd, float eps,
                              float normEps) {
  return ActQuant::grain(rows, K);
}

void tk_actquant_f32(const float *x, const float *nscale, const float *nbias, int8_t *q, float *s, int64_t rows,
                     int64_t K, int64_t norm, int64_t scaleMode, int64_t epsAdd, float eps, float normEps,
                     int64_t begin, int64_t end) {
  ActQuant::run(x, nscale, nbias, q, s, K, norm, scaleMode, epsAdd, eps, normEps, begin, end);
}

int64_t tk_ternary_matmul_f32_items(const float *x, const int8_t *t, const float *scale, float *y, int64_t M,
                                    int64_t N, int64_t K, int64_t sRow, int64_t group) {
  return TernaryMatMul::items(M, N);
}

int64_t tk_ternary_matmul_f32_grain(const float *x, const int8_t *t, const float *scale, float *y, int64_t M,
                                    int64_t N, int64_t K, int64_t sRow, int64_t group) {
  return TernaryMatMul::grain(M, N, K);
}

void tk_ternary_matmul_f32(const float *x, const int8_t *t, const float *scale, float *y, int64_t M, int64_t N,
                           int64_t K, int64_t sRow, int64_t group, int64_t begin, int64_t end) {
  TernaryMatMul::run(x, t, scale, y, M, N, K, sRow, group, begin, end);
}

} // extern "C"
