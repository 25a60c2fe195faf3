// CompileCommand: `ternc compile MODEL -o OUT [--target] [--cpu] [--emit]`
// and `ternc targets`. The pipeline reads top to bottom: load, bind,
// compile pipeline, the target's passes for the CPU, plan-memory, lower, optimize, emit.
#include "tools/ternc/Commands.h"

#include "codegen/Codegen.h"
#include "ir/Error.h"
#include "ir/Printer.h"
#include "passes/PlanMemory.h"
#include "passes/QuantizeHead.h"
#include "passes/TernaryStats.h"
#include "targets/Target.h"
#include "tokenizer/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ternc {

namespace {

struct CompileOptions {
  std::string input;
  std::string output;
  std::string target;
  std::string cpu;
  std::string emit = "exe";
  std::string name;
  std::vector<std::string> binds;
  int optLevel = 3;
  bool stats = false;
  bool explainTiling = false;
  PassOptions passes;
  // Language models (docs/llm.md).
  std::string tokenizer;
  bool noTokenizer = false;
  std::string kvCache = "f32";
  std::string head = "f32";
  int64_t ctx = 0;
  std::vector<int64_t> eos;
};

constexpr const char *kEmitKinds[] = {"exe", "obj", "lib", "llvm", "asm"};

EmitKind parseEmit(const std::string &s) {
  if (s == "exe") return EmitKind::Exe;
  if (s == "obj") return EmitKind::Obj;
  if (s == "lib") return EmitKind::Lib;
  if (s == "llvm") return EmitKind::LLVM;
  if (s == "asm") return EmitKind::Asm;
  fail("--emit={}: expected exe, obj, lib, llvm, asm or tir", s);
}

/// A C identifier from the output file's name (`libbitnet.a` -> bitnet).
std::string symbolPrefixFor(const std::string &output) {
  std::string stem = std::filesystem::path(output).stem().string();
  if (stem.rfind("lib", 0) == 0 && stem.size() > 3) stem = stem.substr(3);
  std::string id;
  for (char c : stem) id += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  if (id.empty() || std::isdigit(static_cast<unsigned char>(id[0]))) id = "model_" + id;
  return id;
}

/// `--bind NAME=FILE`: replaces a graph input by a constant from a file, so
/// that shapes that depend on its contents become static.
void bindInputs(Module &m, const std::vector<std::string> &specs) {
  for (const std::string &spec : specs) {
    size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size()) fail("--bind '{}': expected NAME=FILE", spec);
    std::string name = spec.substr(0, eq);
    bool found = false;
    for (const auto &g : m.graphs())
      for (size_t i = 0; i < g->arguments().size(); ++i) {
        Value *arg = g->argument(i);
        if (arg->name() != name) continue;
        Tensor t = readTensorFile(spec.substr(eq + 1));
        if (t.dtype() != arg->type().dtype())
          fail("--bind {}: the file holds {}, the input is {}", name, dtypeName(t.dtype()), arg->type().str());
        Value *c = m.addConstant(name, t);
        g->replaceAllUses(arg, c);
        g->eraseArgument(i);
        found = true;
        // Shapes that depended on the input are recomputed.
        for (const auto &op : g->ops()) op->inferTypes();
        break;
      }
    if (!found) fail("--bind: no graph has an input '{}'", name);
  }
}

