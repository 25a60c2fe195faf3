// KernelTest: the aarch64 BitLinear kernels (targets/aarch64/kernels/BitLinearNeon.h), cross-compiled and run
// under qemu-aarch64 (tests/aarch64/CMakeLists.txt). Checks, for each kernel the CPU runs:
//  - the exact integer products against an integer reference: odd K and N, M = 1, 7, 128, K past the kernels'
//    blocks, and the extremes (all-127 activations x all +1 weights, all -128 x all -1, which overflow an int16
//    or an int8 sum if a kernel widened too late);
//  - BitLinear with per-tensor and per-row scales bit for bit against the exact integer sums run through the
//    shared epilogue (targets/BitLinearEpilogue.h, which the x86 kernels use too), for every activation, with
//    bias, gate, residual, both dequantizations, and items split over several calls (threads);
//  - per-group scales bit for bit too (the kernels' per-group sums in double are exact);
//  - the packings: pack then unpack gives the matrix back.
// Usage: aarch64-kernel-test sdot|tbl   (exit status 0 when everything matches).
#include "targets/BitLinearEpilogue.h"
#include "targets/aarch64/kernels/BitLinearNeon.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

using ItemsFn = int64_t (*)(TK_BITLINEAR_ARGS);
using KernelFn = void (*)(TK_BITLINEAR_ARGS, int64_t, int64_t);
using DotItemsFn = int64_t (*)(const int8_t *, const uint8_t *, int32_t *, int64_t, int64_t, int64_t);
using DotFn = void (*)(const int8_t *, const uint8_t *, int32_t *, int64_t, int64_t, int64_t, int64_t, int64_t);

struct Kernel {
  const char *name;
  int64_t (*bytes)(int64_t, int64_t);
  void (*pack)(const int8_t *, int64_t, int64_t, uint8_t *);
  bool (*unpack)(const uint8_t *, int64_t, int64_t, int8_t *);
  ItemsFn items;
  KernelFn run;
  DotItemsFn dotItems;
  DotFn dot;
};

int failures = 0;

void check(bool ok, const std::string &what) {
  if (!ok) {
    ++failures;
    if (failures <= 20) std::printf("FAIL: %s\n", what.c_str());
  }
}

std::mt19937 rng(7);

std::vector<int8_t> randomTern(int64_t n, int64_t k) {
  std::vector<int8_t> t(size_t(n * k));
  for (auto &v : t) v = int8_t(int(rng() % 3) - 1);
  return t;
}

std::vector<int8_t> randomQ(int64_t m, int64_t k) {
  std::vector<int8_t> q(size_t(m * k));
  for (auto &v : q) v = int8_t(int(rng() % 256) - 128);
  return q;
}

std::vector<int32_t> reference(const std::vector<int8_t> &q, const std::vector<int8_t> &t, int64_t M, int64_t N,
                               int64_t K) {
  std::vector<int32_t> out(size_t(M * N));
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      int64_t s = 0;
      for (int64_t k = 0; k < K; ++k) s += int64_t(q[m * K + k]) * t[n * K + k];
      out[m * N + n] = int32_t(s);
    }
  return out;
}

std::vector<uint8_t> packed(const Kernel &k, const std::vector<int8_t> &t, int64_t N, int64_t K) {
  std::vector<uint8_t> w(size_t(k.bytes(N, K)));
  k.pack(t.data(), N, K, w.data());
  std::vector<int8_t> back(t.size());
  check(k.unpack(w.data(), N, K, back.data()) && back == t,
        std::string(k.name) + ": pack/unpack round trip N=" + std::to_string(N) + " K=" + std::to_string(K));
  return w;
}

