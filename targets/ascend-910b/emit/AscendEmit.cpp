// AscendEmit: the ascend-910b target's AscendC emitter (AscendEmit.h, docs/ascend-emit.md). It reads the module
// after the `ascend-tile` pass: each BitLinear's weight (and gate) is a constant of layout "ascend910b" whose
// AscendPackedWeight header holds the two phases' schedules. Each distinct schedule becomes a tiling struct of
// constants (kernels/tilings.h); each BitLinear, phase by phase, a mixed AIC/AIV kernel instantiating the device
// templates of DeviceCode.inc with that tiling and its epilogue; ActQuant and Attention become vector kernels;
// CacheWrite is a device-to-device copy on the host's stream (an AIV kernel when it applies RoPE). Every other op (embeddings, RoPE, masks, norms,
// the head) becomes an AIV kernel of ternc_graph.h, an elementwise op together with the ops plan-memory fused
// into it; plan-memory's views are pointer aliases. The host program launches them in graph order.
#include "targets/ascend-910b/emit/AscendEmit.h"

#include "targets/ascend-910b/AscendTiling.h"

#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/Interpreter.h"
#include "passes/PlanMemory.h"
#include "passes/QuantizeHead.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>
#include <unistd.h>

namespace ternc::ascend {
namespace {

#include "targets/ascend-910b/emit/DeviceCode.inc"

namespace fs = std::filesystem;

constexpr const char *kLayout = "ascend910b";
/// The first line of every emitted text file (after the comment marker), and how a previous output is recognized.
constexpr const char *kEmittedBy = "Emitted by ternc's ascend-910b target (ternc compile --emit=ascendc)";
constexpr const char *kReadme = "README.md";
/// AIV cores of one 910B2 (AscendSchedule.h): the block count of vector kernels.
constexpr int kVectorBlocks = kAiv;

/// The printer every emitted source goes through: an "emitted by" header, indented lines, braces, and the
/// `static constexpr` constants the kernels' tilings and epilogues are made of.
class CodeWriter {
public:
  /// A fragment (no header).
  CodeWriter() = default;
  /// A file, starting with the header comment: `marker` is the language's comment ("//", "#"), `what` says what
  /// the file is.
  CodeWriter(std::string_view marker, std::string_view what) {
    out_ = fmt::format("{} {}: {}\n", marker, kEmittedBy, what);
  }

  template <typename... A> CodeWriter &line(fmt::format_string<A...> f, A &&...a) {
    out_.append(size_t(indent_) * 2, ' ');
    fmt::format_to(std::back_inserter(out_), f, std::forward<A>(a)...);
    out_ += '\n';
    return *this;
  }
  CodeWriter &blank() {
    out_ += '\n';
    return *this;
  }
  /// Verbatim text (a fixed part of the project).
  CodeWriter &text(std::string_view s) {
    out_ += s;
    return *this;
  }
  /// `head {`, then indents.
  CodeWriter &open(std::string_view head) {
    if (head.empty())
      line("{{");
    else
      line("{} {{", head);
    ++indent_;
    return *this;
  }
  CodeWriter &close(std::string_view tail = "}") {
    --indent_;
    return line("{}", tail);
  }
  template <typename V> CodeWriter &constant(std::string_view type, std::string_view name, const V &v) {
    return line("static constexpr {} {} = {};", type, name, v);
  }
  /// A struct of constants, fields given as (type, name, value).
  CodeWriter &constants(std::string_view name, const std::vector<std::array<std::string, 3>> &fields) {
    open(fmt::format("struct {}", name));
    for (const auto &f : fields) constant(f[0], f[1], f[2]);
    return close("};");
  }
  const std::string &str() const { return out_; }

private:
  std::string out_;
  int indent_ = 0;
};

/// A C++ float literal that reads back as exactly `v`.
std::string floatLiteral(float v) {
  if (!std::isfinite(v)) fail("the AscendC emitter cannot print the float constant {}", v);
  std::string s = fmt::format("{}", v);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s + "f";
}

std::string boolLiteral(bool b) { return b ? "true" : "false"; }

/// An identifier from an IR name (letters, digits and '_', at most 40 characters).
std::string identifier(std::string_view name) {
  std::string s;
  for (char c : name) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  while (s.find("__") != std::string::npos) s.erase(s.find("__"), 1);
  if (s.size() > 40) s.resize(40);
  while (!s.empty() && s.front() == '_') s.erase(0, 1);
  return s.empty() ? "v" : s;
}

/// A dim as a C++ int64 expression over the host's symbol variables (s_<name>).
std::string dimExpr(const Dim &d, std::string_view what) {
  if (d.isUnknown()) fail("{}: a dim is unknown ('?'); the AscendC host program needs every size as a formula", what);
  if (d.isStatic()) return std::to_string(d.value());
  std::vector<std::string> terms;
  for (const auto &[syms, coeff] : d.terms()) {
    std::vector<std::string> f;
    if (coeff != 1 || syms.empty()) f.push_back(std::to_string(coeff));
    for (const std::string &s : syms) f.push_back("s_" + identifier(s));
    terms.push_back(fmt::format("{}", fmt::join(f, " * ")));
  }
  return fmt::format("({})", fmt::join(terms, " + "));
}

/// The element count of a ranked type's dims [from, to), as an expression.
std::string countExpr(const Type &t, size_t from, size_t to, std::string_view what) {
  std::vector<std::string> f;
  for (size_t i = from; i < to && i < t.rank(); ++i) f.push_back(dimExpr(t.dim(i), what));
  return f.empty() ? "int64_t(1)" : fmt::format("int64_t({})", fmt::join(f, " * "));
}

std::string bytesExpr(const Type &t, std::string_view what) {
  if (!t.isRanked()) fail("{}: type {} is unranked", what, t.str());
  return fmt::format("size_t({}) * {}", countExpr(t, 0, t.rank(), what), dtypeSize(t.dtype()));
}

/// A value's name as shown in comments (%name or @name).
std::string irName(const Value *v) { return (v->kind() == Value::Kind::Constant ? "@" : "%") + v->name(); }

/// An op for messages and comments: `LOC: OpName %result`.
std::string describe(const Op &op) {
  std::string what = op.opName() + " " + irName(op.result());
  return op.loc().empty() ? what : op.loc() + ": " + what;
}

/// plan-memory's slot code of a result (passes/PlanMemory.h); an own buffer (0) when the graph has no plan.
int64_t planSlot(const Value *v) {
  const Op *op = v->definingOp();
  if (!op) return 0;
  std::vector<int64_t> slots = op->attrs().getInts("mem.slots");
  return slots.size() == op->numResults() ? slots[v->resultIndex()] : 0;
}

/// The emitted project: relative path -> bytes, in the order written.
using Files = std::vector<std::pair<std::string, std::string>>;

/// BitLinear's operands (ir/ops/Ternary.cpp).
enum : size_t { kQ, kS, kW, kWScale, kBias, kGate, kGateScale, kGateBias, kResidual };

const char *phaseName(int phase) { return phase == kPhaseDecode ? "decode" : "prefill"; }

/// The tiling fields of the struct, in order, with their values.
std::vector<std::array<std::string, 3>> tilingFields(const AscendMatmulTiling &t) {
  std::vector<std::array<std::string, 3>> f;
#define TERNC_FIELD(type, name) f.push_back({#type, #name, std::to_string(t.name)});
  TERNC_ASCEND_TILING_FIELDS(TERNC_FIELD)
#undef TERNC_FIELD
  return f;
}

bool sameTiling(const AscendMatmulTiling &a, const AscendMatmulTiling &b) { return tilingFields(a) == tilingFields(b); }

/// UB bytes the BitLinear vector side allocates for tiling t (DeviceCode.inc: BitLinearVector's InitBuffer calls).
int64_t epilogueUbBytes(const AscendMatmulTiling &t) {
  auto roundUp = [](int64_t a, int64_t b) { return (a + b - 1) / b * b; };
  int64_t cols = roundUp((t.baseN + 1) / 2, 8), kp = roundUp(t.k, 64);
  int64_t queue = std::max({16 * cols * 4, kp, roundUp(t.baseN, 16) * 32});
  int64_t acc = int64_t(t.baseM) * cols * 4 * (t.gated ? 2 : 1);
  int64_t calc = std::max(cols * 4 * 4, kp * 5);
  int64_t ring = t.storage == kStoragePacked2bRing ? roundUp(t.baseN, 16) * 8 * 14 : 0;
  return 4 * queue + acc + calc + ring;
}

/// What the emitted device code assumes of a tiling beyond validateTiling; "" if it holds.
std::string emitterLimits(const AscendMatmulTiling &t) {
  int64_t c0 = ascendC0(t.storage), l1k = int64_t(t.baseK) * std::min(t.stepKa, t.stepKb);
  if ((l1k / c0) * ((t.baseN + 15) / 16) > 255)
    return fmt::format("a base block of {} x {} is {} fractals, more than one LoadData moves (255)", t.baseK, t.baseN,
                       (l1k / c0) * ((t.baseN + 15) / 16));
  if (ascendRoundUp(t.n, 16) > 65535) return fmt::format("N = {} exceeds the DataCopy strides' 16 bits", t.n);
  if (t.storage == kStoragePacked2bRing) {
    if (t.ringSlots < 1 || t.ringSlots > 15)
      return fmt::format("{} ring slots: cross-core flags count 1 to 15 pending tiles", t.ringSlots);
    if (t.ringSlotBytes < ascendRoundUp(t.baseN, 16) * l1k)
      return fmt::format("ring slots of {} bytes cannot hold an L1 weight tile of {} x {}", t.ringSlotBytes, l1k,
                         t.baseN);
  }
  if (t.storage == kStorageInt4Msd && t.kGroup % 64 != 0 && t.kGroup != t.k)
    return fmt::format("scale groups of {} do not align with the MSD correction's 64-weight blocks", t.kGroup);
  if (int64_t ub = epilogueUbBytes(t); ub > kUbBytes)
    return fmt::format("the AIV epilogue needs {} bytes of UB, more than the {} there are", ub, int(kUbBytes));
  return "";
}

/// Emits the project for one module.
class Emitter {
public:
  explicit Emitter(const Module &m) : m_(m) {}

  Files run() {
    for (const auto &g : m_.graphs()) emitGraph(*g);
    if (!problems_.empty())
      fail("--emit=ascendc: module @{} cannot be emitted as AscendC:\n  {}", m_.name(), fmt::join(problems_, "\n  "));
    Files files;
    files.emplace_back("kernels/ternc_workspace.h",
                       header("//", "the GM workspace layout kernels and host share") + kWorkspaceHeader);
    files.emplace_back("kernels/ternc_ascendc.h",
                       header("//", "device templates the kernels instantiate (not CANN; see README.md)") +
                           kDeviceHeader);
    files.emplace_back("kernels/ternc_graph.h",
                       header("//", "device templates of the graph's other ops (AIV; not CANN; see README.md)") +
                           kGraphDeviceHeader);
    files.emplace_back("kernels/tilings.h", tilingsHeader());
    for (const Kernel &k : kernels_) files.emplace_back("kernels/" + k.name + ".cpp", k.source);
    files.emplace_back("host/kernels.h", kernelsHeader());
    files.emplace_back("host/main.cpp", hostProgram());
    for (const Weight &w : weights_) files.emplace_back("weights/" + w.file, w.bytes);
    files.emplace_back("CMakeLists.txt", cmakeLists());
    files.emplace_back(kReadme, readme());
    return files;
  }

private:
  struct Kernel {
    std::string name, source, params; // params: the C parameter list
    std::vector<std::string> serves;  // what it runs, for comments and the README
  };
  struct Tiling {
    std::string name;
    AscendMatmulTiling t;
    std::vector<std::string> sources; // "weights/FILE phase"
  };
  struct Weight {
    std::string var, file, bytes, what;
  };

  static std::string header(std::string_view marker, std::string_view what) { return CodeWriter(marker, what).str(); }

  // ---- weights ----------------------------------------------------------------------------------------

  /// The host variable of a weight file holding `bytes` (deduplicated by key).
  std::string weight(const std::string &key, const std::string &hint, std::string bytes, std::string what) {
    auto it = weightByKey_.find(key);
    if (it != weightByKey_.end()) return weights_[it->second].var;
    std::string var = fmt::format("w{}", weights_.size());
    weights_.push_back({var, fmt::format("{}_{}.bin", var, identifier(hint)), std::move(bytes), std::move(what)});
    weightByKey_[key] = weights_.size() - 1;
    return var;
  }

