// TargetSupport: host CPU detection, CPU feature checks and link settings.
#include "targets/TargetSupport.h"

#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/TernaryPacking.h"

#include <fmt/format.h>

#include <llvm/ADT/StringMap.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/MC/TargetRegistry.h>
#include <llvm/Support/Host.h>
#include <llvm/Support/TargetSelect.h>

#include <algorithm>
#include <map>
#include <memory>

namespace ternc {

namespace {

void initializeLLVMTargets() {
  static bool done = [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers();
    return true;
  }();
  (void)done;
}

} // namespace

bool hostIsX86_64() {
#if defined(__x86_64__)
  return true;
#else
  return false;
#endif
}

CpuSelection hostCpu() {
  CpuSelection sel;
  sel.cpu = llvm::sys::getHostCPUName().str();
  llvm::StringMap<bool> host;
  llvm::sys::getHostCPUFeatures(host);
  // Sorted so that the feature string, and so the output, is deterministic.
  std::map<std::string, bool> sorted;
  for (const auto &f : host) sorted[f.getKey().str()] = f.getValue();
  for (const auto &[f, on] : sorted) sel.features += (sel.features.empty() ? "" : ",") + std::string(on ? "+" : "-") + f;
  if (sel.cpu.empty() || sel.cpu == "generic") {
    auto has = [&](const char *f) { return sorted.count(f) && sorted[f]; };
    if (hostIsX86_64())
      sel.cpu = has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq") ? "x86-64-v4"
                : has("avx2") && has("fma")                                              ? "x86-64-v3"
                                                                                         : "x86-64";
    else
      sel.cpu = "generic";
  }
  return sel;
}

void requireCpuFeatures(const std::string &triple, const CpuSelection &sel,
                        std::initializer_list<const char *> required, std::string_view targetName) {
  initializeLLVMTargets();
  std::string err;
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!t) fail("LLVM has no backend for {}: {}", triple, err);
  // Check the name against LLVM's list first: creating subtarget info for
  // an unknown CPU prints LLVM's own warning.
  std::unique_ptr<llvm::MCSubtargetInfo> generic(t->createMCSubtargetInfo(triple, "", ""));
  bool known = sel.cpu == "generic" || generic->isCPUStringValid(sel.cpu);
  std::unique_ptr<llvm::MCSubtargetInfo> sti;
  if (known) sti.reset(t->createMCSubtargetInfo(triple, sel.cpu, sel.features));
  if (!sti || !sti->isCPUStringValid(sel.cpu))
    fail("unknown CPU '{}' for target {} (use an LLVM CPU name such as x86-64-v3 or znver4, or 'native')", sel.cpu,
         targetName);
  for (const char *f : required)
    if (!sti->checkFeatures(std::string("+") + f))
      fail("CPU '{}' lacks {}, which target {} requires", sel.cpu, f, targetName);
}

bool cpuHasFeatures(const std::string &triple, const CpuSelection &sel, std::initializer_list<const char *> features) {
  initializeLLVMTargets();
  std::string err;
  const llvm::Target *t = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!t) return false;
  std::unique_ptr<llvm::MCSubtargetInfo> sti(t->createMCSubtargetInfo(triple, sel.cpu, sel.features));
  for (const char *f : features)
    if (!sti || !sti->checkFeatures(std::string("+") + f)) return false;
  return true;
}

LinkInfo hostLinkInfo(const std::string &triple) {
  std::string dir = runtimeLibraryDir(triple);
  LinkInfo info;
  info.driver = "clang-16";
  // The runtime archives carry debug info (RelWithDebInfo builds); executables do not need it.
  info.driverArgs = {"--target=" + triple, "-fuse-ld=lld", "-Wl,--strip-debug"};
  info.libraries = {dir + "/libternc_runtime.a", dir + "/libprotobuf-lite.a"};
  info.llmLibraries = {dir + "/libternc_tokenizer.a", dir + "/libpcre2-8.a"};
  info.spmLibraries = {dir + "/libternc_tokenizer_spm.a"};
  // libsentencepiece.so carries its own protobuf-lite: the executable must not export the runtime's static
  // one to it (docs/tokenizers.md).
  info.spmArgs = {"-Wl,--undefined=ternc_tokenizer_spm_anchor", "-lsentencepiece", "-Wl,--exclude-libs,ALL"};
  info.systemLibs = {"-lstdc++", "-lm", "-lpthread"};
  return info;
}

