// AscendTarget: the ascend-910b target (Huawei Ascend 910B2, Atlas A2). No Ascend hardware is here, so the target
// does three things and says which one produced each output: it tiles each ternary matmul for the AI Core's
// buffer hierarchy with a cost model (AscendTiling.h; the `ascend-tile` pass packs the weights with the chosen
// schedules), emits AscendC sources for the CANN toolchain (--emit=ascendc), and builds executables that run
// on this CPU, with BitLinear executed by a functional simulator of the AI Cores (kernels/) and every other op
// by the portable kernels.
#include "targets/Target.h"
#include "targets/TargetSupport.h"
#include "targets/ascend-910b/AscendTiling.h"
#include "targets/ascend-910b/emit/AscendEmit.h"

#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/TernaryPacking.h"
#include "passes/Pass.h"

#include <fmt/format.h>

#include <cstring>
#include <map>
#include <optional>

extern "C" const char ternc_kernels_ascend910b_bc[];
extern "C" const char ternc_kernels_ascend910b_bc_end[];

namespace ternc {

namespace {

using namespace ascend;

constexpr const char *kLayout = "ascend910b";
constexpr const char *kKernel = "tk_bitlinear_ascend910b";
constexpr const char *kPass = "ascend-tile";
/// BitLinear's ternary weight operands (ir/ops/Ternary.cpp).
constexpr size_t kWeightOperands[] = {2, 5};
/// The prefill tile planned when the activation rows are symbolic.
constexpr int64_t kPrefillRows = 128;

/// Why the target leaves this weight alone, or "".
std::string unsupportedWeight(const Value &w) {
  const Type &t = w.type();
  if (w.kind() != Value::Kind::Constant) return "the weight is not a constant";
  if (t.dtype() != DType::Tern || !t.isRanked() || t.rank() != 2 || !t.dim(0).isStatic() || !t.dim(1).isStatic())
    return "not a static tern matrix";
  TernScale g = t.ternScale();
  int64_t k = t.dim(1).value();
  if (g.kind == TernScale::Group && (g.group <= 0 || k % g.group != 0 || g.group % 32 != 0))
    return "groups of " + std::to_string(g.group) + " (the schedules take multiples of 32 that divide K)";
  return "";
}

/// The matmul a BitLinear computes: rows of q (static, or the planned prefill tile), N, K, the scale group.
MatmulShape shapeOf(const Op &op) {
  const Value *q = op.operand(0), *w = op.operand(2);
  const Type &qt = q->type(), &wt = w->type();
  std::optional<int64_t> rows = 1;
  for (size_t i = 0; i + 1 < qt.rank(); ++i)
    rows = rows && qt.dim(i).isStatic() ? std::optional<int64_t>(*rows * qt.dim(i).value()) : std::nullopt;
  int64_t k = wt.dim(1).value();
  TernScale g = wt.ternScale();
  bool gated = op.numOperands() > 5 && op.operand(5);
  return {rows && *rows > 1 ? *rows : kPrefillRows, wt.dim(0).value(), k, g.kind == TernScale::Group ? g.group : k,
          gated};
}

/// The `ascend-tile` legalization: per BitLinear, both phases' schedules from the cost model, the weights (and
/// gate) packed as "ascend910b" constants holding them, and the simulator kernel recorded as target.kernel.
class AscendTilePass final : public Pass {
public:
  std::string_view name() const override { return kPass; }
  std::string_view summary() const override { return summaryText(); }
  static std::string_view summaryText() {
    return "Tile BitLinear for the Ascend 910B AI Cores (cost model over int8 NZ / int4 MSD / 2-bit ring "
           "storages) and pack the weights with their schedules (layout ascend910b)";
  }