  static std::string tensorBytes(const Tensor &t) {
    return {reinterpret_cast<const char *>(t.rawData()), t.byteSize()};
  }

  /// The device pointer expression of an operand: a weight file for constants, the value's buffer otherwise.
  std::string operand(const Value *v) {
    if (!v) return "nullptr";
    if (const Constant *c = v->constant()) {
      if (!c->layout.empty()) fail("{}: constant {} has layout {}", m_.name(), irName(v), c->layout);
      return weight(c->value.name(), c->value.name(), tensorBytes(c->data), irName(v) + " : " + v->type().str());
    }
    auto it = values_.find(v);
    if (it == values_.end()) fail("--emit=ascendc: {} is used before it has a device buffer", irName(v));
    return it->second;
  }

  /// A BitLinear weight's packed header, checked; its file is the constant's bytes as packed.
  const AscendPackedWeight *packed(const Op &op, size_t i, std::string &var) {
    const Value *w = op.operand(i);
    const Constant *c = w->constant();
    if (!c || c->layout != kLayout) {
      problems_.push_back(fmt::format("{}: weight {} is not packed for ascend-910b (layout \"{}\"): the ascend-tile "
                                      "pass did not take it",
                                      describe(op), irName(w), c ? c->layout : ""));
      return nullptr;
    }
    int64_t n = w->type().dim(0).value(), k = w->type().dim(1).value();
    const auto *bytes = reinterpret_cast<const uint8_t *>(c->data.rawData());
    if (std::string why = checkPackedWeight(bytes, c->data.byteSize(), n, k); !why.empty()) {
      problems_.push_back(fmt::format("{}: packed weight {} is malformed: {}", describe(op), irName(w), why));
      return nullptr;
    }
    headers_.push_back(packedHeader(bytes));
    var = weight(w->name(), w->name(), tensorBytes(c->data),
                 fmt::format("{} : {}, packed ({} bytes: AscendPackedWeight header + storages)", irName(w),
                             w->type().str(), c->data.byteSize()));
    return &headers_.back();
  }

  /// The MSD correction of a packed int4 weight, summed per scale group: int32 [groups][N], the groups' sums of
  /// the per-64-block table that follows the int4 storage (AscendSchedule.h).
  std::string msdTable(const Value *w, const AscendMatmulTiling &t) {
    const Constant *c = w->constant();
    int64_t n = t.n, k = t.k, np = ascendRoundUp(n, 16), kp = ascendRoundUp(k, 64), blocks = kp / 64;
    int64_t groups = (k + t.kGroup - 1) / t.kGroup, perGroup = t.kGroup % 64 == 0 ? t.kGroup / 64 : blocks;
    const auto *table = reinterpret_cast<const int8_t *>(c->data.rawData()) + t.weightOffset + np * kp / 2;
    std::string out(size_t(groups * n * 4), '\0');
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t r = 0; r < n; ++r) {
        int32_t sum = 0;
        for (int64_t b = g * perGroup; b < std::min(blocks, (g + 1) * perGroup); ++b) sum += table[r * blocks + b];
        std::memcpy(out.data() + (g * n + r) * 4, &sum, 4);
      }
    return weight(w->name() + "#msd", w->name() + "_msd", std::move(out),
                  fmt::format("int32 [{}][{}]: the MSD correction of {} summed per scale group of {}", groups, n,
                              irName(w), t.kGroup));
  }

  /// A BitLinear scale operand as the kernels read it: per tensor [1] and per row [N] as they are, per group
  /// transposed to [groups][N] (each group's scales contiguous over N).
  std::string scale(const Op &op, size_t wi, size_t si) {
    const Value *w = op.operand(wi), *s = op.operand(si);
    TernScale g = w->type().ternScale();
    if (g.kind != TernScale::Group) return operand(s);
    const Constant *c = s->constant();
    if (!c) {
      problems_.push_back(fmt::format("{}: the group scale {} is not a constant", describe(op), irName(s)));
      return "nullptr";
    }
    int64_t n = w->type().dim(0).value(), groups = w->type().dim(1).value() / g.group;
    std::string out(size_t(n * groups * 4), '\0');
    const float *src = c->data.data<float>();
    for (int64_t r = 0; r < n; ++r)
      for (int64_t j = 0; j < groups; ++j) std::memcpy(out.data() + (j * n + r) * 4, src + r * groups + j, 4);
    return weight(s->name() + "#groupmajor", s->name(), std::move(out),
                  fmt::format("{} transposed to f32 [{}][{}] (group-major)", irName(s), groups, n));
  }

  // ---- kernels ----------------------------------------------------------------------------------------

  /// The tiling struct for t (one per distinct schedule), recording where it came from.
  std::string tiling(const AscendMatmulTiling &t, const std::string &source) {
    for (Tiling &x : tilings_)
      if (sameTiling(x.t, t)) {
        x.sources.push_back(source);
        return x.name;
      }
    tilings_.push_back({fmt::format("Tiling{}", tilings_.size()), t, {source}});
    return tilings_.back().name;
  }

  /// The kernel `stem`_N(params) with the constants `consts` (a fragment) whose entry point runs `entry`;
  /// identical kernels are emitted once, serving every op they were asked for.
  std::string kernel(const std::string &stem, const std::string &what, const std::string &params,
                     const std::string &consts, const std::string &entry, const std::string &serves) {
    std::string key = stem + "\n" + consts + entry;
    if (auto it = kernelByBody_.find(key); it != kernelByBody_.end()) {
      kernels_[it->second].serves.push_back(serves);
      return kernels_[it->second].name;
    }
    std::string name = fmt::format("{}_{}", stem, kernels_.size());
    CodeWriter w("//", what);
    w.line("#include \"ternc_ascendc.h\"").line("#include \"ternc_graph.h\"").line("#include \"tilings.h\"");
    w.blank();
    if (!consts.empty()) w.line("namespace {{").text(consts).line("}} // namespace").blank();
    w.open(fmt::format("extern \"C\" __global__ __aicore__ void {}({})", name, params));
    for (size_t at = 0; at < entry.size();) {
      size_t end = entry.find('\n', at);
      if (end == std::string::npos) end = entry.size();
      if (end > at) w.line("{}", std::string_view(entry).substr(at, end - at));
      at = end + 1;
    }
    w.close();
    kernelByBody_[key] = kernels_.size();
    kernels_.push_back({name, w.str(), params, {serves}});
    return name;
  }

  static constexpr const char *kBitLinearParams =
      "GM_ADDR q, GM_ADDR s, GM_ADDR w, GM_ADDR wScale, GM_ADDR wMsd, GM_ADDR bias, GM_ADDR gate, GM_ADDR gateScale, "
      "GM_ADDR gateMsd, GM_ADDR gateBias, GM_ADDR residual, GM_ADDR y, GM_ADDR workspace, uint32_t rows";

  void emitBitLinear(const Op &op, CodeWriter &host) {
    std::string wVar, gVar;
    const AscendPackedWeight *h = packed(op, kW, wVar);
    const AscendPackedWeight *gh = op.operand(kGate) ? packed(op, kGate, gVar) : nullptr;
    if (!h || (op.operand(kGate) && !gh)) return;
    std::string where = describe(op);
    bool gated = gh != nullptr;
    const Type &wt = op.operand(kW)->type();
    TernScale g = wt.ternScale();
    bool ok = true;
    for (const AscendMatmulTiling *t : {&h->decode, &h->prefill}) {
      if (gh && !sameTiling(*t, t == &h->decode ? gh->decode : gh->prefill)) {
        problems_.push_back(where + ": the gate weight was packed with another schedule than the weight");
        ok = false;
      }
      if (t->gated != int(gated)) {
        problems_.push_back(fmt::format("{}: the {} schedule says gated = {}, the op {} a gate", where,
                                        phaseName(t->phase), t->gated, gated ? "has" : "has no"));
        ok = false;
      }
      if (g.kind == TernScale::Group && t->kGroup != g.group) {
        problems_.push_back(fmt::format("{}: the {} schedule's scale group is {}, the weight's {}", where,
                                        phaseName(t->phase), t->kGroup, g.group));
        ok = false;
      }
      if (std::string why = emitterLimits(*t); !why.empty()) {
        problems_.push_back(fmt::format("{}: the {} schedule: {}", where, phaseName(t->phase), why));
        ok = false;
      }
    }
    if (!ok) return;
    std::string act = op.attrs().getString("act", "none");
    int actId = act == "relu" ? 1 : act == "relu2" ? 2 : act == "silu" ? 3 : act == "gelu" ? 4 : 0;
    std::string epilogue =
        CodeWriter()
            .constants("Epilogue", {{"int", "scale",
                                     std::to_string(g.kind == TernScale::Group ? 2
                                                    : g.kind == TernScale::Row ? 1
                                                                               : 0)},
                                    {"bool", "divide", boolLiteral(op.attrs().getString("dequant", "div") == "div")},
                                    {"bool", "hasBias", boolLiteral(op.operand(kBias))},
                                    {"bool", "hasGateBias", boolLiteral(op.operand(kGateBias))},
                                    {"bool", "hasResidual", boolLiteral(op.operand(kResidual))},
                                    {"int", "act", std::to_string(actId)}})
            .str();
    std::string q = operand(op.operand(kQ)), s = operand(op.operand(kS)), y = values_.at(op.result());
    std::string wScale = scale(op, kW, kWScale), gScale = gated ? scale(op, kGate, kGateScale) : "nullptr";
    std::string rows = countExpr(op.operand(kQ)->type(), 0, op.operand(kQ)->type().rank() - 1, where);
    host.open("");
    host.line("const int64_t rows = {};", rows);
    for (const AscendMatmulTiling *t : {&h->decode, &h->prefill}) {
      // The gate's schedule is the same struct (checked above); record both weights as its sources.
      std::string tName = tiling(*t, fmt::format("weights/{} {}", weightFile(wVar), phaseName(t->phase)));
      if (gated) tiling(*t, fmt::format("weights/{} {}", weightFile(gVar), phaseName(t->phase)));
      std::string msd = t->storage == kStorageInt4Msd ? msdTable(op.operand(kW), *t) : "nullptr";
      std::string gMsd = gated && t->storage == kStorageInt4Msd ? msdTable(op.operand(kGate), *t) : "nullptr";
      std::string entry =
          fmt::format("ternc_ascend::BitLinear<ternc_tiling::{}, Epilogue>(\n"
                      "    {{q, s, w, wScale, wMsd, bias, gate, gateScale, gateMsd, gateBias, residual, "
                      "y, workspace, rows}});",
                      tName);
      std::string name = kernel(fmt::format("ternc_bitlinear_{}", phaseName(t->phase)),
                                fmt::format("BitLinear at {} ({}), {} storage, tiling {} (kernels/tilings.h)",
                                            phaseName(t->phase), act, storageName(t->storage), tName),
                                kBitLinearParams, epilogue, entry, where + " at " + phaseName(t->phase));
      std::string args = fmt::format("{}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}", q, s, wVar, wScale, msd,
                                     operand(op.operand(kBias)), gated ? gVar : "nullptr", gScale, gMsd,
                                     operand(op.operand(kGateBias)), operand(op.operand(kResidual)), y);
      std::string launch = fmt::format(
          "TERNC_LAUNCH({}, ternc_tiling::{}::blockDim, stream, {}, workspace(size_t(ternc_ascend::Workspace<"
          "ternc_tiling::{}>::Total(rows))), uint32_t(rows));",
          name, tName, args, tName);
      host.open(t == &h->decode ? fmt::format("if (rows <= ternc_tiling::{}::m)", tName) : std::string("else"));
      host.line("// {}: {} storage, {} core groups", phaseName(t->phase), storageName(t->storage), t->blockDim);
      host.line("{}", launch);
      host.close();
    }
    host.close();
  }

  std::string weightFile(const std::string &var) const {
    for (const Weight &w : weights_)
      if (w.var == var) return w.file;
    return var;
  }

