// StateTest: the KV-cache state ops and the kv-cache pass on the interpreter. A decoder whose cache is
// inputs and outputs (the functional form an exporter writes) must compute exactly what its stateful form
// computes when prefill and decode run one after another on the module state, and the state must then hold
// what the functional form returned as `present`.
#include "ir/Interpreter.h"
#include "ir/Parser.h"
#include "ir/Verifier.h"
#include "passes/Pass.h"
#include "TensorTestUtil.h"

#include <gtest/gtest.h>

#include <random>
#include <sstream>

using namespace ternc;
using namespace ternc::testutil;

namespace {

// A toy attention step: scores of the new rows against the whole cache, and the cache's length as an
// output read from Shape(past) (which becomes a CacheRead).
const char *kDecoder = R"(module @toy {
  const @w : f32[4,4] = dense<[0.5, -1.0, 0.25, 2.0, 1.0, 0.5, -0.5, 0.0, 0.0, 1.5, 1.0, -1.0, 2.0, 0.0, 0.5, 1.0]>
  graph @main(%x: f32[batch,2,seq,4], %pk: f32[batch,2,past,4], %pv: f32[batch,2,past,4])
      -> (y: f32[batch,2,seq,4], "present.0.key": f32[batch,2,past+seq,4], "present.0.value": f32[batch,2,past+seq,4],
          plen: i64[4]) {
    %k = MatMul(%x, @w) : f32[batch,2,seq,4]
    %v = Neg(%x) : f32[batch,2,seq,4]
    %kk = Concat(%pk, %k) {axis = 2} : f32[batch,2,past+seq,4]
    %vv = Concat(%pv, %v) {axis = 2} : f32[batch,2,past+seq,4]
    %kt = Transpose(%kk) {perm = [0, 1, 3, 2]} : f32[batch,2,4,past+seq]
    %s = MatMul(%x, %kt) : f32[batch,2,seq,past+seq]
    %p = Softmax(%s) {axis = -1} : f32[batch,2,seq,past+seq]
    %y = MatMul(%p, %vv) : f32[batch,2,seq,4]
    %plen = Shape(%pk) : i64[4]
    return %y, %kk, %vv, %plen
  }
})";

Tensor randomTensor(std::vector<int64_t> shape, std::mt19937 &rng) {
  Tensor t(DType::F32, std::move(shape));
  std::uniform_real_distribution<float> d(-1, 1);
  for (int64_t i = 0; i < t.numElements(); ++i) t.setDouble(i, d(rng));
  return t;
}

void runPass(Module &m, const std::string &name) {
  PassOptions opts;
  opts.passes = {name};
  opts.verifyEach = true;
  std::ostringstream dump;
  PassManager(opts, dump).run(m);
}

void expectSame(const Tensor &a, const Tensor &b, double tol, const char *what) {
  ASSERT_EQ(a.shape(), b.shape()) << what;
  for (int64_t i = 0; i < a.numElements(); ++i)
    ASSERT_NEAR(a.getDouble(i), b.getDouble(i), tol) << what << " element " << i;
}

void checkAgainstFunctional(const std::string &pass, double tol) {
  auto functional = parseModule(kDecoder, "toy.tir");
  auto stateful = parseModule(kDecoder, "toy.tir");
  runPass(*stateful, pass);
  ASSERT_EQ(stateful->graphs().size(), 2u);
  const Graph &prefill = *stateful->findGraph("prefill"), &decode = *stateful->findGraph("decode");
  ModuleState state = ModuleState::allocate(*stateful, 16);

  std::mt19937 rng(7);
  Tensor pk(DType::F32, {1, 2, 0, 4}), pv(DType::F32, {1, 2, 0, 4});
  int64_t past = 0;
  for (int step = 0; step < 4; ++step) {
    int64_t seq = step == 0 ? 5 : 1;  // a prompt of 5, then three decode steps
    Tensor x = randomTensor({1, 2, seq, 4}, rng);
    std::vector<Tensor> want = interpret(*functional->graphs()[0], {x, pk, pv});
    std::vector<Tensor> got = interpret(step == 0 ? prefill : decode, {x}, &state);
    expectSame(got[0], want[0], tol, "y");
    EXPECT_EQ(got[1].toI64Vector(), (std::vector<int64_t>{1, 2, past, 4}));
    past += seq;
    EXPECT_EQ(state.length, past);
    pk = want[1];
    pv = want[2];
  }
  // The state holds the functional form's last `present`, converted to the state's dtype.
  const Tensor &key = state.buffers.at("present.0.key");
  ASSERT_EQ(key.shape(), (std::vector<int64_t>{1, 2, 16, 4}));
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t t = 0; t < past; ++t)
      for (int64_t d = 0; d < 4; ++d)
        ASSERT_NEAR(key.getDouble((h * 16 + t) * 4 + d), pk.getDouble((h * past + t) * 4 + d), tol);
}

TEST(State, KVCachePassKeepsWhatTheDecoderComputes) { checkAgainstFunctional("kv-cache", 0); }

TEST(State, F16CacheRoundsOnlyTheCachedValues) { checkAgainstFunctional("kv-cache-f16", 2e-3); }

