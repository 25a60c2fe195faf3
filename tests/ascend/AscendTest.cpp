// AscendTest: the ascend-910b target's cost model (every chosen tiling respects ASCEND.md's capacities and
// alignments, checked here independently), its validation (bad tilings are rejected naming the capacity), the
// storage packings and the packed-weight layout (round trips, the interpreter's registered layout), and the
// functional simulator kernel (compiled natively here) against the x86 AVX2 kernel: bit for bit with per-tensor
// and per-row scales, within a tolerance with per-group scales (docs/ascend.md says why).
#include "targets/BitLinearKernel.h"
#include "targets/Target.h"
#include "targets/ascend-910b/AscendTiling.h"

#include "ir/Error.h"
#include "ir/TernaryPacking.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>

extern "C" {
int64_t tk_bitlinear_ascend910b_items(TK_BITLINEAR_ARGS);
void tk_bitlinear_ascend910b(TK_BITLINEAR_ARGS, int64_t begin, int64_t end);
int64_t tk_bitlinear_tern2b32_avx2_items(TK_BITLINEAR_ARGS);
void tk_bitlinear_tern2b32_avx2(TK_BITLINEAR_ARGS, int64_t begin, int64_t end);
}

namespace {

using namespace ternc;
using namespace ternc::ascend;

bool cpuHasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }

/// The capacities and alignments of ASCEND.md, checked without the target's code.
void expectFits(const AscendMatmulTiling &t, const std::string &what) {
  SCOPED_TRACE(what);
  bool msd = t.storage == kStorageInt4Msd;
  int c0 = msd ? 64 : 32;
  EXPECT_EQ(t.baseM % 16, 0);
  EXPECT_EQ(t.baseN % 16, 0);
  EXPECT_EQ(t.baseK % c0, 0);
  EXPECT_LE(std::max({t.baseM, t.baseN, t.baseK}), 4095);
  EXPECT_LE(int64_t(t.baseM) * t.baseK * t.dbL0A, 64 << 10) << "L0A";
  EXPECT_LE(int64_t(t.baseK) * t.baseN * t.dbL0B / (msd ? 2 : 1), 64 << 10) << "L0B";
  EXPECT_LE(int64_t(t.baseM) * t.baseN * 4 * t.dbL0C * (msd ? 2 : 1), 128 << 10) << "L0C";
  EXPECT_EQ(int64_t(t.baseM) * t.baseN * 4 % 1024, 0) << "Mmad destination alignment";
  int64_t l1 = int64_t(t.depthA1) * t.baseM * t.baseK + int64_t(t.depthB1) * t.baseK * t.baseN / (msd ? 2 : 1);
  EXPECT_LE(l1, 512 << 10) << "L1";
  EXPECT_GE(t.blockDim, 1);
  EXPECT_LE(t.blockDim, 24);
  EXPECT_EQ(t.blockDim, t.splitM * t.splitN);
  EXPECT_GE(int64_t(t.splitN) * t.singleCoreN, t.n);
  EXPECT_GE(int64_t(t.splitM) * t.singleCoreM, t.m);
  EXPECT_EQ(t.k % t.kGroup, 0);
  if (t.storage == kStoragePacked2bRing) {
    EXPECT_GE(t.ringSlots, 2);
    EXPECT_GE(t.ringSlotBytes, int64_t(t.baseK) * t.stepKb * t.baseN);
  }
  EXPECT_NO_THROW(validateTiling(t));
}

struct Shape {
  const char *name;
  int64_t n, k, group;
  bool gated;
};

/// BitNet b1.58 2B4T, BitCPM-CANN 1B (assumed dims, bench/h2h/make_gguf.py) and 8B, and odd ones.
const Shape kShapes[] = {
    {"2b4t q/o", 2560, 2560, 0, false},
    {"2b4t k/v", 640, 2560, 0, false},
    {"2b4t gate+up", 6912, 2560, 0, true},
    {"2b4t down", 2560, 6912, 0, false},
    {"1b q/o", 1536, 1536, 256, false},
    {"1b k/v", 128, 1536, 256, false},
    {"1b gate+up", 4096, 1536, 256, true},
    {"1b down", 1536, 4096, 256, false},
    {"8b q/o", 4096, 4096, 0, false},
    {"8b k/v", 256, 4096, 0, false},
    {"8b gate+up", 16384, 4096, 0, true},
    {"8b down", 4096, 16384, 0, false},
    {"8b down g128", 4096, 16384, 128, false},
    {"1x1", 1, 1, 0, false},
    {"17x33", 17, 33, 0, true},
    {"1000x999", 1000, 999, 0, false},
    {"3x4096 g32", 3, 4096, 32, false},
    {"24x64 g64", 24, 64, 64, true},
    {"5000x5", 5000, 5, 0, false},
    {"16x8192 g2048", 16, 8192, 2048, true},
};