  static constexpr const char *kActQuantParams =
      "GM_ADDR x, GM_ADDR normScale, GM_ADDR normBias, GM_ADDR q, GM_ADDR s, uint32_t rows";

  void emitActQuant(const Op &op, CodeWriter &host) {
    std::string where = describe(op);
    const Type &x = op.operand(0)->type();
    if (!x.isRanked() || x.rank() < 1 || !x.dim(x.rank() - 1).isStatic() || x.dtype() != DType::F32) {
      problems_.push_back(where + ": the activations must be f32 with a static last dim, not " + x.str());
      return;
    }
    const Attrs &a = op.attrs();
    std::string norm = a.getString("norm", "none"), mode = a.getString("scale", "127/m");
    int64_t k = x.dim(x.rank() - 1).value();
    // UB: ActQuantCalcBytes (DeviceCode.inc) plus one in (f32) and one out (int8) row.
    int64_t kp = ascendRoundUp(k, 64),
            tables = int64_t(op.operand(1) != nullptr) + int64_t(op.numOperands() > 2 && op.operand(2));
    if (int64_t ub = (2 + tables) * kp * 4 + (128 + ascendRoundUp(kp / 64, 8)) * 4 + kp * 4 + kp; ub > kUbBytes) {
      problems_.push_back(fmt::format("{}: a row of {} floats needs {} bytes of UB, more than the {} there are", where,
                                      k, ub, int(kUbBytes)));
      return;
    }
    std::string quant =
        CodeWriter()
            .constants("Quant", {{"int64_t", "k", std::to_string(k)},
                                 {"int", "norm",
                                  std::to_string(norm == "rms"       ? 1
                                                 : norm == "rms-div" ? 2
                                                 : norm == "layer"   ? 3
                                                                     : 0)},
                                 {"bool", "hasNormScale", boolLiteral(op.operand(1))},
                                 {"bool", "hasNormBias", boolLiteral(op.numOperands() > 2 && op.operand(2))},
                                 {"float", "normEps", floatLiteral(a.getFloat("norm_eps", 1e-5f))},
                                 {"float", "eps", floatLiteral(a.getFloat("eps", 1e-5f))},
                                 {"bool", "epsAdd", boolLiteral(a.getString("eps_mode", "max") == "add")},
                                 {"int", "quantScale",
                                  std::to_string(mode == "127/m"        ? 0
                                                 : mode == "rcp(m)*127" ? 1
                                                                        : 2)}})
            .str();
    std::string name =
        kernel("ternc_actquant", fmt::format("ActQuant (norm {}, scale {}), AIV only", norm, mode), kActQuantParams,
               quant, "ternc_ascend::ActQuant<Quant>(x, normScale, normBias, q, s, rows);", where);
    std::string rows = countExpr(x, 0, x.rank() - 1, where);
    host.open("");
    host.line("const int64_t rows = {};", rows);
    host.line("TERNC_LAUNCH({}, uint32_t(ternc_ascend::MaxI(1, ternc_ascend::MinI({}, rows))), stream, {}, {}, {}, {}, "
              "{}, uint32_t(rows));",
              name, kVectorBlocks, operand(op.operand(0)), operand(op.operand(1)),
              operand(op.numOperands() > 2 ? op.operand(2) : nullptr), values_.at(op.result(0)),
              values_.at(op.result(1)));
    host.close();
  }

  static constexpr const char *kAttentionParams =
      "GM_ADDR q, GM_ADDR kCache, GM_ADDR vCache, GM_ADDR mask, GM_ADDR cosT, GM_ADDR sinT, GM_ADDR out, "
      "uint32_t seq, uint32_t past, uint32_t capacity, uint32_t maskStrideH, uint32_t maskStrideS, "
      "uint32_t maskStrideT, uint32_t cosStrideH, uint32_t cosStrideS, uint32_t sinStrideH, uint32_t sinStrideS";
  static constexpr const char *kRopeCacheWriteParams =
      "GM_ADDR src, GM_ADDR cache, GM_ADDR cosT, GM_ADDR sinT, uint32_t seq, uint32_t past, uint32_t capacity, "
      "uint32_t cosStrideH, uint32_t cosStrideS, uint32_t sinStrideH, uint32_t sinStrideS";

  /// The element strides of `t` broadcast to a rank-4 [1, heads, seq, last] along axes 1, 2 and 3 ("0" where it
  /// broadcasts): an attention mask's or a RoPE table's.
  std::array<std::string, 3> broadcastStrides4(const Type &t, const std::string &where) {
    std::array<std::string, 3> strides = {"0", "0", "0"};
    size_t r = t.rank();
    for (size_t i = 1; i < 4; ++i) {
      if (i + r < 4) continue;  // full axis i is axis i - (4 - r) of t
      size_t axis = i + r - 4;
      if (t.dim(axis) == Dim(1)) continue;
      strides[i - 1] = countExpr(t, axis + 1, r, where);
    }
    return strides;
  }

  void emitAttention(const Op &op, CodeWriter &host) {
    std::string where = describe(op);
    const Type &q = op.operand(0)->type();
    const StateVar *ks = m_.findState(op.attrs().getString("state_k", ""));
    const StateVar *vs = m_.findState(op.attrs().getString("state_v", ""));
    if (!ks || !vs || !q.dim(1).isStatic() || !q.dim(3).isStatic() || !ks->type.dim(1).isStatic() ||
        ks->type.dtype() != vs->type.dtype() || (ks->type.dtype() != DType::F32 && ks->type.dtype() != DType::F16)) {
      problems_.push_back(where + ": needs static heads and head_dim and an f32 or f16 cache");
      return;
    }
    int64_t heads = q.dim(1).value(), d = q.dim(3).value(), kvHeads = ks->type.dim(1).value();
    int64_t g = heads / kvHeads;
    int64_t ub = (2 * g * d + 2 * 64 * d + g * 64 + 2 * d + 64) * 4 +
                 2 * 64 * d * int64_t(dtypeSize(ks->type.dtype())) + g * d * 4;
    if (ub > kUbBytes) {
      problems_.push_back(fmt::format("{}: {} heads of {} per key/value head need {} bytes of UB, more than {}", where,
                                      g, d, ub, int(kUbBytes)));
      return;
    }
    std::string mode = op.attrs().getString("scale_mode", "none");
    bool hasMask = op.numOperands() > 3 && op.operand(3);
    bool hasRope = op.numOperands() > 5 && op.operand(4) && op.operand(5);
    std::string consts = CodeWriter()
                             .constants("Shape", {{"int64_t", "heads", std::to_string(heads)},
                                                  {"int64_t", "kvHeads", std::to_string(kvHeads)},
                                                  {"int64_t", "headDim", std::to_string(d)},
                                                  {"float", "scale", floatLiteral(op.attrs().getFloat("scale", 1.0f))},
                                                  {"int", "scaleMode",
                                                   std::to_string(mode == "div"   ? 1
                                                                  : mode == "mul" ? 2
                                                                                  : 0)},
                                                  {"bool", "hasMask", boolLiteral(hasMask)},
                                                  {"bool", "hasRope", boolLiteral(hasRope)}})
                             .str();
    // The cache element type goes in as a type alias (not a constant).
    consts.insert(consts.find("  static constexpr"),
                  fmt::format("  using CacheType = {};\n", ks->type.dtype() == DType::F16 ? "half" : "float"));
    std::string entry = "ternc_ascend::Attention<Shape>(q, kCache, vCache, mask, cosT, sinT, out, seq, past, "
                        "capacity, maskStrideH, maskStrideS, maskStrideT, cosStrideH, cosStrideS, sinStrideH, "
                        "sinStrideS);";
    std::string name =
        kernel("ternc_attention",
               fmt::format("Attention, {} query heads over {} key/value heads of {}, AIV only", heads, kvHeads, d),
               kAttentionParams, consts, entry, where);
    std::string seq = dimExpr(q.dim(2), where), past = "s_" + identifier(op.attrs().getString("past", ""));
    std::string cap = dimExpr(ks->type.dim(2), where);
    // Strides of the additive mask broadcast to [1, heads, seq, past + seq] and of the RoPE tables broadcast to
    // [1, heads, seq, head_dim] (0 where they broadcast).
    std::array<std::string, 3> strides = {"0", "0", "0"}, cosStr = strides, sinStr = strides;
    if (hasMask) strides = broadcastStrides4(op.operand(3)->type(), where);
    if (hasRope) cosStr = broadcastStrides4(op.operand(4)->type(), where);
    if (hasRope) sinStr = broadcastStrides4(op.operand(5)->type(), where);
    host.line("TERNC_LAUNCH({}, uint32_t(ternc_ascend::MaxI(1, ternc_ascend::MinI({}, {} * {}))), stream, {}, st_{}, "
              "st_{}, {}, {}, {}, {}, uint32_t({}), uint32_t({}), uint32_t({}), uint32_t({}), uint32_t({}), "
              "uint32_t({}), uint32_t({}), uint32_t({}), uint32_t({}), uint32_t({}));",
              name, kVectorBlocks, kvHeads, seq, operand(op.operand(0)), identifier(ks->name), identifier(vs->name),
              hasMask ? operand(op.operand(3)) : "nullptr", hasRope ? operand(op.operand(4)) : "nullptr",
              hasRope ? operand(op.operand(5)) : "nullptr", values_.at(op.result()), seq, past, cap, strides[0],
              strides[1], strides[2], cosStr[0], cosStr[1], sinStr[0], sinStr[1]);
  }

  /// CacheWrite with RoPE: an AIV kernel rotates the key rows and stores them (converted to the cache's type)
  /// at rows [past, past + n) of the state.
  void emitRopeCacheWrite(const Op &op, CodeWriter &host) {
    std::string where = describe(op);
    const StateVar *st = m_.findState(op.attrs().getString("state", ""));
    const Type &in = op.operand(0)->type();
    if (!st || in.rank() != 4 || !in.dim(1).isStatic() || !in.dim(3).isStatic() ||
        (st->type.dtype() != DType::F32 && st->type.dtype() != DType::F16)) {
      problems_.push_back(where + ": RoPE rows need static heads and head_dim and an f32 or f16 cache");
      return;
    }
    int64_t kvHeads = in.dim(1).value(), d = in.dim(3).value();
    std::string consts = CodeWriter()
                             .constants("Shape", {{"int64_t", "kvHeads", std::to_string(kvHeads)},
                                                  {"int64_t", "headDim", std::to_string(d)}})
                             .str();
    consts.insert(consts.find("  static constexpr"),
                  fmt::format("  using CacheType = {};\n", st->type.dtype() == DType::F16 ? "half" : "float"));
    std::string name = kernel(
        "ternc_rope_cache_write", fmt::format("CacheWrite with RoPE, {} key/value heads of {}, AIV only", kvHeads, d),
        kRopeCacheWriteParams, consts,
        "ternc_ascend::RopeCacheWrite<Shape>(src, cache, cosT, sinT, seq, past, capacity, cosStrideH, cosStrideS, "
        "sinStrideH, sinStrideS);",
        where);
    std::string seq = dimExpr(in.dim(2), where), past = "s_" + identifier(op.attrs().getString("past", ""));
    std::string cap = dimExpr(st->type.dim(2), where);
    std::array<std::string, 3> cosStr = broadcastStrides4(op.operand(1)->type(), where),
                               sinStr = broadcastStrides4(op.operand(2)->type(), where);
    host.line("if ({0} < 0 || {0} + {1} > {2}) die(\"state @{3}: too many rows for its capacity\");", past, seq, cap,
              st->name);
    host.line("TERNC_LAUNCH({}, uint32_t(ternc_ascend::MaxI(1, ternc_ascend::MinI({}, {} * {}))), stream, {}, st_{}, "
              "{}, {}, uint32_t({}), uint32_t({}), uint32_t({}), uint32_t({}), uint32_t({}), uint32_t({}), "
              "uint32_t({}));",
              name, kVectorBlocks, kvHeads, seq, operand(op.operand(0)), identifier(st->name), operand(op.operand(1)),
              operand(op.operand(2)), seq, past, cap, cosStr[0], cosStr[1], sinStr[0], sinStr[1]);
  }

