/* BitLinearNeon.h: the aarch64 ternary kernels (BitLinearNeon.cpp), their packed weight layouts and their
 * contract with codegen (targets/BitLinearKernel.h). Compiled to bitcode for aarch64 with the portable kernel
 * library, and by the aarch64 kernel tests (tests/aarch64/) for qemu-aarch64. docs/aarch64.md describes them.
 *
 * ---- Layout "neon2b16": 2-bit codes for the sdot kernel ---------------------
 * tern2b<B> of ir/TernaryPacking.h with B = 16 (one NEON register): panels of 4 rows (N padded with zero
 * rows to a multiple of 16), each row padded to Kp, a multiple of 16 weights. Panel p takes Kp/16 blocks of
 * 16 bytes one after another; byte 4l + j of block b, bits 2s..2s+1, holds the code t + 1 of row 4p + l,
 * weight k = 16b + 4s + j. One load gives, by shift and mask, the codes of 4 rows by 4 weights per step s,
 * multiplied with `sdot` (4-way int8 dot into int32 lanes) against 4 activations broadcast to every lane: the
 * lanes are the 4 rows' sums, no horizontal add. sum(q) is subtracted afterwards for the offset.
 *
 * ---- Layout "neonlut16": 4-bit pair indices for the tbl kernel ---------------
 * Rows in groups of 16 (N padded with zero rows); K padded to Kp, a multiple of 4. A pair of weights (t0, t1)
 * (k = 2p, 2p + 1) is the index c = (t0 + 1) + 3 (t1 + 1), 0..8. Group G is Kp/4 columns of 16 bytes at byte
 * G * 16 * Kp/4; byte r of column P holds row 16G + r's index of pair 2P in its low nibble and of pair 2P + 1
 * in its high nibble (padding weights are 0: index 4). The kernel builds, per activation row and pair of
 * activations (q0, q1), the table of the 9 possible sums q0 t0 + q1 t1 (int16, as a table of low bytes and one
 * of high bytes) and looks up 16 weight rows at once with `tbl`, accumulating in int16 over 64 pairs, then in
 * int32: the T-MAC idea, for CPUs without dotprod.
 *
 * ---- BitLinear ------------------------------------------------------------
 * Both kernels implement targets/BitLinearKernel.h exactly: integer sums exact in int32, the epilogue of
 * targets/BitLinearEpilogue.h in double (outputs equal to the x86 kernels' bit for bit with per-tensor and
 * per-row scales); scale groups must be multiples of 32 weights. Items are blocks of TK_BITLINEAR_ROWS (16)
 * output columns n.
 *   tk_bitlinear_neon2b16_sdot     needs +dotprod (Armv8.2-A dotprod: neoverse-n1, cortex-a76, ...)
 *   tk_bitlinear_neonlut16_tbl     any Armv8-A with NEON
 * (each with _items and _grain), and tk_ternary_dot_<same> for the exact integer products alone:
 * out[m * N + n] = sum_k q[m, k] * t[n, k]. */
#ifndef TERNC_TARGETS_AARCH64_BITLINEAR_NEON_H
#define TERNC_TARGETS_AARCH64_BITLINEAR_NEON_H

#include "targets/BitLinearKernel.h"

#include <stdint.h>

#ifndef TK_BITLINEAR_ROWS
#define TK_BITLINEAR_ROWS 16
#endif
/// Rows per group of the neonlut16 layout (one tbl lookup).
#define TK_NEON_LUT_ROWS 16

#ifdef __cplusplus
extern "C" {
#endif

#define TK_NEON_BITLINEAR(name)                                                                                 \
  int64_t tk_bitlinear_##name##_items(TK_BITLINEAR_ARGS);                                                      \
  int64_t tk_bitlinear_##name##_grain(TK_BITLINEAR_ARGS);                                                      \
  void tk_bitlinear_##name(TK_BITLINEAR_ARGS, int64_t begin, int64_t end);                                     \
  int64_t tk_ternary_dot_##name##_items(const int8_t *q, const uint8_t *w, int32_t *out, int64_t M, int64_t N, \
                                        int64_t K);                                                            \
  void tk_ternary_dot_##name(const int8_t *q, const uint8_t *w, int32_t *out, int64_t M, int64_t N, int64_t K, \
                             int64_t begin, int64_t end);
TK_NEON_BITLINEAR(neon2b16_sdot)
TK_NEON_BITLINEAR(neonlut16_tbl)
#undef TK_NEON_BITLINEAR

