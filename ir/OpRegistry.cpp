// OpRegistry: the global op table and the contexts ops are inferred and
// evaluated in.
#include "ir/OpRegistry.h"

#include "ir/Error.h"

namespace ternc {

const Type &InferContext::inputType(size_t i) const {
  if (!hasInput(i)) failMessage(fmt::format("input {} is missing", i));
  return op_.operand(i)->type();
}

const Tensor *InferContext::constantInput(size_t i) const {
  Value *v = op_.operand(i);
  if (!v || !v->constant()) return nullptr;
  return &v->constant()->data;
}

std::optional<std::vector<Dim>> InferContext::symbolicInput(size_t i) const {
  Value *v = op_.operand(i);
  if (!v) return std::nullopt;
  if (const Tensor *t = constantInput(i)) {
    if (!isInteger(t->dtype()) || t->rank() > 1 || t->numElements() > 64) return std::nullopt;
    std::vector<Dim> out;
    for (int64_t k = 0; k < t->numElements(); ++k) out.push_back(Dim(t->getInt(k)));
    return out;
  }
  return v->symbolicValue();
}

void InferContext::setResultType(size_t i, Type t) {
  if (i >= op_.numResults()) failMessage(fmt::format("has {} results, but result {} was set", op_.numResults(), i));
  op_.result(i)->setType(std::move(t));
}

void InferContext::setResultSymbolicValue(size_t i, std::vector<Dim> v) {
  op_.result(i)->setSymbolicValue(std::move(v));
}

void InferContext::failMessage(const std::string &msg) const {
  std::string where = op_.loc().empty() ? std::string() : op_.loc() + ": ";
  throw Error(fmt::format("{}{}: {}", where, op_.opName(), msg));
}

void EvalContext::failMessage(const std::string &msg) const {
  std::string where = op_.loc().empty() ? std::string() : op_.loc() + ": ";
  throw Error(fmt::format("{}{}: {}", where, op_.opName(), msg));
}

OpRegistry &OpRegistry::global() {
  static OpRegistry *r = [] {
    auto *reg = new OpRegistry();
    registerElementwiseOps(*reg);
    registerReductionOps(*reg);
    registerNNOps(*reg);
    registerShapeOps(*reg);
    registerTernaryOps(*reg);
    registerStateOps(*reg);
    return reg;
  }();
  return *r;
}

void OpRegistry::add(OpDef def) {
  std::string name = def.name;
  if (defs_.count(name)) fail("internal: op '{}' registered twice", name);
  defs_.emplace(std::move(name), std::move(def));
}

const OpDef *OpRegistry::find(std::string_view name) const {
  auto it = defs_.find(name);
  return it == defs_.end() ? nullptr : &it->second;
}

std::vector<const OpDef *> OpRegistry::all() const {
  std::vector<const OpDef *> out;
  for (const auto &[n, d] : defs_) out.push_back(&d);
  return out;
}

} // namespace ternc
