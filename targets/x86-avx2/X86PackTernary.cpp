// X86PackTernary: the x86 target's legalization of ternary matmuls. For each BitLinear whose ternary weights
// the x86 kernels take (scales per tensor, per row, or per group of a multiple of 32 weights), the weights
// (and gate weights) become constants packed in the layout of the chosen instruction set (tern2b32 for AVX2,
// tern2b64 for AVX-512 VNNI; ir/TernaryPacking.h), and the op records the symbol of the kernel that will run it
// as `target.kernel` (visible in IR dumps; codegen calls what it names). Packed constants still interpret: the
// interpreter unpacks them.
#include "targets/x86-avx2/X86Passes.h"
#include "targets/x86-avx2/X86Target.h"

#include "ir/Error.h"
#include "ir/TernaryPacking.h"

#include <map>

namespace ternc {

namespace {

/// BitLinear's ternary weight operands (ir/ops/Ternary.cpp).
constexpr size_t kWeightOperands[] = {2, 5};

} // namespace

std::string x86UnsupportedWeight(const Value &w) {
  const Type &t = w.type();
  if (w.kind() != Value::Kind::Constant) return "the weight is not a constant";
  if (t.dtype() != DType::Tern || !t.isRanked() || t.rank() != 2 || !t.dim(1).isStatic())
    return "not a static tern matrix";
  TernScale g = t.ternScale();
  if (g.kind == TernScale::Group && (g.group % 32 != 0 || t.dim(1).value() % g.group != 0))
    return "groups of " + std::to_string(g.group) + " (the kernels take multiples of 32)";
  return "";
}

namespace {

class PackTernaryPass final : public Pass {
public:
  explicit PackTernaryPass(const X86Kernel &k) : k_(k), summary_(packSummary(k)) {}
  std::string_view name() const override { return k_.pass; }
  std::string_view summary() const override { return summary_; }

  bool run(Module &m) override {
    const TernaryLayout &layout = *findTernaryLayout(k_.layout);
    std::map<Value *, Value *> packed;
    bool changed = false;
    for (const auto &g : m.graphs())
      for (const auto &op : g->ops()) {
        if (op->opName() != "BitLinear" || op->attrs().has(kTargetKernelAttr)) continue;
        bool ok = true;
        for (size_t i : kWeightOperands)
          if (Value *w = op->operand(i)) ok = ok && x86UnsupportedWeight(*w).empty();
        if (!ok) continue;  // codegen reports why when it lowers the op
        for (size_t i : kWeightOperands) {
          Value *w = op->operand(i);
          if (!w) continue;
          Constant *c = w->constant();
          if (!c->layout.empty()) {
            if (c->layout != k_.layout)
              fail("{}: weight @{} is already packed as {}, not {}", k_.pass, w->name(), c->layout, k_.layout);
            continue;
          }
          Value *&p = packed[w];
          if (!p) {
            int64_t n = w->type().dim(0).value(), k = w->type().dim(1).value();
            std::vector<uint8_t> bytes = layout.pack(c->data.data<int8_t>(), n, k);
            Tensor t(DType::U8, {int64_t(bytes.size())});
            std::copy(bytes.begin(), bytes.end(), t.mutableData<uint8_t>());
            p = m.addConstant(w->name() + "_" + k_.layout, std::move(t), w->type(), k_.layout);
          }
          op->setOperand(i, p);
        }
        op->attrs().set(kTargetKernelAttr, std::string(k_.symbol));
        changed = true;
      }
    if (changed) m.eraseUnusedConstants();
    return changed;
  }

  static std::string packSummary(const X86Kernel &k) {
    return "Pack BitLinear ternary weights as 2-bit codes in " + std::to_string(k.blockBytes) + "-byte blocks (" +
           k.layout + ") for the " + k.isa + " kernel";
  }

private:
  const X86Kernel &k_;
  std::string summary_;
};

} // namespace

void registerX86Passes(PassRegistry &r) {
  // Plainest first, as `ternc passes` lists them.
  for (auto it = x86Kernels().rbegin(); it != x86Kernels().rend(); ++it) {
    const X86Kernel &k = *it;
    r.add(k.pass, PackTernaryPass::packSummary(k), [&k] { return std::make_unique<PackTernaryPass>(k); });
  }
}

} // namespace ternc