  /// CacheWrite: the new rows go into the state at [past, past + n) along the cache axis, by device-to-device
  /// copies on the stream (no kernel needed).
  void emitCacheWrite(const Op &op, CodeWriter &host) {
    if (op.opName() == "CacheWrite" && op.numOperands() > 2 && op.operand(1)) return emitRopeCacheWrite(op, host);
    std::string where = describe(op);
    const StateVar *st = m_.findState(op.attrs().getString("state", ""));
    const Type &in = op.operand(0)->type();
    if (!st || !in.isRanked() || st->type.rank() != in.rank()) {
      problems_.push_back(where + ": the rows and the state must have one rank");
      return;
    }
    int64_t axis = op.attrs().getInt("axis", 0);
    if (axis < 0) axis += int64_t(in.rank());
    size_t es = dtypeSize(in.dtype());
    if (st->type.dtype() != in.dtype()) {
      // An f16 cache of f32 rows: a converting copy into rows [past, past + n) of the state.
      auto dIn = dims6(in, where), dState = dims6(st->type, where);
      if (!dIn || !dState) return;
      std::vector<std::string> stateStrides = strides(*dState);
      host.line("if (s_{0} < 0 || s_{0} + {1} > {2}) die(\"state @{3}: too many rows for its capacity\");",
                identifier(op.attrs().getString("past", "")), dimExpr(in.dim(size_t(axis)), where),
                dimExpr(st->type.dim(size_t(axis)), where), st->name);
      emitCopy(host, where, in.dtype(), st->type.dtype(), "st_" + identifier(st->name), operand(op.operand(0)),
               *dIn, strides(*dIn), stateStrides, "0",
               fmt::format("s_{} * {}", identifier(op.attrs().getString("past", "")),
                           stateStrides[6 - in.rank() + size_t(axis)]));
      return;
    }
    host.open("");
    host.line("const int64_t past = s_{}, n = {}, cap = {};", identifier(op.attrs().getString("past", "")),
              dimExpr(in.dim(size_t(axis)), where), dimExpr(st->type.dim(size_t(axis)), where));
    host.line("const int64_t outer = {}, inner = {};", countExpr(in, 0, size_t(axis), where),
              countExpr(in, size_t(axis) + 1, in.rank(), where));
    host.line("if (past < 0 || past + n > cap) die(\"state @{}: %lld cached + %lld new rows exceed its %lld\", "
              "(long long)past, (long long)n, (long long)cap);",
              st->name);
    host.open("for (int64_t o = 0; o < outer; ++o)");
    host.line("TERNC_ACL(aclrtMemcpyAsync(st_{0} + size_t((o * cap + past) * inner) * {1}, size_t((cap - past) * "
              "inner) * {1}, {2} + size_t(o * n * inner) * {1}, size_t(n * inner) * {1}, ACL_MEMCPY_DEVICE_TO_DEVICE, "
              "stream));",
              identifier(st->name), es, operand(op.operand(0)));
    host.close();
    host.close();
  }

  // ---- the other ops: AIV kernels of kernels/ternc_graph.h, views, host copies -----------------------------

  /// Elements per UB tile of the graph kernels' copies, reductions and products.
  static constexpr int64_t kGraphTile = 4096;

  /// The C type of a dtype on the AI Core ("" if the graph kernels do not handle it); bool is one byte.
  static std::string cType(DType d) {
    switch (d) {
    case DType::F32: return "float";
    case DType::F16: return "half";
    case DType::I64: return "int64_t";
    case DType::I32: return "int32_t";
    case DType::I8: return "int8_t";
    case DType::U8:
    case DType::Bool: return "uint8_t";
    default: return "";
    }
  }

  /// The unsigned type a copy moves elements of `bytes` bytes as.
  static std::string copyType(size_t bytes) {
    return bytes == 1 ? "uint8_t" : bytes == 2 ? "uint16_t" : bytes == 4 ? "uint32_t" : "uint64_t";
  }

  /// A ranked type's dims as host expressions, front-padded with "1" to the kernels' rank 6.
  std::optional<std::vector<std::string>> dims6(const Type &t, const std::string &where) {
    if (!t.isRanked() || t.rank() > 6) {
      problems_.push_back(fmt::format("{}: {} is unranked or of rank above 6", where, t.str()));
      return std::nullopt;
    }
    std::vector<std::string> d(6 - t.rank(), "1");
    for (const Dim &x : t.dims()) d.push_back(dimExpr(x, where));
    return d;
  }

  /// Row-major strides of dims (host expressions).
  static std::vector<std::string> strides(const std::vector<std::string> &dims) {
    std::vector<std::string> s(dims.size());
    std::string acc = "1";
    for (size_t i = dims.size(); i-- > 0;) {
      s[i] = acc;
      acc = acc == "1" ? dims[i] : fmt::format("{} * {}", acc, dims[i]);
    }
    return s;
  }

  /// The strides operand `t` is read with at each element of an output of type `out` (numpy broadcasting).
  std::optional<std::vector<std::string>> broadcastStrides(const Type &t, const Type &out, const std::string &where) {
    auto d = dims6(t, where);
    if (!d || !out.isRanked() || t.rank() > out.rank()) return std::nullopt;
    std::vector<std::string> s = strides(*d);
    for (size_t i = 0; i < 6 - t.rank(); ++i) s[i] = "0";  // the dims t lacks: broadcast
    for (size_t i = 0; i < t.rank(); ++i)
      if (t.dim(i) == Dim(1) && !(out.dim(i + out.rank() - t.rank()) == Dim(1))) s[6 - t.rank() + i] = "0";
    return s;
  }

  /// The host expression uploading a launch's int64 meta words.
  static std::string meta(const std::vector<std::string> &words) {
    std::vector<std::string> w;
    for (const std::string &x : words) w.push_back(fmt::format("int64_t({})", x));
    return fmt::format("meta({{{}}})", fmt::join(w, ", "));
  }

  static std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string> &b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  }

  /// `TERNC_LAUNCH(kernel, blocks(items), stream, args...)`.
  static std::string launch(const std::string &kernel, const std::string &items, const std::vector<std::string> &args) {
    return fmt::format("TERNC_LAUNCH({}, blocks({}), stream, {});", kernel, items, fmt::join(args, ", "));
  }

  /// The kernel for a device template call: `call` with the parameters `params` (names).
  std::string graphKernel(const std::string &stem, const std::string &what, const std::vector<std::string> &params,
                          const std::string &call, const std::string &serves) {
    std::vector<std::string> p;
    for (const std::string &x : params) p.push_back("GM_ADDR " + x);
    return kernel(stem, what + ", AIV only", fmt::format("{}", fmt::join(p, ", ")), "", call, serves);
  }

  /// A strided copy (Copy<T> of ternc_graph.h) of the region `dims` from src (strides, offset) to dst, converting
  /// (Convert<S, D>: f16 <-> f32 only) when the dtypes differ.
  void emitCopy(CodeWriter &host, const std::string &where, DType from, DType to, const std::string &dst,
                const std::string &src, const std::vector<std::string> &dims,
                const std::vector<std::string> &srcStrides,
                const std::vector<std::string> &dstStrides, const std::string &srcOffset = "0",
                const std::string &dstOffset = "0") {
    std::string name;
    if (from == to) {
      std::string t = copyType(dtypeSize(from));
      name = graphKernel(fmt::format("ternc_copy{}", dtypeSize(from) * 8), fmt::format("strided copy of {}", t),
                         {"dst", "src", "meta"},
                         fmt::format("ternc_ascend::Copy<{}, {}>(dst, src, meta);", t, kGraphTile), where);
    } else if (((from == DType::F16 && to == DType::F32) || (from == DType::F32 && to == DType::F16)) &&
               srcStrides.back() == "1" && dstStrides.back() == "1") {
      name = graphKernel(fmt::format("ternc_convert_{}", from == DType::F16 ? "f16_f32" : "f32_f16"),
                         fmt::format("strided copy converting {} to {}", cType(from), cType(to)),
                         {"dst", "src", "meta"},
                         fmt::format("ternc_ascend::Convert<{}, {}, {}>(dst, src, meta);", cType(from), cType(to),
                                     kGraphTile),
                         where);
    } else {
      problems_.push_back(fmt::format("{}: no conversion of {} to {} (f16 <-> f32 of contiguous rows only)", where,
                                      dtypeName(from), dtypeName(to)));
      return;
    }
    std::string total = fmt::format("{}", fmt::join(dims, " * "));
    host.line("{}", launch(name, total,
                           {dst, src, meta(concat(concat(concat({total}, dims), srcStrides),
                                                  concat(dstStrides, {srcOffset, dstOffset})))}));
  }

  /// A value's bytes copied whole (a view that needs its own buffer).
  void emitWholeCopy(CodeWriter &host, const std::string &where, const Value *from, const Value *to) {
    const Type &t = to->type();
    std::string n = countExpr(t, 0, t.rank(), where);
    std::vector<std::string> d = {"1", "1", "1", "1", "1", n}, s = {"0", "0", "0", "0", "0", "1"};
    emitCopy(host, where, from->type().dtype(), t.dtype(), values_.at(to), operand(from), d, s, s);
  }

  /// One elementwise op kind: its AscendC vector instruction(s) on f32 UB tiles ({d} = {a} op {b}..., {t} a
  /// scratch tile, `cnt` the tile's element count) and its scalar C expression for integer and boolean chains
  /// (nullptr: the op has no such form here).
  struct EwKind {
    const char *op, *vector, *scalar;
  };
  static const EwKind *ewKind(const std::string &op) {
    static const EwKind kinds[] = {
        {"Add", "Add({d}, {a}, {b}, cnt);", "({a} + {b})"},
        {"Sub", "Sub({d}, {a}, {b}, cnt);", "({a} - {b})"},
        {"Mul", "Mul({d}, {a}, {b}, cnt);", "({a} * {b})"},
        {"Div", "Div({d}, {a}, {b}, cnt);", "ternc_ascend::DivS({a}, {b})"},
        {"Max", "Max({d}, {a}, {b}, cnt);", "({a} > {b} ? {a} : {b})"},
        {"Min", "Min({d}, {a}, {b}, cnt);", "({a} < {b} ? {a} : {b})"},
        {"Pow", "Ln({t}, {a}, cnt); Mul({t}, {t}, {b}, cnt); Exp({d}, {t}, cnt);", nullptr},
        {"Neg", "Muls({d}, {a}, -1.0f, cnt);", "(-{a})"},
        {"Abs", "Abs({d}, {a}, cnt);", "({a} < 0 ? -{a} : {a})"},
        {"Relu", "Relu({d}, {a}, cnt);", "({a} > 0 ? {a} : 0)"},
        {"Sqrt", "Sqrt({d}, {a}, cnt);", nullptr},
        {"Reciprocal", "Reciprocal({d}, {a}, cnt);", nullptr},
        {"Exp", "Exp({d}, {a}, cnt);", nullptr},
        {"Log", "Ln({d}, {a}, cnt);", nullptr},
        {"Erf", "Erf({d}, {a}, uint32_t(cnt));", nullptr},
        {"Tanh", "Tanh({d}, {a}, uint32_t(cnt));", nullptr},
        {"Sin", "Sin({d}, {a}, uint32_t(cnt));", nullptr},
        {"Cos", "Cos({d}, {a}, uint32_t(cnt));", nullptr},
        {"Sigmoid",
         "Muls({t}, {a}, -1.0f, cnt); Exp({t}, {t}, cnt); Adds({t}, {t}, 1.0f, cnt); Reciprocal({d}, {t}, cnt);",
         nullptr},
        {"Cast", "Adds({d}, {a}, 0.0f, cnt);", "{cast}({a})"},
        {"Equal", nullptr, "({a} == {b})"},
        {"Less", nullptr, "({a} < {b})"},
        {"Greater", nullptr, "({a} > {b})"},
        {"LessOrEqual", nullptr, "({a} <= {b})"},
        {"GreaterOrEqual", nullptr, "({a} >= {b})"},
        {"Not", nullptr, "(!{a})"},
        {"And", nullptr, "({a} && {b})"},
        {"Or", nullptr, "({a} || {b})"},
        {"Where", nullptr, "({a} ? {b} : {c})"},
    };
    for (const EwKind &k : kinds)
      if (op == k.op) return &k;
    return nullptr;
  }

  /// The one value of a one-element f32 constant, if v is one.
  static std::optional<float> scalarConstant(const Value *v) {
    const Constant *c = v ? v->constant() : nullptr;
    if (!c || c->data.dtype() != DType::F32 || c->data.numElements() != 1) return std::nullopt;
    return c->data.data<float>()[0];
  }

