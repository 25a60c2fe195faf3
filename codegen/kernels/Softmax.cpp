// Softmax.cpp: tk_softmax_* and tk_logsoftmax_* over the middle axis of [outer, n, inner], max-subtracted.
#include "KernelMath.h"
#include "Kernels.h"

namespace {
using namespace tk;

/// Softmax (Log: its log) of Tag elements, computed in Elem<Tag>::Compute. An item is one row (inner == 1)
/// or a block of up to IB columns of one outer slice (inner > 1), which is then swept row by row with
/// per-column accumulators so that the loops run over contiguous memory.
template <typename Tag, bool Log> struct Softmax {
  using E = Elem<Tag>;
  using S = typename E::Storage;
  using F = typename E::Compute;
  using FK = FloatKey<Tag>;
  static constexpr int64_t IB = 256;
  static constexpr int64_t MinTaskWork = 16384;

  static TK_INLINE int64_t items(int64_t outer, int64_t n, int64_t inner) {
    return outer <= 0 || n <= 0 || inner <= 0 ? 0 : outer * ceilDiv(inner, IB);
  }
  static TK_INLINE int64_t grain(int64_t outer, int64_t n, int64_t inner) {
    return maxI(1, ceilDiv(MinTaskWork, maxI(1, n * minI(inner, IB))));
  }

  /// One contiguous row of n >= 1 elements.
  static TK_INLINE void row(const S *x, S *y, int64_t n) {
    // The max through ordered integer keys vectorizes; a NaN (whatever its key) makes the row NaN below.
    typename FK::Key mk = infKey<Tag, true>();
    for (int64_t j = 0; j < n; ++j) {
      typename FK::Key k = FK::key(floatBitsAt<Tag>(x, j));
      mk = k > mk ? k : mk;
    }
    F mx = floatOfBits<Tag>(FK::bits(mk));
    F sum = 0;
    if constexpr (!Log && sizeof(S) == sizeof(F)) {
      // f32/f64: stage e^(x - max) in y, then scale by 1 / sum.
      {
        TK_REASSOCIATE
        for (int64_t j = 0; j < n; ++j) {
          F e = expOf(E::load(x, j) - mx);
          y[j] = e;
          sum += e;
        }
      }
      F inv = F(1) / sum;
      for (int64_t j = 0; j < n; ++j) y[j] = y[j] * inv;
    } else {
      {
        TK_REASSOCIATE
        for (int64_t j = 0; j < n; ++j) sum += expOf(E::load(x, j) - mx);
      }
      if constexpr (Log) {
        F shift = mx + logOf(sum);
        for (int64_t j = 0; j < n; ++j) E::store(y, j, E::load(x, j) - shift);
      } else {
        F inv = F(1) / sum;
        for (int64_t j = 0; j < n; ++j) E::store(y, j, expOf(E::load(x, j) - mx) * inv);
      }
    }
  }

  /// Columns [0, w) of an [n, inner] slice, n >= 1.
  static TK_INLINE void columns(const S *x, S *y, int64_t n, int64_t inner, int64_t w) {
    F mx[IB], acc[IB];
    for (int64_t i = 0; i < w; ++i) mx[i] = -F(__builtin_inf()); // (a copy of row 0 would become a memcpy call)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t i = 0; i < w; ++i) {
        F v = E::load(x, j * inner + i);
        mx[i] = v > mx[i] ? v : mx[i]; // ignores NaN, as the sum below does not
      }
    for (int64_t i = 0; i < w; ++i) acc[i] = expOf(E::load(x, i) - mx[i]);
    for (int64_t j = 1; j < n; ++j)
      for (int64_t i = 0; i < w; ++i) acc[i] += expOf(E::load(x, j * inner + i) - mx[i]);
    if constexpr (Log) {
      for (int64_t i = 0; i < w; ++i) acc[i] = mx[i] + logOf(acc[i]);
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < w; ++i) E::store(y, j * inner + i, E::load(x, j * inner + i) - acc[i]);
    } else {
      for (int64_t i = 0; i < w; ++i) acc[i] = F(1) / acc[i];
      for (int64_t j = 0; j < n; ++j)
        for (int64_t i = 0; i < w; ++i)
          E::store(y, j * inner + i, expOf(E::load(x, j * inner + i) - mx[i]) * acc[i]);
    }
  }

  static TK_INLINE void run(const S *x, S *y, int64_t outer, int64_t n, int64_t inner, int64_t begin,
                            int64_t end) {
    if (n <= 0) return;
    int64_t blocks = ceilDiv(inner, IB);
    for (int64_t item = begin; item < end; ++item) {
      int64_t o = item / blocks, i0 = item % blocks * IB;
      int64_t base = o * n * inner + i0;
      if (inner == 1) row(x + base, y + base, n);
      else columns(x + base, y + base, n, inner, minI(IB, inner - i0));
    }
  }
};

} // namespace

#define TK_SOFTMAX_DEFINE(name, dt, Tag, Log)                                                                 \
  int64_t tk_##name##_##dt##_items(const Elem<Tag>::Storage *x, Elem<Tag>::Storage *y, int64_t outer,      \
                                   int64_t n, int64_t inner) {                                             \
    return Softmax<Tag, Log>::items(outer, n, inner);                                                      \
  }                                                                                                        \
  int64_t tk_##name##_##dt##_grain(const Elem<Tag>::Storage *x, Elem<Tag>::Storage *y, int64_t outer,      \
                                   int64_t n, int64_t inner) {                                             \
    return Softmax<Tag, Log>::grain(outer, n, inner);                                                      \
  }                                                                                                        \
  void tk_##name##_##dt(const Elem<Tag>::Storage *x, Elem<Tag>::Storage *y, int64_t outer, int64_t n,      \
                        int64_t inner, int64_t begin, int64_t end) {                                       \
    Softmax<Tag, Log>::run(x, y, outer, n, inner, begin, end);                                             \
  }

extern "C" {
TK_SOFTMAX_DEFINE(softmax, f32, float, false)
TK_SOFTMAX_DEFINE(softmax, f64, double, false)
TK_SOFTMAX_DEFINE(softmax, f16, Half, false)
TK_SOFTMAX_DEFINE(softmax, bf16, BFloat, false)
TK_SOFTMAX_DEFINE(logsoftmax, f32, float, true)
TK_SOFTMAX_DEFINE(logsoftmax, f64, double, true)
TK_SOFTMAX_DEFINE(logsoftmax, f16, Half, true)
TK_SOFTMAX_DEFINE(logsoftmax, bf16, BFloat, true)
} // extern "C"
