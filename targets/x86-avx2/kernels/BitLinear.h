/* BitLinear.h: the x86 ternary kernels (BitLinear.cpp) and their contract
 * with codegen. Compiled to bitcode for x86_64 with the portable kernel
 * library (codegen/kernels/Kernels.h conventions: items, grain, begin/end,
 * no allocation, no libc), and natively for the unit tests and bench/ternary.
 *
 * ---- Packed ternary weights: layout "tern2b<B>", B = 32 or 64 ------------
 * A ternary matrix t[N, K] (values -1, 0, +1) is stored in groups of
 * TK_TERN_ROW_GROUP (8) rows, N padded with zero rows to a multiple of 8.
 * A row has Kp / 4 bytes, Kp = K rounded up to a multiple of 4B, in blocks
 * of B bytes; the blocks of a group's rows are interleaved: block b of row
 * n starts at byte (n / 8) * 8 * Kp/4 + (b * 8 + n % 8) * B. Bits 2s..2s+1
 * of byte j of a block (s = 0..3) hold the code t + 1 (0, 1 or 2) of
 * weight k = 4B*b + B*s + j. Padding weights are 0 (code 1). So one B-byte
 * vector load gives, by shift and mask, four vectors of B consecutive
 * codes (the 2-bit I2_S idea of bitnet.cpp, with blocks as wide as the
 * vector), and a kernel working on 8 rows at a time reads memory strictly
 * in order. ir/TernaryPacking.h packs and unpacks.
 *
 * ---- BitLinear ------------------------------------------------------------
 * The contract of targets/BitLinearKernel.h (y = epilogue(int8 q . ternary
 * w)); scale groups must be multiples of 32 weights here, and per-group sums
 * accumulate in f32.
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
#define TK_TERN_ROW_GROUP 8

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