TEST(AscendTiling, EveryChosenTilingFits) {
  for (const Shape &s : kShapes)
    for (int64_t m : {int64_t(1), int64_t(7), int64_t(128), int64_t(300), int64_t(2048)}) {
      MatmulShape shape{m, s.n, s.k, s.group ? s.group : s.k, s.gated};
      for (AscendPhase phase : {kPhaseDecode, kPhasePrefill}) {
        std::string what = std::string(s.name) + " m=" + std::to_string(m) + (phase ? " prefill" : " decode");
        AscendMatmulTiling t = chooseTiling(shape, phase);
        expectFits(t, what);
        EXPECT_EQ(t.m, phase == kPhaseDecode ? 1 : m) << what;
        for (int st : {0, 1, 2})
          if (storageUnsupported(shape, st).empty())
            expectFits(bestTilingFor(shape, phase, st), what + " storage " + std::to_string(st));
        // The schedule stays valid when run with more or fewer rows than planned.
        for (int64_t rows : {int64_t(1), int64_t(33), int64_t(512)}) {
          CycleEstimate e = estimateCycles(t, rows);
          EXPECT_GT(e.totalCycles, 0) << what;
        }
      }
    }
}

TEST(AscendTiling, DecodeIsBandwidthBoundAndPrefersFewerBytes) {
  // 8B FFN down projection at decode: HBM-bound, so the cost model picks a storage with fewer bytes than int8,
  // and spreads it over every AIC.
  MatmulShape down{128, 4096, 16384, 16384, false};
  AscendMatmulTiling d = chooseTiling(down, kPhaseDecode);
  CycleEstimate e = estimateCycles(d, 1);
  EXPECT_NE(d.storage, kStorageInt8Nz) << explainTiling(d);
  EXPECT_LT(e.cubeCycles * 4, e.totalCycles) << explainTiling(d);
  EXPECT_EQ(d.blockDim, 24);
  EXPECT_LE(e.mte2Bytes, 16384.0 * 4096 / 24 / 2 * 1.1) << "at most int4's bytes per core";
  // Prefill of 2048 rows moves towards the cube bound: the cube's share of the time grows several times
  // over.
  MatmulShape big{2048, 4096, 16384, 16384, false};
  AscendMatmulTiling p = chooseTiling(big, kPhasePrefill);
  CycleEstimate pe = estimateCycles(p, 2048);
  EXPECT_GT(pe.cubeCycles / pe.totalCycles, 3 * e.cubeCycles / e.totalCycles) << explainTiling(p);
  EXPECT_GT(pe.cubeCycles / pe.totalCycles, 0.5) << explainTiling(p);
  EXPECT_NE(explainTiling(p).find("cycle model"), std::string::npos);
}

