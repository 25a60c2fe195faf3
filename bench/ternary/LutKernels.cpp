// LutKernels: the TL1 packing, table building and GEMV kernels (LutKernels.h). The kernel body at the end of
// this file (between #else and #endif) is included twice by this file itself, once per instruction set, inside
// that set's namespace after it defines LUT_FN (the set's target features) and struct Isa: GCC and clang give a
// template no per-instantiation target features, so each set gets its own copy of the body, like
// targets/x86-avx2/kernels/BitLinear.cpp does with BitLinearCore.inc.
#ifndef TERNC_LUT_CORE

#include "LutKernels.h"
#include "TernaryData.h"

#include <immintrin.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <thread>

namespace ternc::bench {

namespace {

constexpr int64_t kPanelRows = 64;
constexpr int64_t kBlockK = 16;                             ///< weights of a row per block: 8 pairs
constexpr int64_t kBlockBytes = kPanelRows * kBlockK / 4;   ///< 256: 64 rows x 8 pairs x 4 bits
constexpr int64_t kTableBlockBytes = 256;                   ///< 8 pairs x 16 low bytes, then 8 x 16 high bytes
constexpr uint8_t kZeroPair = 4;                            ///< the code of (0, 0)

int64_t blocksOf(int64_t k) { return (k + kBlockK - 1) / kBlockK; }
int64_t panelsOf(int64_t n) { return (n + kPanelRows - 1) / kPanelRows; }

int64_t tl1Bytes(int64_t n, int64_t k) { return panelsOf(n) * blocksOf(k) * kBlockBytes; }
int64_t tl1TableBytes(int64_t k) { return blocksOf(k) * kTableBlockBytes; }

std::vector<uint8_t> tl1Pack(const int8_t *t, int64_t n, int64_t k) {
  const int64_t blocks = blocksOf(k);
  std::vector<uint8_t> out(static_cast<size_t>(tl1Bytes(n, k)), kZeroPair * 0x11);
  for (int64_t r = 0; r < n; ++r) {
    const int8_t *row = t + r * k;
    uint8_t *panel = out.data() + (r / kPanelRows) * blocks * kBlockBytes + r % kPanelRows;
    for (int64_t j = 0; 2 * j < k; ++j) {
      int w0 = row[2 * j], w1 = 2 * j + 1 < k ? row[2 * j + 1] : 0;
      auto code = static_cast<uint8_t>(3 * (w0 + 1) + (w1 + 1));
      int64_t b = j / 8, jj = j % 8;
      uint8_t &byte = panel[b * kBlockBytes + (jj % 4) * kPanelRows];
      byte = jj < 4 ? static_cast<uint8_t>((byte & 0xf0) | code) : static_cast<uint8_t>((byte & 0x0f) | code << 4);
    }
  }
  return out;
}

/// Lane coefficients of the table builder: int16 pair (w0, w1) of code c (0 for c > 8), as one int32.
constexpr int32_t coef(int c) {
  if (c > 8)
    return 0;
  int s0 = c / 3 - 1, s1 = c % 3 - 1;
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(s0)) |
                              static_cast<uint32_t>(static_cast<uint16_t>(s1)) << 16);
}

/// The TL1 tables of blocks [b0, b1), with AVX2 for every variant (building is a small share of a call): per
/// pair, the int32 pair (a0, a1) in every lane, vpmaddwd with the codes' (w0, w1) gives v for 8 codes at a
/// time, packed to int16, split into v & 31 and v >> 5, packed to bytes.
__attribute__((target("avx2"))) void tl1Build(const int8_t *q, int64_t k, int64_t b0, int64_t b1, uint8_t *tables) {
  // vpackssdw interleaves 128-bit lanes: these lane orders make its output the codes 0..15 in order.
  const __m256i sa = _mm256_setr_epi32(coef(0), coef(1), coef(2), coef(3), coef(8), coef(9), coef(10), coef(11));
  const __m256i sb = _mm256_setr_epi32(coef(4), coef(5), coef(6), coef(7), coef(12), coef(13), coef(14), coef(15));
  const __m256i low5 = _mm256_set1_epi16(31);
  for (int64_t b = b0; b < b1; ++b) {
    alignas(16) int8_t pad[kBlockK];
    const int8_t *src = q + b * kBlockK;
    if ((b + 1) * kBlockK > k) {
      for (int64_t i = 0; i < kBlockK; ++i)
        pad[i] = b * kBlockK + i < k ? src[i] : int8_t(0);
      src = pad;
    }
    // int32 lane i: q[16 b + 2 i] in the low int16, q[16 b + 2 i + 1] in the high one.
    __m256i x = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i *>(src)));
    uint8_t *low = tables + b * kTableBlockBytes, *high = low + kTableBlockBytes / 2;
    for (int i = 0; i < 8; ++i) {
      __m256i a = _mm256_permutevar8x32_epi32(x, _mm256_set1_epi32(i));
      __m256i v = _mm256_packs_epi32(_mm256_madd_epi16(a, sa), _mm256_madd_epi16(a, sb)); // |v| <= 256
      __m256i lh = _mm256_packs_epi16(_mm256_and_si256(v, low5), _mm256_srai_epi16(v, 5));
      lh = _mm256_permute4x64_epi64(lh, 0xd8); // low bytes of codes 0..15, then high bytes
      _mm_store_si128(reinterpret_cast<__m128i *>(low + 16 * i), _mm256_castsi256_si128(lh));
      _mm_store_si128(reinterpret_cast<__m128i *>(high + 16 * i), _mm256_extracti128_si256(lh, 1));
    }
  }
}

