// X86PackTernary: the x86 target's legalization of ternary matmuls. For each BitLinear whose ternary weights
// the x86 kernels take (scales per tensor, per row, or per group of a multiple of 32 weights), the weights
// (and gate weights) become constants packed in the layout of the chosen instruction set (tern2b32 for AVX2,
// tern2b64 for AVX-512 VNNI; ir/TernaryPacking.h), and the op records the kernel that will run it as
// `x86.kernel` (visible in IR dumps). Packed constants still interpret: the interpreter unpacks them.
#include "targets/x86-avx2/X86Passes.h"

#include "ir/Error.h"
#include "ir/TernaryPacking.h"

#include <map>

namespace ternc {

namespace {

/// BitLinear's ternary weight operands (ir/ops/Ternary.cpp).
constexpr size_t kWeightOperands[] = {2, 5};

struct Variant {
  const char *pass, *layout, *kernel, *summary;
};

constexpr Variant kVariants[] = {
    {"x86-pack-avx2", "tern2b32", "tern2b32_avx2",
     "Pack BitLinear ternary weights as 2-bit codes in 32-byte blocks for the AVX2 kernel (vpmaddubsw)"},
    {"x86-pack-vnni256", "tern2b32", "tern2b32_vnni256",
     "Pack BitLinear ternary weights as 2-bit codes in 32-byte blocks for the AVX512-VNNI ymm kernel"},
    {"x86-pack-vnni512", "tern2b64", "tern2b64_vnni512",
     "Pack BitLinear ternary weights as 2-bit codes in 64-byte blocks for the AVX512-VNNI + GFNI zmm kernel"},
};

/// Why the x86 kernels cannot take this weight, or "" if they can.
std::string unsupported(const Value &w) {
  const Type &t = w.type();
  if (w.kind() != Value::Kind::Constant) return "the weight is not a constant";
  if (t.dtype() != DType::Tern || !t.isRanked() || t.rank() != 2 || !t.dim(1).isStatic()) return "not a static tern matrix";
  TernScale g = t.ternScale();
  if (g.kind == TernScale::Group && (g.group % 32 != 0 || t.dim(1).value() % g.group != 0))
    return "groups of " + std::to_string(g.group) + " (the kernels take multiples of 32)";
  return "";
}

class PackTernaryPass final : public Pass {
public:
  explicit PackTernaryPass(const Variant &v) : v_(v) {}
  std::string_view name() const override { return v_.pass; }
  std::string_view summary() const override { return v_.summary; }

  bool run(Module &m) override {
    const TernaryLayout &layout = *findTernaryLayout(v_.layout);
    std::map<Value *, Value *> packed;
    bool changed = false;
    for (const auto &g : m.graphs())
      for (const auto &op : g->ops()) {
        if (op->opName() != "BitLinear" || op->attrs().has("x86.kernel")) continue;
        bool ok = true;
        for (size_t i : kWeightOperands)
          if (Value *w = op->operand(i)) ok = ok && unsupported(*w).empty();
        if (!ok) continue;  // codegen reports why when it lowers the op
        for (size_t i : kWeightOperands) {
          Value *w = op->operand(i);
          if (!w) continue;
          Constant *c = w->constant();
          if (!c->layout.empty()) {
            if (c->layout != v_.layout)
              fail("{}: weight @{} is already packed as {}, not {}", v_.pass, w->name(), c->layout, v_.layout);
            continue;
          }
          Value *&p = packed[w];
          if (!p) {
            int64_t n = w->type().dim(0).value(), k = w->type().dim(1).value();
            std::vector<uint8_t> bytes = layout.pack(c->data.data<int8_t>(), n, k);
            Tensor t(DType::U8, {int64_t(bytes.size())});
            std::copy(bytes.begin(), bytes.end(), t.mutableData<uint8_t>());
            p = m.addConstant(w->name() + "_" + v_.layout, std::move(t), w->type(), v_.layout);
          }
          op->setOperand(i, p);
        }
        op->attrs().set("x86.kernel", std::string(v_.kernel));
        changed = true;
      }
    if (changed) m.eraseUnusedConstants();
    return changed;
  }

private:
  const Variant &v_;
};

} // namespace

void registerX86Passes(PassRegistry &r) {
  for (const Variant &v : kVariants)
    r.add(v.pass, v.summary, [&v] { return std::make_unique<PackTernaryPass>(v); });
}

std::string x86PackPass(bool vnni512, bool vnni256) {
  return vnni512 ? kVariants[2].pass : vnni256 ? kVariants[1].pass : kVariants[0].pass;
}

} // namespace ternc