TEST(State, ContextOverflowIsAnError) {
  auto m = parseModule(kDecoder, "toy.tir");
  runPass(*m, "kv-cache");
  ModuleState state = ModuleState::allocate(*m, 4);
  std::mt19937 rng(1);
  std::string err = errorOf([&] { interpret(*m->findGraph("prefill"), {randomTensor({1, 2, 5, 4}, rng)}, &state); });
  EXPECT_NE(err.find("holds 4 positions: 0 cached + 5 new do not fit"), std::string::npos) << err;
}

TEST(State, StatefulGraphNeedsItsState) {
  auto m = parseModule(kDecoder, "toy.tir");
  runPass(*m, "kv-cache");
  std::mt19937 rng(1);
  std::string err = errorOf([&] { interpret(*m->findGraph("decode"), {randomTensor({1, 2, 1, 4}, rng)}); });
  EXPECT_NE(err.find("reads and writes module state"), std::string::npos) << err;
}

TEST(State, GraphWithoutCachePairsIsLeftAlone) {
  // Concatenating two inputs is not a cache (a cache appends rows the graph computed), nor is an output that
  // is no Concat of an input.
  for (const char *text : {R"(module @plain {
  graph @main(%x: f32[1,2,n,4], %y: f32[1,2,m,4]) -> (z: f32[1,2,n+m,4]) {
    %z = Concat(%x, %y) {axis = 2} : f32[1,2,n+m,4]
    return %z
  }
})",
                           R"(module @plain {
  graph @main(%x: f32[n,4]) -> (z: f32[n,4]) {
    %z = Relu(%x) : f32[n,4]
    return %z
  }
})"}) {
    auto m = parseModule(text, "plain.tir");
    runPass(*m, "kv-cache");
    EXPECT_TRUE(m->states().empty());
    EXPECT_NE(m->findGraph("main"), nullptr);
  }
}

// fuse-attention keeps every bit: prefill then decode steps, with and without the fusion, on the attention of
// tests/passes/fuse-attention.tir (grouped-query, scaled, masked) and of fuse-attention-rope.tir (RoPE on the
// queries and keys, moved into the Attention and the keys' CacheWrite), in f32 and f16 caches.
void checkFusedAttention(const std::string &cachePass, bool rope = false) {
  std::string path =
      std::string(TERNC_SOURCE_DIR) + (rope ? "/tests/passes/fuse-attention-rope.tir" : "/tests/passes/fuse-attention.tir");
  auto plain = parseModuleFile(path), fused = parseModuleFile(path);
  runPass(*plain, cachePass);
  runPass(*fused, cachePass);
  runPass(*fused, "fuse-attention");
  size_t attentionOperands = 0;
  for (const auto &op : fused->findGraph("decode")->ops())
    if (op->opName() == "Attention") attentionOperands = op->numOperands();
  ASSERT_EQ(attentionOperands, rope ? 6u : 4u);
  ModuleState a = ModuleState::allocate(*plain, 12), b = ModuleState::allocate(*fused, 12);
  std::mt19937 rng(3);
  int64_t past = 0;
  for (int step = 0; step < 4; ++step) {
    int64_t seq = step == 0 ? 6 : 1;
    std::vector<Tensor> in = {randomTensor({1, 4, seq, 4}, rng), randomTensor({1, 2, seq, 4}, rng),
                              randomTensor({1, 2, seq, 4}, rng)};
    if (rope) {  // cos and sin tables of the new positions
      in.push_back(randomTensor({1, 1, seq, 4}, rng));
      in.push_back(randomTensor({1, 1, seq, 4}, rng));
    } else {
      in.push_back(randomTensor({1, 1, seq, past + seq}, rng));
      // A causal mask as exporters write it: the lowest float where a row may not look.
      for (int64_t s = 0; s < seq; ++s)
        for (int64_t t = past + s + 1; t < past + seq; ++t)
          in[3].setDouble(s * (past + seq) + t, -3.4028234663852886e38);
    }
    const char *graph = step == 0 ? "prefill" : "decode";
    std::vector<Tensor> want = interpret(*plain->findGraph(graph), in, &a);
    std::vector<Tensor> got = interpret(*fused->findGraph(graph), in, &b);
    ASSERT_TRUE(got[0].identical(want[0])) << "step " << step;
    past += seq;
    EXPECT_EQ(b.length, past);
  }
  EXPECT_TRUE(a.buffers.at("present.0.key").identical(b.buffers.at("present.0.key")));
  EXPECT_TRUE(a.buffers.at("present.0.value").identical(b.buffers.at("present.0.value")));
}

TEST(State, FuseAttentionIsBitIdentical) { checkFusedAttention("kv-cache"); }
TEST(State, FuseAttentionIsBitIdenticalWithF16Cache) { checkFusedAttention("kv-cache-f16"); }
TEST(State, FusedRopeIsBitIdentical) { checkFusedAttention("kv-cache", true); }
TEST(State, FusedRopeIsBitIdenticalWithF16Cache) { checkFusedAttention("kv-cache-f16", true); }

} // namespace