#ifdef __cplusplus
}

namespace tk_neon {

/// Bytes of an [n, k] matrix packed as neon2b16.
inline int64_t sdotBytes(int64_t n, int64_t k) {
  return (n + TK_BITLINEAR_ROWS - 1) / TK_BITLINEAR_ROWS * TK_BITLINEAR_ROWS * ((k + 15) / 16 * 4);
}
/// Where weight (r, kk) of a [*, k] matrix lies in neon2b16, and the shift of its 2-bit code.
inline int64_t sdotOffset(int64_t r, int64_t kk, int64_t k, int *shift) {
  int64_t panelBytes = (k + 15) / 16 * 16;
  *shift = int(2 * ((kk % 16) / 4));
  return (r / 4) * panelBytes + (kk / 16) * 16 + 4 * (r % 4) + kk % 4;
}
/// Packs t[n, k] (int8 -1, 0, 1, row-major) as neon2b16 into out (sdotBytes(n, k) bytes).
inline void packSdot(const int8_t *t, int64_t n, int64_t k, uint8_t *out) {
  for (int64_t i = 0; i < sdotBytes(n, k); ++i) out[i] = 0x55;  // code 1 (t = 0) everywhere, the padding
  for (int64_t r = 0; r < n; ++r)
    for (int64_t kk = 0; kk < k; ++kk) {
      int shift = 0;
      int64_t o = sdotOffset(r, kk, k, &shift);
      out[o] = uint8_t((out[o] & ~(3 << shift)) | ((t[r * k + kk] + 1) << shift));
    }
}
/// Unpacks neon2b16; false if a code is 3.
inline bool unpackSdot(const uint8_t *packed, int64_t n, int64_t k, int8_t *t) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t kk = 0; kk < k; ++kk) {
      int shift = 0;
      int code = (packed[sdotOffset(r, kk, k, &shift)] >> shift) & 3;
      if (code == 3) return false;
      t[r * k + kk] = int8_t(code - 1);
    }
  return true;
}

/// Bytes of an [n, k] matrix packed as neonlut16.
inline int64_t lutBytes(int64_t n, int64_t k) {
  return (n + TK_NEON_LUT_ROWS - 1) / TK_NEON_LUT_ROWS * TK_NEON_LUT_ROWS * ((k + 3) / 4);
}
/// Where pair p (weights 2p, 2p + 1) of row r lies in neonlut16, and the shift of its 4-bit index.
inline int64_t lutOffset(int64_t r, int64_t p, int64_t k, int *shift) {
  int64_t columns = (k + 3) / 4;
  *shift = int(4 * (p % 2));
  return (r / TK_NEON_LUT_ROWS) * TK_NEON_LUT_ROWS * columns + (p / 2) * TK_NEON_LUT_ROWS + r % TK_NEON_LUT_ROWS;
}
/// Packs t[n, k] as neonlut16 into out (lutBytes(n, k) bytes).
inline void packLut(const int8_t *t, int64_t n, int64_t k, uint8_t *out) {
  for (int64_t i = 0; i < lutBytes(n, k); ++i) out[i] = 0x44;  // index 4 (both weights 0) everywhere
  for (int64_t r = 0; r < n; ++r)
    for (int64_t p = 0; 2 * p < k; ++p) {
      int t0 = t[r * k + 2 * p] + 1, t1 = 2 * p + 1 < k ? t[r * k + 2 * p + 1] + 1 : 1;
      int shift = 0;
      int64_t o = lutOffset(r, p, k, &shift);
      out[o] = uint8_t((out[o] & ~(15 << shift)) | ((t0 + 3 * t1) << shift));
    }
}
/// Unpacks neonlut16; false if an index is above 8.
inline bool unpackLut(const uint8_t *packed, int64_t n, int64_t k, int8_t *t) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t p = 0; 2 * p < k; ++p) {
      int shift = 0;
      int c = (packed[lutOffset(r, p, k, &shift)] >> shift) & 15;
      if (c > 8) return false;
      t[r * k + 2 * p] = int8_t(c % 3 - 1);
      if (2 * p + 1 < k) t[r * k + 2 * p + 1] = int8_t(c / 3 - 1);
    }
  return true;
}

} // namespace tk_neon
#endif

#endif /* TERNC_TARGETS_AARCH64_BITLINEAR_NEON_H */