/// How far ahead each thread's weight stream is prefetched, with prefetcht2, as ternc's kernels do, and how
/// many 64-row panels an AVX2 / AVX-512 pass takes (each table vector loaded once for all of them). Tried on
/// 2560x6912 and 4096x16384, 1 thread, with the machine loaded (noisy): 2 panels per AVX-512 pass took 10-25%
/// less time from memory than 1 (half the table loads), 4 were no better, 64 KiB ahead was slower and 16 KiB
/// no better than 32 KiB. Compile-time knobs, like TK_PF_BYTES of the ternc kernels.
#ifndef LUT_PF_BYTES
#define LUT_PF_BYTES 32768
#endif
constexpr int64_t kPrefetchBytes = LUT_PF_BYTES;
#ifndef LUT_NP_AVX2
#define LUT_NP_AVX2 1
#endif
#ifndef LUT_NP_AVX512
#define LUT_NP_AVX512 2
#endif
/// Blocks whose int16 sums are kept before they are widened to int32. No vpmaddubsw saturates (its products
/// are at most 248 and 32 * 64 = 2048, resp. 2 * 248 and 64 * 96 = 6144 for TL2, the other byte of each pair
/// times 0), and what a block adds to an int16 lane, modulo 2^16, is its row's exact dot over the block's
/// weights, at most 16 * 128 = 2048 (TL1) or 24 * 128 = 3072 (TL2) in magnitude: so 8 blocks stay within int16.
constexpr int64_t kFlushBlocks = 8;

// ---- TL2: triples, 27 combinations folded by sign into 14 codes and a sign bit ------------------------------
constexpr int64_t kBlockK2 = 24;                          ///< weights of a row per TL2 block: 8 triples
constexpr int64_t kCodeBytes2 = kPanelRows * 8 / 2;       ///< 256: 64 rows x 8 triples x 4 bits
constexpr int64_t kBlockBytes2 = kCodeBytes2 + 8 * 8;     ///< + 8 sign masks of 64 bits: 320 bytes

/// Weight i (0..2) of TL2 code c (0..15): code 0 is (0, 0, 0), codes 1..13 the 13 triples whose first nonzero
/// weight is +1, in lexicographic order; 14 and 15 are unused (0). A triple whose first nonzero weight is -1 is
/// stored as the code of its negation with the sign bit set.
constexpr int tl2Weight(int c, int i) {
  int found = 0;
  for (int t = 0; t < 27; ++t) {
    int w[3] = {t / 9 - 1, t / 3 % 3 - 1, t % 3 - 1};
    int first = w[0] ? w[0] : w[1] ? w[1] : w[2];
    if (first != 1)
      continue;
    if (++found == c)
      return w[i];
  }
  return 0;
}

int64_t blocks2Of(int64_t k) { return (k + kBlockK2 - 1) / kBlockK2; }
int64_t tl2Bytes(int64_t n, int64_t k) { return panelsOf(n) * blocks2Of(k) * kBlockBytes2; }
int64_t tl2TableBytes(int64_t k) { return blocks2Of(k) * kTableBlockBytes; }

