// HeadInt8.cpp: tk_head_int8_f32, y[m, n] = scale[n] * sum_k x[m, k] * q[n, k] — the int8 LM head of
// quantize-head (passes/QuantizeHead.h): f32 activations, int8 weights stored [N, K] (each output column's
// weights one contiguous row), one f32 scale per column applied to the finished f32 sum.
#include "GemmCore.h" // dispatchRows
#include "Kernels.h"

namespace {
using namespace tk;

/// An item is a block of Cols output columns and all M rows. A tile keeps one vector accumulator per (row,
/// column) over k: it loads a vector of x per row and L int8 weights per column, widens the weights to f32
/// and multiply-adds; the lanes are folded together at the end (LaneFold, GemmCore.h), the scalar tail of k (K not a
/// multiple of L) added, and the sum multiplied by the column's scale.
///
/// At decode (M = 1) the head is memory-bound: each weight is read once, by tiles of CD columns (CD parallel
/// streams over contiguous rows of q; one, below) with DU sets of accumulators, and a software prefetch PrefetchAhead bytes
/// ahead in each stream; the hardware prefetchers alone left it at ~60% of the read bandwidth. Measured on
/// this host's Xeon (one thread, 2560 x 128256, best of 40 runs on a shared machine, so +-20%): tiles of 1 x 4
/// columns without prefetch ~4.5 GB/s, with a prefetch 512 B ahead ~4.4; 1 x 1 with DU 2 and 4 KB ahead
/// ~6-8.7; 1 x 2 with DU 2 and 4 KB ahead ~8.4-9.5, as fast as a plain AVX2 loop that only reads the same bytes
/// (~8.4). The prefetch goes to L2 (prefetcht2): on a 1-layer BitNet with a 2560 x 128256 head
/// (tests/llm/head_bench_model.py, --bench tg128) t2 gave 32.6 / 57.5 t/s on 1 / 2 threads where t0 gave 30.6 /
/// 58.2. On an AMD EPYC host (2026-12-08; BitCPM-CANN-1B's 73448 x 1536 head, 3 copies rotated, median of 30
/// calls, three interleaved runs each) two column streams at once were the slow choice: 1 x 2 with DU 2 and
/// 4 KB ahead 11.7-12.5 GB/s on 1 thread and 20.6-22.3 on 2, one stream (1 x 1) with DU 2, 4 or 8 and 8 KB
/// ahead 21.6-22.5 and 36.4-39.6 (read bandwidth there: 29 / 43 GB/s). Hence 1 x 1, DU 4, 8 KB.
/// With M > 1 (a prompt), tiles of MR rows x MC columns reuse each converted weight vector for MR rows and
/// each x vector for MC columns; the item's weights (Cols x K bytes) stay in L2 across its row tiles.
/// Tile sizes are for 64-byte vectors (TK_VECTOR_BYTES, the bitcode's): with AVX2's 32-byte registers a
/// vector is two, so the decode tiles (1 column x DU 4) and the prompt tiles (2 x 2) keep 8 accumulator
/// registers of 16.
struct HeadInt8 {
  static constexpr int L = kLanes<float>;
  using V = Vec<float>;
  typedef int8_t QV __attribute__((vector_size(L)));
  static constexpr int CD = 1, DU = 4;
  static constexpr int MR = 2, MC = 2;
  static constexpr int64_t Cols = 64;
  static constexpr int64_t PrefetchAhead = 8192;
  /// Multiply-adds per task at least (one item of a 2560-wide head is 163840).
  static constexpr int64_t MinTaskWork = int64_t(1) << 16;

  static TK_INLINE int64_t items(int64_t M, int64_t N) { return M > 0 && N > 0 ? ceilDiv(N, Cols) : 0; }
  static TK_INLINE int64_t grain(int64_t M, int64_t N, int64_t K) {
    return maxI(1, ceilDiv(MinTaskWork, maxI(1, maxI(M, 1) * Cols * maxI(K, 1))));
  }