  bool isFused(const Value *v) const {
    return v && v->kind() == Value::Kind::Result && planSlot(v) == kSlotFused && v->definingOp() &&
           ewKind(v->definingOp()->opName());
  }

  /// An elementwise op and the ops plan-memory fused into it: one AIV kernel computing the chain per UB tile (f32
  /// chains on the vector units) or per element (chains with integer or boolean values, on the scalar unit).
  void emitChain(const Op &root, CodeWriter &host) {
    std::string where = describe(root);
    std::vector<const Op *> nodes;
    std::vector<const Value *> leaves;
    std::function<void(const Op &)> collect = [&](const Op &op) {
      for (size_t i = 0; i < op.numOperands(); ++i) {
        const Value *v = op.operand(i);
        if (!v) continue;
        if (isFused(v)) collect(*v->definingOp());
        else if (std::find(leaves.begin(), leaves.end(), v) == leaves.end()) leaves.push_back(v);
      }
      nodes.push_back(&op);
    };
    collect(root);
    const Type &out = root.result()->type();
    bool vector = out.dtype() == DType::F32;
    for (const Value *v : leaves) vector = vector && v->type().dtype() == DType::F32;
    for (const Op *n : nodes) vector = vector && n->result()->type().dtype() == DType::F32;
    std::vector<std::string> names;
    for (const Op *n : nodes) names.push_back(n->opName());
    std::string chain = fmt::format("{}", fmt::join(names, " -> "));
    auto dOut = dims6(out, where);
    if (!dOut) return;
    std::vector<std::vector<std::string>> leafStrides;
    for (const Value *v : leaves) {
      if (cType(v->type().dtype()).empty() || (!vector && v->type().dtype() == DType::F16)) {
        problems_.push_back(fmt::format("{}: operand {} : {} has a dtype the graph kernels do not handle", where,
                                        irName(v), v->type().str()));
        return;
      }
      auto s = broadcastStrides(v->type(), out, where);
      if (!s) {
        problems_.push_back(fmt::format("{}: operand {} does not broadcast to {}", where, irName(v), out.str()));
        return;
      }
      leafStrides.push_back(*s);
    }
    std::map<const Value *, std::string> ref;
    std::vector<std::string> params = {"GM_ADDR out"};
    std::vector<std::string> args = {values_.at(root.result())};
    for (size_t k = 0; k < leaves.size(); ++k) {
      params.push_back(fmt::format("GM_ADDR in{}", k));
      args.push_back(operand(leaves[k]));
    }
    params.push_back("GM_ADDR meta");
    CodeWriter body;
    body.line("using namespace AscendC;").line("ternc_ascend::Meta m(meta);");
    for (size_t k = 0; k < leaves.size(); ++k) {
      std::string t = vector ? "float" : cType(leaves[k]->type().dtype());
      body.line("GlobalTensor<{}> g{};", t, k).line("g{0}.SetGlobalBuffer((__gm__ {1} *)in{0});", k, t);
      body.line("const ternc_ascend::Strided s{}(m, 1, {});", k, 7 + 6 * k);
    }
    std::string outT = vector ? "float" : cType(out.dtype());
    if (outT.empty() || (!vector && out.dtype() == DType::F16)) {
      problems_.push_back(fmt::format("{}: result dtype {} is not handled by the graph kernels", where, out.str()));
      return;
    }
    body.line("GlobalTensor<{0}> o;", outT).line("o.SetGlobalBuffer((__gm__ {} *)out);", outT);
    if (vector) {
      // Tiles: one per leaf and per op, plus a scratch tile; as many elements each as fit in UB.
      int64_t tiles = int64_t(leaves.size() + nodes.size()) + 1;
      int64_t tile = std::min<int64_t>(kGraphTile, (int64_t(kUbBytes) / (tiles * 4)) / 64 * 64);
      if (tile < 64) {
        problems_.push_back(fmt::format("{}: a chain of {} ops needs more UB tiles than fit", where, nodes.size()));
        return;
      }
      body.line("constexpr int64_t kTile = {};", tile);
      body.line("TPipe pipe;").line("TBuf<TPosition::VECCALC> buf;");
      body.line("pipe.InitBuffer(buf, uint32_t({} * kTile * 4));", tiles);
      body.line("LocalTensor<float> tile = buf.Get<float>();");
      for (size_t k = 0; k < leaves.size(); ++k) {
        body.line("LocalTensor<float> x{0} = tile[uint32_t({0} * kTile)];", k);
        ref[leaves[k]] = fmt::format("x{}", k);
      }
      for (size_t j = 0; j < nodes.size(); ++j) {
        body.line("LocalTensor<float> v{} = tile[uint32_t({} * kTile)];", j, leaves.size() + j);
        ref[nodes[j]->result()] = fmt::format("v{}", j);
      }
      body.line("ternc_ascend::Share share(m[0]);");
      body.open("for (int64_t start = share.begin; start < share.end; start += kTile)");
      body.line("const int32_t cnt = int32_t(ternc_ascend::MinI(kTile, share.end - start));");
      for (size_t k = 0; k < leaves.size(); ++k) body.line("ternc_ascend::LoadTile(x{0}, g{0}, s{0}, start, cnt);", k);
      body.line("PipeBarrier<PIPE_ALL>();");
      for (const Op *n : nodes) {
        std::string d = ref.at(n->result()), a = ref.at(n->operand(0));
        std::string b = n->numOperands() > 1 && n->operand(1) ? ref.at(n->operand(1)) : "";
        std::string code = ewKind(n->opName())->vector ? ewKind(n->opName())->vector : "";
        if (n->opName() == "Pow")
          if (auto e = scalarConstant(n->operand(1))) {
            // x^2 (RMSNorm), x^0.5, x^-1, x^1: exact forms, no Ln of a negative base.
            if (*e == 2.0f) code = "Mul({d}, {a}, {a}, cnt);";
            else if (*e == 1.0f) code = "Adds({d}, {a}, 0.0f, cnt);";
            else if (*e == 0.5f) code = "Sqrt({d}, {a}, cnt);";
            else if (*e == -1.0f) code = "Reciprocal({d}, {a}, cnt);";
            else if (*e == -0.5f) code = "Sqrt({t}, {a}, cnt); Reciprocal({d}, {t}, cnt);";
          }
        if (code.empty()) {
          problems_.push_back(fmt::format("{}: {} has no vector form for f32", where, n->opName()));
          return;
        }
        body.line("{}", fmt::format(fmt::runtime(code), fmt::arg("d", d), fmt::arg("a", a), fmt::arg("b", b),
                                    fmt::arg("t", fmt::format("tile[uint32_t({} * kTile)]", tiles - 1))));
        body.line("PipeBarrier<PIPE_V>();");
      }
      body.line("PipeBarrier<PIPE_ALL>();");
      body.line("ternc_ascend::ToGm(o[uint64_t(start)], {}, cnt);", ref.at(root.result()));
      body.line("PipeBarrier<PIPE_ALL>();");
      body.close();
    } else {
      body.line("ternc_ascend::Share share(m[0]);");
      body.open("for (int64_t i = share.begin; i < share.end; ++i)");
      for (size_t k = 0; k < leaves.size(); ++k) {
        body.line("const {} x{} = g{}.GetValue(uint64_t(s{}.Offset(i)));", cType(leaves[k]->type().dtype()), k, k, k);
        ref[leaves[k]] = fmt::format("x{}", k);
      }
      for (size_t j = 0; j < nodes.size(); ++j) {
        const Op *n = nodes[j];
        const char *expr = ewKind(n->opName())->scalar;
        std::string t = cType(n->result()->type().dtype());
        if (n->opName() == "Pow" && scalarConstant(n->operand(1)) == 2.0f) expr = "({a} * {a})";
        if (!expr || t.empty() || n->result()->type().dtype() == DType::F16) {
          problems_.push_back(fmt::format("{}: {} on {} has no scalar form in the graph kernels", where, n->opName(),
                                          n->result()->type().str()));
          return;
        }
        std::vector<std::string> in;
        for (size_t i = 0; i < 3; ++i) in.push_back(i < n->numOperands() && n->operand(i) ? ref.at(n->operand(i)) : "");
        std::string cast = n->result()->type().dtype() == DType::Bool ? "0 != " : t;
        std::string e = fmt::format(fmt::runtime(expr), fmt::arg("a", in[0]), fmt::arg("b", in[1]),
                                    fmt::arg("c", in[2]), fmt::arg("cast", cast));
        body.line("const {} v{} = {}({});", t, j, t, e);
        ref[n->result()] = fmt::format("v{}", j);
      }
      body.line("o.SetValue(uint64_t(i), {});", ref.at(root.result()));
      body.close();
    }
    std::string name = kernel(vector ? "ternc_vector" : "ternc_scalar",
                              fmt::format("{} ({}), AIV only, {}", chain, out.str(),
                                          vector ? "f32 tiles on the vector units" : "element by element"),
                              fmt::format("{}", fmt::join(params, ", ")), "", body.str(), where);
    std::string total = fmt::format("{}", fmt::join(*dOut, " * "));
    std::vector<std::string> words = concat({total}, *dOut);
    for (const auto &s : leafStrides) words = concat(words, s);
    args.push_back(meta(words));
    if (nodes.size() > 1) {
      std::vector<std::string> fused;
      for (const Op *n : nodes)
        if (n != &root) fused.push_back(irName(n->result()));
      host.line("// fused: {}", fmt::join(fused, ", "));
    }
    host.line("{}", launch(name, total, args));
  }

  /// The constant ints of an operand (Slice's starts, ends, axes, steps), if it is a constant.
  static std::optional<std::vector<int64_t>> constInts(const Value *v) {
    const Constant *c = v ? v->constant() : nullptr;
    if (!c) return std::nullopt;
    std::vector<int64_t> r;
    if (c->data.dtype() == DType::I64)
      for (int64_t x : c->data.values<int64_t>()) r.push_back(x);
    else if (c->data.dtype() == DType::I32)
      for (int32_t x : c->data.values<int32_t>()) r.push_back(x);
    else
      return std::nullopt;
    return r;
  }