std::vector<uint8_t> tl2Pack(const int8_t *t, int64_t n, int64_t k) {
  // (w0 + 1) * 9 + (w1 + 1) * 3 + (w2 + 1) -> code, sign
  uint8_t code[27], sign[27];
  for (int c = 0; c < 14; ++c)
    for (int neg = 0; neg < 2; ++neg) {
      int m = neg ? -1 : 1;
      int at = (m * tl2Weight(c, 0) + 1) * 9 + (m * tl2Weight(c, 1) + 1) * 3 + (m * tl2Weight(c, 2) + 1);
      code[at] = static_cast<uint8_t>(c);
      sign[at] = static_cast<uint8_t>(c ? neg : 0);
    }
  const int64_t blocks = blocks2Of(k);
  std::vector<uint8_t> out(static_cast<size_t>(tl2Bytes(n, k)), 0);
  for (int64_t r = 0; r < n; ++r) {
    const int8_t *row = t + r * k;
    uint8_t *panel = out.data() + (r / kPanelRows) * blocks * kBlockBytes2;
    const int64_t rr = r % kPanelRows;
    for (int64_t j = 0; 3 * j < k; ++j) {
      int w[3];
      for (int i = 0; i < 3; ++i)
        w[i] = 3 * j + i < k ? row[3 * j + i] : 0;
      int at = (w[0] + 1) * 9 + (w[1] + 1) * 3 + (w[2] + 1);
      int64_t b = j / 8, jj = j % 8;
      uint8_t *block = panel + b * kBlockBytes2;
      uint8_t &byte = block[(jj % 4) * kPanelRows + rr];
      byte = jj < 4 ? static_cast<uint8_t>((byte & 0xf0) | code[at])
                    : static_cast<uint8_t>((byte & 0x0f) | code[at] << 4);
      block[kCodeBytes2 + jj * 8 + rr / 8] |= static_cast<uint8_t>(sign[at] << (rr % 8));
    }
  }
  return out;
}

/// Lane coefficients of the TL2 builder: (w0, w1) and (w2, 0) of code c as int16 pairs in one int32.
constexpr int32_t coef01(int c) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint16_t>(tl2Weight(c, 0))) |
                              static_cast<uint32_t>(static_cast<uint16_t>(tl2Weight(c, 1))) << 16);
}
constexpr int32_t coef2(int c) { return static_cast<int32_t>(static_cast<uint16_t>(tl2Weight(c, 2))); }

/// The TL2 tables of blocks [b0, b1), as tl1Build does it, with v = (w0 a0 + w1 a1) + w2 a2 (|v| <= 384), low =
/// v & 31, high = v >> 5 in [-12, 12].
__attribute__((target("avx2"))) void tl2Build(const int8_t *q, int64_t k, int64_t b0, int64_t b1, uint8_t *tables) {
  const __m256i sa = _mm256_setr_epi32(coef01(0), coef01(1), coef01(2), coef01(3), coef01(8), coef01(9),
                                       coef01(10), coef01(11));
  const __m256i sb = _mm256_setr_epi32(coef01(4), coef01(5), coef01(6), coef01(7), coef01(12), coef01(13),
                                       coef01(14), coef01(15));
  const __m256i ta = _mm256_setr_epi32(coef2(0), coef2(1), coef2(2), coef2(3), coef2(8), coef2(9), coef2(10),
                                       coef2(11));
  const __m256i tb = _mm256_setr_epi32(coef2(4), coef2(5), coef2(6), coef2(7), coef2(12), coef2(13), coef2(14),
                                       coef2(15));
  const __m256i low5 = _mm256_set1_epi16(31);
  for (int64_t b = b0; b < b1; ++b) {
    alignas(32) int16_t a[32]; // the block's 24 activations as int16, zero past k and past 24
    alignas(16) int8_t pad[32] = {};
    const int8_t *src = q + b * kBlockK2;
    int64_t avail = k - b * kBlockK2;
    std::memcpy(pad, src, static_cast<size_t>(avail < kBlockK2 ? avail : kBlockK2));
    _mm256_store_si256(reinterpret_cast<__m256i *>(a),
                       _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i *>(pad))));
    _mm256_store_si256(reinterpret_cast<__m256i *>(a + 16),
                       _mm256_cvtepi8_epi16(_mm_load_si128(reinterpret_cast<const __m128i *>(pad + 16))));
    uint8_t *low = tables + b * kTableBlockBytes, *high = low + kTableBlockBytes / 2;
    for (int i = 0; i < 8; ++i) {
      int32_t x01, x2;
      std::memcpy(&x01, a + 3 * i, 4);
      std::memcpy(&x2, a + 3 * i + 2, 4); // (a2, a3): the coefficient of a3 is 0
      const __m256i p01 = _mm256_set1_epi32(x01), p2 = _mm256_set1_epi32(x2);
      __m256i va = _mm256_add_epi32(_mm256_madd_epi16(p01, sa), _mm256_madd_epi16(p2, ta));
      __m256i vb = _mm256_add_epi32(_mm256_madd_epi16(p01, sb), _mm256_madd_epi16(p2, tb));
      __m256i v = _mm256_packs_epi32(va, vb);
      __m256i lh = _mm256_packs_epi16(_mm256_and_si256(v, low5), _mm256_srai_epi16(v, 5));
      lh = _mm256_permute4x64_epi64(lh, 0xd8);
      _mm_store_si128(reinterpret_cast<__m128i *>(low + 16 * i), _mm256_castsi256_si128(lh));
      _mm_store_si128(reinterpret_cast<__m128i *>(high + 16 * i), _mm256_extracti128_si256(lh, 1));
    }
  }
}

} // namespace

} // namespace ternc::bench