void printStats(const Module &m) {
  int64_t weightBytes = 0;
  for (const auto &c : m.constants())
    if (c->data.isValid()) weightBytes += int64_t(c->data.byteSize());
  fmt::print("weights: {} bytes in {} constants\n", weightBytes, m.constants().size());
  TernaryStats ts = ternaryStats(m);
  int64_t matmul = ts.ternaryParams() + ts.floatMatMulParams() + ts.int8Params();
  fmt::print("ternary: {} of {} matmul parameters ({:.1f}%)\n", ts.ternaryParams(), matmul,
             matmul ? 100.0 * double(ts.ternaryParams()) / double(matmul) : 0.0);
  fmt::print("{}", ts.report());
  for (const auto &g : m.graphs()) {
    auto peak = staticArenaBytes(*g);
    size_t slots = readMemoryPlan(*g).size();
    if (peak) fmt::print("graph {}: arena peak {} bytes in {} slots\n", g->name(), *peak, slots);
    else fmt::print("graph {}: arena size depends on the symbols ({} slots)\n", g->name(), slots);
    int64_t fused = 0, views = 0, stored = 0;
    std::vector<std::pair<int64_t, const Value *>> sizes;
    for (const auto &op : g->ops())
      for (size_t i = 0; i < op->numResults(); ++i) {
        int64_t s = slotOf(*op->result(i));
        fused += s == kSlotFused;
        views += s == kSlotView;
        stored += s >= 0;
        if (auto b = staticBytes(op->result(i)->type())) sizes.emplace_back(*b, op->result(i));
      }
    fmt::print("graph {}: {} tensors in the arena, {} fused into loops, {} views\n", g->name(), stored, fused, views);
    std::stable_sort(sizes.begin(), sizes.end(), [](auto &a, auto &b) { return a.first > b.first; });
    fmt::print("largest tensors:\n");
    for (size_t i = 0; i < std::min<size_t>(5, sizes.size()); ++i) {
      const Value *v = sizes[i].second;
      int64_t s = slotOf(*v);
      std::string where = s >= 0 ? fmt::format("slot {}", s)
                          : s == kSlotFused ? "fused"
                          : s == kSlotOutput ? "output"
                          : s == kSlotView ? "view"
                                           : "unused";
      fmt::print("  %{:<24} {:<24} {:>12} bytes  {}\n", v->name(), v->type().str(), sizes[i].first, where);
    }
  }
}

/// `--explain-tiling`: the target's reasons for each op it chose a kernel, packing and tiling for.
void explainTiling(const Module &m, const Target &target, const CpuSelection &cpu) {
  for (const auto &g : m.graphs())
    for (const auto &op : g->ops()) {
      std::string why = target.explainTiling(*op, cpu);
      if (why.empty()) continue;
      std::vector<std::string> operands;
      for (size_t i = 0; i < std::min<size_t>(3, op->numOperands()); ++i)
        if (op->operand(i)) operands.push_back(op->operand(i)->type().str());
      fmt::print("graph @{}: %{} = {}({}, ...) on {} (cpu {})\n{}\n", g->name(), op->result(0)->name(), op->opName(),
                 fmt::join(operands, ", "), target.name(), cpu.cpu, why);
    }
}

void writeText(const std::string &path, const std::string &text) {
  writeFileAtomically(path, [&](std::FILE *f) {
    if (std::fwrite(text.data(), 1, text.size(), f) != text.size()) fail("{}: short write", path);
  });
}

std::string readFileBytes(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("{}: cannot open", path);
  std::stringstream ss;
  ss << f.rdbuf();
  if (f.bad()) fail("{}: cannot read", path);
  return ss.str();
}

/// An id or list of ids from a config.json value (`eos_token_id`: 2 or [128001, 128009]).
std::vector<int64_t> configIds(const nlohmann::json &j) {
  std::vector<int64_t> ids;
  if (j.is_number_integer()) ids.push_back(j.get<int64_t>());
  else if (j.is_array())
    for (const auto &v : j)
      if (v.is_number_integer()) ids.push_back(v.get<int64_t>());
  return ids;
}