void testDot(const Kernel &k, int64_t M, int64_t N, int64_t K, const std::vector<int8_t> &q,
             const std::vector<int8_t> &t, const char *what) {
  std::vector<uint8_t> w = packed(k, t, N, K);
  std::vector<int32_t> out(size_t(M * N), 0x5a5a5a5a), want = reference(q, t, M, N, K);
  int64_t items = k.dotItems(q.data(), w.data(), out.data(), M, N, K);
  // Two calls, as two threads would split the items.
  int64_t half = items / 2;
  k.dot(q.data(), w.data(), out.data(), M, N, K, 0, half);
  k.dot(q.data(), w.data(), out.data(), M, N, K, half, items);
  int64_t bad = 0, first = -1;
  for (size_t i = 0; i < out.size(); ++i)
    if (out[i] != want[i]) {
      if (first < 0) first = int64_t(i);
      ++bad;
    }
  char msg[256];
  std::snprintf(msg, sizeof msg, "%s dot %s M=%lld N=%lld K=%lld: %lld wrong (first at %lld: %d, want %d)", k.name,
                what, (long long)M, (long long)N, (long long)K, (long long)bad, (long long)first,
                first >= 0 ? out[size_t(first)] : 0, first >= 0 ? want[size_t(first)] : 0);
  check(bad == 0, msg);
}

/// BitLinear bit for bit against the exact sums through the shared epilogue (grouped: each group's exact sum times
/// its scale, summed in double, which is exact for these scales).
void testBitLinear(const Kernel &k, int64_t M, int64_t N, int64_t K, int64_t group, int64_t act, int64_t mul,
                   bool withBias, bool gated, bool withResidual, bool perRow) {
  std::vector<int8_t> q = randomQ(M, K), t = randomTern(N, K), tg = randomTern(N, K);
  std::vector<uint8_t> w = packed(k, t, N, K), wg = packed(k, tg, N, K);
  std::uniform_real_distribution<float> u(0.01f, 2.0f), v(-3.0f, 3.0f);
  bool grouped = group < K;
  int64_t sRow = grouped ? K / group : perRow ? 1 : 0;
  int64_t scales = grouped ? N * (K / group) : perRow ? N : 1;
  std::vector<float> s(static_cast<size_t>(M)), ws(static_cast<size_t>(scales)), gs(static_cast<size_t>(scales)),
      bias(static_cast<size_t>(N)), gbias(static_cast<size_t>(N)), res(static_cast<size_t>(M * N)),
      y(static_cast<size_t>(M * N), -7.0f);
  for (auto &x : s) x = u(rng) * 60;
  for (auto &x : ws) x = u(rng) * 0.05f;
  for (auto &x : gs) x = u(rng) * 0.05f;
  for (auto &x : bias) x = v(rng);
  for (auto &x : gbias) x = v(rng);
  for (auto &x : res) x = v(rng);
  const float *b = withBias ? bias.data() : nullptr, *gb = gated && withBias ? gbias.data() : nullptr;
  const float *r = withResidual ? res.data() : nullptr;
  const uint8_t *g = gated ? wg.data() : nullptr;
  int64_t items = k.items(q.data(), s.data(), w.data(), ws.data(), b, g, gs.data(), gb, r, y.data(), M, N, K, sRow,
                          group, act, mul);
  for (int64_t i = 0; i < items; i += 3)  // three items per call
    k.run(q.data(), s.data(), w.data(), ws.data(), b, g, gs.data(), gb, r, y.data(), M, N, K, sRow, group, act, mul,
          i, i + 3 < items ? i + 3 : items);
  int64_t bad = 0, first = -1;
  float got = 0, want = 0;
  for (int64_t m = 0; m < M; ++m)
    for (int64_t n = 0; n < N; ++n) {
      auto dot = [&](const std::vector<int8_t> &tt, const std::vector<float> &sc) {
        double d = 0;
        for (int64_t g0 = 0; g0 < K; g0 += group) {
          int64_t sum = 0;
          for (int64_t kk = g0; kk < g0 + group; ++kk) sum += int64_t(q[m * K + kk]) * tt[n * K + kk];
          d += double(sum) * double(sc[n * sRow + g0 / group]);
        }
        return d;
      };
      double dw = dot(t, ws), dg = gated ? dot(tg, gs) : 0.0;
      float ref = tk::bitLinearEpilogue(dw, dg, gated, double(s[m]), mul, b, gb, r, act, m, n, N);
      float out = y[m * N + n];
      bool ok = std::memcmp(&out, &ref, sizeof out) == 0;
      if (!ok) {
        if (first < 0) first = m * N + n, got = out, want = ref;
        ++bad;
      }
    }
  char msg[320];
  std::snprintf(msg, sizeof msg,
                "%s BitLinear M=%lld N=%lld K=%lld group=%lld act=%lld mul=%lld bias=%d gate=%d residual=%d "
                "perRow=%d: %lld wrong (first at %lld: %.9g, want %.9g)",
                k.name, (long long)M, (long long)N, (long long)K, (long long)group, (long long)act, (long long)mul,
                withBias, gated, withResidual, perRow, (long long)bad, (long long)first, got, want);
  check(bad == 0, msg);
}