// ---- AVX2: 32 rows per vector, a panel as two vectors ------------------------------------------------------
namespace ternc::bench::lut_avx2 {
#define LUT_FN static inline __attribute__((always_inline, target("avx2")))
#define LUT_ENTRY __attribute__((target("avx2")))
struct Isa {
  using V = __m256i;
  static constexpr int W = 32;
  /// Panels per pass (each sharing the table loads): one, as the accumulators of two would not fit 16 ymm.
  static constexpr int NP = LUT_NP_AVX2;
  LUT_FN V load(const uint8_t *p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)); }
  /// 16 table bytes in every 128-bit lane.
  LUT_FN V table(const uint8_t *p) {
    return _mm256_broadcastsi128_si256(_mm_load_si128(reinterpret_cast<const __m128i *>(p)));
  }
  LUT_FN V set8(int8_t x) { return _mm256_set1_epi8(x); }
  LUT_FN V set16(int16_t x) { return _mm256_set1_epi16(x); }
  LUT_FN V zero() { return _mm256_setzero_si256(); }
  LUT_FN V and_(V a, V b) { return _mm256_and_si256(a, b); }
  LUT_FN V srli16(V a, int s) { return _mm256_srli_epi16(a, s); }
  LUT_FN V lookup(V table, V idx) { return _mm256_shuffle_epi8(table, idx); }
  LUT_FN V add8(V a, V b) { return _mm256_add_epi8(a, b); }
  LUT_FN V add16(V a, V b) { return _mm256_add_epi16(a, b); }
  LUT_FN V add32(V a, V b) { return _mm256_add_epi32(a, b); }
  LUT_FN V maddubs(V u, V s) { return _mm256_maddubs_epi16(u, s); }
  LUT_FN V lowWords(V a) { return _mm256_srai_epi32(_mm256_slli_epi32(a, 16), 16); }
  LUT_FN V highWords(V a) { return _mm256_srai_epi32(a, 16); }
  LUT_FN void store(int32_t *p, V v) { _mm256_storeu_si256(reinterpret_cast<__m256i *>(p), v); }
};
#define TERNC_LUT_CORE
#include "LutKernels.cpp"
#undef TERNC_LUT_CORE
#undef LUT_FN
#undef LUT_ENTRY
} // namespace ternc::bench::lut_avx2

// ---- AVX-512BW: 64 rows (a whole panel) per vector ----------------------------------------------------------
namespace ternc::bench::lut_avx512 {
#define LUT_FN static inline __attribute__((always_inline, target("avx2,avx512f,avx512bw")))
#define LUT_ENTRY __attribute__((target("avx2,avx512f,avx512bw")))
struct Isa {
  using V = __m512i;
  static constexpr int W = 64;
  /// Panels per pass (each sharing the table loads).
  static constexpr int NP = LUT_NP_AVX512;
  LUT_FN V load(const uint8_t *p) { return _mm512_loadu_si512(p); }
  LUT_FN V table(const uint8_t *p) {
    return _mm512_broadcast_i32x4(_mm_load_si128(reinterpret_cast<const __m128i *>(p)));
  }
  LUT_FN V set8(int8_t x) { return _mm512_set1_epi8(x); }
  LUT_FN V set16(int16_t x) { return _mm512_set1_epi16(x); }
  LUT_FN V zero() { return _mm512_setzero_si512(); }
  LUT_FN V and_(V a, V b) { return _mm512_and_si512(a, b); }
  LUT_FN V srli16(V a, int s) { return _mm512_srli_epi16(a, static_cast<unsigned>(s)); }
  LUT_FN V lookup(V table, V idx) { return _mm512_shuffle_epi8(table, idx); }
  LUT_FN V add8(V a, V b) { return _mm512_add_epi8(a, b); }
  LUT_FN V add16(V a, V b) { return _mm512_add_epi16(a, b); }
  LUT_FN V add32(V a, V b) { return _mm512_add_epi32(a, b); }
  LUT_FN V maddubs(V u, V s) { return _mm512_maddubs_epi16(u, s); }
  LUT_FN V lowWords(V a) { return _mm512_srai_epi32(_mm512_slli_epi32(a, 16), 16); }
  LUT_FN V highWords(V a) { return _mm512_srai_epi32(a, 16); }
  LUT_FN void store(int32_t *p, V v) { _mm512_storeu_si512(p, v); }
  LUT_FN V sub16(V a, V b) { return _mm512_sub_epi16(a, b); }
  /// a + b in the bytes whose bit of m is set, a elsewhere.
  LUT_FN V maskAdd8(V a, uint64_t m, V b) { return _mm512_mask_add_epi8(a, _cvtu64_mask64(m), a, b); }
};
#define LUT_TL2
#define TERNC_LUT_CORE
#include "LutKernels.cpp"
#undef TERNC_LUT_CORE
#undef LUT_TL2
#undef LUT_FN
#undef LUT_ENTRY
} // namespace ternc::bench::lut_avx512