/// The number of pieces in a SentencePiece model (a ModelProto: field 1, `pieces`, repeated), read from the
/// protobuf wire format, which is checked from end to end. The compiler does not link libsentencepiece (its
/// private protobuf clashes with libonnx's); the executable loads the model with it and reports anything else.
int64_t sentencePieceCount(std::string_view bytes, const std::string &path) {
  size_t at = 0;
  auto varint = [&]() -> uint64_t {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at >= bytes.size()) fail("{}: not a SentencePiece model (truncated at byte {})", path, at);
      uint8_t b = uint8_t(bytes[at++]);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("{}: not a SentencePiece model (a malformed varint at byte {})", path, at);
  };
  int64_t pieces = 0;
  while (at < bytes.size()) {
    uint64_t key = varint();
    uint64_t field = key >> 3, wire = key & 7;
    if (field == 0) fail("{}: not a SentencePiece model (field 0 at byte {})", path, at);
    switch (wire) {
    case 0: varint(); break;
    case 1: at += 8; break;
    case 5: at += 4; break;
    case 2: {
      uint64_t len = varint();
      if (len > bytes.size() - at) fail("{}: not a SentencePiece model (a field runs past the end)", path);
      at += size_t(len);
      if (field == 1) ++pieces;
      break;
    }
    default: fail("{}: not a SentencePiece model (wire type {} at byte {})", path, wire, at);
    }
    if (at > bytes.size()) fail("{}: not a SentencePiece model (truncated)", path);
  }
  if (pieces == 0) fail("{}: not a SentencePiece model (no pieces)", path);
  return pieces;
}

/// What a language model embeds: the tokenizer (--tokenizer, or tokenizer.json / tokenizer.model next to the
/// model), end-of-sequence and BOS ids from generation_config.json / config.json beside it, the context length.
LlmInfo languageModelInfo(const CompileOptions &opts, const ModelHints &hints, int64_t vocab) {
  namespace fs = std::filesystem;
  LlmInfo info;
  fs::path dir = hints.sideDir;
  std::string tok = opts.tokenizer;
  info.eosIds = hints.eosIds;
  info.bosId = hints.bosId;
  if (hints.maxPositions > 0) info.defaultCtx = std::min(info.defaultCtx, hints.maxPositions);
  if (tok.empty() && !opts.noTokenizer && hints.tokenizerKind != 0) {
    // Embedded in the checkpoint (GGUF): checked like a file would be.
    auto kind = rt::TokenizerKind(hints.tokenizerKind);
    int64_t tokens = 0;
    if (kind == rt::TokenizerKind::HfJson) {
      try {
        tokens = rt::Tokenizer::load(kind, hints.tokenizerData, opts.input)->vocabSize();
      } catch (const std::runtime_error &e) {
        fail("{}: the embedded tokenizer: {}", opts.input, e.what());
      }
    } else {
      tokens = sentencePieceCount(hints.tokenizerData, opts.input + " (embedded tokenizer)");
    }
    if (tokens > vocab)
      fail("{}: the embedded tokenizer has {} tokens, but the model's logits cover {}", opts.input, tokens, vocab);
    info.tokenizerData = hints.tokenizerData;
    info.tokenizerKind = hints.tokenizerKind;
  }
  if (tok.empty() && !opts.noTokenizer && hints.tokenizerKind == 0 && !dir.empty())
    for (const char *name : {"tokenizer.json", "tokenizer.model"})
      if (fs::exists(dir / name)) {
        tok = (dir / name).string();
        break;
      }
  if (!tok.empty() && !opts.noTokenizer) {
    std::string ext = fs::path(tok).extension().string();
    rt::TokenizerKind kind = ext == ".json" ? rt::TokenizerKind::HfJson
                             : ext == ".model" ? rt::TokenizerKind::SentencePiece
                                               : rt::TokenizerKind::None;
    if (kind == rt::TokenizerKind::None)
      fail("--tokenizer {}: expected a Hugging Face tokenizer.json or a SentencePiece .model file", tok);
    info.tokenizerData = readFileBytes(tok);
    int64_t tokens = 0;
    if (kind == rt::TokenizerKind::HfJson) {
      try {
        tokens = rt::Tokenizer::load(kind, info.tokenizerData, tok)->vocabSize();
      } catch (const std::runtime_error &e) {
        fail("{}", e.what());
      }
    } else {
      tokens = sentencePieceCount(info.tokenizerData, tok);
    }
    if (tokens > vocab) fail("{}: the tokenizer has {} tokens, but the model's logits cover {}", tok, tokens, vocab);
    info.tokenizerKind = int32_t(kind);
  }
  for (const char *name : {"generation_config.json", "config.json"}) {
    fs::path p = dir / name;
    if (dir.empty() || !fs::exists(p)) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(readFileBytes(p.string()));
    } catch (const nlohmann::json::exception &e) {
      fail("{}: not valid JSON: {}", p.string(), e.what());
    }
    if (!j.is_object()) fail("{}: expected a JSON object", p.string());
    if (info.eosIds.empty() && j.contains("eos_token_id")) info.eosIds = configIds(j["eos_token_id"]);
    // The position table of older Hugging Face exports ends here (MiniCPM, LLaMA before 4.38).
    if (name == std::string("config.json") && j.contains("max_position_embeddings") &&
        j["max_position_embeddings"].is_number_integer() && j["max_position_embeddings"].get<int64_t>() > 0)
      info.defaultCtx = std::min(info.defaultCtx, j["max_position_embeddings"].get<int64_t>());
    if (info.bosId < 0 && j.contains("bos_token_id")) {
      auto b = configIds(j["bos_token_id"]);
      if (!b.empty()) info.bosId = b[0];
    }
  }
  if (!opts.eos.empty()) info.eosIds = opts.eos;
  for (int64_t e : info.eosIds)
    if (e < 0 || e >= vocab) fail("end-of-sequence id {} is outside the vocabulary of {}", e, vocab);
  if (opts.ctx < 0) fail("--ctx must be at least 1");
  if (opts.ctx > 0) info.defaultCtx = opts.ctx;
  return info;
}

