// LutKernels: lookup-table ternary GEMV kernels for x86 in the style of T-MAC / bitnet.cpp's TL1, written for
// this benchmark to be measured against ternc's 2-bit integer-dot kernels (docs/ternary-lut.md).
//
// TL1: weights in pairs, each pair's 9 combinations (w0, w1) in {-1, 0, 1}^2 as a 4-bit code 3 (w0 + 1) +
// (w1 + 1). Per call, for every pair of activations (a0, a1) of the one int8 activation row, a 16-entry table
// holds v(c) = w0 a0 + w1 a1 for each code c (entries 9..15 are 0). v lies in [-256, 256] and does not fit a
// byte, so the table is split into two byte tables: low = v & 31 in [0, 31] and high = v >> 5 (arithmetic) in
// [-8, 8], v = 32 high + low. The kernel looks the codes of many rows up at once with vpshufb, adds the bytes
// of 8 pairs (low <= 8 * 31 = 248 as uint8, high in [-64, 64] as int8), then widens to int16 (vpmaddubsw with
// 1 and 32) and int32. The results are exact.
#pragma once

#include "ThreadPool.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ternc::bench {

/// A packed weight format of the lookup-table kernels.
struct LutFormat {
  const char *name;                                              ///< "tl1", "tl2"
  int64_t (*bytes)(int64_t n, int64_t k);                        ///< bytes of pack(t, n, k)
  std::vector<uint8_t> (*pack)(const int8_t *t, int64_t n, int64_t k); ///< from int8 -1/0/1 t[n, k], row-major
  int64_t (*tableBytes)(int64_t k);                              ///< bytes of the per-call tables for K = k
  double bitsPerWeight;                                          ///< packed bits per weight (before padding)
};

/// The "tl1" format. Rows are padded with zero weights to a multiple of 64 (a panel), each row to a multiple
/// of 16 weights (a block of 8 pairs). Panel p, block b takes 256 bytes at (p * blocks + b) * 256: four groups
/// g = 0..3 of 64 bytes, byte r of group g holding row 64 p + r's code of pair 8 b + g in its low nibble and of
/// pair 8 b + g + 4 in its high nibble. So a panel's bytes are contiguous (one stream per thread), and one
/// 64-byte (or two 32-byte) vectors of a group are 64 rows' codes of two pairs.
const LutFormat &tl1Format();

/// The "tl2" format (bitnet.cpp TL2-like): weights in triples, each triple's 27 combinations folded by sign
/// into 14 codes (0: all zero, 1..13: the triples whose first nonzero weight is +1) and a sign bit; 5 bits per
/// 3 weights, 1.67 bits per weight. Rows are padded to a multiple of 64, each row to a multiple of 24 weights
/// (a block of 8 triples). Panel p, block b takes 320 bytes at (p * blocks + b) * 320: four 64-byte groups as
/// in tl1 (low nibble: triple 8 b + g, high nibble: triple 8 b + g + 4), then 8 little-endian 64-bit masks,
/// bit r of mask j the sign of row 64 p + r's triple 8 b + j. The tables per triple hold v(c) = w0 a0 + w1 a1
/// + w2 a2 for the 14 codes, |v| <= 384, split as in tl1 (high in [-12, 12]). AVX-512 only (byte masks).
const LutFormat &tl2Format();

/// One instruction-set variant of a lookup-table kernel.
struct LutKernel {
  const char *name;   ///< e.g. "tl1_avx512bw"
  const LutFormat *format;
  bool supported;     ///< this CPU has the instructions
  /// Builds the tables of table blocks [b0, b1) for activations q[0, k) (zero past k) into `tables`.
  void (*build)(const int8_t *q, int64_t k, int64_t b0, int64_t b1, uint8_t *tables);
  /// out[64 p + r] (rows < n) for panels [p0, p1), from tables built for the whole row.
  void (*run)(const uint8_t *tables, const uint8_t *w, int32_t *out, int64_t n, int64_t k, int64_t p0, int64_t p1);
  int64_t (*tableBlocks)(int64_t k); ///< units the table building splits into
  int64_t (*panels)(int64_t n);      ///< units the GEMV splits into
};

/// Every variant: tl1_avx512bw, tl1_avx2, tl2_avx512bw.
const std::vector<LutKernel> &lutKernels();
const LutKernel *findLutKernel(const char *name);

/// The tables of one call, shared by its threads (built once per call, then read by all), and the counter the
/// threads meet at between building and using them. One workspace serves one call at a time.
class LutWorkspace {
public:
  LutWorkspace() = default;
  LutWorkspace(const LutWorkspace &) = delete;
  LutWorkspace &operator=(const LutWorkspace &) = delete;
  /// 64-byte aligned space for at least `bytes`.
  uint8_t *tables(size_t bytes);
  std::atomic<int> arrived{0};

private:
  std::unique_ptr<uint8_t[]> storage_;
  size_t size_ = 0;
  uint8_t *aligned_ = nullptr;
};

/// out[n] = sum_k q[k] t[n][k], exact int32, for one int8 activation row q[K] and weights packed in
/// kernel.format, on `threads` threads of `pool`: each thread builds a share of the tables, the threads wait
/// for one another, then each takes a contiguous share of the 64-row panels.
void lutGemv(const LutKernel &kernel, ThreadPool &pool, int threads, LutWorkspace &ws, const int8_t *q,
             const uint8_t *w, int32_t *out, int64_t n, int64_t k);

/// Checks every supported kernel on `threads` threads against a plain scalar sum, exactly, on [n, k] problems:
/// the given t[n, k] and q[k] (if not null), random weights with random activations over the whole int8 range,
/// random weights with activations only -128 and 127, and all weights +1 or all -1 against all activations
/// -128 or all 127. Returns "" if every output matched, else a description of the first mismatch.
std::string lutCheck(ThreadPool &pool, int threads, int64_t n, int64_t k, uint64_t seed, const int8_t *t = nullptr,
                     const int8_t *q = nullptr);

} // namespace ternc::bench