namespace ternc::bench {

const LutFormat &tl1Format() {
  static const LutFormat format{"tl1", tl1Bytes, tl1Pack, tl1TableBytes, 2.0};
  return format;
}

const LutFormat &tl2Format() {
  static const LutFormat format{"tl2", tl2Bytes, tl2Pack, tl2TableBytes, 5.0 / 3.0};
  return format;
}

const std::vector<LutKernel> &lutKernels() {
  static const std::vector<LutKernel> kernels = {
      {"tl1_avx512bw", &tl1Format(),
       __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"),
       tl1Build, lut_avx512::tl1Run, blocksOf, panelsOf},
      {"tl1_avx2", &tl1Format(), __builtin_cpu_supports("avx2") != 0, tl1Build, lut_avx2::tl1Run, blocksOf,
       panelsOf},
      {"tl2_avx512bw", &tl2Format(),
       __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw"),
       tl2Build, lut_avx512::tl2Run, blocks2Of, panelsOf},
  };
  return kernels;
}

const LutKernel *findLutKernel(const char *name) {
  for (const LutKernel &k : lutKernels())
    if (std::strcmp(k.name, name) == 0)
      return &k;
  return nullptr;
}

uint8_t *LutWorkspace::tables(size_t bytes) {
  if (bytes > size_) {
    storage_ = std::make_unique<uint8_t[]>(bytes + 64);
    size_ = bytes;
    auto at = reinterpret_cast<uintptr_t>(storage_.get());
    aligned_ = storage_.get() + ((64 - at % 64) % 64);
  }
  return aligned_;
}

void lutGemv(const LutKernel &kernel, ThreadPool &pool, int threads, LutWorkspace &ws, const int8_t *q,
             const uint8_t *w, int32_t *out, int64_t n, int64_t k) {
  uint8_t *tables = ws.tables(static_cast<size_t>(kernel.format->tableBytes(k)));
  const int64_t blocks = kernel.tableBlocks(k), panels = kernel.panels(n);
  ws.arrived.store(0, std::memory_order_relaxed);
  pool.run(threads, [&](int i) {
    kernel.build(q, k, blocks * i / threads, blocks * (i + 1) / threads, tables);
    if (threads > 1) { // every thread reads every table: wait until all are built
      ws.arrived.fetch_add(1, std::memory_order_acq_rel);
      // As ThreadPool's waits do: yield now and then, so that a thread the scheduler put on this core is not
      // starved for a whole time slice (about 4 ms) while this one spins for it.
      for (int spins = 1; ws.arrived.load(std::memory_order_acquire) < threads; ++spins) {
        _mm_pause();
        if (spins % 1024 == 0)
          std::this_thread::yield();
      }
    }
    int64_t p0 = panels * i / threads, p1 = panels * (i + 1) / threads;
    if (p0 < p1)
      kernel.run(tables, w, out, n, k, p0, p1);
  });
}

std::string lutCheck(ThreadPool &pool, int threads, int64_t n, int64_t k, uint64_t seed, const int8_t *t,
                     const int8_t *q) {
  const auto nk = static_cast<size_t>(n * k);
  uint64_t state = seed;
  std::vector<int8_t> tRandom(nk), tPlus(nk, 1), tMinus(nk, -1);
  for (int8_t &v : tRandom)
    v = static_cast<int8_t>(static_cast<int>(splitmix(state) % 3) - 1);
  std::vector<int8_t> qRandom(static_cast<size_t>(k)), qEdges(qRandom.size()), qMin(qRandom.size(), -128),
      qMax(qRandom.size(), 127);
  for (size_t i = 0; i < qRandom.size(); ++i) {
    uint64_t r = splitmix(state);
    qRandom[i] = static_cast<int8_t>(static_cast<uint8_t>(r));
    qEdges[i] = r >> 8 & 1 ? int8_t(127) : int8_t(-128);
  }
  struct Case {
    const char *what;
    const int8_t *t, *q;
  };
  std::vector<Case> cases;
  if (t && q)
    cases.push_back({"the benchmark's weights and activations", t, q});
  cases.push_back({"random weights, random int8 activations", tRandom.data(), qRandom.data()});
  cases.push_back({"random weights, activations -128 / 127", tRandom.data(), qEdges.data()});
  cases.push_back({"all weights +1, all activations -128", tPlus.data(), qMin.data()});
  cases.push_back({"all weights -1, all activations -128", tMinus.data(), qMin.data()});
  cases.push_back({"all weights +1, all activations 127", tPlus.data(), qMax.data()});
  cases.push_back({"all weights -1, all activations 127", tMinus.data(), qMax.data()});

  LutWorkspace ws;
  std::vector<int32_t> want(static_cast<size_t>(n)), got(static_cast<size_t>(n));
  for (const LutFormat *format : {&tl1Format(), &tl2Format()}) {
    const int8_t *packedFrom = nullptr;
    std::vector<uint8_t> packed;
    for (const Case &c : cases) {
      if (c.t != packedFrom) {
        packed = format->pack(c.t, n, k);
        packedFrom = c.t;
      }
      for (int64_t r = 0; r < n; ++r) {
        int32_t sum = 0;
        for (int64_t i = 0; i < k; ++i)
          sum += static_cast<int32_t>(c.q[i]) * c.t[r * k + i];
        want[static_cast<size_t>(r)] = sum;
      }
      for (const LutKernel &kernel : lutKernels()) {
        if (!kernel.supported || kernel.format != format)
          continue;
        std::fill(got.begin(), got.end(), INT32_MIN);
        lutGemv(kernel, pool, threads, ws, c.q, packed.data(), got.data(), n, k);
        for (int64_t r = 0; r < n; ++r)
          if (got[static_cast<size_t>(r)] != want[static_cast<size_t>(r)])
            return std::string(kernel.name) + " " + std::to_string(n) + "x" + std::to_string(k) + " on " +
                   std::to_string(threads) + " thread(s), " + c.what + ": row " + std::to_string(r) + " is " +
                   std::to_string(got[static_cast<size_t>(r)]) + ", the scalar sum is " +
                   std::to_string(want[static_cast<size_t>(r)]);
      }
    }
  }
  return "";
}

} // namespace ternc::bench