  bool run(Module &m) override {
    std::map<std::pair<Value *, std::string>, Value *> packed;
    bool changed = false;
    for (const auto &g : m.graphs())
      for (const auto &op : g->ops()) {
        if (op->opName() != "BitLinear" || op->attrs().has(kTargetKernelAttr)) continue;
        bool ok = true;
        for (size_t i : kWeightOperands)
          if (i < op->numOperands())
            if (Value *w = op->operand(i)) ok = ok && unsupportedWeight(*w).empty();
        if (!ok) continue; // --explain-tiling and codegen say why
        for (size_t i : kWeightOperands)
          if (i < op->numOperands() && op->operand(i) && !op->operand(i)->constant()->layout.empty()) ok = false;
        if (!ok) fail("{}: {}: a BitLinear weight is already packed in another layout", kPass, op->loc());
        MatmulShape shape = shapeOf(*op);
        AscendMatmulTiling decode = chooseTiling(shape, kPhaseDecode);
        AscendMatmulTiling prefill = chooseTiling(shape, kPhasePrefill);
        std::string key(reinterpret_cast<const char *>(&decode), sizeof decode);
        key.append(reinterpret_cast<const char *>(&prefill), sizeof prefill);
        for (size_t i : kWeightOperands) {
          if (i >= op->numOperands() || !op->operand(i)) continue;
          Value *w = op->operand(i);
          Value *&p = packed[{w, key}];
          if (!p) {
            std::vector<uint8_t> bytes =
                packWeight(w->constant()->data.data<int8_t>(), shape.n, shape.k, decode, prefill);
            Tensor t(DType::U8, {int64_t(bytes.size())});
            std::memcpy(t.mutableData<uint8_t>(), bytes.data(), bytes.size());
            p = m.addConstant(w->name() + "_" + kLayout, std::move(t), w->type(), kLayout);
          }
          op->setOperand(i, p);
        }
        op->attrs().set(kTargetKernelAttr, std::string(kKernel));
        changed = true;
      }
    if (changed) m.eraseUnusedConstants();
    return changed;
  }
};

/// The layout's code for the interpreter and `ternc opt`: checked header and storages; both phases' storages
/// must unpack to the same weights.
TernaryLayoutCodec codec() {
  TernaryLayoutCodec c;
  auto defaults = [](int64_t n, int64_t k) {
    MatmulShape s{kPrefillRows, n, k, k, false};
    return std::pair{chooseTiling(s, kPhaseDecode), chooseTiling(s, kPhasePrefill)};
  };
  c.pack = [defaults](const int8_t *t, int64_t n, int64_t k) {
    auto [d, p] = defaults(n, k);
    return packWeight(t, n, k, d, p);
  };
  c.bytes = [defaults](int64_t n, int64_t k) {
    auto [d, p] = defaults(n, k);
    int64_t end = ascendRoundUp(sizeof(AscendPackedWeight), kAlignL0AB);
    end = ascendRoundUp(end + storageBytes(d.storage, n, k), kAlignL0AB);
    if (p.storage != d.storage) end = ascendRoundUp(end + storageBytes(p.storage, n, k), kAlignL0AB);
    return end;
  };
  c.check = [](const uint8_t *p, size_t size, int64_t n, int64_t k) { return checkPackedWeight(p, size, n, k); };
  c.unpack = [](const uint8_t *p, size_t size, int64_t n, int64_t k, int8_t *t) {
    if (!checkPackedWeight(p, size, n, k).empty()) return false;
    AscendPackedWeight h = packedHeader(p);
    if (!unpackStorage(h.decode.storage, p + h.decode.weightOffset, n, k, t)) return false;
    if (h.prefill.weightOffset == h.decode.weightOffset) return true;
    std::vector<int8_t> other(size_t(n * k));
    return unpackStorage(h.prefill.storage, p + h.prefill.weightOffset, n, k, other.data()) &&
           std::memcmp(other.data(), t, other.size()) == 0;
  };
  return c;
}

std::string phaseText(const AscendMatmulTiling &t, const MatmulShape &shape, bool staticRows) {
  std::string out = fmt::format("  {} (M = {}{}):\n", t.phase == kPhaseDecode ? "decode" : "prefill", t.m,
                                t.phase == kPhasePrefill && !staticRows ? ", the planned prompt tile" : "");
  std::string body = explainTiling(t);
  size_t at = 0;
  while (at < body.size()) {
    size_t nl = body.find('\n', at);
    if (nl == std::string::npos) nl = body.size();
    out += "    " + body.substr(at, nl - at) + "\n";
    at = nl + 1;
  }
  // The cost model's comparison of the storages (each with its own best schedule).
  std::string cmp = "    storages compared (busiest core):";
  for (int s : {kStorageInt8Nz, kStorageInt4Msd, kStoragePacked2bRing}) {
    MatmulShape sh = shape;
    if (!storageUnsupported(sh, s).empty()) {
      cmp += fmt::format(" {} n/a ({});", storageName(s), storageUnsupported(sh, s));
      continue;
    }
    AscendMatmulTiling c = bestTilingFor(sh, AscendPhase(t.phase), s);
    CycleEstimate e = estimateCycles(c, c.m);
    cmp += fmt::format(" {} {:.0f} cycles ({:.1f} KB from HBM, {:.0f} cube cycles){};", storageName(s), e.totalCycles,
                       e.mte2Bytes / 1e3, e.cubeCycles, s == t.storage ? " <- chosen" : "");
  }
  cmp.pop_back();
  return out + cmp + "\n";
}

class AscendTarget final : public Target {
public:
  std::string_view name() const override { return "ascend-910b"; }
  std::string_view description() const override {
    return "Huawei Ascend 910B2 (24 AIC + 48 AIV): BitLinear tiled for the AI Cores by a cost model; --emit=ascendc "
           "writes AscendC for CANN; executables are a functional simulator that runs here, on this x86-64 CPU";
  }
  std::string triple() const override { return "x86_64-pc-linux-gnu"; }

