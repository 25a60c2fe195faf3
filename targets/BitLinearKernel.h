/* BitLinearKernel.h: the contract between codegen and a target's BitLinear kernels (C, so kernels in any
 * language that compiles to LLVM bitcode can implement it). A target's legalization records the kernel's
 * symbol NAME on the op as `target.kernel` (Target.h, kTargetKernelAttr); codegen then calls, with every
 * argument below (shapes, scale granularity, activation as constants, so LLVM specializes the kernel):
 *   int64_t NAME_items(TK_BITLINEAR_ARGS);   work items, split over threads
 *   int64_t NAME_grain(TK_BITLINEAR_ARGS);   items per task (at least 1)
 *   void NAME(TK_BITLINEAR_ARGS, int64_t begin, int64_t end);   does items [begin, end)
 * Items must write disjoint parts of y. `w` (and `gate`) point at the weight constant exactly as the
 * legalization left it: in the layout it packed it in (Constant::layout), or as int8 values -1, 0, 1 [N, K]
 * row-major if it did not pack it. Kernels follow codegen/kernels/Kernels.h's rules: no allocation, no libc.
 *
 * ---- BitLinear: y = epilogue(int8 q . ternary w) --------------------------
 * For m < M, n < N, with q dense int8 [M, K] and s[M] its per-row scales:
 *   D(w, m, n) = sum over scale groups G of wscale[n * sRow + G] *
 *                (exact integer sum over k in G of q[m, k] * t[n, k])
 *   (per tensor: sRow = 0, group = K; per row: sRow = 1, group = K; per
 *   group of g: sRow = K / g, group = g, g dividing K)
 *   A negative sRow says the legalization tiled the group scales (only a
 *   target whose legalization does so receives one): with G = K / group
 *   groups, the scale of row n, group g is element ((n / 16) * G + g) * 16 +
 *   n % 16 of the tiles (rows padded to a multiple of 16 with zeros): f32
 *   at wscale for TK_SCALES_TILED16_F32; for TK_SCALES_TILED16_F16, wscale
 *   points at a 64-byte header whose first float is a factor c, the tiles
 *   (IEEE binary16 h) follow it, and the scale is the f32 product c * h
 *   (ir/TernaryPacking.h). An item of 16 rows reads its group's scales from
 *   one contiguous run, in order (docs/ternary.md).
 *   v = dequant(D(w)) + bias[n], dequant(d) = d / s[m] (dequantMul = 0) or
 *   d * s[m] (dequantMul = 1)
 *   gated:   v = act(dequant(D(gate)) + gbias[n]) * v;  else v = act(v)
 *   y[m * N + n] = v + residual[m * N + n]
 * act: 0 none, 1 relu, 2 relu2 (relu squared), 3 silu, 4 gelu (erf).
 * bias, gate (with gscale), gbias and residual may be null. The integer
 * sums are exact (int32 accumulators cannot overflow for |q| <= 128 and
 * K <= 2^20); with one group the epilogue is in double and rounds once, as
 * ternc's interpreter does. */
#ifndef TERNC_TARGETS_BITLINEAR_KERNEL_H
#define TERNC_TARGETS_BITLINEAR_KERNEL_H

#include <stdint.h>

/* sRow values of tiled group scales (above). */
#define TK_SCALES_TILED16_F32 (-1)
#define TK_SCALES_TILED16_F16 (-2)

#define TK_BITLINEAR_ARGS                                                                                        \
  const int8_t *q, const float *s, const uint8_t *w, const float *wscale, const float *bias, const uint8_t *gate, \
      const float *gscale, const float *gbias, const float *residual, float *y, int64_t M, int64_t N, int64_t K,  \
      int64_t sRow, int64_t group, int64_t act, int64_t dequantMul

#endif /* TERNC_TARGETS_BITLINEAR_KERNEL_H */