TEST(AscendTiling, RejectsBadTilingsNamingTheCapacity) {
  AscendMatmulTiling good = bestTilingFor({128, 2560, 2560, 2560, false}, kPhasePrefill, kStorageInt8Nz);
  auto message = [](const AscendMatmulTiling &t) -> std::string {
    try {
      validateTiling(t);
    } catch (const Error &e) {
      return e.what();
    }
    return "accepted";
  };
  ASSERT_EQ(message(good), "accepted");
  AscendMatmulTiling t = good;
  t.baseM = 16, t.baseK = 512, t.baseN = 256, t.dbL0B = 2;
  EXPECT_NE(message(t).find("L0B capacity"), std::string::npos) << message(t);
  t = good;
  t.baseM = 256, t.baseN = 256, t.dbL0C = 2, t.baseK = 32, t.dbL0A = 1;
  EXPECT_NE(message(t).find("L0C capacity"), std::string::npos) << message(t);
  t = good;
  t.baseM = 128, t.baseK = 512, t.dbL0A = 2;
  EXPECT_NE(message(t).find("L0A capacity"), std::string::npos) << message(t);
  t = good;
  t.baseM = 64, t.baseN = 64, t.baseK = 256, t.dbL0A = t.dbL0B = t.dbL0C = 1, t.stepKa = t.stepKb = 16;
  t.depthA1 = t.depthB1 = 32;
  EXPECT_NE(message(t).find("L1 capacity"), std::string::npos) << message(t);
  t = good;
  t.baseK = 48;
  EXPECT_NE(message(t).find("baseK alignment"), std::string::npos) << message(t);
  t = good;
  t.baseN = 40;
  EXPECT_NE(message(t).find("baseN alignment"), std::string::npos) << message(t);
  t = good;
  t.blockDim = 48, t.splitM = 2, t.splitN = 24;
  EXPECT_NE(message(t).find("core split"), std::string::npos) << message(t);
  AscendMatmulTiling r = bestTilingFor({1, 2560, 2560, 2560, false}, kPhaseDecode, kStoragePacked2bRing);
  ASSERT_EQ(message(r), "accepted");
  r.ringSlotBytes = 32;
  EXPECT_NE(message(r).find("ring slot"), std::string::npos) << message(r);
}

std::vector<int8_t> randomTernary(int64_t n, int64_t k, std::mt19937 &rng) {
  std::vector<int8_t> t(size_t(n * k));
  std::uniform_int_distribution<int> d(-1, 1);
  for (int8_t &v : t) v = int8_t(d(rng));
  return t;
}

TEST(AscendPacking, StoragesRoundTrip) {
  std::mt19937 rng(7);
  for (auto [n, k] : {std::pair<int64_t, int64_t>{1, 1}, {3, 31}, {17, 65}, {40, 200}, {16, 128}}) {
    std::vector<int8_t> t = randomTernary(n, k, rng);
    for (int s : {0, 1, 2}) {
      std::vector<uint8_t> p(size_t(storageBytes(s, n, k)));
      packStorage(s, t.data(), n, k, p.data());
      std::vector<int8_t> back(t.size());
      ASSERT_TRUE(unpackStorage(s, p.data(), n, k, back.data())) << s;
      EXPECT_EQ(back, t) << "storage " << s << " n=" << n << " k=" << k;
    }
  }
  // Byte positions of the NZ layouts (AscendSchedule.h).
  std::vector<int8_t> t(size_t(20 * 70), 0);
  t[17 * 70 + 40] = 1; // n = 17, k = 40: fractal row kb = 1 of Np = 32 rows
  std::vector<uint8_t> p8(size_t(storageBytes(kStorageInt8Nz, 20, 70)));
  packStorage(kStorageInt8Nz, t.data(), 20, 70, p8.data());
  EXPECT_EQ(p8[1 * 32 * 32 + 17 * 32 + 8], 1);
  std::vector<uint8_t> p4(size_t(storageBytes(kStorageInt4Msd, 20, 70)));
  packStorage(kStorageInt4Msd, t.data(), 20, 70, p4.data());
  EXPECT_EQ(p4[17 * 32 + 20], 0x01);                   // k = 40 even: low nibble of byte 20
  EXPECT_EQ(int8_t(p4[32 * 128 / 2 + 17 * 2 + 0]), 1); // the MSD correction of row 17, block 0
  std::vector<uint8_t> p2(size_t(storageBytes(kStoragePacked2bRing, 20, 70)));
  packStorage(kStoragePacked2bRing, t.data(), 20, 70, p2.data());
  int64_t at = 1 * 32 * 32 + 17 * 32 + 8;
  EXPECT_EQ((p2[at / 4] >> (2 * (at % 4))) & 3, 2);
  // A code 3 is not ternary.
  p2[0] = 0xff;
  std::vector<int8_t> back(t.size());
  EXPECT_FALSE(unpackStorage(kStoragePacked2bRing, p2.data(), 20, 70, back.data()));
}