  CpuSelection selectCpu(const std::string &cpu) const override {
    // The simulator executable runs on this host: its CPU is the host's kind (x86-64-v3 unless named).
    if (cpu == "native" && !runsOnHost()) fail("--cpu=native: this host is not x86-64; name an x86 CPU");
    CpuSelection sel = cpu == "native" ? hostCpu() : CpuSelection{cpu.empty() ? "x86-64-v3" : cpu, ""};
    requireCpuFeatures(triple(), sel, {"avx2", "fma"}, name());
    return sel;
  }

  std::vector<std::string> features() const override {
    return {"cube int8 16x32x16", "cube int4 16x64x16",       "L1 512 KiB", "L0A/L0B 64 KiB", "L0C 128 KiB",
            "UB 192 KiB",         "simulated on the host CPU"};
  }

  HardwareInfo hardware() const override {
    // Per AIC: L1 as the "L1 data" buffer, a 24th of the 192 MiB L2; HBM 24 x 32 B x 1.8 GHz; the vector
    // unit's 256-byte repeat as its width.
    return {.vectorBits = kVectorRepeatBytes * 8,
            .vectorRegisters = 0,
            .l1DataBytes = kL1Bytes,
            .l2Bytes = (int64_t(192) << 20) / kAic,
            .l3Bytes = 0,
            .memoryGBs = kAic * kGmBytesPerCycle * TERNC_ASCEND_GHZ,
            .cores = kAic,
            .ghz = TERNC_ASCEND_GHZ,
            .vectorIssue = 1};
  }

  std::string_view kernelBitcode() const override {
    return {ternc_kernels_ascend910b_bc, size_t(ternc_kernels_ascend910b_bc_end - ternc_kernels_ascend910b_bc)};
  }

  std::vector<std::string> pipeline(const CpuSelection &) const override { return {kPass}; }

  void registerPasses(PassRegistry &r) const override {
    r.add(kPass, std::string(AscendTilePass::summaryText()), [] { return std::make_unique<AscendTilePass>(); });
    registerTernaryLayout(kLayout, codec());
  }

  std::string explainTiling(const Op &op, const CpuSelection &) const override {
    if (op.opName() != "BitLinear") return "";
    const Value *w = op.operand(2);
    std::string head = "  ascend-910b: tiling (cost model)\n";
    std::string kernel = op.attrs().getString(kTargetKernelAttr, "");
    if (kernel != kKernel) {
      std::string why = unsupportedWeight(*w);
      if (why.empty()) why = kernel.empty() ? "the ascend-tile pass did not run on it" : "another kernel: " + kernel;
      return head + fmt::format("  no ascend-910b schedule: {} (weight {})", why, w->type().str());
    }
    const Constant *c = w->constant();
    const auto *bytes = reinterpret_cast<const uint8_t *>(c->data.rawData());
    int64_t n = w->type().dim(0).value(), k = w->type().dim(1).value();
    if (std::string why = checkPackedWeight(bytes, c->data.byteSize(), n, k); !why.empty())
      return head + "  the packed weight is malformed: " + why;
    AscendPackedWeight h = packedHeader(bytes);
    MatmulShape shape = shapeOf(op);
    const Type &qt = op.operand(0)->type();
    bool staticRows = true;
    for (size_t i = 0; i + 1 < qt.rank(); ++i) staticRows = staticRows && qt.dim(i).isStatic();
    std::string out = head;
    out += fmt::format("  packed weight{}: {} (layout {}: header + {})\n", shape.gated ? " and gate" : "",
                       fmt::format("{:.2f} MB", double(c->data.byteSize()) / 1e6), kLayout,
                       h.decode.storage == h.prefill.storage
                           ? std::string(storageName(h.decode.storage)) + " shared by both phases"
                           : std::string(storageName(h.decode.storage)) + " for decode and " +
                                 storageName(h.prefill.storage) + " for prefill");
    out += phaseText(h.decode, shape, staticRows);
    out += phaseText(h.prefill, shape, staticRows);
    out += fmt::format("  kernel: {} (the functional simulator of this schedule; TERNC_ASCEND_CYCLES=1 prints its "
                       "cycle counts)",
                       kernel);
    return out;
  }

  std::vector<std::string> customEmitKinds() const override { return {"ascendc"}; }
  /// --emit=ascendc: the AscendC project of the legalized module (targets/ascend-910b/emit, docs/ascend-emit.md).
  void emitCustom(const Module &m, const CpuSelection &cpu, std::string_view kind,
                  const std::string &output) const override {
    if (kind != "ascendc") return Target::emitCustom(m, cpu, kind, output);
    ascend::emitAscendC(m, output);
  }

  LinkInfo linkInfo() const override { return hostLinkInfo(triple()); }
  bool runsOnHost() const override { return hostIsX86_64(); }
};

} // namespace

std::unique_ptr<Target> createAscend910bTarget() { return std::make_unique<AscendTarget>(); }

} // namespace ternc
