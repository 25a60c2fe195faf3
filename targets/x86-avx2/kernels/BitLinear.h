/* BitLinear.h: the x86 ternary kernels (BitLinear.cpp) and their contract
 * with codegen. Compiled to bitcode for x86_64 with the portable kernel
 * library (codegen/kernels/Kernels.h conventions: items, grain, begin/end,
 * no allocation, no libc), and natively for the unit tests and bench/ternary.
 *
 * ---- Packed ternary weights: layout "tern2b<B>", B = 32 or 64 ------------
 * A ternary matrix t[N, K] (values -1, 0, +1) is stored in panels of P = B/4
 * rows (8 or 16), N padded with zero rows to a multiple of TK_BITLINEAR_ROWS
 * (16), each row padded with zeros to Kp, a multiple of 16 weights. Panel p
 * takes Kp/16 blocks of B bytes, one after another, and the panels follow
 * each other: block b of panel p starts at byte (p * Kp/16 + b) * B. Bits
 * 2s..2s+1 of byte 4l + j of the block (s, j = 0..3) hold the code t + 1
 * (0, 1 or 2) of row pP + l, weight k = 16b + 4s + j. So one B-byte load
 * gives, by shift and mask (or one GFNI affine transform), the codes of P
 * rows by 4 consecutive weights for each step s: the int32 lanes of a
 * vpdpbusd / vpmaddubsw against 4 activations broadcast to every lane are
 * the rows' sums themselves (no horizontal add), and a scale group ends with
 * one conversion and multiply-add per vector of P rows. A kernel reads each
 * panel's bytes strictly in order. ir/TernaryPacking.h packs and unpacks.
 *
 * ---- BitLinear ------------------------------------------------------------
 * The contract of targets/BitLinearKernel.h (y = epilogue(int8 q . ternary
 * w)); scale groups must be multiples of 32 weights here; every group's
 * exact integer sum times its scale is added in double (exact).
 * Items are blocks of TK_BITLINEAR_ROWS output columns n (so threads write
 * disjoint 64-byte lines of y when N is a multiple of 16).
 *
 * Kernels by layout and instruction set:
 *   tk_bitlinear_tern2b32_avx2     AVX2 vpmaddubsw + vpmaddwd
 *   tk_bitlinear_tern2b32_vnni256  AVX512-VNNI+VL vpdpbusd on ymm
 *   tk_bitlinear_tern2b64_vnni512  AVX512-VNNI+BW vpdpbusd on zmm, GFNI vgf2p8affineqb
 *                                  to extract the codes
 * (each with _items and _grain). */
#ifndef TERNC_TARGETS_X86_BITLINEAR_H
#define TERNC_TARGETS_X86_BITLINEAR_H

#include "targets/BitLinearKernel.h"

#include <stdint.h>

#define TK_BITLINEAR_ROWS 16

#ifdef __cplusplus
extern "C" {
#endif

#define TK_BITLINEAR(name)                                                   \
  int64_t tk_bitlinear_##name##_items(TK_BITLINEAR_ARGS);                    \
  int64_t tk_bitlinear_##name##_grain(TK_BITLINEAR_ARGS);                    \
  void tk_bitlinear_##name(TK_BITLINEAR_ARGS, int64_t begin, int64_t end);
TK_BITLINEAR(tern2b32_avx2)
TK_BITLINEAR(tern2b32_vnni256)
TK_BITLINEAR(tern2b64_vnni512)
#undef TK_BITLINEAR

/* The exact integer products alone, for tests and benchmarks:
 * out[m * N + n] = sum_k q[m, k] * t[n, k] (int32), same layouts and
 * kernels, items as above. */
#define TK_TERNARY_DOT(name)                                                                                    \
  int64_t tk_ternary_dot_##name##_items(const int8_t *q, const uint8_t *w, int32_t *out, int64_t M, int64_t N, \
                                        int64_t K);                                                            \
  void tk_ternary_dot_##name(const int8_t *q, const uint8_t *w, int32_t *out, int64_t M, int64_t N, int64_t K, \
                             int64_t begin, int64_t end);
TK_TERNARY_DOT(tern2b32_avx2)
TK_TERNARY_DOT(tern2b32_vnni256)
TK_TERNARY_DOT(tern2b64_vnni512)
#undef TK_TERNARY_DOT

#ifdef __cplusplus
}
#endif

#endif /* TERNC_TARGETS_X86_BITLINEAR_H */
