// AscendEmitTest: the AscendC emitter (targets/ascend-910b/emit, docs/ascend-emit.md) on modules built by hand
// with weights packed by the ascend-910b target's own packer, one per weight storage (int8 NZ, int4 MSD, 2-bit
// ring), gated with group scales, attention over a KV cache, and elementwise/copy/softmax ops after a BitLinear
// (AIV kernels in graph order). Every emitted .cpp must pass
// `g++ -std=c++17 -fsyntax-only` against the AscendC/AscendCL syntax header (tests/ascend/ascendc_syntax, a
// syntax check only, not CANN); the tiling constants in kernels/tilings.h must equal the packed weights' headers;
// bad output directories and unsupported graphs must fail with a clear error and leave nothing behind.
#include "targets/ascend-910b/emit/AscendEmit.h"
#include "targets/ascend-910b/AscendTiling.h"

#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/Parser.h"
#include "ir/Printer.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <unistd.h>

namespace ternc::ascend {
namespace {

namespace fs = std::filesystem;

std::string readText(const fs::path &p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

/// This process's scratch space (each test runs in its own process under ctest).
fs::path scratchRoot() { return fs::temp_directory_path() / ("ternc-ascend-emit-" + std::to_string(::getpid())); }

/// A fresh directory for one test.
fs::path scratch(const std::string &name) {
  fs::path d = scratchRoot() / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

/// Removes the scratch space after each test that passed (a failure's output stays for inspection).
class AscendEmit : public ::testing::Test {
protected:
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(scratchRoot());
  }
};

/// `storage` for a weight left plain (one int8 per element), for the ascend-tile pass to pack.
constexpr int kPlain = -2;
/// `storage` for the cost model's choice.
constexpr int kChosen = -1;

/// A random ternary [n, k] weight packed as "ascend910b" with the best schedules of `storage` (or the cost
/// model's choice), as the ascend-tile pass would; or plain.
Value *packedWeight(Module &m, const std::string &name, int64_t n, int64_t k, TernScale scale, bool gated, int storage,
                    unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<int8_t> t(size_t(n * k));
  for (int8_t &v : t) v = int8_t(int(rng() % 3) - 1);
  if (storage == kPlain) {
    Tensor plain(DType::Tern, {n, k});
    std::memcpy(plain.mutableRawData(), t.data(), t.size());
    return m.addConstant(name, plain, Type::tern(scale, {Dim(n), Dim(k)}));
  }
  int64_t group = scale.kind == TernScale::Group ? scale.group : k;
  MatmulShape decode{1, n, k, group, gated}, prefill{128, n, k, group, gated};
  AscendMatmulTiling d =
      storage < 0 ? chooseTiling(decode, kPhaseDecode) : bestTilingFor(decode, kPhaseDecode, storage);
  AscendMatmulTiling p =
      storage < 0 ? chooseTiling(prefill, kPhasePrefill) : bestTilingFor(prefill, kPhasePrefill, storage);
  std::vector<uint8_t> bytes = packWeight(t.data(), n, k, d, p);
  Tensor data(DType::U8, {int64_t(bytes.size())});
  std::memcpy(data.mutableRawData(), bytes.data(), bytes.size());
  return m.addConstant(name, data, Type::tern(scale, {Dim(n), Dim(k)}), "ascend910b");
}

Value *f32Constant(Module &m, const std::string &name, std::vector<int64_t> shape, float base) {
  Tensor t(DType::F32, shape);
  for (int64_t i = 0; i < t.numElements(); ++i) t.mutableData<float>()[i] = base + 0.001f * float(i % 97);
  return m.addConstant(name, t);
}

/// x -> ActQuant(rms norm) -> BitLinear (+ gate, bias, residual) -> y, with rows `seq` (symbolic).
std::unique_ptr<Module> bitLinearModule(int storage, bool gated, TernScale scale, const std::string &act) {
  auto m = std::make_unique<Module>("blk");
  const int64_t n = 256, k = 256;
  Graph *g = m->addGraph("main");
  Value *x = g->addArgument("x", Type(DType::F32, {Dim::symbol("seq"), Dim(k)}));
  Attrs aq;
  aq.set("norm", std::string("rms"));
  aq.set("scale", std::string("rcp(m)*127"));
  Op *quant = g->buildOp("ActQuant", {x, f32Constant(*m, "norm", {k}, 1.0f)}, aq, {"q", "s"});
  std::vector<int64_t> scaleShape = scale.kind == TernScale::Group ? std::vector<int64_t>{n, k / scale.group}
                                    : scale.kind == TernScale::Row ? std::vector<int64_t>{n}
                                                                   : std::vector<int64_t>{1};
  std::vector<Value *> ops = {quant->result(0),
                              quant->result(1),
                              packedWeight(*m, "w", n, k, scale, gated, storage, 1),
                              f32Constant(*m, "w_scale", scaleShape, 0.05f),
                              f32Constant(*m, "bias", {n}, -0.1f),
                              gated ? packedWeight(*m, "gate", n, k, scale, gated, storage, 2) : nullptr,
                              gated ? f32Constant(*m, "gate_scale", scaleShape, 0.04f) : nullptr,
                              nullptr,
                              x};
  Attrs ab;
  ab.set("act", act);
  ab.set("dequant", std::string("div"));
  Op *bl = g->buildOp("BitLinear", ops, ab, {"y"});
  g->addOutput("y", bl->result());
  return m;
}

/// Runs g++ -fsyntax-only on every emitted .cpp; returns the failures' output.
std::string syntaxCheck(const fs::path &dir) {
  std::string failures;
  int files = 0;
  for (const auto &e : fs::recursive_directory_iterator(dir)) {
    if (e.path().extension() != ".cpp") continue;
    ++files;
    fs::path log = dir.parent_path() / (dir.filename().string() + ".syntax.log");
    std::string cmd = "g++ -std=c++17 -fsyntax-only -Wall -I" + std::string(TERNC_ASCENDC_SYNTAX_DIR) + " -I" +
                      (dir / "kernels").string() + " -I" + (dir / "host").string() + " " + e.path().string() + " > " +
                      log.string() + " 2>&1";
    if (std::system(cmd.c_str()) != 0) failures += e.path().string() + ":\n" + readText(log);
  }
  if (files == 0) failures = "no .cpp files in " + dir.string();
  return failures;
}

/// Checks kernels/tilings.h against the headers of the weight files each struct names as its sources; returns
/// the number of (struct, source) pairs compared.
int checkTilings(const fs::path &dir) {
  std::istringstream in(readText(dir / "kernels" / "tilings.h"));
  std::string line;
  std::vector<std::string> sources;
  std::map<std::string, int64_t> fields;
  std::string name;
  int compared = 0;
  std::regex source(R"(// source: weights/(\S+) (decode|prefill))"), open(R"(struct (\w+) \{)"),
      field(R"(static constexpr \w+ (\w+) = (-?\d+);)");
  std::smatch mt;
  while (std::getline(in, line)) {
    if (std::regex_search(line, mt, source)) sources.push_back(mt[1].str() + " " + mt[2].str());
    if (std::regex_search(line, mt, open)) name = mt[1];
    if (std::regex_search(line, mt, field)) fields[mt[1]] = std::stoll(mt[2]);
    if (line.find("};") == std::string::npos || name.empty()) continue;
    EXPECT_FALSE(sources.empty()) << name << " names no source";
    for (const std::string &s : sources) {
      std::string file = s.substr(0, s.find(' ')), phase = s.substr(s.find(' ') + 1);
      std::string bytes = readText(dir / "weights" / file);
      AscendPackedWeight h;
      EXPECT_GE(bytes.size(), sizeof h) << file;
      if (bytes.size() < sizeof h) continue;
      std::memcpy(&h, bytes.data(), sizeof h);
      EXPECT_EQ(h.magic, TERNC_ASCEND_PACK_MAGIC) << file;
      const AscendMatmulTiling &t = phase == "decode" ? h.decode : h.prefill;
      size_t count = 0;
#define TERNC_CHECK_FIELD(type, f)                                                                                     \
  ++count;                                                                                                             \
  EXPECT_TRUE(fields.count(#f)) << name << " lacks " #f;                                                               \
  EXPECT_EQ(fields[#f], int64_t(t.f)) << name << "::" #f " differs from the header of " << s;
      TERNC_ASCEND_TILING_FIELDS(TERNC_CHECK_FIELD)
#undef TERNC_CHECK_FIELD
      EXPECT_EQ(fields.size(), count) << name;
      ++compared;
    }
    sources.clear();
    fields.clear();
    name.clear();
  }
  return compared;
}

/// Files whose first line does not say which part of ternc emitted them.
std::vector<std::string> unlabelled(const fs::path &dir) {
  std::vector<std::string> out;
  for (const auto &e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() == ".bin") continue;
    std::ifstream f(e.path());
    std::string first;
    std::getline(f, first);
    if (first.find("Emitted by ternc's ascend-910b target") == std::string::npos) out.push_back(e.path().string());
  }
  return out;
}

void expectProject(const Module &m, const std::string &name, int tilingPairs) {
  fs::path dir = scratch(name) / "out";
  emitAscendC(m, dir.string());
  for (const char *f : {"CMakeLists.txt", "README.md", "host/main.cpp", "host/kernels.h", "kernels/tilings.h",
                        "kernels/ternc_ascendc.h", "kernels/ternc_workspace.h"})
    EXPECT_TRUE(fs::exists(dir / f)) << f;
  EXPECT_EQ(unlabelled(dir), std::vector<std::string>{});
  EXPECT_NE(readText(dir / "README.md").find("emitted, not compiled or run here"), std::string::npos);
  EXPECT_EQ(syntaxCheck(dir), "");
  EXPECT_EQ(checkTilings(dir), tilingPairs);
  std::string host = readText(dir / "host" / "main.cpp");
  for (const char *call : {"aclInit", "aclrtSetDevice", "aclrtCreateStream", "ACL_MEM_MALLOC_HUGE_FIRST",
                           "ACL_MEMCPY_HOST_TO_DEVICE", "<<<blocks, nullptr, stream>>>", "aclrtSynchronizeStream",
                           "ACL_MEMCPY_DEVICE_TO_HOST", "aclrtFree", "aclrtResetDevice", "aclFinalize"})
    EXPECT_NE(host.find(call), std::string::npos) << call;
}

TEST_F(AscendEmit, Int8NzStorage) {
  auto m = bitLinearModule(kStorageInt8Nz, false, {TernScale::Tensor, 0}, "relu2");
  expectProject(*m, "int8", 2);
}

TEST_F(AscendEmit, Int4MsdStorageWritesTheCorrectionPerGroup) {
  auto m = bitLinearModule(kStorageInt4Msd, false, {TernScale::Row, 0}, "none");
  expectProject(*m, "int4", 2);
  fs::path dir = scratch("int4") / "out";
  emitAscendC(*m, dir.string());
  // One int32 per output row (one scale group): the sum of the weight's 64-block corrections.
  bool found = false;
  for (const auto &e : fs::directory_iterator(dir / "weights"))
    if (e.path().string().find("_msd.bin") != std::string::npos) {
      found = true;
      EXPECT_EQ(fs::file_size(e.path()), 256u * 4);
    }
  EXPECT_TRUE(found);
}

TEST_F(AscendEmit, Packed2bRingStorageUnpacksOnTheVectorCores) {
  auto m = bitLinearModule(kStoragePacked2bRing, false, {TernScale::Tensor, 0}, "relu");
  expectProject(*m, "ring", 2);
  fs::path dir = scratch("ring") / "out";
  emitAscendC(*m, dir.string());
  EXPECT_NE(readText(dir / "kernels" / "tilings.h").find("ringSlots = "), std::string::npos);
}

TEST_F(AscendEmit, GatedGroupScalesAreTransposedGroupMajor) {
  auto m = bitLinearModule(kChosen, true, {TernScale::Group, 64}, "silu");
  // Both phases of the weight and of the gate name their header.
  expectProject(*m, "gated", 4);
  fs::path dir = scratch("gated") / "out";
  emitAscendC(*m, dir.string());
  const Constant *scale = m->findConstant("w_scale")->constant();
  for (const auto &e : fs::directory_iterator(dir / "weights")) {
    if (e.path().filename().string().find("w_scale") == std::string::npos) continue;
    std::string bytes = readText(e.path());
    ASSERT_EQ(bytes.size(), 256u * 4 * 4);
    float v;
    std::memcpy(&v, bytes.data() + (1 * 256 + 7) * 4, 4); // group 1 of row 7
    EXPECT_EQ(v, scale->data.data<float>()[7 * 4 + 1]);
  }
}

TEST_F(AscendEmit, EmitsWhatTheAscendTilePassProduced) {
  // The module goes through `ternc compile --target ascend-910b --emit=tir` (the target's passes, its packing),
  // and the emitter reads that back: no hand-packed weights.
  std::string targets;
  {
    std::FILE *p = popen((std::string(TERNC_BINARY) + " targets").c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[4096];
    while (size_t got = std::fread(buf, 1, sizeof buf, p)) targets.append(buf, got);
    pclose(p);
  }
  if (targets.find("ascend-910b") == std::string::npos) GTEST_SKIP() << "this ternc has no ascend-910b target";
  fs::path dir = scratch("legalized");
  for (bool gated : {false, true}) {
    auto m = bitLinearModule(kPlain, gated, gated ? TernScale{TernScale::Group, 64} : TernScale{TernScale::Row, 0},
                             gated ? "silu" : "relu2");
    std::string in = (dir / "in.tir").string(), out = (dir / "out.tir").string();
    writeModuleFile(*m, in);
    std::string cmd = std::string(TERNC_BINARY) + " compile " + in + " --target ascend-910b --emit=tir -o " + out +
                      " > " + (dir / "log").string() + " 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << readText(dir / "log");
    auto legalized = parseModuleFile(out);
    fs::path project = dir / (gated ? "gated" : "plain");
    emitAscendC(*legalized, project.string());
    EXPECT_EQ(syntaxCheck(project), "");
    EXPECT_EQ(checkTilings(project), gated ? 4 : 2);
  }
}

/// CacheWrite of the new keys and values, then attention with an additive mask over the cache; with `rope`, the
/// keys' CacheWrite and the Attention rotate by cos and sin tables [1, 1, seq, 64] (fuse-attention's RoPE).
std::unique_ptr<Module> attentionModule(bool rope = false) {
  auto m = std::make_unique<Module>("attn");
  Type cache(DType::F32, {Dim(1), Dim(2), Dim::symbol("ctx"), Dim(64)});
  m->addState("k", cache);
  m->addState("v", cache);
  Graph *g = m->addGraph("decode");
  Value *q = g->addArgument("q", Type(DType::F32, {Dim(1), Dim(8), Dim::symbol("seq"), Dim(64)}));
  Value *kn = g->addArgument("k_new", Type(DType::F32, {Dim(1), Dim(2), Dim::symbol("seq"), Dim(64)}));
  Value *vn = g->addArgument("v_new", Type(DType::F32, {Dim(1), Dim(2), Dim::symbol("seq"), Dim(64)}));
  Value *mask = g->addArgument(
      "mask", Type(DType::F32, {Dim(1), Dim(1), Dim::symbol("seq"), Dim::symbol("past") + Dim::symbol("seq")}));
  Value *cos = nullptr, *sin = nullptr;
  if (rope) {
    Type table(DType::F32, {Dim(1), Dim(1), Dim::symbol("seq"), Dim(64)});
    cos = g->addArgument("cos", table);
    sin = g->addArgument("sin", table);
  }
  auto write = [&](Value *rows, const char *state, bool rotate) {
    Attrs a;
    a.set("state", std::string(state));
    a.set("axis", int64_t(2));
    a.set("past", std::string("past"));
    std::vector<Value *> operands = {rows};
    if (rotate) operands.insert(operands.end(), {cos, sin});
    return g->buildOp("CacheWrite", operands, a, {std::string(state) + "_len"})->result();
  };
  Value *kt = write(kn, "k", rope), *vt = write(vn, "v", false);
  Attrs a;
  a.set("state_k", std::string("k"));
  a.set("state_v", std::string("v"));
  a.set("past", std::string("past"));
  a.set("scale", 8.0f);
  a.set("scale_mode", std::string("div"));
  std::vector<Value *> operands = {q, kt, vt, mask};
  if (rope) operands.insert(operands.end(), {cos, sin});
  g->addOutput("out", g->buildOp("Attention", operands, a, {"out"})->result());
  return m;
}

TEST_F(AscendEmit, AttentionOverTheKvCache) {
  auto m = attentionModule();
  expectProject(*m, "attention", 0);
  fs::path dir = scratch("attention") / "out";
  emitAscendC(*m, dir.string());
  std::string host = readText(dir / "host" / "main.cpp");
  EXPECT_NE(host.find("ACL_MEMCPY_DEVICE_TO_DEVICE"), std::string::npos);
  EXPECT_NE(host.find("symbol(\"ctx\")"), std::string::npos);
  // The mask [1, 1, seq, past+seq] broadcasts over heads: stride 0, then past+seq, then 1; no RoPE tables.
  EXPECT_NE(host.find("uint32_t(0), uint32_t(int64_t((s_past + s_seq))), uint32_t(int64_t(1)), uint32_t(0), "
                      "uint32_t(0), uint32_t(0), uint32_t(0))"),
            std::string::npos)
      << host;
  EXPECT_EQ(host.find("ternc_rope_cache_write"), std::string::npos);
}

TEST_F(AscendEmit, AttentionWithRopeRotatesQueriesAndCachedKeys) {
  auto m = attentionModule(true);
  expectProject(*m, "attention-rope", 0);
  fs::path dir = scratch("attention-rope") / "out";
  emitAscendC(*m, dir.string());
  std::string host = readText(dir / "host" / "main.cpp");
  // The keys go through the rotating kernel, the values through a device copy.
  EXPECT_NE(host.find("TERNC_LAUNCH(ternc_rope_cache_write_"), std::string::npos) << host;
  EXPECT_NE(host.find("ACL_MEMCPY_DEVICE_TO_DEVICE"), std::string::npos);
  // The tables [1, 1, seq, 64] broadcast over heads (stride 0) and step 64 per position, for cos and for sin.
  EXPECT_NE(host.find("uint32_t(0), uint32_t(int64_t(64)), uint32_t(0), uint32_t(int64_t(64)))"), std::string::npos)
      << host;
  std::string attention, rope;
  for (const auto &e : fs::directory_iterator(dir / "kernels")) {
    std::string text = readText(e.path());
    if (text.find("ternc_ascend::Attention<Shape>") != std::string::npos) attention = text;
    if (text.find("ternc_ascend::RopeCacheWrite<Shape>") != std::string::npos) rope = text;
  }
  EXPECT_NE(attention.find("hasRope = true"), std::string::npos) << attention;
  EXPECT_NE(rope.find("kvHeads = 2"), std::string::npos) << rope;
}

TEST_F(AscendEmit, GraphOpsBecomeAivKernelsInGraphOrder) {
  // BitLinear's result through a broadcast Add, a Relu, a Transpose and a Softmax (no memory plan: each op its
  // own kernel).
  auto m = bitLinearModule(kStorageInt8Nz, false, {TernScale::Tensor, 0}, "none");
  Graph *g = m->graphs().front().get();
  Value *y = g->outputs()[0];
  Tensor bias(DType::F32, {256});
  for (int64_t i = 0; i < 256; ++i) bias.mutableData<float>()[i] = float(i) / 64.0f;
  Value *b = m->addConstant("bias", bias, Type(DType::F32, {Dim(256)}));
  Value *z = g->buildOp("Add", {y, b}, {}, {"z"})->result();
  Value *r = g->buildOp("Relu", {z}, {}, {"r"})->result();
  Attrs perm;
  perm.set("perm", std::vector<int64_t>{1, 0});
  Value *t = g->buildOp("Transpose", {r}, perm, {"t"})->result();
  Value *s = g->buildOp("Softmax", {t}, {}, {"s"})->result();
  g->setOutput(0, s);
  expectProject(*m, "graph-ops", 2);
  fs::path dir = scratch("graph-ops") / "out";
  emitAscendC(*m, dir.string());
  std::string host = readText(dir / "host" / "main.cpp"), kernels;
  for (const auto &e : fs::directory_iterator(dir / "kernels")) kernels += readText(e.path());
  for (const char *call : {"Add(v0, x0, x1, cnt);", "Relu(v0, x0, cnt);", "ternc_ascend::Copy<uint32_t",
                           "ternc_ascend::RowReduce<3"})
    EXPECT_NE(kernels.find(call), std::string::npos) << call;
  // The ops in graph order, each launched; the bias broadcasts (stride 0 along the rows).
  size_t at = 0;
  for (const char *op : {"ActQuant %", "BitLinear %", "Add %z", "Relu %r", "Transpose %t", "Softmax %s"}) {
    size_t next = host.find(std::string("// op: ") + op, at);
    ASSERT_NE(next, std::string::npos) << op << " after offset " << at;
    at = next;
  }
  EXPECT_NE(host.find("int64_t(0), int64_t(1)}));"), std::string::npos) << host;
}

TEST_F(AscendEmit, RefusesGraphsWithOtherOpsListingThemAll) {
  auto m = bitLinearModule(kStorageInt8Nz, false, {TernScale::Tensor, 0}, "none");
  Graph *g = m->graphs().front().get();
  Value *y = g->outputs()[0];
  Value *z = g->buildOp("Add", {y, y}, {}, {"z"})->result();
  Value *f = g->buildOp("Floor", {z}, {}, {"f"})->result();
  g->buildOp("Sign", {f}, {}, {"r"});
  g->setOutput(0, z);
  fs::path dir = scratch("refuse") / "out";
  try {
    emitAscendC(*m, dir.string());
    FAIL() << "emitted a graph with Floor";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("has no kernel for: Floor x1, Sign x1"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_TRUE(fs::is_empty(dir.parent_path()));
}

TEST_F(AscendEmit, RefusesAMalformedPackedWeight) {
  auto m = bitLinearModule(kStorageInt8Nz, false, {TernScale::Tensor, 0}, "none");
  Constant *w = m->findConstant("w")->constant();
  w->data.mutableData<uint8_t>()[0] ^= 0xFF; // the magic
  fs::path dir = scratch("malformed") / "out";
  try {
    emitAscendC(*m, dir.string());
    FAIL() << "emitted a malformed weight";
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("packed weight @w is malformed"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(dir.parent_path()));
}

TEST_F(AscendEmit, BadOutputDirectoriesFailAndLeaveNothing) {
  auto m = bitLinearModule(kStorageInt8Nz, false, {TernScale::Tensor, 0}, "none");
  fs::path base = scratch("baddir");
  auto expectError = [&](const fs::path &out, const std::string &message) {
    try {
      emitAscendC(*m, out.string());
      ADD_FAILURE() << "wrote " << out;
    } catch (const Error &e) {
      EXPECT_NE(std::string(e.what()).find(message), std::string::npos) << e.what();
    }
  };
  expectError(base / "missing" / "out", "does not exist");
  EXPECT_FALSE(fs::exists(base / "missing"));
  std::ofstream(base / "file") << "x";
  expectError(base / "file", "is not a directory");
  fs::create_directories(base / "mine");
  std::ofstream(base / "mine" / "notes.txt") << "keep";
  expectError(base / "mine", "is not an earlier --emit=ascendc output");
  EXPECT_EQ(readText(base / "mine" / "notes.txt"), "keep");
  // Only what was there before: no temporary directories left next to the output.
  std::vector<std::string> left;
  for (const auto &e : fs::directory_iterator(base)) left.push_back(e.path().filename().string());
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"file", "mine"}));
  // An earlier output is replaced whole.
  emitAscendC(*m, (base / "out").string());
  std::ofstream(base / "out" / "kernels" / "stale.cpp") << "stale";
  emitAscendC(*m, (base / "out").string());
  EXPECT_FALSE(fs::exists(base / "out" / "kernels" / "stale.cpp"));
}

} // namespace
} // namespace ternc::ascend