TEST(AscendPacking, PackedWeightAndRegisteredLayout) {
  TargetRegistry::global(); // registers the target's passes and its layout
  const TernaryLayout *layout = findTernaryLayout("ascend910b");
  ASSERT_NE(layout, nullptr);
  std::mt19937 rng(11);
  int64_t n = 96, k = 320;
  std::vector<int8_t> t = randomTernary(n, k, rng);
  MatmulShape shape{128, n, k, 64, false};
  AscendMatmulTiling d = bestTilingFor(shape, kPhaseDecode, kStoragePacked2bRing);
  AscendMatmulTiling p = bestTilingFor(shape, kPhasePrefill, kStorageInt4Msd);
  std::vector<uint8_t> bytes = packWeight(t.data(), n, k, d, p);
  EXPECT_EQ(checkPackedWeight(bytes.data(), bytes.size(), n, k), "");
  EXPECT_EQ(layout->check(bytes.data(), bytes.size(), n, k), "");
  std::vector<int8_t> back(t.size());
  ASSERT_TRUE(layout->unpack(bytes.data(), bytes.size(), n, k, back.data()));
  EXPECT_EQ(back, t);
  AscendPackedWeight h = packedHeader(bytes.data());
  EXPECT_NE(h.decode.weightOffset, h.prefill.weightOffset); // both storages are stored
  EXPECT_EQ(h.decode.weightOffset % 512, 0);
  // The default packing, as the generic layout tests use it.
  std::vector<uint8_t> dflt = layout->pack(t.data(), n, k);
  EXPECT_EQ(int64_t(dflt.size()), layout->bytes(n, k));
  ASSERT_TRUE(layout->unpack(dflt.data(), n, k, back.data()));
  EXPECT_EQ(back, t);
  // Corruptions are reported, not read past.
  EXPECT_NE(checkPackedWeight(bytes.data(), 10, n, k).find("less than"), std::string::npos);
  EXPECT_NE(checkPackedWeight(bytes.data(), bytes.size() - 1, n, k), "");
  EXPECT_NE(checkPackedWeight(bytes.data(), bytes.size(), n + 1, k).find("header says"), std::string::npos);
  std::vector<uint8_t> bad = bytes;
  AscendPackedWeight hb = packedHeader(bad.data());
  hb.prefill.baseK = 4096;
  std::memcpy(bad.data(), &hb, sizeof hb);
  EXPECT_NE(checkPackedWeight(bad.data(), bad.size(), n, k).find("prefill tiling"), std::string::npos);
}

/// One BitLinear call's operands, run through the simulator and the AVX2 kernel.
struct Call {
  int64_t M, N, K, group;
  bool gated, bias, residual;
  int64_t act, mul;
  int storage; // -1: the cost model's choice
};

struct Outputs {
  std::vector<float> sim, x86;
};

Outputs runBoth(const Call &c, std::mt19937 &rng) {
  std::vector<int8_t> q(size_t(c.M * c.K));
  std::uniform_int_distribution<int> qd(-128, 127);
  for (int8_t &v : q) v = int8_t(qd(rng));
  std::uniform_real_distribution<float> fd(0.01f, 2.0f);
  std::vector<float> s(size_t(c.M));
  for (float &v : s) v = fd(rng);
  int64_t sRow = c.group < c.K ? c.K / c.group : 1;
  std::vector<float> ws(size_t(c.N * sRow)), gs(ws.size()), bias(size_t(c.N)), gb(size_t(c.N)), res(size_t(c.M * c.N));
  for (auto *v : {&ws, &gs, &bias, &gb, &res})
    for (float &x : *v) x = fd(rng) - 1.0f;
  std::vector<int8_t> w = randomTernary(c.N, c.K, rng), g = randomTernary(c.N, c.K, rng);
  MatmulShape shape{std::max<int64_t>(c.M, 2), c.N, c.K, c.group, c.gated};
  auto tiling = [&](AscendPhase ph) {
    return c.storage < 0 ? chooseTiling(shape, ph) : bestTilingFor(shape, ph, c.storage);
  };
  AscendMatmulTiling d = tiling(kPhaseDecode), p = tiling(kPhasePrefill);
  std::vector<uint8_t> wa = packWeight(w.data(), c.N, c.K, d, p), ga = packWeight(g.data(), c.N, c.K, d, p);
  const TernaryLayout &l32 = *findTernaryLayout("tern2b32");
  std::vector<uint8_t> w32 = l32.pack(w.data(), c.N, c.K), g32 = l32.pack(g.data(), c.N, c.K);
  Outputs out;
  out.sim.assign(size_t(c.M * c.N), NAN);
  out.x86.assign(size_t(c.M * c.N), NAN);
  int64_t sr = c.group < c.K ? sRow : 1, grp = c.group;
#define ARGS(W, G, Y)                                                                                                  \
  q.data(), s.data(), W.data(), ws.data(), c.bias ? bias.data() : nullptr, c.gated ? G.data() : nullptr, gs.data(),    \
      c.bias ? gb.data() : nullptr, c.residual ? res.data() : nullptr, Y.data(), c.M, c.N, c.K, sr, grp, c.act, c.mul
  int64_t items = tk_bitlinear_ascend910b_items(ARGS(wa, ga, out.sim));
  tk_bitlinear_ascend910b(ARGS(wa, ga, out.sim), 0, items);
  int64_t xi = tk_bitlinear_tern2b32_avx2_items(ARGS(w32, g32, out.x86));
  tk_bitlinear_tern2b32_avx2(ARGS(w32, g32, out.x86), 0, xi);
#undef ARGS
  return out;
}