#else // TERNC_LUT_CORE: the kernel body, once per instruction set (see the top of the file)

/// Int32 lanes of the panels' accumulators to out: acc[v][pos], int32 lane j, is row v W + 4 j + pos of the
/// NP panels' rows taken together (vector v = pan H + h covers rows h W .. of panel pan).
template <int NV>
LUT_FN void storeRows(const Isa::V (&acc)[NV][4], int32_t *const *out, const int64_t *valid, int perPanel) {
  alignas(64) int32_t lanes[NV][4][Isa::W / 4];
#pragma clang loop unroll(full)
  for (int v = 0; v < NV; ++v)
#pragma clang loop unroll(full)
    for (int pos = 0; pos < 4; ++pos)
      Isa::store(lanes[v][pos], acc[v][pos]);
  for (int pan = 0; pan < NV / perPanel; ++pan)
    for (int64_t r = 0; r < valid[pan]; ++r)
      out[pan][r] = lanes[pan * perPanel + r / Isa::W][r % 4][r % Isa::W / 4];
}

/// NP panels at once (each table vector loaded once for all of them): rows 64 p .. 64 p + 63 of each panel
/// (those < n). Vector h of a group holds rows h W .. h W + W - 1 of its panel (one byte each). Per block, the
/// low and high bytes of 8 pairs are summed in sL (uint8, <= 248) and sH (int8, in [-64, 64]); then
/// vpmaddubsw with (1, 0) / (0, 1) and (32, 0) / (0, 32) widens the even and odd bytes' 32 sH + sL into int16
/// lanes a16[v][0] (row 2 i) and a16[v][1] (row 2 i + 1), and every kFlushBlocks blocks those are widened to
/// int32 (storeRows).
template <int NP>
LUT_FN void tl1Panels(const uint8_t *tables, const uint8_t *const *w, int64_t blocks, int32_t *const *out,
                      const int64_t *valid) {
  using V = Isa::V;
  constexpr int H = static_cast<int>(kPanelRows / Isa::W), NV = NP * H;
  const V nibble = Isa::set8(0x0f);
  const V oneEven = Isa::set16(0x0001), oneOdd = Isa::set16(0x0100);
  const V x32Even = Isa::set16(0x0020), x32Odd = Isa::set16(0x2000);
  V acc[NV][4];
#pragma clang loop unroll(full)
  for (int v = 0; v < NV; ++v)
#pragma clang loop unroll(full)
    for (int pos = 0; pos < 4; ++pos)
      acc[v][pos] = Isa::zero();
  for (int64_t kb0 = 0; kb0 < blocks; kb0 += kFlushBlocks) {
    int64_t kb1 = kb0 + kFlushBlocks < blocks ? kb0 + kFlushBlocks : blocks;
    V a16[NV][2];
#pragma clang loop unroll(full)
    for (int v = 0; v < NV; ++v)
      a16[v][0] = a16[v][1] = Isa::zero();
    for (int64_t kb = kb0; kb < kb1; ++kb) {
      const uint8_t *tb = tables + kb * kTableBlockBytes;
#pragma clang loop unroll(full)
      for (int pan = 0; pan < NP; ++pan)
#pragma clang loop unroll(full)
        for (int line = 0; line < 4; ++line)
          _mm_prefetch(reinterpret_cast<const char *>(w[pan] + kb * kBlockBytes + kPrefetchBytes + 64 * line),
                       _MM_HINT_T2);
      V sL[NV], sH[NV];
#pragma clang loop unroll(full)
      for (int g = 0; g < 4; ++g) {
        const V l0 = Isa::table(tb + 16 * g), l1 = Isa::table(tb + 16 * (g + 4));
        const V h0 = Isa::table(tb + 128 + 16 * g), h1 = Isa::table(tb + 128 + 16 * (g + 4));
#pragma clang loop unroll(full)
        for (int v = 0; v < NV; ++v) {
          V x = Isa::load(w[v / H] + kb * kBlockBytes + g * kPanelRows + v % H * Isa::W);
          V lo = Isa::and_(x, nibble), hi = Isa::and_(Isa::srli16(x, 4), nibble);
          V l = Isa::add8(Isa::lookup(l0, lo), Isa::lookup(l1, hi));
          V u = Isa::add8(Isa::lookup(h0, lo), Isa::lookup(h1, hi));
          sL[v] = g ? Isa::add8(sL[v], l) : l;
          sH[v] = g ? Isa::add8(sH[v], u) : u;
        }
      }
#pragma clang loop unroll(full)
      for (int v = 0; v < NV; ++v) {
        a16[v][0] = Isa::add16(a16[v][0], Isa::add16(Isa::maddubs(sL[v], oneEven), Isa::maddubs(x32Even, sH[v])));
        a16[v][1] = Isa::add16(a16[v][1], Isa::add16(Isa::maddubs(sL[v], oneOdd), Isa::maddubs(x32Odd, sH[v])));
      }
    }
#pragma clang loop unroll(full)
    for (int v = 0; v < NV; ++v)
#pragma clang loop unroll(full)
      for (int e = 0; e < 2; ++e) {
        acc[v][e] = Isa::add32(acc[v][e], Isa::lowWords(a16[v][e]));
        acc[v][2 + e] = Isa::add32(acc[v][2 + e], Isa::highWords(a16[v][e]));
      }
  }
  storeRows<NV>(acc, out, valid, H);
}

