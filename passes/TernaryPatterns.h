// TernaryPatterns: small matchers shared by the act-quant, ternarize and
// fuse-bitlinear passes — an op by name, scalar constants, use counts.
#pragma once

#include "ir/IR.h"
#include "ir/OpRegistry.h"
#include "passes/Rewriting.h"

#include <initializer_list>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ternc::patterns {

/// The op defining `v` if it is one of `names`, else null.
inline Op *defOp(const Value *v, std::initializer_list<std::string_view> names) {
  Op *op = v ? v->definingOp() : nullptr;
  if (!op) return nullptr;
  for (std::string_view n : names)
    if (op->opName() == n) return op;
  return nullptr;
}

/// The value of a one-element f32 constant (a scalar or a [1]-shaped tensor).
inline std::optional<float> scalarConstant(const Value *v) {
  const Tensor *t = constantData(v);
  if (!t || t->dtype() != DType::F32 || t->numElements() != 1) return std::nullopt;
  return t->data<float>()[0];
}

/// True if `v` is a one-element f32 constant equal to `want`.
inline bool isScalar(const Value *v, float want) {
  auto s = scalarConstant(v);
  return s && *s == want;
}

/// For a binary op, the operand that is not `v` (null if `v` is neither or
/// both operands).
inline Value *otherOperand(const Op &op, const Value *v) {
  if (op.numOperands() != 2) return nullptr;
  if (op.operand(0) == v && op.operand(1) != v) return op.operand(1);
  if (op.operand(1) == v && op.operand(0) != v) return op.operand(0);
  return nullptr;
}

/// The users of each value of one graph, counted per operand slot, and
/// whether the value is a graph output. Stale once the graph changes.
class UseMap {
public:
  explicit UseMap(const Graph &g) {
    for (const auto &op : g.ops())
      for (Value *v : op->operands())
        if (v) users_[v].push_back(op.get());
    for (Value *v : g.outputs()) outputs_[v] = true;
  }
  /// The ops reading `v`, once per operand slot.
  const std::vector<Op *> &users(const Value *v) const {
    static const std::vector<Op *> none;
    auto it = users_.find(v);
    return it == users_.end() ? none : it->second;
  }
  bool isOutput(const Value *v) const { return outputs_.count(v) > 0; }
  /// The one op that reads `v` (in any number of its operand slots), if `v`
  /// is not a graph output and no other op reads it.
  Op *soleUser(const Value *v) const {
    if (isOutput(v)) return nullptr;
    const auto &u = users(v);
    if (u.empty()) return nullptr;
    for (Op *op : u)
      if (op != u.front()) return nullptr;
    return u.front();
  }
  /// True if `v` has exactly one use: one operand slot of one op.
  bool hasOneUse(const Value *v) const { return !isOutput(v) && users(v).size() == 1; }

private:
  std::unordered_map<const Value *, std::vector<Op *>> users_;
  std::unordered_map<const Value *, bool> outputs_;
};

/// True if `op` reduces its operand over the last axis only, keeping dims
/// (ReduceMax/ReduceMean {axes = [-1]} as exporters write per-token
/// reductions).
inline bool reducesLastAxisKeepingDims(const Op &op) {
  const Type &x = op.operand(0)->type();
  if (!x.isRanked() || x.rank() == 0 || op.numOperands() > 1 || !op.attrs().has("axes")) return false;
  auto axes = op.attrs().getInts("axes");
  int64_t last = int64_t(x.rank()) - 1;
  return axes.size() == 1 && (axes[0] == -1 || axes[0] == last) && op.attrs().getInt("keepdims", 1) == 1;
}

/// Replaces every use of `op`'s only result by `by`, erases `op`, and gives
/// `by` the old result's name, so that a fused value keeps the name users
/// know (the graph never reuses a name, so the old one is free).
inline void replaceOpKeepingName(Graph &g, Op *op, Value *by) {
  Value *old = op->result();
  std::string name = old->name();
  g.replaceAllUses(old, by);
  g.eraseOp(op);
  by->setName(std::move(name));
}

} // namespace ternc::patterns
