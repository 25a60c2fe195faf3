// BitLinearEpilogue.h: the epilogue of targets/BitLinearKernel.h that every target's BitLinear kernels share
// (x86, aarch64, the Ascend simulator), so their outputs agree bit for bit whatever the instruction set: from
// the scaled integer dot products D(w) and D(gate) of one output element, in double, rounded once to f32.
// Freestanding (kernel bitcode: no libc).
#ifndef TERNC_TARGETS_BITLINEAR_EPILOGUE_H
#define TERNC_TARGETS_BITLINEAR_EPILOGUE_H

#include "codegen/kernels/KernelMath.h"

#include <stdint.h>

namespace tk {

/// act(v) of BitLinearKernel.h: 0 none, 1 relu, 2 relu2, 3 silu, 4 gelu (erf); silu and gelu in f32, as ternc's
/// interpreter computes them.
TK_INLINE double bitLinearActivate(int64_t act, double v) {
  switch (act) {
  case 1: return v > 0 ? v : 0.0;
  case 2: return v > 0 ? v * v : 0.0;
  case 3: return double(float(v) / (1.0f + expF32(-float(v))));
  case 4: return double(0.5f * float(v) * (1.0f + erfF32(float(v) * 0.70710678118654752f)));
  default: return v;
  }
}

/// y[m * N + n] from dw = D(w) and dg = D(gate) (ignored unless gated) of that element; sm is s[m].
TK_INLINE float bitLinearEpilogue(double dw, double dg, bool gated, double sm, int64_t dequantMul, const float *bias,
                                  const float *gbias, const float *residual, int64_t act, int64_t m, int64_t n,
                                  int64_t N) {
  double v = (dequantMul ? dw * sm : dw / sm) + (bias ? double(bias[n]) : 0.0);
  if (gated) {
    double g = (dequantMul ? dg * sm : dg / sm) + (gbias ? double(gbias[n]) : 0.0);
    v = bitLinearActivate(act, g) * v;
  } else {
    v = bitLinearActivate(act, v);
  }
  if (residual) v += double(residual[m * N + n]);
  return float(v);
}

} // namespace tk

#endif // TERNC_TARGETS_BITLINEAR_EPILOGUE_H