TEST(AscendSimulator, EqualsTheX86KernelBitForBit) {
  if (!cpuHasAvx2()) GTEST_SKIP() << "no AVX2 here for the reference kernel";
  std::mt19937 rng(5);
  // Per-tensor (group = K, sRow 0 handled as per-row here: each row's own scale) and per-row scales.
  const Call calls[] = {
      {1, 40, 70, 70, false, false, false, 0, 0, -1},    {1, 256, 512, 512, true, true, true, 3, 1, -1},
      {5, 100, 300, 300, false, true, false, 1, 0, 0},   {5, 100, 300, 300, true, false, true, 2, 1, 1},
      {5, 100, 300, 300, true, true, true, 4, 0, 2},     {130, 64, 128, 128, false, false, true, 3, 1, 0},
      {33, 48, 640, 640, true, true, false, 3, 0, 1},    {33, 48, 640, 640, true, true, false, 3, 0, 2},
      {1, 2560, 256, 256, false, false, false, 0, 1, 1}, {2, 17, 1, 1, false, true, true, 1, 0, 0},
  };
  for (const Call &c : calls) {
    Outputs o = runBoth(c, rng);
    SCOPED_TRACE("M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) +
                 " storage=" + std::to_string(c.storage));
    ASSERT_EQ(std::memcmp(o.sim.data(), o.x86.data(), o.sim.size() * sizeof(float)), 0)
        << "first: " << o.sim[0] << " vs " << o.x86[0];
  }
}

TEST(AscendSimulator, GroupedScalesBitForBit) {
  if (!cpuHasAvx2()) GTEST_SKIP() << "no AVX2 here for the reference kernel";
  std::mt19937 rng(9);
  const Call calls[] = {
      {1, 64, 256, 64, false, false, false, 0, 1, 1},
      {7, 80, 512, 128, true, true, true, 3, 1, 0},
      {3, 32, 384, 64, false, true, false, 0, 1, 2},
      {20, 48, 256, 32, true, false, false, 1, 0, 2},
  };
  for (const Call &c : calls) {
    Outputs o = runBoth(c, rng);
    for (size_t i = 0; i < o.sim.size(); ++i)  // both sum the scaled groups exactly, in double
      ASSERT_EQ(std::memcmp(&o.sim[i], &o.x86[i], sizeof(float)), 0)
          << "i=" << i << " " << o.sim[i] << " vs " << o.x86[i] << " storage " << c.storage;
  }
}

TEST(AscendSimulatorDeathTest, BadHeaderAbortsNamingIt) {
  std::vector<uint8_t> junk(4096, 0);
  std::vector<int8_t> q(64, 1);
  std::vector<float> s(1, 1.0f), ws(1, 1.0f), y(16);
  EXPECT_DEATH(tk_bitlinear_ascend910b_items(q.data(), s.data(), junk.data(), ws.data(), nullptr, nullptr, nullptr,
                                             nullptr, nullptr, y.data(), 1, 16, 64, 0, 64, 0, 0),
               "ascend-910b simulator: BitLinear weight violates the ascend910b packed-weight header");
}

} // namespace