  /// y(m0 .. m0+RR, n0 .. n0+CC) = (lanes of acc + tail) * scale of each column.
  template <int RR, int CC>
  static TK_INLINE void finish(float *y, const float *scale, int64_t N, int64_t m0, int64_t n0, V (&acc)[RR][CC],
                               float (&tail)[RR][CC]) {
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
        y[(m0 + i) * N + n0 + j] = (sums[i * CC + j] + tail[i][j]) * scale[n0 + j];
      });
    });
  }

  /// The outputs of rows m0 .. m0+RR and columns n0 .. n0+CC over all of k.
  template <int RR, int CC, bool Prefetch, int Unroll>
  static TK_INLINE void tile(const float *x, const int8_t *q, const float *scale, float *y, int64_t N, int64_t K,
                             int64_t m0, int64_t n0) {
    const float *xr[RR];
    const int8_t *qr[CC];
    staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { xr[i] = x + (m0 + i) * K; });
    staticFor<CC>([&](auto j) TK_LAMBDA_INLINE { qr[j] = q + (n0 + j) * K; });
    V acc[RR][CC] = {};
    float tail[RR][CC] = {};
    auto step = [&](V (&a)[RR][CC], int64_t k) TK_LAMBDA_INLINE {
      V xv[RR];
      staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { loadVec(xv[i], xr[i] + k); });
      staticFor<CC>([&](auto j) TK_LAMBDA_INLINE {
        QV t;
        __builtin_memcpy(&t, qr[j] + k, sizeof(QV));
        if constexpr (Prefetch) __builtin_prefetch(qr[j] + k + PrefetchAhead, 0, 1);
        V w = __builtin_convertvector(t, V);
        staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { a[i][j] += xv[i] * w; });
      });
    };
    int64_t k = 0;
    if constexpr (Unroll > 1) {
      // Unroll more sets of accumulators, so that the multiply-add chains overlap when the tile is small.
      V more[Unroll - 1][RR][CC] = {};
      for (; k + Unroll * L <= K; k += Unroll * L) {
        step(acc, k);
        staticFor<Unroll - 1>([&](auto u) TK_LAMBDA_INLINE { step(more[u], k + (u + 1) * L); });
      }
      staticFor<Unroll - 1>([&](auto u) TK_LAMBDA_INLINE {
        staticFor<RR>([&](auto i) TK_LAMBDA_INLINE {
          staticFor<CC>([&](auto j) TK_LAMBDA_INLINE { acc[i][j] += more[u][i][j]; });
        });
      });
    }
    for (; k + L <= K; k += L) step(acc, k);
    for (; k < K; ++k)
      staticFor<CC>([&](auto j) TK_LAMBDA_INLINE {
        float w = float(qr[j][k]);
        staticFor<RR>([&](auto i) TK_LAMBDA_INLINE { tail[i][j] += xr[i][k] * w; });
      });
    finish<RR, CC>(y, scale, N, m0, n0, acc, tail);
  }

  /// Rows in tiles of R, columns n0 .. n1 in tiles of C (remainders by smaller tiles).
  template <int R, int C, bool Prefetch, int Unroll>
  static TK_INLINE void tiles(const float *x, const int8_t *q, const float *scale, float *y, int64_t M, int64_t N,
                              int64_t K, int64_t n0, int64_t n1) {
    auto rowBlock = [&](auto rr, int64_t m) TK_LAMBDA_INLINE {
      constexpr int RR = decltype(rr)::value;
      int64_t n = n0;
      for (; n + C <= n1; n += C) tile<RR, C, Prefetch, Unroll>(x, q, scale, y, N, K, m, n);
      if (n < n1)
        dispatchRows<1, C>(n1 - n, [&](auto cc) TK_LAMBDA_INLINE {
          tile<RR, decltype(cc)::value, Prefetch, Unroll>(x, q, scale, y, N, K, m, n);
        });
    };
    int64_t m = 0;
    for (; m + R <= M; m += R) rowBlock(Index<R>(), m);
    if (m < M) dispatchRows<1, R>(M - m, [&](auto rr) TK_LAMBDA_INLINE { rowBlock(rr, m); });
  }

  static TK_INLINE void run(const float *x, const int8_t *q, const float *scale, float *y, int64_t M, int64_t N,
                            int64_t K, int64_t begin, int64_t end) {
    for (int64_t it = begin; it < end; ++it) {
      int64_t n0 = it * Cols, n1 = minI(N, n0 + Cols);
      if (M == 1) tiles<1, CD, true, DU>(x, q, scale, y, M, N, K, n0, n1);
      else tiles<MR, MC, false, 1>(x, q, scale, y, M, N, K, n0, n1);
    }
  }
};

} // namespace

extern "C" {

int64_t tk_head_int8_f32_items(const float *x, const int8_t *q, const float *scale, float *y, int64_t M, int64_t N,
                               int64_t K) {
  return HeadInt8::items(M, N);
}

int64_t tk_head_int8_f32_grain(const float *x, const int8_t *q, const float *scale, float *y, int64_t M, int64_t N,
                               int64_t K) {
  return HeadInt8::grain(M, N, K);
}

void tk_head_int8_f32(const float *x, const int8_t *q, const float *scale, float *y, int64_t M, int64_t N, int64_t K,
                      int64_t begin, int64_t end) {
  HeadInt8::run(x, q, scale, y, M, N, K, begin, end);
}

} // extern "C"
