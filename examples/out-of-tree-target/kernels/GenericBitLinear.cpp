// GenericBitLinear: the x86-generic target's BitLinear kernel, plain C++ with no intrinsics, on weights the
// target leaves unpacked (int8 values -1, 0, 1, [N, K] row-major). It implements the contract of ternc's
// targets/BitLinearKernel.h and is compiled to bitcode (freestanding: no libc) with ternc's portable kernels.
#include "codegen/kernels/KernelMath.h"
#include "targets/BitLinearKernel.h"

namespace {

/// Output columns per work item.
constexpr int64_t kColumns = 16;

double activate(int64_t act, double v) {
  switch (act) {
  case 1: return v > 0 ? v : 0.0;
  case 2: return v > 0 ? v * v : 0.0;
  case 3: return double(float(v) / (1.0f + tk::expF32(-float(v))));
  case 4: return double(0.5f * float(v) * (1.0f + tk::erfF32(float(v) * 0.70710678118654752f)));
  default: return v;
  }
}

/// D(w, m, n) of the contract: per scale group, the exact integer dot times the group's scale.
double dot(const int8_t *q, const uint8_t *w, const float *scale, int64_t m, int64_t n, int64_t K, int64_t sRow,
           int64_t group) {
  const int8_t *qr = q + m * K;
  const int8_t *wr = reinterpret_cast<const int8_t *>(w) + n * K;
  double d = 0;
  for (int64_t g0 = 0, gi = 0; g0 < K; g0 += group, ++gi) {
    int32_t sum = 0;
    for (int64_t k = g0; k < g0 + group && k < K; ++k) sum += int32_t(qr[k]) * int32_t(wr[k]);
    d += double(sum) * double(scale[n * sRow + gi]);  // gi is 0 when one group covers K
  }
  return d;
}

} // namespace

extern "C" {

int64_t tk_bitlinear_i8_generic_items(TK_BITLINEAR_ARGS) { return (N + kColumns - 1) / kColumns; }

/// About 2^20 multiply-adds per task.
int64_t tk_bitlinear_i8_generic_grain(TK_BITLINEAR_ARGS) {
  int64_t perItem = kColumns * (K > 0 ? K : 1) * (M > 0 ? M : 1);
  int64_t g = (int64_t(1) << 20) / perItem;
  return g > 1 ? g : 1;
}

void tk_bitlinear_i8_generic(TK_BITLINEAR_ARGS, int64_t begin, int64_t end) {
  int64_t n1 = end * kColumns < N ? end * kColumns : N;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = begin * kColumns; n < n1; ++n) {
      double sm = double(s[m]);
      double d = dot(q, w, wscale, m, n, K, sRow, group);
      double v = (dequantMul ? d * sm : d / sm) + (bias ? double(bias[n]) : 0.0);
      if (gate) {
        double dg = dot(q, gate, gscale, m, n, K, sRow, group);
        double g = (dequantMul ? dg * sm : dg / sm) + (gbias ? double(gbias[n]) : 0.0);
        v = activate(act, g) * v;
      } else {
        v = activate(act, v);
      }
      if (residual) v += double(residual[m * N + n]);
      y[m * N + n] = float(v);
    }
}

} // extern "C"