/// Panels [p0, p1) of a packed matrix with `blockBytes` bytes per block, Isa::NP at a time, then one at a time.
template <void (*OneBy)(const uint8_t *, const uint8_t *const *, int64_t, int32_t *const *, const int64_t *),
          void (*Many)(const uint8_t *, const uint8_t *const *, int64_t, int32_t *const *, const int64_t *)>
LUT_FN void runPanels(const uint8_t *tables, const uint8_t *w, int32_t *out, int64_t n, int64_t blocks,
                      int64_t blockBytes, int64_t p0, int64_t p1) {
  const uint8_t *wp[Isa::NP];
  int32_t *op[Isa::NP];
  int64_t valid[Isa::NP];
  for (int64_t p = p0; p < p1;) {
    int count = p1 - p >= Isa::NP ? Isa::NP : 1;
    for (int i = 0; i < count; ++i, ++p) {
      wp[i] = w + p * blocks * blockBytes;
      op[i] = out + p * kPanelRows;
      valid[i] = n - p * kPanelRows < kPanelRows ? n - p * kPanelRows : kPanelRows;
    }
    (count == 1 ? OneBy : Many)(tables, wp, blocks, op, valid);
  }
}

LUT_ENTRY void tl1Run(const uint8_t *tables, const uint8_t *w, int32_t *out, int64_t n, int64_t k, int64_t p0,
                      int64_t p1) {
  runPanels<tl1Panels<1>, tl1Panels<Isa::NP>>(tables, w, out, n, blocksOf(k), kBlockBytes, p0, p1);
}