/// The vocabulary size: the static last dim of the prefill graph's `logits`.
int64_t vocabularyOf(const Module &m) {
  const Graph *g = m.findGraph("prefill");
  for (size_t i = 0; g && i < g->outputs().size(); ++i) {
    const Type &t = g->outputs()[i]->type();
    if (g->outputNames()[i] == "logits" && t.isRanked() && t.rank() >= 2 && t.dims().back().isStatic())
      return t.dims().back().value();
  }
  fail("the language model has no output 'logits' [..., vocabulary] with a static vocabulary size");
}

void runCompile(CompileOptions &opts) {
  const Target &target =
      opts.target.empty() ? TargetRegistry::global().defaultTarget() : TargetRegistry::global().get(opts.target);
  bool tir = opts.emit == "tir";
  std::vector<std::string> custom = target.customEmitKinds();
  bool customEmit = std::find(custom.begin(), custom.end(), opts.emit) != custom.end();
  if (!tir && !customEmit && !custom.empty() &&
      std::find(std::begin(kEmitKinds), std::end(kEmitKinds), opts.emit) == std::end(kEmitKinds))
    fail("--emit={}: expected exe, obj, lib, llvm, asm, tir or (target {}) {}", opts.emit, target.name(),
         fmt::join(custom, ", "));
  EmitKind kind = tir || customEmit ? EmitKind::LLVM : parseEmit(opts.emit);
  if (opts.output.empty()) fail("compile needs -o OUT");
  if (opts.optLevel < 0 || opts.optLevel > 3) fail("-O{}: expected 0 to 3", opts.optLevel);

  ModelHints hints;
  std::unique_ptr<Module> m = loadModel(opts.input, &hints);
  bindInputs(*m, opts.binds);

  // The model's passes (the compile pipeline unless --passes), then the
  // target's legalization for the CPU, then plan-memory: the last two
  // always run, since codegen needs their results.
  PassOptions passes = opts.passes;
  if (opts.kvCache != "f32" && opts.kvCache != "f16") fail("--kv-cache={}: expected f32 or f16", opts.kvCache);
  if (passes.passes.empty()) {
    passes.passes = compilePipeline();
    if (opts.kvCache == "f16") std::replace(passes.passes.begin(), passes.passes.end(), std::string("kv-cache"),
                                            std::string("kv-cache-f16"));
  }
  // --head=int8: quantize-head right after fuse-bitlinear (or at the end of a --passes list without it).
  if (opts.head != "f32" && opts.head != "int8") fail("--head={}: expected f32 or int8", opts.head);
  if (opts.head == "int8" &&
      std::find(passes.passes.begin(), passes.passes.end(), "quantize-head") == passes.passes.end()) {
    auto at = std::find(passes.passes.begin(), passes.passes.end(), "fuse-bitlinear");
    passes.passes.insert(at == passes.passes.end() ? at : at + 1, std::string("quantize-head"));
  }
  auto has = [&](const std::string &name) {
    return std::find(passes.passes.begin(), passes.passes.end(), name) != passes.passes.end();
  };
  // Executables of language models compute prefill logits only where generation needs them (the pass does
  // nothing to other models).
  if (kind == EmitKind::Exe && !tir && !customEmit && !has("select-logits")) passes.passes.push_back("select-logits");
  for (const std::string &p : target.pipeline(target.selectCpu(opts.cpu)))
    if (!has(p)) passes.passes.push_back(p);
  if (!has("plan-memory")) passes.passes.push_back("plan-memory");
  PassManager pm(passes, std::cerr);
  pm.run(*m);
  if (pm.stopped()) return;  // --stop-after: the IR dump was the point
  if (opts.head == "int8") {
    bool quantized = false;
    for (const auto &g : m->graphs())
      for (const auto &op : g->ops()) quantized = quantized || matchInt8Weight(*op).has_value();
    if (!quantized)
      fail("{}: --head=int8: no LM head to quantize (a MatMul with a constant f32 [K, N] weight that produces the "
           "output 'logits')",
           opts.input);
  }
  if (opts.explainTiling) explainTiling(*m, target, target.selectCpu(opts.cpu));
  if (opts.stats) printStats(*m);
  if (tir) {
    writeModuleFile(*m, opts.output, false);
    return;
  }
  if (customEmit) {
    target.emitCustom(*m, target.selectCpu(opts.cpu), opts.emit, opts.output);
    return;
  }

  CodegenOptions co;
  bool llm = isLanguageModel(*m);
  if (llm && kind == EmitKind::Lib)
    fail("{}: a language model (KV cache, prefill and decode graphs) compiles to an executable, not --emit=lib yet",
         opts.input);
  if (llm) co.llm = languageModelInfo(opts, hints, vocabularyOf(*m));
  co.cpu = opts.cpu;
  co.optLevel = opts.optLevel;
  co.symbolPrefix = opts.name.empty() ? (kind == EmitKind::Lib ? symbolPrefixFor(opts.output) : "ternc") : opts.name;
  co.withMain = kind == EmitKind::Exe;
  co.externalWeights = kind == EmitKind::Exe;
  co.withLibraryApi = kind == EmitKind::Lib;
  CodegenSession session(target, co);
  session.lower(*m);
  session.optimize();
  switch (kind) {
  case EmitKind::LLVM:
  case EmitKind::Asm:
  case EmitKind::Obj: writeText(opts.output, session.emit(kind)); break;
  case EmitKind::Exe:
    linkExecutable(target, session.emit(EmitKind::Obj), opts.output, llm ? co.llm.tokenizerKind : -1,
                   &session.externalWeights());
    break;
  case EmitKind::Lib: {
    std::string object = session.emit(EmitKind::Obj);
    // libmodel.a -> model.h, as libz.a goes with zlib.h: `#include "model.h"`.
    std::filesystem::path header = std::filesystem::path(opts.output);
    std::string stem = header.stem().string();
    header.replace_filename((stem.rfind("lib", 0) == 0 && stem.size() > 3 ? stem.substr(3) : stem) + ".h");
    writeStaticLibrary(target, object, opts.output);
    writeText(header.string(), libraryHeader(*m, co.symbolPrefix));
    break;
  }
  }
}