  /// Every op without a BitLinear/ActQuant/Attention kernel; false if `op` is not one the emitter handles.
  bool emitGraphOp(const Op &op, CodeWriter &host) {
    const std::string &name = op.opName(), where = describe(op);
    const Value *r = op.result();
    if (ewKind(name)) {
      emitChain(op, host);
      return true;
    }
    const Type &t = r->type();
    size_t es = t.isRanked() ? dtypeSize(t.dtype()) : 0;
    auto dOut = dims6(t, where);
    if (!dOut) return true;
    std::string dst = values_.at(r);
    if (name == "Reshape" || name == "Squeeze" || name == "Unsqueeze" || name == "Flatten" || name == "Identity") {
      emitWholeCopy(host, where, op.operand(0), r);
      return true;
    }
    if (name == "Transpose" || name == "Expand") {
      const Type &in = op.operand(0)->type();
      auto dIn = dims6(in, where);
      if (!dIn) return true;
      std::vector<std::string> src(6, "0");
      if (name == "Transpose") {
        std::vector<int64_t> perm = op.attrs().getInts("perm");
        if (perm.empty())
          for (size_t i = in.rank(); i-- > 0;) perm.push_back(int64_t(i));
        std::vector<std::string> inStrides = strides(*dIn);
        for (size_t i = 0; i < perm.size(); ++i) src[6 - perm.size() + i] = inStrides[6 - in.rank() + size_t(perm[i])];
      } else {
        auto s = broadcastStrides(in, t, where);
        if (!s) return problems_.push_back(where + ": the input does not broadcast to the result"), true;
        src = *s;
      }
      emitCopy(host, where, t.dtype(), t.dtype(), dst, operand(op.operand(0)), *dOut, src, strides(*dOut));
      return true;
    }
    if (name == "Slice") {
      const Type &in = op.operand(0)->type();
      auto dIn = dims6(in, where);
      // The region is the result's dims (ternc inferred them, as formulas when `ends` is computed): only where
      // it starts and how it steps are needed.
      auto starts = constInts(op.operand(1));
      std::optional<std::vector<int64_t>> axes, steps;
      if (op.numOperands() > 3 && op.operand(3)) axes = constInts(op.operand(3));
      if (op.numOperands() > 4 && op.operand(4)) steps = constInts(op.operand(4));
      if (!dIn || !starts || (op.numOperands() > 3 && op.operand(3) && !axes) ||
          (op.numOperands() > 4 && op.operand(4) && !steps)) {
        problems_.push_back(where + ": starts, axes and steps must be constants");
        return true;
      }
      std::vector<std::string> inStrides = strides(*dIn), src = inStrides, offset;
      for (size_t i = 0; i < starts->size(); ++i) {
        int64_t axis = axes && i < axes->size() ? (*axes)[i] : int64_t(i);
        if (axis < 0) axis += int64_t(in.rank());
        int64_t step = steps && i < steps->size() ? (*steps)[i] : 1;
        if (axis < 0 || axis >= int64_t(in.rank()) || step == 0)
          return problems_.push_back(where + ": an axis is out of range or a step is 0"), true;
        size_t at = 6 - in.rank() + size_t(axis);
        src[at] = fmt::format("{} * {}", inStrides[at], step);
        offset.push_back(
            fmt::format("sliceStart({}, {}, {}) * {}", (*starts)[i], (*dIn)[at], step, inStrides[at]));
      }
      emitCopy(host, where, t.dtype(), t.dtype(), dst, operand(op.operand(0)), *dOut, src, strides(*dOut),
               offset.empty() ? "0" : fmt::format("{}", fmt::join(offset, " + ")));
      return true;
    }
    if (name == "Concat") {
      int64_t axis = op.attrs().getInt("axis", 0);
      if (axis < 0) axis += int64_t(t.rank());
      size_t at = 6 - t.rank() + size_t(axis);
      std::vector<std::string> outStrides = strides(*dOut);
      std::string along = "0";
      for (size_t i = 0; i < op.numOperands(); ++i) {
        const Type &in = op.operand(i)->type();
        auto dIn = dims6(in, where);
        if (!dIn) return true;
        emitCopy(host, where, t.dtype(), t.dtype(), dst, operand(op.operand(i)), *dIn, strides(*dIn), outStrides, "0",
                 fmt::format("({}) * {}", along, outStrides[at]));
        along = fmt::format("{} + {}", along, (*dIn)[at]);
      }
      return true;
    }
    if (name == "Gather") {
      const Type &data = op.operand(0)->type(), &idx = op.operand(1)->type();
      int64_t axis = op.attrs().getInt("axis", 0);
      if (axis < 0) axis += int64_t(data.rank());
      if (axis < 0 || axis >= int64_t(data.rank()) || (idx.dtype() != DType::I64 && idx.dtype() != DType::I32))
        return problems_.push_back(where + ": needs an axis in range and i64 or i32 indices"), true;
      std::string outer = countExpr(data, 0, size_t(axis), where), inner = countExpr(data, size_t(axis) + 1,
                                                                                        data.rank(), where);
      std::string count = countExpr(idx, 0, idx.rank(), where), len = dimExpr(data.dim(size_t(axis)), where);
      std::string k = graphKernel(fmt::format("ternc_gather{}", es * 8), "Gather (embedding rows, shape entries)",
                                  {"dst", "data", "index", "meta"},
                                  fmt::format("ternc_ascend::Gather<{}, {}, {}>(dst, data, index, meta);",
                                              copyType(es), cType(idx.dtype()), kGraphTile),
                                  where);
      host.line("{}", launch(k, fmt::format("{} * {}", outer, count),
                             {dst, operand(op.operand(0)), operand(op.operand(1)), meta({outer, count, inner, len})}));
      return true;
    }
    if (name == "Shape") {
      const Type &in = op.operand(0)->type();
      int64_t rank = int64_t(in.rank()), start = op.attrs().getInt("start", 0), end = op.attrs().getInt("end", rank);
      if (start < 0) start += rank;
      if (end < 0) end += rank;
      std::vector<std::string> d;
      for (int64_t i = std::max<int64_t>(start, 0); i < std::min(end, rank); ++i)
        d.push_back(fmt::format("int64_t({})", dimExpr(in.dim(size_t(i)), where)));
      host.line("put({}, {{{}}});  // the dims, from the symbols", dst, fmt::join(d, ", "));
      return true;
    }
    if (name == "ConstantOfShape") {
      const AttrValue *v = op.attrs().find("value");
      const Tensor *value = v ? std::get_if<Tensor>(v) : nullptr;
      std::string ct = cType(t.dtype());
      if (ct.empty() || t.dtype() == DType::F16 || (value && value->byteSize() != es))
        return problems_.push_back(where + ": needs a one-element value of a handled dtype"), true;
      uint64_t bits = 0;
      if (value) std::memcpy(&bits, value->rawData(), es);
      std::string k = graphKernel("ternc_fill", fmt::format("ConstantOfShape ({})", ct), {"dst", "meta"},
                                  fmt::format("ternc_ascend::Fill<{}>(dst, meta);", ct), where);
      std::string total = fmt::format("{}", fmt::join(*dOut, " * "));
      host.line("{}", launch(k, total, {dst, meta({total, fmt::format("{}LL", int64_t(bits))})}));
      return true;
    }
    if (name == "Range") {
      std::string ct = cType(t.dtype());
      if (ct.empty() || t.dtype() == DType::F16 || t.dtype() == DType::Bool)
        return problems_.push_back(where + ": Range of " + t.str()), true;
      std::string k = graphKernel("ternc_range", fmt::format("Range ({})", ct), {"dst", "start", "delta", "meta"},
                                  fmt::format("ternc_ascend::Range<{}>(dst, start, delta, meta);", ct), where);
      std::string total = fmt::format("{}", fmt::join(*dOut, " * "));
      host.line("{}", launch(k, total, {dst, operand(op.operand(0)), operand(op.operand(2)), meta({total})}));
      return true;
    }
    if (name == "ReduceSum" || name == "ReduceMean" || name == "ReduceMax" || name == "Softmax") {
      const Type &in = op.operand(0)->type();
      // Without axes a reduction takes every element: one row of them all.
      std::vector<int64_t> axes = op.attrs().getInts("axes");
      bool all = name != "Softmax" && axes.empty();
      int64_t axis = name == "Softmax" ? op.attrs().getInt("axis", -1) : (axes.size() == 1 ? axes[0] : -2);
      if (axis < 0) axis += int64_t(in.rank());
      if (in.dtype() != DType::F32 || in.rank() == 0 || (!all && axis != int64_t(in.rank()) - 1) ||
          op.numOperands() > 1) {
        problems_.push_back(where + ": reduces f32 over the last axis or all axes only (given as an attribute)");
        return true;
      }
      int mode = name == "ReduceSum" ? 0 : name == "ReduceMean" ? 1 : name == "ReduceMax" ? 2 : 3;
      std::string k = graphKernel(fmt::format("ternc_{}", name == "Softmax" ? "softmax" : "reduce"),
                                  fmt::format("{} over the last axis, f32", name), {"dst", "src", "meta"},
                                  fmt::format("ternc_ascend::RowReduce<{}, {}>(dst, src, meta);", mode, kGraphTile),
                                  where);
      std::string rows = all ? "int64_t(1)" : countExpr(in, 0, in.rank() - 1, where);
      std::string len = all ? countExpr(in, 0, in.rank(), where) : dimExpr(in.dim(in.rank() - 1), where);
      host.line("{}", launch(k, rows, {dst, operand(op.operand(0)), meta({rows, len})}));
      return true;
    }
    if (name == "MatMul")
      if (std::optional<Int8Weight> w = matchInt8Weight(op)) {
        const Type &x = op.operand(0)->type();
        std::string rows = countExpr(x, 0, x.rank() == 0 ? 0 : x.rank() - 1, where);
        std::string k = graphKernel("ternc_head_int8", "quantize-head's int8 LM head, f32 rows x int8 columns",
                                    {"dst", "x", "q", "scale", "meta"},
                                    fmt::format("ternc_ascend::MatMulHeadInt8<{}>(dst, x, q, scale, meta);",
                                                kGraphTile),
                                    where);
        host.line("{}", launch(k, std::to_string(w->n),
                               {dst, operand(op.operand(0)), operand(w->q), operand(w->scale),
                                meta({rows, std::to_string(w->k), std::to_string(w->n)})}));
        return true;
      }
    if (name == "MatMul") {
      const Type &a = op.operand(0)->type(), &b = op.operand(1)->type();
      if (a.dtype() != DType::F32 || b.dtype() != DType::F32 || a.rank() < 2 || b.rank() < 2 || t.rank() > 6) {
        problems_.push_back(fmt::format("{}: the graph kernels multiply f32 matrices of rank 2 to 6, not {} x {}",
                                        where, a.str(), b.str()));
        return true;
      }
      size_t batch = t.rank() - 2;
      if (batch > 4) return problems_.push_back(where + ": more than 4 batch dims"), true;
      std::vector<std::string> dims(4, "1"), as(4, "0"), bs(4, "0");
      auto batchStrides = [&](const Type &x, std::vector<std::string> &s) {
        std::string mat = countExpr(x, x.rank() - 2, x.rank(), where), acc = mat;
        for (size_t i = x.rank() - 2; i-- > 0;) {
          size_t outAxis = i + t.rank() - x.rank(), slot = 4 - batch + outAxis;
          if (!(x.dim(i) == Dim(1))) s[slot] = acc;
          acc = fmt::format("{} * {}", acc, dimExpr(x.dim(i), where));
        }
      };
      for (size_t i = 0; i < batch; ++i) dims[4 - batch + i] = dimExpr(t.dim(i), where);
      batchStrides(a, as);
      batchStrides(b, bs);
      std::string M = dimExpr(t.dim(t.rank() - 2), where), N = dimExpr(t.dim(t.rank() - 1), where);
      std::string K = dimExpr(a.dim(a.rank() - 1), where), rows = countExpr(t, 0, t.rank() - 1, where);
      std::string k = graphKernel("ternc_matmul", "MatMul f32 (batch x M x K times K x N), Axpy per row",
                                  {"dst", "a", "b", "meta"},
                                  fmt::format("ternc_ascend::MatMulF32<{}>(dst, a, b, meta);", kGraphTile), where);
      host.line("{}", launch(k, rows, {dst, operand(op.operand(0)), operand(op.operand(1)),
                                       meta(concat(concat(concat({rows, M, K, N}, dims), as), bs))}));
      return true;
    }
    if (name == "CacheRead" || name == "CacheUpdate") {
      const StateVar *st = m_.findState(op.attrs().getString("state", ""));
      if (!st || st->type.rank() != t.rank())
        return problems_.push_back(where + ": the state and the result differ in rank"), true;
      if (name == "CacheUpdate") emitCacheWrite(op, host);
      auto dState = dims6(st->type, where);
      if (!dState) return true;
      emitCopy(host, where, st->type.dtype(), t.dtype(), dst, "st_" + identifier(st->name), *dOut, strides(*dState),
               strides(*dOut));
      return true;
    }
    return false;
  }

  // ---- the host program -------------------------------------------------------------------------------

  static bool hasKernel(const std::string &op) {
    return op == "BitLinear" || op == "ActQuant" || op == "Attention" || op == "CacheWrite";
  }

  /// The ops emitGraphOp handles (besides the elementwise ones of ewKind).
  static bool hasGraphKernel(const std::string &op) {
    static const std::set<std::string> ops = {"Reshape",    "Squeeze",   "Unsqueeze",   "Flatten",  "Identity",
                                              "Transpose",  "Expand",    "Slice",       "Concat",   "Gather",
                                              "Shape",      "ConstantOfShape",          "Range",    "ReduceSum",
                                              "ReduceMean", "ReduceMax", "Softmax",     "MatMul",   "CacheRead",
                                              "CacheUpdate"};
    return ops.count(op) != 0 || ewKind(op) != nullptr;
  }

