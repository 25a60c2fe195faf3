// cse: merges pure ops with the same op, operands and attributes, and
// identical small constants.
#include "passes/Passes.h"

#include "ir/OpRegistry.h"

#include <cstring>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace ternc {

namespace {

/// Constants up to this size are compared byte for byte. Exporters repeat
/// small ones (scalars, axes, shapes) per layer; identical large weights do
/// not occur in practice, and hashing every weight byte of a big model would
/// cost more than it could save.
constexpr size_t kMaxMergedConstantBytes = 64 * 1024;

size_t hashCombine(size_t seed, size_t v) { return seed ^ (v + 0x9e3779b97f4a7c15ull + (seed << 6) + (seed >> 2)); }

/// Replaces uses of duplicate constants by the first identical one; returns
/// true if any was merged.
bool mergeConstants(Module &m) {
  std::unordered_map<const Value *, Value *> replacement;
  std::unordered_map<size_t, std::vector<const Constant *>> byHash;
  for (const auto &c : m.constants()) {
    const Tensor &t = c->data;
    if (!t.isValid() || t.byteSize() > kMaxMergedConstantBytes) continue;
    size_t h = std::hash<std::string_view>()(
        std::string_view(reinterpret_cast<const char *>(t.rawData()), t.byteSize()));
    h = hashCombine(h, std::hash<std::string>()(c->value.type().str()));
    auto &bucket = byHash[h];
    const Constant *same = nullptr;
    for (const Constant *k : bucket)
      if (k->value.type() == c->value.type() && k->layout == c->layout && k->data.identical(t)) same = k;
    if (same)
      replacement[&c->value] = const_cast<Value *>(&same->value);
    else
      bucket.push_back(c.get());
  }
  if (replacement.empty()) return false;
  for (const auto &g : m.graphs()) {
    for (const auto &op : g->ops())
      for (size_t i = 0; i < op->numOperands(); ++i)
        if (auto it = replacement.find(op->operand(i)); it != replacement.end()) op->setOperand(i, it->second);
    for (size_t i = 0; i < g->outputs().size(); ++i)
      if (auto it = replacement.find(g->outputs()[i]); it != replacement.end()) g->setOutput(i, it->second);
  }
  m.eraseUnusedConstants();
  return true;
}

/// True if `a` and `b` compute the same values: same op, operands,
/// attributes and result types (the types are compared so that a more
/// precise type written in the text is never lost).
bool sameComputation(const Op &a, const Op &b) {
  if (&a.def() != &b.def() || a.operands() != b.operands() || a.numResults() != b.numResults()) return false;
  for (size_t i = 0; i < a.numResults(); ++i)
    if (a.result(i)->type() != b.result(i)->type()) return false;
  return a.attrs() == b.attrs();
}

size_t hashComputation(const Op &op) {
  size_t h = std::hash<const OpDef *>()(&op.def());
  for (Value *v : op.operands()) h = hashCombine(h, std::hash<Value *>()(v));
  h = hashCombine(h, op.numResults());
  for (const auto &[name, value] : op.attrs().entries()) h = hashCombine(h, std::hash<std::string>()(name));
  return h;
}

/// Merges duplicate ops of one graph in a single forward walk: operands are
/// first redirected to the surviving values, so chains of duplicates merge.
bool mergeOps(Graph &g) {
  std::unordered_map<const Value *, Value *> replacement;
  std::unordered_map<size_t, std::vector<Op *>> seen;
  std::unordered_set<Op *> duplicates;
  for (const auto &opPtr : g.ops()) {
    Op *op = opPtr.get();
    for (size_t i = 0; i < op->numOperands(); ++i)
      if (auto it = replacement.find(op->operand(i)); it != replacement.end()) op->setOperand(i, it->second);
    if (!op->def().pure || op->numResults() == 0) continue;
    auto &bucket = seen[hashComputation(*op)];
    Op *same = nullptr;
    for (Op *k : bucket)
      if (sameComputation(*k, *op)) same = k;
    if (!same) {
      bucket.push_back(op);
      continue;
    }
    for (size_t r = 0; r < op->numResults(); ++r) replacement[op->result(r)] = same->result(r);
    duplicates.insert(op);
  }
  if (duplicates.empty()) return false;
  for (size_t i = 0; i < g.outputs().size(); ++i)
    if (auto it = replacement.find(g.outputs()[i]); it != replacement.end()) g.setOutput(i, it->second);
  g.eraseOpsIf([&](Op *op) { return duplicates.count(op) > 0; });
  return true;
}

class CommonSubexpressionElimination final : public BuiltinPass {
public:
  CommonSubexpressionElimination() : BuiltinPass("cse") {}

  bool run(Module &m) override {
    // Constants first, so that ops reading equal constants become equal.
    bool changed = mergeConstants(m);
    for (const auto &g : m.graphs()) changed |= mergeOps(*g);
    // Merged values have equal types, so no re-inference is needed.
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> createCommonSubexpressionEliminationPass() {
  return std::make_unique<CommonSubexpressionElimination>();
}

} // namespace ternc