namespace {

constexpr size_t kWeightOperands[] = {2, 5};  // BitLinear's weight and gate weight (ir/ops/Ternary.cpp)
constexpr size_t kScaleOperands[] = {3, 6};   // and their scales

/// Tiles the constant scales of `op` (a BitLinear) when its weights have several scale groups per row: in
/// binary16 (times an f32 factor per constant) if every one of them is exactly so, else in f32; all of the op's scales or none, as the kernel
/// takes one sRow for both. `tiled` shares a tiled constant between the ops that read one scale constant.
void tileScalesOf(Module &m, Op &op, std::string_view pass, std::map<std::pair<Value *, bool>, Value *> &tiled) {
  const Type &wt = op.operand(kWeightOperands[0])->type();
  TernScale g = wt.ternScale();
  if (g.kind != TernScale::Group || g.group <= 0 || wt.dim(1).value() % g.group) return;
  int64_t groups = wt.dim(1).value() / g.group;
  if (groups < 2) return;
  std::vector<size_t> operands;
  std::string already;
  for (size_t i : kScaleOperands) {
    Value *s = i < op.numOperands() ? op.operand(i) : nullptr;
    if (!s) continue;
    if (s->kind() != Value::Kind::Constant) return;  // computed scales stay plain (the kernel reads them as such)
    const std::string &l = s->constant()->layout;
    if (!l.empty() && !findScaleTiling(l)) fail("{}: the scale @{} has the unknown layout \"{}\"", pass, s->name(), l);
    if (operands.empty()) already = l;
    else if (l != already) fail("{}: the scales of {} are stored in different layouts", pass, op.loc());
    operands.push_back(i);
  }
  if (operands.empty() || !already.empty()) return;  // nothing to tile, or tiled already (e.g. parsed IR)
  bool half = true;  // each scale constant gets its own factor (ir/TernaryPacking.h)
  for (size_t i : operands) {
    const Tensor &t = op.operand(i)->constant()->data;
    half = half && halfFactor(t.data<float>(), t.numElements()).has_value();
  }
  const ScaleTiling *tiling = findScaleTiling(half ? "scales16h" : "scales16");
  for (size_t i : operands) {
    Value *s = op.operand(i);
    Value *&p = tiled[{s, half}];
    if (!p) {
      int64_t n = wt.dim(0).value();
      std::vector<uint8_t> bytes = tiling->tile(s->constant()->data.data<float>(), n, groups);
      Tensor t(DType::U8, {int64_t(bytes.size())});
      std::copy(bytes.begin(), bytes.end(), t.mutableData<uint8_t>());
      p = m.addConstant(s->name() + "_" + std::string(tiling->name), std::move(t), s->type(),
                        std::string(tiling->name));
    }
    op.setOperand(i, p);
  }
}

} // namespace