  void emitGraph(const Graph &g) {
    // Every op without a kernel is named at once; such a graph is not emitted at all.
    // quantize-head's DequantizeLinear and Transpose: the head kernel reads the int8 weight in their place.
    std::unordered_set<const Value *> headWeights = int8WeightValues(g);
    std::map<std::string, int> unsupported;
    for (const auto &op : g.ops())
      if (!hasKernel(op->opName()) && !hasGraphKernel(op->opName()) && !headWeights.count(op->result()))
        ++unsupported[op->opName()];
    if (!unsupported.empty()) {
      std::vector<std::string> ops;
      for (const auto &[n, count] : unsupported) ops.push_back(fmt::format("{} x{}", n, count));
      problems_.push_back(fmt::format("graph @{}: the AscendC emitter has no kernel for: {}", g.name(),
                                      fmt::join(ops, ", ")));
      return;
    }
    CodeWriter host;
    std::set<std::string> symbols;
    auto addSymbols = [&](const Type &t) {
      if (t.isRanked())
        for (const Dim &d : t.dims())
          for (const std::string &s : d.symbols()) symbols.insert(s);
    };
    for (const auto &a : g.arguments()) addSymbols(a->type());
    for (const auto &op : g.ops()) {
      for (size_t i = 0; i < op->numResults(); ++i) addSymbols(op->result(i)->type());
      for (const char *attr : {"past"})
        if (op->attrs().has(attr)) symbols.insert(op->attrs().getString(attr, ""));
    }
    for (const auto &s : m_.states()) addSymbols(s->type);
    host.open(fmt::format("void Model::run_{}()", identifier(g.name())));
    for (const std::string &s : symbols) host.line("const int64_t s_{} = symbol(\"{}\");", identifier(s), s);
    for (const auto &a : g.arguments()) {
      std::string var = fmt::format("v{}", values_.size());
      values_[a.get()] = var;
      host.line("// input {}", a->name() + " : " + a->type().str());
      host.line("uint8_t *{} = upload(inputDir + \"/{}.bin\", {});", var, a->name(), bytesExpr(a->type(), a->name()));
    }
    for (const auto &op : g.ops()) {
      const std::string &name = op->opName();
      // plan-memory's views alias their operand; its fused elementwise ops run inside their user's kernel.
      if (op->numResults() == 1 && planSlot(op->result()) == kSlotView) {
        values_[op->result()] = operand(op->operand(0));
        host.line("// view: {} (the bytes of {})", describe(*op), irName(op->operand(0)));
        continue;
      }
      if (op->numResults() == 1 && (isFused(op->result()) || headWeights.count(op->result()))) continue;
      host.line("// op: {}", describe(*op));
      if (name != "CacheWrite")
        for (size_t i = 0; i < op->numResults(); ++i) {
          const Value *r = op->result(i);
          std::string var = fmt::format("v{}", values_.size());
          values_[r] = var;
          host.line("uint8_t *{} = alloc({});  // {} : {}", var, bytesExpr(r->type(), irName(r)), irName(r),
                    r->type().str());
        }
      else
        values_[op->result()] = "nullptr"; // the token: orders the readers, holds no data on the device
      if (name == "BitLinear") emitBitLinear(*op, host);
      if (name == "ActQuant") emitActQuant(*op, host);
      if (name == "Attention") emitAttention(*op, host);
      if (name == "CacheWrite") emitCacheWrite(*op, host);
      if (!hasKernel(name) && !emitGraphOp(*op, host)) problems_.push_back(describe(*op) + ": no kernel");
    }
    host.line("TERNC_ACL(aclrtSynchronizeStream(stream));");
    for (size_t i = 0; i < g.outputs().size(); ++i) {
      const Value *v = g.outputs()[i];
      auto it = values_.find(v);
      if (v->kind() == Value::Kind::Constant || it == values_.end() || it->second == "nullptr") {
        problems_.push_back(
            fmt::format("graph @{}: output {} is not computed on the device", g.name(), g.outputNames()[i]));
        continue;
      }
      host.line("download({}, {}, outputDir + \"/{}.bin\");", it->second, bytesExpr(v->type(), g.outputNames()[i]),
                g.outputNames()[i]);
    }
    host.close();
    graphs_.push_back({g.name(), host.str()});
  }

  std::string tilingsHeader() const {
    CodeWriter w("//", "the schedules of the BitLinear kernels, copied from the packed weights' AscendPackedWeight "
                       "headers (targets/ascend-910b/AscendSchedule.h), one struct per distinct schedule");
    w.line("#pragma once").line("#include <stdint.h>").blank().line("namespace ternc_tiling {{").blank();
    for (const Tiling &t : tilings_) {
      w.line("// {} storage, {}; from:", storageName(t.t.storage), phaseName(t.t.phase));
      for (const std::string &s : t.sources) w.line("// source: {}", s);
      w.constants(t.name, tilingFields(t.t)).blank();
    }
    w.line("}} // namespace ternc_tiling");
    return w.str();
  }

  std::string kernelsHeader() const {
    CodeWriter w("//", "declarations of the kernels the host program launches");
    w.line("#pragma once").line("#include \"acl/acl.h\"").blank();
    w.line("// With CANN's ascendc_library() (older toolkits), each kernel comes with a launch header that defines");
    w.line("// ACLRT_LAUNCH_KERNEL; with the ASC language (find_package(ASC)), kernels are declared and launched with");
    w.line("// <<<blocks, nullptr, stream>>>.");
    w.line("#ifdef TERNC_ACLRTLAUNCH");
    for (const Kernel &k : kernels_) w.line("#include \"aclrtlaunch_{}.h\"", k.name);
    w.line("#else");
    w.line("#ifndef GM_ADDR").line("#define GM_ADDR uint8_t *").line("#endif");
    for (const Kernel &k : kernels_) w.line("extern \"C\" __global__ __aicore__ void {}({});", k.name, k.params);
    w.line("#endif");
    return w.str();
  }

  std::string hostProgram() const {
    CodeWriter w("//", "the AscendCL host program: loads the weights, runs one graph with the kernels, writes its "
                       "outputs");
    w.text(R"host(//
// Usage: ternc_model [--graph NAME] [--input-dir DIR] [--output-dir DIR] [--weights-dir DIR] SYMBOL=VALUE...
// Inputs are raw little-endian files DIR/<input>.bin of exactly the input's size, outputs are written the same way.
#include "acl/acl.h"
#include "kernels.h"
#include "ternc_workspace.h"
#include "tilings.h"

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#if defined(ACLRT_LAUNCH_KERNEL)
#define TERNC_LAUNCH(kernel, blocks, stream, ...) ACLRT_LAUNCH_KERNEL(kernel)(blocks, stream, __VA_ARGS__)
#else
#define TERNC_LAUNCH(kernel, blocks, stream, ...) kernel<<<blocks, nullptr, stream>>>(__VA_ARGS__)
#endif
#define TERNC_ACL(call) check((call), #call)

namespace {

[[noreturn]] void die(const char *format, ...) {
  va_list args;
  va_start(args, format);
  std::fprintf(stderr, "ternc_model: error: ");
  std::vfprintf(stderr, format, args);
  std::fprintf(stderr, "\n");
  va_end(args);
  std::exit(1);
}

void check(aclError e, const char *call) {
  if (e != ACL_SUCCESS) die("%s failed with AscendCL error %d", call, int(e));
}

struct Model {
  std::map<std::string, int64_t> symbols;
  std::string inputDir = "input", outputDir = "output", weightsDir = "weights";
  aclrtStream stream = nullptr;
  std::vector<void *> allocations;
  uint8_t *workspaceBuffer = nullptr;
  size_t workspaceBytes = 0;
)host");
    for (const Weight &x : weights_) w.line("  uint8_t *{} = nullptr;  // weights/{}: {}", x.var, x.file, x.what);
    w.line("  static constexpr int64_t kVectorBlocks = {};  // the AIV cores graph kernels spread over", kVectorBlocks);
    for (const auto &s : m_.states())
      w.line("  uint8_t *st_{} = nullptr;  // state @{} : {}", identifier(s->name), s->name, s->type.str());
    w.text(R"host(
  int64_t symbol(const char *name) const {
    auto it = symbols.find(name);
    if (it == symbols.end()) die("the symbol %s needs a value: pass %s=VALUE", name, name);
    return it->second;
  }

  /// Device memory (huge pages first), freed at exit.
  uint8_t *alloc(size_t bytes) {
    void *p = nullptr;
    TERNC_ACL(aclrtMalloc(&p, bytes ? bytes : 32, ACL_MEM_MALLOC_HUGE_FIRST));
    allocations.push_back(p);
    return static_cast<uint8_t *>(p);
  }

  /// A file of exactly `bytes` bytes, copied to new device memory.
  uint8_t *upload(const std::string &path, size_t bytes) {
    std::FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) die("%s: cannot open", path.c_str());
    std::vector<uint8_t> host(bytes);
    size_t got = std::fread(host.data(), 1, bytes, f);
    bool longer = std::fgetc(f) != EOF;
    std::fclose(f);
    if (got != bytes || longer) die("%s: expected exactly %zu bytes", path.c_str(), bytes);
    uint8_t *dev = alloc(bytes);
    if (bytes) TERNC_ACL(aclrtMemcpy(dev, bytes, host.data(), bytes, ACL_MEMCPY_HOST_TO_DEVICE));
    return dev;
  }

  void download(const uint8_t *dev, size_t bytes, const std::string &path) {
    std::vector<uint8_t> host(bytes);
    if (bytes) TERNC_ACL(aclrtMemcpy(host.data(), bytes, dev, bytes, ACL_MEMCPY_DEVICE_TO_HOST));
    std::FILE *f = std::fopen(path.c_str(), "wb");
    if (!f || std::fwrite(host.data(), 1, bytes, f) != bytes || std::fclose(f) != 0)
      die("%s: cannot write", path.c_str());
  }

  /// The BitLinear kernels' GM workspace, grown (after the stream drains) to the largest launch.
  uint8_t *workspace(size_t bytes) {
    if (bytes > workspaceBytes) {
      TERNC_ACL(aclrtSynchronizeStream(stream));
      workspaceBuffer = alloc(bytes);
      workspaceBytes = bytes;
    }
    return workspaceBuffer;
  }

  /// A launch's int64 meta words (run-time sizes) in new device memory.
  uint8_t *meta(const std::vector<int64_t> &words) {
    uint8_t *dev = alloc(words.size() * sizeof(int64_t));
    put(dev, words);
    return dev;
  }

  /// Writes int64 words to device memory no pending launch uses (a fresh buffer).
  void put(uint8_t *dev, const std::vector<int64_t> &words) {
    size_t bytes = words.size() * sizeof(int64_t);
    if (bytes) TERNC_ACL(aclrtMemcpy(dev, bytes, words.data(), bytes, ACL_MEMCPY_HOST_TO_DEVICE));
  }

  /// The AIV block count of a graph kernel over `items` items.
  static uint32_t blocks(int64_t items) {
    return uint32_t(ternc_ascend::MaxI(1, ternc_ascend::MinI(kVectorBlocks, items)));
  }

  /// ONNX Slice's start along a dim: negative counts from the end, then clamped to the dim.
  static int64_t sliceStart(int64_t start, int64_t dim, int64_t step) {
    if (start < 0) start += dim;
    return ternc_ascend::MaxI(0, ternc_ascend::MinI(start, step > 0 ? dim : dim - 1));
  }

  void release() {
    for (void *p : allocations) TERNC_ACL(aclrtFree(p));
    allocations.clear();
  }

  void load() {
)host");
    for (const Weight &x : weights_)
      w.line("    {} = upload(weightsDir + \"/{}\", {});", x.var, x.file, x.bytes.size());
    if (!m_.states().empty()) {
      std::set<std::string> syms;
      for (const auto &s : m_.states())
        for (const Dim &d : s->type.dims())
          for (const std::string &n : d.symbols()) syms.insert(n);
      for (const std::string &s : syms) w.line("    const int64_t s_{} = symbol(\"{}\");", identifier(s), s);
      for (const auto &s : m_.states()) {
        std::string bytes = bytesExpr(s->type, "state @" + s->name);
        w.line("    st_{} = alloc({});", identifier(s->name), bytes);
        w.line("    TERNC_ACL(aclrtMemset(st_{0}, {1}, 0, {1}));", identifier(s->name), bytes);
      }
    }
    w.line("  }}");
    for (const auto &[name, body] : graphs_) w.line("  void run_{}();", identifier(name));
    w.line("}};").blank();
    for (const auto &[name, body] : graphs_) w.text(body).blank();
    w.text(R"host(} // namespace

int main(int argc, char **argv) {
  Model model;
)host");
    w.line("  std::string graph = \"{}\";", m_.graphs().empty() ? "" : m_.graphs().front()->name());
    w.text(R"host(  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("%s needs a value", a.c_str());
      return argv[++i];
    };
    if (a == "--graph") graph = value();
    else if (a == "--input-dir") model.inputDir = value();
    else if (a == "--output-dir") model.outputDir = value();
    else if (a == "--weights-dir") model.weightsDir = value();
    else if (a.find('=') != std::string::npos)
      model.symbols[a.substr(0, a.find('='))] = std::atoll(a.c_str() + a.find('=') + 1);
    else
      die("unknown argument %s (usage: --graph NAME, --input-dir DIR, --output-dir DIR, --weights-dir DIR, "
          "SYMBOL=VALUE)", a.c_str());
  }
  const int32_t device = 0;
  TERNC_ACL(aclInit(nullptr));
  TERNC_ACL(aclrtSetDevice(device));
  TERNC_ACL(aclrtCreateStream(&model.stream));
  model.load();
)host");
    std::string sep = "  ";
    for (const auto &[name, body] : graphs_) {
      w.line("{}if (graph == \"{}\") model.run_{}();", sep, name, identifier(name));
      sep = "  else ";
    }
    w.line("{}die(\"no graph %s in module @{}\", graph.c_str());", sep, m_.name());
    w.text(R"host(  model.release();
  TERNC_ACL(aclrtDestroyStream(model.stream));
  TERNC_ACL(aclrtResetDevice(device));
  TERNC_ACL(aclFinalize());
  return 0;
}
)host");
    return w.str();
  }

