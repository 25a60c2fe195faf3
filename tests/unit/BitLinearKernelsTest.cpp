// BitLinearKernelsTest: the x86 ternary kernels (targets/x86-avx2/kernels/BitLinear.h), compiled natively.
// The integer dot products must equal an int64 reference exactly for every packing and instruction set, over
// odd and large shapes and at the accumulator limits; the fused epilogue (scales per tensor, row and group,
// bias, activations, gate, residual) must match ternc's interpreter on the BitLinear op. Instruction sets
// this CPU lacks are skipped (and say so).
#if defined(__x86_64__)
#include "targets/x86-avx2/kernels/BitLinear.h"

#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/Interpreter.h"
#include "ir/Tensor.h"
#include "ir/TernaryPacking.h"

#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <functional>
#include <random>

using namespace ternc;

namespace {

using DotFn = void (*)(const int8_t *, const uint8_t *, int32_t *, int64_t, int64_t, int64_t, int64_t, int64_t);
using DotItemsFn = int64_t (*)(const int8_t *, const uint8_t *, int32_t *, int64_t, int64_t, int64_t);
using BitLinearFn = void (*)(TK_BITLINEAR_ARGS, int64_t, int64_t);
using BitLinearItemsFn = int64_t (*)(TK_BITLINEAR_ARGS);

struct Variant {
  const char *name;
  const char *layout;
  bool (*supported)();
  DotFn dot;
  DotItemsFn dotItems;
  BitLinearFn bitlinear;
  BitLinearItemsFn bitlinearItems;
};

bool hasAvx2() { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
bool hasVnni() {
  return hasAvx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vnni");
}

bool hasVnniGfni() { return hasVnni() && __builtin_cpu_supports("gfni"); }

const Variant kVariants[] = {
    {"avx2", "tern2b32", hasAvx2, tk_ternary_dot_tern2b32_avx2, tk_ternary_dot_tern2b32_avx2_items,
     tk_bitlinear_tern2b32_avx2, tk_bitlinear_tern2b32_avx2_items},
    {"vnni256", "tern2b32", hasVnni, tk_ternary_dot_tern2b32_vnni256, tk_ternary_dot_tern2b32_vnni256_items,
     tk_bitlinear_tern2b32_vnni256, tk_bitlinear_tern2b32_vnni256_items},
    {"vnni512", "tern2b64", hasVnniGfni, tk_ternary_dot_tern2b64_vnni512, tk_ternary_dot_tern2b64_vnni512_items,
     tk_bitlinear_tern2b64_vnni512, tk_bitlinear_tern2b64_vnni512_items},
};

std::vector<int8_t> randomTernary(int64_t n, int64_t k, std::mt19937 &rng) {
  std::vector<int8_t> t(static_cast<size_t>(n * k));
  std::uniform_int_distribution<int> d(-1, 1);
  for (auto &v : t) v = int8_t(d(rng));
  return t;
}

std::vector<int8_t> randomInt8(int64_t n, std::mt19937 &rng) {
  std::vector<int8_t> q(static_cast<size_t>(n));
  std::uniform_int_distribution<int> d(-128, 127);
  for (auto &v : q) v = int8_t(d(rng));
  return q;
}

/// Runs items [0, items) in three uneven tasks, as a thread pool would split them.
void runSplit(int64_t items, const std::function<void(int64_t, int64_t)> &f) {
  int64_t a = items / 3, b = items - items / 4;
  f(0, a);
  f(a, b);
  f(b, items);
}

class BitLinearKernels : public ::testing::TestWithParam<Variant> {
protected:
  void SetUp() override {
    if (!GetParam().supported()) GTEST_SKIP() << "this CPU lacks " << GetParam().name;
  }
  const TernaryLayout &layout() const { return *findTernaryLayout(GetParam().layout); }

  /// The kernel's integer dots against the int64 reference, exactly.
  void checkDots(const std::vector<int8_t> &q, const std::vector<int8_t> &t, int64_t m, int64_t n, int64_t k) {
    std::vector<uint8_t> packed = layout().pack(t.data(), n, k);
    std::vector<int32_t> out(size_t(m * n), int32_t(0x7eadbeef));
    const Variant &v = GetParam();
    int64_t items = v.dotItems(q.data(), packed.data(), out.data(), m, n, k);
    runSplit(items, [&](int64_t b, int64_t e) { v.dot(q.data(), packed.data(), out.data(), m, n, k, b, e); });
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int64_t want = 0;
        for (int64_t kk = 0; kk < k; ++kk) want += int64_t(q[size_t(i * k + kk)]) * t[size_t(j * k + kk)];
        ASSERT_EQ(out[size_t(i * n + j)], want) << v.name << " M=" << m << " N=" << n << " K=" << k << " at (" << i
                                                << ", " << j << ")";
      }
  }
};

TEST_P(BitLinearKernels, IntegerDotsAreExactOverOddAndLargeShapes) {
  std::mt19937 rng(11);
  for (int64_t k : {96, 2560, 6912, 1, 33, 200})
    for (int64_t n : {1, 3, 2560, 6912})
      for (int64_t m : {1, 7, 128}) {
        // Keep the run short: the large N only with few rows, the large M only with small N.
        if (m * n * k > int64_t(128) * 2560 * 2560 / 4 || (m == 128 && n > 3 && k > 96)) continue;
        checkDots(randomInt8(m * k, rng), randomTernary(n, k, rng), m, n, k);
      }
}

TEST_P(BitLinearKernels, AccumulatorsDoNotOverflowAtTheExtremes) {
  // K = 32768 with every activation at +127 (or -128) and every weight +1 (or -1): |sum| = 4161536 / 4194304.
  for (int64_t k : {32768, 32768 + 96}) {
    for (int qv : {127, -128})
      for (int tv : {1, -1}) {
        std::vector<int8_t> q(size_t(3 * k), int8_t(qv)), t(size_t(5 * k), int8_t(tv));
        checkDots(q, t, 3, 5, k);
      }
  }
}

Tensor fromVector(DType dt, std::vector<int64_t> shape, const void *data) {
  Tensor t(dt, shape);
  std::memcpy(t.mutableRawData(), data, t.byteSize());
  return t;
}

struct EpilogueCase {
  TernScale granularity;
  std::string act;
  bool bias, gate, residual, mul;
};

TEST_P(BitLinearKernels, FusedEpilogueMatchesTheInterpreter) {
  const Variant &v = GetParam();
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(0.5f, 2.0f), sym(-1.0f, 1.0f);
  // m: decode (one row, split accumulators), and prefill tiles of 8, 4, 2 and 1 rows; n: a partial panel.
  const int64_t n = 37, k = 384;
  std::vector<EpilogueCase> cases = {
      {{TernScale::Tensor, 0}, "none", false, false, false, false},
      {{TernScale::Row, 0}, "relu", true, false, true, false},
      {{TernScale::Tensor, 0}, "relu2", true, false, false, true},
      {{TernScale::Group, 32}, "none", false, false, false, false},
      {{TernScale::Group, 64}, "silu", true, true, true, false},
      {{TernScale::Group, 128}, "gelu", false, false, true, false},
      {{TernScale::Group, 96}, "relu2", false, true, false, false},
      {{TernScale::Row, 0}, "silu", true, true, true, true},
  };
  const char *acts[] = {"none", "relu", "relu2", "silu", "gelu"};
  for (int64_t m : {1, 5, 19}) {
    for (const EpilogueCase &c : cases) {
      SCOPED_TRACE("M " + std::to_string(m) + " " + c.act + " group " + std::to_string(c.granularity.group) + " kind " +
                   std::to_string(int(c.granularity.kind)));
      int64_t g = c.granularity.kind == TernScale::Group ? c.granularity.group : k;
      int64_t sRow = c.granularity.kind == TernScale::Tensor ? 0 : c.granularity.kind == TernScale::Row ? 1 : k / g;
      int64_t scales = c.granularity.kind == TernScale::Tensor ? 1 : n * sRow;
      std::vector<int8_t> q = randomInt8(m * k, rng), t = randomTernary(n, k, rng), tg = randomTernary(n, k, rng);
      std::vector<float> s(static_cast<size_t>(m)), ws(static_cast<size_t>(scales)), gs(static_cast<size_t>(scales)),
          bias(static_cast<size_t>(n)), gbias(static_cast<size_t>(n)), res(static_cast<size_t>(m * n));
      for (auto &x : s) x = u(rng) * 30;
      for (auto &x : ws) x = u(rng) * 0.01f;
      for (auto &x : gs) x = u(rng) * 0.01f;
      // Grouped scales of three kinds, for the tiled layouts below: binary16 values (GGUF's TQ2_0 block scales;
      // groups of 64), binary16 values times an f32 constant folded in (MiniCPM's residual scale in o_proj and
      // down_proj; groups of 128), both tiled as binary16 with a factor; the rest random f32, tiled as f32.
      bool halfScales = c.granularity.kind == TernScale::Group && (c.granularity.group == 64 || c.granularity.group == 128);
      if (halfScales) {
        float folded = c.granularity.group == 128 ? 1.4f / std::sqrt(32.0f) : 1.0f;
        for (auto &x : ws) x = float(double(halfToFloat(floatToHalf(x * 64))) * double(folded));
        for (auto &x : gs) x = float(double(halfToFloat(floatToHalf(x * 64))) * double(folded));
      }
      for (auto &x : bias) x = sym(rng);
      for (auto &x : gbias) x = sym(rng);
      for (auto &x : res) x = sym(rng);

      // The interpreter on a one-op module.
      Module mod("m");
      Graph *gr = mod.addGraph("main");
      Type wt = Type::tern(c.granularity, {Dim(n), Dim(k)});
      std::vector<int64_t> sshape = c.granularity.kind == TernScale::Tensor ? std::vector<int64_t>{1}
                                    : c.granularity.kind == TernScale::Row  ? std::vector<int64_t>{n}
                                                                            : std::vector<int64_t>{n, k / g};
      Value *qv = gr->addArgument("q", Type(DType::I8, {Dim(m), Dim(k)}));
      Value *sv = gr->addArgument("s", Type(DType::F32, {Dim(m), Dim(1)}));
      Value *wv = mod.addConstant("w", fromVector(DType::Tern, {n, k}, t.data()), wt);
      Value *wsv = mod.addConstant("ws", fromVector(DType::F32, sshape, ws.data()));
      std::vector<Value *> operands = {qv, sv, wv, wsv, c.bias ? mod.addConstant("b", fromVector(DType::F32, {n}, bias.data())) : nullptr};
      if (c.gate) {
        operands.push_back(mod.addConstant("g", fromVector(DType::Tern, {n, k}, tg.data()), wt));
        operands.push_back(mod.addConstant("gs", fromVector(DType::F32, sshape, gs.data())));
        operands.push_back(mod.addConstant("gb", fromVector(DType::F32, {n}, gbias.data())));
      } else {
        operands.insert(operands.end(), {nullptr, nullptr, nullptr});
      }
      if (c.residual) operands.push_back(gr->addArgument("r", Type(DType::F32, {Dim(m), Dim(n)})));
      while (!operands.empty() && !operands.back()) operands.pop_back();
      Attrs a;
      a.set("act", c.act);
      a.set("dequant", std::string(c.mul ? "mul" : "div"));
      gr->addOutput("y", gr->buildOp("BitLinear", operands, a, {"y"})->result());
      std::vector<Tensor> inputs = {fromVector(DType::I8, {m, k}, q.data()), fromVector(DType::F32, {m, 1}, s.data())};
      if (c.residual) inputs.push_back(fromVector(DType::F32, {m, n}, res.data()));
      Tensor want = interpret(*gr, inputs).at(0);

      const TernaryLayout &l = layout();
      std::vector<uint8_t> pw = l.pack(t.data(), n, k), pg = l.pack(tg.data(), n, k);
      int64_t act = std::find(std::begin(acts), std::end(acts), c.act) - std::begin(acts);
      std::vector<float> y(size_t(m * n), NAN);
      auto call = [&](int64_t b, int64_t e) {
        v.bitlinear(q.data(), s.data(), pw.data(), ws.data(), c.bias ? bias.data() : nullptr, c.gate ? pg.data() : nullptr,
                    c.gate ? gs.data() : nullptr, c.gate ? gbias.data() : nullptr, c.residual ? res.data() : nullptr,
                    y.data(), m, n, k, sRow, g, act, c.mul, b, e);
      };
      int64_t items = v.bitlinearItems(q.data(), s.data(), pw.data(), ws.data(), nullptr, nullptr, nullptr, nullptr,
                                       nullptr, y.data(), m, n, k, sRow, g, act, c.mul);
      runSplit(items, call);
      if (c.granularity.kind == TernScale::Group) {
        // The same call with the scales tiled as the x86 legalization stores them (ir/TernaryPacking.h, sRow
        // TK_SCALES_TILED16_*): bit-identical results.
        ASSERT_EQ(halfScales, halfFactor(ws.data(), int64_t(ws.size())).has_value() &&
                                  halfFactor(gs.data(), int64_t(gs.size())).has_value());
        const ScaleTiling &tiling = *findScaleTiling(halfScales ? "scales16h" : "scales16");
        std::vector<uint8_t> tw = tiling.tile(ws.data(), n, k / g), tg = tiling.tile(gs.data(), n, k / g);
        int64_t code = halfScales ? TK_SCALES_TILED16_F16 : TK_SCALES_TILED16_F32;
        std::vector<float> yt(size_t(m * n), NAN);
        runSplit(items, [&](int64_t b, int64_t e) {
          v.bitlinear(q.data(), s.data(), pw.data(), reinterpret_cast<const float *>(tw.data()),
                      c.bias ? bias.data() : nullptr, c.gate ? pg.data() : nullptr,
                      c.gate ? reinterpret_cast<const float *>(tg.data()) : nullptr, c.gate ? gbias.data() : nullptr,
                      c.residual ? res.data() : nullptr, yt.data(), m, n, k, code, g, act, c.mul, b, e);
        });
        ASSERT_EQ(std::memcmp(yt.data(), y.data(), y.size() * sizeof(float)), 0) << v.name << " tiled " << tiling.name;
      }
      double maxAbs = 0;
      for (int64_t i = 0; i < m * n; ++i) maxAbs = std::max(maxAbs, std::fabs(double(want.data<float>()[i])));
      // Every granularity is exact (per-group sums in double, BitLinearCore.inc); SiLU and GELU use the kernels' own
      // exp, not the interpreter's.
      bool exact = c.act == "none" || c.act == "relu" || c.act == "relu2";
      for (int64_t i = 0; i < m * n; ++i) {
        float w = want.data<float>()[i];
        if (exact)
          ASSERT_EQ(y[size_t(i)], w) << v.name << " element " << i;
        else
          ASSERT_NEAR(y[size_t(i)], w, 2e-6 * maxAbs + 1e-7) << v.name << " element " << i;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(X86, BitLinearKernels, ::testing::ValuesIn(kVariants),
                         [](const ::testing::TestParamInfo<Variant> &info) { return std::string(info.param.name); });

TEST(TernaryPacking, PacksAndUnpacksEveryLayout) {
  std::mt19937 rng(3);
  for (const TernaryLayout &l : ternaryLayouts())
    for (int64_t k : {1, 96, 129, 256, 1000}) {
      std::vector<int8_t> t = randomTernary(3, k, rng), back(t.size());
      std::vector<uint8_t> p = l.pack(t.data(), 3, k);
      ASSERT_EQ(int64_t(p.size()), l.bytes(3, k));
      ASSERT_TRUE(l.unpack(p.data(), 3, k, back.data()));
      EXPECT_EQ(back, t) << l.name << " K=" << k;
    }
  // Tiled scales: round trip with N not a multiple of 16, f32 and binary16; sizes and padding checked.
  for (const char *name : {"scales16", "scales16h"}) {
    const ScaleTiling &tiling = *findScaleTiling(name);
    const int64_t n = 37, groups = 3;
    std::vector<float> sc(size_t(n * groups)), back(sc.size());
    for (size_t i = 0; i < sc.size(); ++i) sc[i] = float(i + 1) * 0.125f;  // exact in binary16
    std::vector<uint8_t> t = tiling.tile(sc.data(), n, groups);
    ASSERT_EQ(int64_t(t.size()), tiling.bytes(n, groups));
    EXPECT_EQ(int64_t(t.size()), (tiling.half ? 64 : 0) + 48 * groups * (tiling.half ? 2 : 4));
    EXPECT_EQ(tiling.untile(t.data(), t.size(), n, groups, back.data()), "");
    EXPECT_EQ(back, sc) << name;
    // Row 17, group 2 sits in item 1 at (1 * 3 + 2) * 16 + 1 (after the binary16 layout's header, factor 1).
    float v17;
    if (tiling.half) {
      float c;
      std::memcpy(&c, t.data(), 4);
      EXPECT_EQ(c, 1.0f);
      v17 = halfToFloat(uint16_t(t[64 + (5 * 16 + 1) * 2] | t[64 + (5 * 16 + 1) * 2 + 1] << 8));
    } else {
      std::memcpy(&v17, t.data() + (5 * 16 + 1) * 4, 4);
    }
    EXPECT_EQ(v17, sc[17 * groups + 2]) << name;
    EXPECT_NE(tiling.untile(t.data(), t.size() - 1, n, groups, back.data()), "");
    if (tiling.half) {
      std::vector<uint8_t> bad = t;
      bad[9] = 1;  // the header is the factor and zeros
      EXPECT_NE(tiling.untile(bad.data(), bad.size(), n, groups, back.data()).find("header byte 9"), std::string::npos);
    }
    t.back() = 0x3c;  // a padding row's scale that is not zero
    EXPECT_NE(tiling.untile(t.data(), t.size(), n, groups, back.data()).find("padding row 47"), std::string::npos);
  }
  EXPECT_EQ(findScaleTiling("tern2b64"), nullptr);
  // Factors: 1 for binary16 values; the folded constant (up to a power of two) for binary16 values times an f32;
  // none for scales with unrelated significands.
  float exact[] = {0.5f, 0.375f, 0.0f};
  EXPECT_EQ(halfFactor(exact, 3), 1.0f);
  const float residual = 1.4f / std::sqrt(32.0f);
  std::vector<float> folded;
  for (float h : {0.0137f, 0.0251f, 0.0042f, 0.0190f, 0.0311f})
    folded.push_back(float(double(halfToFloat(floatToHalf(h))) * double(residual)));
  std::optional<float> c = halfFactor(folded.data(), int64_t(folded.size()));
  ASSERT_TRUE(c.has_value());
  for (float f : folded) EXPECT_EQ(float(double(halfToFloat(floatToHalf(float(double(f) / double(*c))))) * double(*c)), f);
  std::vector<float> back(folded.size());
  std::vector<uint8_t> t = findScaleTiling("scales16h")->tile(folded.data(), int64_t(folded.size()), 1);
  EXPECT_EQ(findScaleTiling("scales16h")->untile(t.data(), t.size(), int64_t(folded.size()), 1, back.data()), "");
  EXPECT_EQ(back, folded);
  float unrelated[] = {0.5f, 0.1234567f, 0.7654321f, 0.3141593f};
  EXPECT_FALSE(halfFactor(unrelated, 4).has_value());
  EXPECT_THROW(findScaleTiling("scales16h")->tile(unrelated, 4, 1), Error);

  // A code of 3 is not a ternary value.
  std::vector<uint8_t> bad(size_t(findTernaryLayout("tern2b32")->bytes(1, 4)), 0xff);
  std::vector<int8_t> out(4);
  EXPECT_FALSE(findTernaryLayout("tern2b32")->unpack(bad.data(), 1, 4, out.data()));
}

} // namespace
#endif