void listTargets() {
  const auto &all = TargetRegistry::global().all();
  for (size_t i = 0; i < all.size(); ++i) {
    const Target &t = *all[i];
    HardwareInfo hw = t.hardware();
    fmt::print("{}{}\n  {}\n  triple {}, default cpu {}\n  features: {}\n", t.name(), i == 0 ? " (default)" : "",
               t.description(), t.triple(), t.selectCpu("").cpu, fmt::join(t.features(), ", "));
    fmt::print("  hardware: {}-bit vectors x {} registers, L1d {} KiB, L2 {} KiB, L3 {} MiB, ~{} GB/s, {} cores at ~{} "
               "GHz, {} vector multiply-adds per cycle\n",
               hw.vectorBits, hw.vectorRegisters, hw.l1DataBytes >> 10, hw.l2Bytes >> 10, hw.l3Bytes >> 20,
               hw.memoryGBs, hw.cores, hw.ghz, hw.vectorIssue);
    if (!t.customEmitKinds().empty()) fmt::print("  also emits: {}\n", fmt::join(t.customEmitKinds(), ", "));
    fmt::print("  runs on this host: {}\n", t.runsOnHost() ? "yes" : "no");
  }
}

} // namespace

void addCompileCommand(CLI::App &app) {
  auto opts = std::make_shared<CompileOptions>();
  CLI::App *cmd = addSubcommand(app, "compile", "Compile a model to a native executable, object or static library");
  cmd->add_option("input", opts->input, "The model: .onnx, .gguf, .tir, or a Hugging Face folder (config.json + safetensors)")->required();
  cmd->add_option("-o,--output", opts->output, "The file to write (written atomically)")->required();
  cmd->add_option("--target", opts->target, "Target to compile for (see `ternc targets`; default: the first)");
  cmd->add_option("--cpu", opts->cpu,
                  "LLVM CPU name (default: the target's, see `ternc targets`) or 'native' for this host");
  cmd->add_option("--emit", opts->emit, "exe (default), obj, lib (static library + header), llvm, asm, tir, or a kind the target "
                  "writes itself (`ternc targets`)");
  cmd->add_option("--name", opts->name, "Prefix of exported symbols (default: from -o for lib, 'ternc' otherwise)");
  cmd->add_option("--bind", opts->binds, "NAME=FILE: make input NAME a constant from a .npy/.pb file (repeatable)");
  cmd->add_option("-O", opts->optLevel, "LLVM optimization level 0-3 (default 3)");
  cmd->add_flag("--stats", opts->stats, "Print arena peak, weight bytes and the largest tensors");
  cmd->add_flag("--explain-tiling", opts->explainTiling,
                "Print the target's packing, kernel, tiles and cost model for each op it legalized");
  cmd->add_option("--tokenizer", opts->tokenizer,
                  "Language models: tokenizer.json or tokenizer.model to embed (default: the one next to the model)");
  cmd->add_flag("--no-tokenizer", opts->noTokenizer, "Language models: embed no tokenizer (the executable takes ids)");
  cmd->add_option("--kv-cache", opts->kvCache, "Language models: KV cache element type, f32 (default) or f16");
  cmd->add_option("--head", opts->head, "Language models: LM head weight, f32 (default) or int8 (per-column scales)");
  cmd->add_option("--ctx", opts->ctx, "Language models: the executable's default context length (2048)");
  cmd->add_option("--eos", opts->eos, "Language models: end-of-sequence ids (default: from config.json)")
      ->delimiter(',');
  addPassOptions(*cmd, opts->passes);
  cmd->callback([opts] { runCompile(*opts); });
}

void addTargetsCommand(CLI::App &app) {
  addSubcommand(app, "targets", "List the registered targets with their features and defaults")->callback(listTargets);
}

} // namespace ternc