bool packBitLinearWeights(Module &m, std::string_view pass, std::string_view layout, std::string_view kernel,
                          const std::function<std::string(const Value &)> &unsupported, bool tileGroupScales) {
  const TernaryLayout *packing = findTernaryLayout(layout);
  if (!packing) fail("{}: the ternary layout {} is not registered", pass, layout);
  std::map<Value *, Value *> packed;
  std::map<std::pair<Value *, bool>, Value *> tiled;
  bool changed = false;
  for (const auto &g : m.graphs())
    for (const auto &op : g->ops()) {
      if (op->opName() != "BitLinear" || op->attrs().has(kTargetKernelAttr)) continue;
      bool ok = true;
      for (size_t i : kWeightOperands)
        if (Value *w = op->operand(i)) ok = ok && unsupported(*w).empty();
      if (!ok) continue;  // codegen reports why when it lowers the op (and --explain-tiling)
      for (size_t i : kWeightOperands) {
        Value *w = op->operand(i);
        if (!w) continue;
        Constant *c = w->constant();
        if (!c->layout.empty()) {
          if (c->layout != layout)
            fail("{}: weight @{} is already packed as {}, not {}", pass, w->name(), c->layout, layout);
          continue;
        }
        Value *&p = packed[w];
        if (!p) {
          int64_t n = w->type().dim(0).value(), k = w->type().dim(1).value();
          std::vector<uint8_t> bytes = packing->pack(c->data.data<int8_t>(), n, k);
          Tensor t(DType::U8, {int64_t(bytes.size())});
          std::copy(bytes.begin(), bytes.end(), t.mutableData<uint8_t>());
          p = m.addConstant(w->name() + "_" + std::string(layout), std::move(t), w->type(), std::string(layout));
        }
        op->setOperand(i, p);
      }
      if (tileGroupScales) {
        tileScalesOf(m, *op, pass, tiled);
      } else {
        for (size_t i : kScaleOperands)
          if (Value *s = i < op->numOperands() ? op->operand(i) : nullptr;
              s && s->kind() == Value::Kind::Constant && !s->constant()->layout.empty())
            fail("{}: the scale @{} is tiled as {}, which this target's kernels do not read", pass, s->name(),
                 s->constant()->layout);
      }
      op->attrs().set(kTargetKernelAttr, std::string(kernel));
      changed = true;
    }
  if (changed) m.eraseUnusedConstants();
  return changed;
}

std::string unsupportedTernaryWeight(const Value &w, int64_t groupMultiple) {
  const Type &t = w.type();
  if (w.kind() != Value::Kind::Constant) return "the weight is not a constant";
  if (t.dtype() != DType::Tern || !t.isRanked() || t.rank() != 2 || !t.dim(1).isStatic())
    return "not a static tern matrix";
  TernScale g = t.ternScale();
  if (g.kind == TernScale::Group && (g.group % groupMultiple != 0 || t.dim(1).value() % g.group != 0))
    return fmt::format("groups of {} (the kernels take multiples of {})", g.group, groupMultiple);
  return "";
}

std::string bytesText(double b) {
  if (b >= 1e9) return fmt::format("{:.2f} GB", b / 1e9);
  if (b >= 1e6) return fmt::format("{:.2f} MB", b / 1e6);
  if (b >= 1e3) return fmt::format("{:.1f} KB", b / 1e3);
  return fmt::format("{:.0f} B", b);
}

std::string secondsText(double s) {
  if (s >= 1e-3) return fmt::format("{:.2f} ms", s * 1e3);
  return fmt::format("{:.2f} us", s * 1e6);
}

std::vector<int64_t> explainedRows(const Value &q, bool *symbolic) {
  const Type &qt = q.type();
  int64_t rows = 1;
  *symbolic = false;
  for (size_t i = 0; i + 1 < qt.rank(); ++i) {
    if (!qt.dim(i).isStatic()) *symbolic = true;
    else rows *= qt.dim(i).value();
  }
  if (*symbolic) return {1, 128};
  return {rows};
}

std::string threadSplitText(int64_t m, bool symbolic, int64_t n, int64_t k, int64_t rowsPerItem,
                            int64_t leastGrainPrefill) {
  int64_t items = (n + rowsPerItem - 1) / rowsPerItem;
  int64_t perItem = rowsPerItem * k * m;
  int64_t least = m > 1 ? leastGrainPrefill : 1;
  int64_t grain = std::max<int64_t>(least, (int64_t(1) << 20) / std::max<int64_t>(1, perItem));
  int64_t tasks = (items + grain - 1) / grain;
  return fmt::format("  M = {}{}: {} item{} of {} output columns, grain {} (about 2^20 multiply-adds per task{}): {} "
                     "task{} for the executable's threads\n",
                     m, !symbolic ? "" : (m == 1 ? " (decode)" : " (prefill)"), items, items == 1 ? "" : "s",
                     rowsPerItem, grain, least > 1 ? fmt::format(", at least {}", least) : "", tasks,
                     tasks == 1 ? "" : "s");
}

} // namespace ternc