  std::string cmakeLists() const {
    CodeWriter w("#", "builds the kernels and the host program with the CANN toolchain (not run here)");
    std::vector<std::string> sources;
    for (const Kernel &k : kernels_) sources.push_back("kernels/" + k.name + ".cpp");
    w.text(R"cmake(#
# CANN 8.x (asc-devkit: find_package(ASC) and the ASC language):
#   cmake -S . -B build -DCMAKE_ASC_RUN_MODE=npu -DCMAKE_ASC_ARCHITECTURES=dav-2201 && cmake --build build
# CMAKE_ASC_RUN_MODE is npu (run on the 910B), sim (the CANN simulator) or cpu (CPU debug); dav-2201 names the
# Atlas A2 / Ascend 910B AI Core, whose cube and vector cores the kernels compile for as dav-c220-cube and
# dav-c220-vec. Older toolkits use ascendc_library() from ascendc.cmake (the else branch), with SOC_VERSION.
cmake_minimum_required(VERSION 3.16)
)cmake");
    w.line("project(ternc_{} LANGUAGES CXX)", identifier(m_.name()));
    w.line("set(TERNC_KERNEL_SOURCES\n  {})", fmt::join(sources, "\n  "));
    w.text(R"cmake(find_package(ASC QUIET)
if(ASC_FOUND)
  enable_language(ASC)
  set(CMAKE_ASC_RUN_MODE "npu" CACHE STRING "npu, sim or cpu")
  set(CMAKE_ASC_ARCHITECTURES "dav-2201" CACHE STRING "dav-2201: Ascend 910B (dav-c220 cube and vector cores)")
  set_source_files_properties(${TERNC_KERNEL_SOURCES} host/main.cpp PROPERTIES LANGUAGE ASC)
  add_executable(ternc_model host/main.cpp ${TERNC_KERNEL_SOURCES})
  target_include_directories(ternc_model PRIVATE kernels host)
  target_link_libraries(ternc_model PRIVATE ascendcl m)
else()
  set(ASCEND_CANN_PACKAGE_PATH "$ENV{ASCEND_HOME_PATH}" CACHE PATH "the CANN toolkit")
  set(SOC_VERSION "Ascend910B2" CACHE STRING "the chip (dav-c220 cores)")
  set(RUN_MODE "npu" CACHE STRING "npu, sim or cpu")
  include(${ASCEND_CANN_PACKAGE_PATH}/compiler/tikcpp/ascendc_kernel_cmake/ascendc.cmake)
  ascendc_library(ternc_kernels STATIC ${TERNC_KERNEL_SOURCES})
  ascendc_include_directories(ternc_kernels PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/kernels)
  add_executable(ternc_model host/main.cpp)
  target_compile_definitions(ternc_model PRIVATE TERNC_ACLRTLAUNCH)
  target_include_directories(ternc_model PRIVATE kernels host ${ASCEND_CANN_PACKAGE_PATH}/include)
  target_link_libraries(ternc_model PRIVATE ternc_kernels ascendcl)
endif()
)cmake");
    return w.str();
  }

  std::string readme() const {
    CodeWriter w("<!--", "an AscendC project for the CANN toolchain -->");
    w.line("# {}: AscendC for the Ascend 910B", m_.name()).blank();
    w.line("Generated by ternc's ascend-910b target (`ternc compile --target ascend-910b --emit=ascendc`).");
    w.line("It was **emitted, not compiled or run here**: no CANN toolkit or Ascend hardware was available where it");
    w.line("was generated; ternc only checks that every .cpp parses against a header of the documented AscendC and");
    w.line("AscendCL signatures (tests/ascend/ascendc_syntax in ternc's tree), which is not CANN.").blank();
    w.line("## Build and run (CANN 8.x)").blank();
    w.line("    source $ASCEND_HOME/set_env.sh");
    w.line(
        "    cmake -S . -B build -DCMAKE_ASC_RUN_MODE=npu -DCMAKE_ASC_ARCHITECTURES=dav-2201 && cmake --build build");
    w.line("    build/ternc_model --graph GRAPH SYMBOL=VALUE ...   # reads input/NAME.bin, writes output/NAME.bin")
        .blank();
    w.line("Inputs and outputs are raw little-endian arrays of exactly the input's or output's size for the symbol");
    w.line("values given on the command line. `-DCMAKE_ASC_RUN_MODE=sim` runs on CANN's simulator, `cpu` in its CPU");
    w.line("debug mode.").blank();
    w.line("## Files").blank();
    w.line("| File | What |").line("|---|---|");
    for (const Kernel &k : kernels_) w.line("| `kernels/{}.cpp` | {} |", k.name, fmt::join(k.serves, "; "));
    w.line("| `kernels/tilings.h` | the BitLinear schedules, copied from the packed weights' headers |");
    w.line("| `kernels/ternc_ascendc.h` | the device templates the kernels instantiate |");
    w.line("| `kernels/ternc_graph.h` | the device templates of the other ops' AIV kernels |");
    w.line("| `kernels/ternc_workspace.h` | the GM workspace layout the kernels and the host share |");
    w.line("| `host/main.cpp`, `host/kernels.h` | the AscendCL host program and the kernel declarations |");
    for (const Weight &x : weights_) w.line("| `weights/{}` | {} |", x.file, x.what);
    w.blank().line("## Where each op runs").blank();
    w.line("- **BitLinear**: a mixed kernel per phase (decode when the rows fit the decode plan, else prefill): the");
    w.line("  AIC runs DataCopy (Nd2Nz) -> LoadData -> Mmad -> Fixpipe (int32) into a GM workspace slot per output");
    w.line("  tile and scale group; the two AIVs of its group apply the weight and activation scales, bias,");
    w.line("  activation or gate, and residual in f32 (the AIV has no f64, so results match ternc's CPU targets to");
    w.line("  f32 rounding, not bit for bit). The 2-bit storage adds an AIV unpack into a GM ring, the int4 storage");
    w.line("  an AIV split of the activations into int4 halves and two cube passes (MSD).");
    w.line("- **ActQuant**: an AIV kernel, one row per core at a time (norm, absmax, round half to even).");
    w.line("- **Attention**: an AIV kernel, one key/value head and query row per item, online softmax over the GM");
    w.line("  KV cache; with RoPE tables it rotates the query rows in UB first.");
    w.line("- **CacheWrite**: no kernel; the host program copies the new rows into the cache with");
    w.line("  `aclrtMemcpyAsync(..., ACL_MEMCPY_DEVICE_TO_DEVICE, stream)` in stream order. With RoPE tables (the");
    w.line("  keys), an AIV kernel rotates each row and stores it, converted to the cache's type.");
    w.line("- **Views** (`Reshape`, `Squeeze`, `Unsqueeze`, ...): no kernel, the operand's device pointer.");
    w.line("- **Elementwise ops**: one AIV kernel per op and the ops ternc's plan-memory fused into it");
    w.line("  (`kernels/ternc_vector_N.cpp` on f32 UB tiles with the vector instructions, `ternc_scalar_N.cpp`");
    w.line("  element by element for integer and boolean values).");
    w.line("- **Transpose, Expand, Slice, Concat, CacheRead, CacheUpdate, Gather, ConstantOfShape, Range,");
    w.line("  reductions, Softmax, MatMul** (f32, or the int8 head): AIV kernels of `kernels/ternc_graph.h`, sized");
    w.line("  at run time by int64 `meta` words the host writes before each launch.");
    w.line("- **Shape**: no kernel; the host writes the dims.");
    w.line("- Nothing else runs on the CPU side: a graph with any other op is refused by the emitter.").blank();
    w.line("## Schedules (the cost model's choice, as `--explain-tiling` prints it)").blank();
    for (const Tiling &t : tilings_) {
      w.line("### {}", t.name).blank();
      w.line("```");
      w.text(explainTiling(t.t)).text("\n");
      w.line("```").blank();
    }
    return w.str();
  }

  const Module &m_;
  std::vector<std::string> problems_;
  std::vector<Kernel> kernels_;
  std::vector<Tiling> tilings_;
  std::vector<Weight> weights_;
  std::map<std::string, size_t> weightByKey_;
  std::map<const Value *, std::string> values_;
  std::deque<AscendPackedWeight> headers_;
  std::vector<std::pair<std::string, std::string>> graphs_;
  std::map<std::string, size_t> kernelByBody_;
};

// ---- writing the directory ----------------------------------------------------------------------------

/// True if `dir` holds a previous --emit=ascendc output (its README starts with the marker).
bool isPreviousOutput(const fs::path &dir) {
  std::ifstream f(dir / kReadme);
  std::string first;
  return f && std::getline(f, first) && first.find(kEmittedBy) != std::string::npos;
}

void writeFile(const fs::path &path, const std::string &bytes) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  std::ofstream f(path, std::ios::binary);
  if (!f || !f.write(bytes.data(), std::streamsize(bytes.size())) || !f.flush())
    fail("{}: cannot write ({})", path.string(), std::strerror(errno));
}

} // namespace

void emitAscendC(const Module &m, const std::string &outDir) {
  if (outDir.empty()) fail("--emit=ascendc needs an output directory (-o DIR)");
  fs::path out = fs::absolute(fs::path(outDir)).lexically_normal();
  if (out.filename().empty()) out = out.parent_path();
  fs::path parent = out.parent_path();
  std::error_code ec;
  if (!fs::is_directory(parent, ec))
    fail("{}: cannot create the AscendC project: its parent directory {} does not exist", outDir, parent.string());
  if (fs::exists(out, ec)) {
    if (!fs::is_directory(out, ec)) fail("{}: exists and is not a directory", outDir);
    if (!fs::is_empty(out, ec) && !isPreviousOutput(out))
      fail("{}: exists and is not an earlier --emit=ascendc output; remove it or choose another -o", outDir);
  }
  Files files = Emitter(m).run();
  std::string pattern = (parent / ("." + out.filename().string() + ".ternc-XXXXXX")).string();
  if (!mkdtemp(pattern.data()))
    fail("{}: cannot create a temporary directory in {} ({})", outDir, parent.string(), std::strerror(errno));
  fs::path tmp = pattern;
  try {
    for (const auto &[path, bytes] : files) writeFile(tmp / path, bytes);
    if (fs::exists(out)) {
      fs::path old = tmp.string() + ".old";
      fs::rename(out, old);
      fs::rename(tmp, out);
      fs::remove_all(old, ec);
    } else {
      fs::rename(tmp, out);
    }
  } catch (const fs::filesystem_error &e) {
    fs::remove_all(tmp, ec);
    fail("{}: cannot write the AscendC project: {}", outDir, e.what());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

} // namespace ternc::ascend