namespace {

/// The simulator's own cycle counts (printed with TERNC_ASCEND_CYCLES=1) equal the cost model's estimate of the
/// same schedule: both come from one walker, with and without data.
TEST(AscendSimulator, CountsEqualTheCostModel) {
  std::mt19937 rng(13);
  for (int storage : {0, 1, 2})
    for (int64_t M : {int64_t(1), int64_t(37)}) {
      int64_t N = 200, K = 512;
      std::vector<int8_t> q(size_t(M * K), 3), w = randomTernary(N, K, rng);
      std::vector<float> s(size_t(M), 1.0f), ws(size_t(N), 0.5f), y(size_t(M * N));
      MatmulShape shape{64, N, K, K, false};
      AscendMatmulTiling d = bestTilingFor(shape, kPhaseDecode, storage),
                         p = bestTilingFor(shape, kPhasePrefill, storage);
      std::vector<uint8_t> wa = packWeight(w.data(), N, K, d, p);
      setenv("TERNC_ASCEND_CYCLES", "1", 1);
      testing::internal::CaptureStderr();
      int64_t items = tk_bitlinear_ascend910b_items(q.data(), s.data(), wa.data(), ws.data(), nullptr, nullptr, nullptr,
                                                    nullptr, nullptr, y.data(), M, N, K, 1, K, 0, 0);
      tk_bitlinear_ascend910b(q.data(), s.data(), wa.data(), ws.data(), nullptr, nullptr, nullptr, nullptr, nullptr,
                              y.data(), M, N, K, 1, K, 0, 0, 0, items);
      std::string err = testing::internal::GetCapturedStderr();
      unsetenv("TERNC_ASCEND_CYCLES");
      ASSERT_NE(err.find("ascend-910b simulator: model estimate, not a measurement"), std::string::npos) << err;
      size_t at = err.find("busiest core ");
      ASSERT_NE(at, std::string::npos) << err;
      double cycles = std::stod(err.substr(at + 13));
      CycleEstimate e = estimateCycles(M == 1 ? d : p, M);
      EXPECT_NEAR(cycles, std::floor(e.totalCycles), 1.0) << "storage " << storage << " M=" << M << ": " << err;
    }
}

} // namespace

namespace {

/// A schedule that overflows L0B, smuggled into a packed weight past ternc's checks: the simulator stops at the
/// first operation that violates it, naming the operation and the buffer.
TEST(AscendSimulatorDeathTest, OverflowingTilingAbortsNamingTheBuffer) {
  std::mt19937 rng(17);
  int64_t N = 256, K = 512;
  std::vector<int8_t> w = randomTernary(N, K, rng), q(size_t(K), 1);
  MatmulShape shape{64, N, K, K, false};
  AscendMatmulTiling d = bestTilingFor(shape, kPhaseDecode, kStorageInt8Nz);
  std::vector<uint8_t> wa = packWeight(w.data(), N, K, d, bestTilingFor(shape, kPhasePrefill, kStorageInt8Nz));
  AscendPackedWeight h = packedHeader(wa.data());
  h.decode.baseM = 16, h.decode.baseN = 256, h.decode.baseK = 512, h.decode.dbL0B = 2, h.decode.stepKa = 1;
  h.decode.stepKb = 1, h.decode.depthA1 = h.decode.depthB1 = 2, h.decode.splitM = 1, h.decode.splitN = 1;
  h.decode.blockDim = 1, h.decode.singleCoreN = 256;
  std::memcpy(wa.data(), &h, sizeof h);
  EXPECT_NE(checkPackedWeight(wa.data(), wa.size(), N, K).find("L0B capacity"), std::string::npos);
  std::vector<float> s(1, 1.0f), ws(1, 1.0f), y(static_cast<size_t>(N));
  EXPECT_DEATH(tk_bitlinear_ascend910b(q.data(), s.data(), wa.data(), ws.data(), nullptr, nullptr, nullptr, nullptr,
                                       nullptr, y.data(), 1, N, K, 0, K, 0, 0, 0, 1),
               "ascend-910b simulator: LoadData L1 -> L0B violates L0B \\(131072 against 65536\\)");
}

} // namespace