void testKernel(const Kernel &k) {
  // Exact integer products: odd shapes, M = 1, 7, 128, K within and past the blocks.
  const int64_t shapes[][2] = {{1, 1}, {3, 5}, {17, 33}, {31, 100}, {16, 64}, {40, 255}, {64, 256}, {9, 1000}};
  for (int64_t M : {1, 7, 128})
    for (auto &nk : shapes) {
      int64_t N = nk[0], K = nk[1];
      testDot(k, M, N, K, randomQ(M, K), randomTern(N, K), "random");
    }
  // Extremes: every product at its largest magnitude, K long enough for a too-narrow accumulator to wrap.
  for (int64_t K : {64, 4096, 65536 + 3}) {
    int64_t M = 2, N = 20;
    std::vector<int8_t> q(size_t(M * K), 127), t(size_t(N * K), 1);
    testDot(k, M, N, K, q, t, "all 127 x all +1");
    std::fill(q.begin(), q.end(), int8_t(-128));
    std::fill(t.begin(), t.end(), int8_t(-1));
    testDot(k, M, N, K, q, t, "all -128 x all -1");
  }
  // BitLinear, per tensor and per row: bit for bit.
  for (int64_t act = 0; act <= 4; ++act)
    for (int variant = 0; variant < 4; ++variant) {
      bool perRow = variant & 1, gated = variant & 2;
      testBitLinear(k, act == 0 ? 7 : 3, 37, 130, 130, act, variant == 3 ? 1 : 0, variant != 1, gated, act % 2 == 0,
                    perRow);
    }
  testBitLinear(k, 1, 64, 512, 512, 3, 0, false, true, true, true);
  testBitLinear(k, 128, 33, 96, 96, 0, 1, true, false, false, false);
  // Per group (multiples of 32).
  testBitLinear(k, 5, 21, 256, 32, 0, 0, true, false, false, false);
  testBitLinear(k, 3, 18, 384, 96, 3, 1, true, true, true, false);
  testBitLinear(k, 1, 16, 1024, 128, 0, 0, false, false, false, false);
}

} // namespace

int main(int argc, char **argv) {
  std::string which = argc > 1 ? argv[1] : "";
  const Kernel kernels[] = {
      {"sdot", tk_neon::sdotBytes, tk_neon::packSdot, tk_neon::unpackSdot, tk_bitlinear_neon2b16_sdot_items,
       tk_bitlinear_neon2b16_sdot, tk_ternary_dot_neon2b16_sdot_items, tk_ternary_dot_neon2b16_sdot},
      {"tbl", tk_neon::lutBytes, tk_neon::packLut, tk_neon::unpackLut, tk_bitlinear_neonlut16_tbl_items,
       tk_bitlinear_neonlut16_tbl, tk_ternary_dot_neonlut16_tbl_items, tk_ternary_dot_neonlut16_tbl},
  };
  bool ran = false;
  for (const Kernel &k : kernels)
    if (which == k.name) {
      testKernel(k);
      ran = true;
    }
  if (!ran) {
    std::printf("usage: %s sdot|tbl\n", argv[0]);
    return 2;
  }
  std::printf("%s: %s\n", which.c_str(), failures ? "FAILED" : "all kernel checks passed");
  return failures ? 1 : 0;
}
