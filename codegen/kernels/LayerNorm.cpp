// LayerNorm.cpp: tk_layernorm_*, y = (x - mean) * invstd * scale + bias over each row of [outer, n].
#include "KernelMath.h"
#include "Kernels.h"

namespace {
using namespace tk;

/// Statistics in St (f32, f64 for f64), two passes (mean, then the mean square deviation) with reassociated,
/// vectorizable sums. For f16/bf16 the normalized value is rounded to the dtype before scale and bias, as
/// ONNX's reference (and ternc's interpreter) cast it back to X's type there.
template <typename Tag, typename St> struct LayerNorm {
  using E = Elem<Tag>;
  using S = typename E::Storage;
  using F = typename E::Compute;
  static constexpr int64_t MinTaskWork = 16384;

  static TK_INLINE int64_t items(int64_t outer, int64_t n) { return outer > 0 ? outer : 0; }
  static TK_INLINE int64_t grain(int64_t outer, int64_t n) { return maxI(1, ceilDiv(MinTaskWork, maxI(n, 1))); }

  template <bool Bias>
  static TK_INLINE void normalize(const S *x, const S *scale, const S *bias, S *y, int64_t n, St mean, St inv) {
    for (int64_t j = 0; j < n; ++j) {
      F v = F((St(E::load(x, j)) - mean) * inv);
      if constexpr (sizeof(S) != sizeof(F)) { // f16/bf16: round to the dtype first
        S r;
        E::store(&r, 0, v);
        v = E::load(&r, 0);
      }
      v = v * E::load(scale, j);
      if constexpr (Bias) v = v + E::load(bias, j);
      E::store(y, j, v);
    }
  }

  static TK_INLINE void run(const S *x, const S *scale, const S *bias, S *y, St *meanOut, St *invOut, int64_t n,
                            float eps, int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const S *xr = x + r * n;
      St sum = 0, sq = 0;
      {
        TK_REASSOCIATE
        for (int64_t j = 0; j < n; ++j) sum += St(E::load(xr, j));
      }
      St mean = sum / St(n);
      {
        TK_REASSOCIATE
        for (int64_t j = 0; j < n; ++j) {
          St d = St(E::load(xr, j)) - mean;
          sq += d * d;
        }
      }
      St inv = St(1) / sqrtOf(sq / St(n) + St(eps));
      if (meanOut) meanOut[r] = mean;
      if (invOut) invOut[r] = inv;
      if (bias) normalize<true>(xr, scale, bias, y + r * n, n, mean, inv);
      else normalize<false>(xr, scale, bias, y + r * n, n, mean, inv);
    }
  }
};

} // namespace

#define TK_LAYERNORM_DEFINE(dt, Tag, St)                                                                      \
  int64_t tk_layernorm_##dt##_items(const Elem<Tag>::Storage *x, const Elem<Tag>::Storage *scale,            \
                                    const Elem<Tag>::Storage *bias, Elem<Tag>::Storage *y, St *mean,         \
                                    St *invstd, int64_t outer, int64_t n, float eps) {                       \
    return LayerNorm<Tag, St>::items(outer, n);                                                              \
  }                                                                                                          \
  int64_t tk_layernorm_##dt##_grain(const Elem<Tag>::Storage *x, const Elem<Tag>::Storage *scale,            \
                                    const Elem<Tag>::Storage *bias, Elem<Tag>::Storage *y, St *mean,         \
                                    St *invstd, int64_t outer, int64_t n, float eps) {                       \
    return LayerNorm<Tag, St>::grain(outer, n);                                                              \
  }                                                                                                          \
  void tk_layernorm_##dt(const Elem<Tag>::Storage *x, const Elem<Tag>::Storage *scale,                       \
                         const Elem<Tag>::Storage *bias, Elem<Tag>::Storage *y, St *mean, St *invstd,        \
                         int64_t outer, int64_t n, float eps, int64_t begin, int64_t end) {                  \
    LayerNorm<Tag, St>::run(x, scale, bias, y, mean, invstd, n, eps, begin, end);                            \
  }

extern "C" {
TK_LAYERNORM_DEFINE(f32, float, float)
TK_LAYERNORM_DEFINE(f64, double, double)
TK_LAYERNORM_DEFINE(f16, Half, float)
TK_LAYERNORM_DEFINE(bf16, BFloat, float)
} // extern "C"