#ifdef LUT_TL2
/// TL2 (AVX-512 only: the sign bits are used as 64-bit byte masks), NP panels at once. Per block, the low and
/// high bytes of the 8 looked-up codes are summed over all rows (sL, sH) and over the rows whose sign bit is
/// set (sLn, sHn, masked adds); the block's dot is then 32 (sH - 2 sHn) + (sL - 2 sLn), widened as in
/// tl1Panels.
template <int NP>
LUT_FN void tl2Panels(const uint8_t *tables, const uint8_t *const *w, int64_t blocks, int32_t *const *out,
                      const int64_t *valid) {
  using V = Isa::V;
  static_assert(Isa::W == kPanelRows, "one vector per panel");
  const V nibble = Isa::set8(0x0f);
  const V oneEven = Isa::set16(0x0001), oneOdd = Isa::set16(0x0100);
  const V minus2Even = Isa::set16(0x00fe), minus2Odd = Isa::set16(static_cast<int16_t>(0xfe00));
  const V x32Even = Isa::set16(0x0020), x32Odd = Isa::set16(0x2000);
  const V x64Even = Isa::set16(0x0040), x64Odd = Isa::set16(0x4000);
  V acc[NP][4];
#pragma clang loop unroll(full)
  for (int v = 0; v < NP; ++v)
#pragma clang loop unroll(full)
    for (int pos = 0; pos < 4; ++pos)
      acc[v][pos] = Isa::zero();
  for (int64_t kb0 = 0; kb0 < blocks; kb0 += kFlushBlocks) {
    int64_t kb1 = kb0 + kFlushBlocks < blocks ? kb0 + kFlushBlocks : blocks;
    V a16[NP][2];
#pragma clang loop unroll(full)
    for (int v = 0; v < NP; ++v)
      a16[v][0] = a16[v][1] = Isa::zero();
    for (int64_t kb = kb0; kb < kb1; ++kb) {
      const uint8_t *tb = tables + kb * kTableBlockBytes;
      uint64_t sign[NP][8];
#pragma clang loop unroll(full)
      for (int v = 0; v < NP; ++v) {
        const uint8_t *wb = w[v] + kb * kBlockBytes2;
#pragma clang loop unroll(full)
        for (int line = 0; line < 5; ++line)
          _mm_prefetch(reinterpret_cast<const char *>(wb + kPrefetchBytes + 64 * line), _MM_HINT_T2);
        std::memcpy(sign[v], wb + kCodeBytes2, sizeof sign[v]);
      }
      V sL[NP], sH[NP], sLn[NP], sHn[NP];
#pragma clang loop unroll(full)
      for (int v = 0; v < NP; ++v)
        sL[v] = sH[v] = sLn[v] = sHn[v] = Isa::zero();
#pragma clang loop unroll(full)
      for (int g = 0; g < 4; ++g) {
        const V l0 = Isa::table(tb + 16 * g), l1 = Isa::table(tb + 16 * (g + 4));
        const V h0 = Isa::table(tb + 128 + 16 * g), h1 = Isa::table(tb + 128 + 16 * (g + 4));
#pragma clang loop unroll(full)
        for (int v = 0; v < NP; ++v) {
          V x = Isa::load(w[v] + kb * kBlockBytes2 + g * kPanelRows);
          V lo = Isa::and_(x, nibble), hi = Isa::and_(Isa::srli16(x, 4), nibble);
          V L0 = Isa::lookup(l0, lo), L1 = Isa::lookup(l1, hi), H0 = Isa::lookup(h0, lo), H1 = Isa::lookup(h1, hi);
          sL[v] = Isa::add8(sL[v], Isa::add8(L0, L1));
          sH[v] = Isa::add8(sH[v], Isa::add8(H0, H1));
          sLn[v] = Isa::maskAdd8(Isa::maskAdd8(sLn[v], sign[v][g], L0), sign[v][g + 4], L1);
          sHn[v] = Isa::maskAdd8(Isa::maskAdd8(sHn[v], sign[v][g], H0), sign[v][g + 4], H1);
        }
      }
#pragma clang loop unroll(full)
      for (int v = 0; v < NP; ++v) {
        V even = Isa::add16(Isa::add16(Isa::maddubs(sL[v], oneEven), Isa::maddubs(sLn[v], minus2Even)),
                            Isa::sub16(Isa::maddubs(x32Even, sH[v]), Isa::maddubs(x64Even, sHn[v])));
        V odd = Isa::add16(Isa::add16(Isa::maddubs(sL[v], oneOdd), Isa::maddubs(sLn[v], minus2Odd)),
                           Isa::sub16(Isa::maddubs(x32Odd, sH[v]), Isa::maddubs(x64Odd, sHn[v])));
        a16[v][0] = Isa::add16(a16[v][0], even);
        a16[v][1] = Isa::add16(a16[v][1], odd);
      }
    }
#pragma clang loop unroll(full)
    for (int v = 0; v < NP; ++v)
#pragma clang loop unroll(full)
      for (int e = 0; e < 2; ++e) {
        acc[v][e] = Isa::add32(acc[v][e], Isa::lowWords(a16[v][e]));
        acc[v][2 + e] = Isa::add32(acc[v][2 + e], Isa::highWords(a16[v][e]));
      }
  }
  storeRows<NP>(acc, out, valid, 1);
}

LUT_ENTRY void tl2Run(const uint8_t *tables, const uint8_t *w, int32_t *out, int64_t n, int64_t k, int64_t p0,
                      int64_t p1) {
  runPanels<tl2Panels<1>, tl2Panels<Isa::NP>>(tables, w, out, n, blocks2Of(k), kBlockBytes2, p0, p1);
}
#endif // LUT_TL2

#endif // TERNC_LUT_CORE
