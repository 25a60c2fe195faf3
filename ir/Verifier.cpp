// Verifier: checks op arity and attribute schemas, SSA dominance, name
// uniqueness, constant data, and that recorded types agree with inference.
#include "ir/Verifier.h"

#include "ir/Error.h"
#include "ir/OpRegistry.h"
#include "ir/Printer.h"

#include <unordered_set>

namespace ternc {

namespace {

std::string refName(const Value *v) {
  if (!v) return "_";
  return (v->kind() == Value::Kind::Constant ? "@" : "%") + quoteIdentifierIfNeeded(v->name());
}

/// "1 operand", "2 operands", "1 to 3 operands", "at least 1 result".
std::string countRange(int lo, int hi, std::string_view noun) {
  if (hi < 0) return fmt::format("at least {} {}s", lo, noun);
  if (lo == hi) return fmt::format("{} {}{}", lo, noun, lo == 1 ? "" : "s");
  return fmt::format("{} to {} {}s", lo, hi, noun);
}

class ModuleVerifier {
public:
  ModuleVerifier(const Module &m, const std::string &context)
      : m_(m), prefix_(context.empty() ? std::string() : context + ": ") {}

  void run() {
    verifyConstants();
    std::unordered_set<std::string> graphNames;
    for (const auto &g : m_.graphs()) {
      if (!graphNames.insert(g->name()).second) fail("{}module has two graphs named @{}", prefix_, g->name());
      verifyGraph(*g);
    }
  }

private:
  const Module &m_;
  std::string prefix_;

  [[noreturn]] void failGraph(const Graph &g, const std::string &msg) const {
    throw Error(fmt::format("{}graph @{}: {}", prefix_, quoteIdentifierIfNeeded(g.name()), msg));
  }
  [[noreturn]] void failOp(const Graph &g, const Op &op, size_t index, const std::string &msg) const {
    std::string where = op.loc().empty() ? fmt::format("op #{}", index) : op.loc();
    failGraph(g, fmt::format("{}: {}: {}", where, op.opName(), msg));
  }

  bool isModuleConstant(const Value *v) const {
    return v->kind() == Value::Kind::Constant && m_.findConstant(v->name()) == v;
  }

  void verifyConstants() const {
    for (const auto &c : m_.constants()) {
      const Value &v = c->value;
      std::string name = refName(&v);
      if (v.kind() != Value::Kind::Constant || v.constant() != c.get() || m_.findConstant(v.name()) != &v)
        fail("{}constant {} is not registered under its name", prefix_, name);
      if (!c->data.isValid()) fail("{}constant {} has no data", prefix_, name);
      if (!v.type().isStatic()) fail("{}constant {} has a non-static type {}", prefix_, name, v.type().str());
      if (!c->layout.empty()) continue;  // packed bytes: the layout defines their size
      DType want = v.type().dtype();
      DType have = c->data.dtype();
      bool dtypeOk = have == want || (want == DType::Tern && have == DType::I8);
      if (!dtypeOk || c->data.shape() != v.type().staticShape()) {
        std::vector<Dim> dims(c->data.shape().begin(), c->data.shape().end());
        fail("{}constant {} is typed {}, but its data is {}", prefix_, name, v.type().str(),
             Type(have, std::move(dims)).str());
      }
    }
  }

  void verifyAttrs(const Graph &g, const Op &op, size_t index) const {
    const OpDef &def = op.def();
    for (const auto &spec : def.attrs) {
      const AttrValue *v = op.attrs().find(spec.name);
      if (!v) {
        if (spec.required) failOp(g, op, index, fmt::format("missing required attribute '{}'", spec.name));
        continue;
      }
      if (attrKind(*v) != spec.kind)
        failOp(g, op, index,
               fmt::format("attribute '{}' must be {}, found {}", spec.name, attrKindName(spec.kind),
                           attrKindName(attrKind(*v))));
    }
    if (def.openAttrs) return;
    for (const auto &[name, value] : op.attrs().entries()) {
      bool known = isAnnotationAttr(name);
      for (const auto &spec : def.attrs) known = known || spec.name == name;
      if (!known) failOp(g, op, index, fmt::format("unknown attribute '{}'", name));
    }
  }

  /// Re-infers the op's result types and compares them with the recorded
  /// ones, then puts the recorded types back: verifying changes nothing.
  void verifyTypes(const Graph &g, Op &op, size_t index) const {
    std::vector<Type> recorded;
    std::vector<std::optional<std::vector<Dim>>> recordedSymbolic;
    for (size_t i = 0; i < op.numResults(); ++i) {
      recorded.push_back(op.result(i)->type());
      recordedSymbolic.push_back(op.result(i)->symbolicValue());
    }
    auto restore = [&] {
      for (size_t i = 0; i < op.numResults(); ++i) {
        op.result(i)->setType(recorded[i]);
        op.result(i)->setSymbolicValue(recordedSymbolic[i]);
      }
    };
    std::vector<Type> inferred;
    try {
      op.inferTypes();
      for (size_t i = 0; i < op.numResults(); ++i) inferred.push_back(op.result(i)->type());
    } catch (const Error &e) {
      restore();
      std::string msg = e.what();
      if (!op.loc().empty() && msg.rfind(op.loc(), 0) == 0) failGraph(g, "type inference failed: " + msg);
      failOp(g, op, index, "type inference failed: " + msg);
    }
    restore();
    for (size_t i = 0; i < op.numResults(); ++i)
      if (!reconcileInferredType(recorded[i], inferred[i]))
        failOp(g, op, index,
               fmt::format("result {} is recorded as {}, but type inference gives {}", refName(op.result(i)),
                           recorded[i].str(), inferred[i].str()));
  }

  void verifyGraph(const Graph &g) const {
    std::unordered_set<std::string> names;
    std::unordered_set<const Value *> defined;
    std::unordered_set<const Value *> allResults;
    for (const auto &op : g.ops())
      for (size_t i = 0; i < op->numResults(); ++i) allResults.insert(op->result(i));

    for (const auto &a : g.arguments()) {
      if (a->kind() != Value::Kind::Argument || a->graph() != &g)
        failGraph(g, fmt::format("argument {} does not belong to this graph", refName(a.get())));
      if (!names.insert(a->name()).second) failGraph(g, fmt::format("value name {} is defined twice", refName(a.get())));
      defined.insert(a.get());
    }

    for (size_t index = 0; index < g.ops().size(); ++index) {
      Op &op = *g.ops()[index];
      const OpDef &def = op.def();
      if (op.graph() != &g) failOp(g, op, index, "op does not belong to this graph");
      int nIn = int(op.numOperands()), nOut = int(op.numResults());
      if (nIn < def.minInputs || (def.maxInputs >= 0 && nIn > def.maxInputs))
        failOp(g, op, index, fmt::format("takes {}, has {}", countRange(def.minInputs, def.maxInputs, "operand"), nIn));
      if (nOut < def.minOutputs || (def.maxOutputs >= 0 && nOut > def.maxOutputs))
        failOp(g, op, index, fmt::format("has {}, found {}", countRange(def.minOutputs, def.maxOutputs, "result"), nOut));

      for (size_t i = 0; i < op.numOperands(); ++i) {
        const Value *v = op.operand(i);
        if (!v) {
          if (int(i) < def.minInputs) failOp(g, op, index, fmt::format("operand {} is required, but omitted", i));
          continue;
        }
        if (v->kind() == Value::Kind::Constant) {
          if (!isModuleConstant(v))
            failOp(g, op, index, fmt::format("operand {} ({}) is not a constant of this module", i, refName(v)));
        } else if (!defined.count(v)) {
          failOp(g, op, index,
                 fmt::format("operand {} ({}) {}", i, refName(v),
                             allResults.count(v) ? "is used before it is defined" : "is not defined in this graph"));
        }
      }

      verifyAttrs(g, op, index);

      for (size_t i = 0; i < op.numResults(); ++i) {
        const Value *r = op.result(i);
        if (r->kind() != Value::Kind::Result || r->definingOp() != &op || r->resultIndex() != i)
          failOp(g, op, index, fmt::format("result {} ({}) is not linked to its op", i, refName(r)));
        if (!names.insert(r->name()).second)
          failOp(g, op, index, fmt::format("value name {} is defined twice", refName(r)));
      }

      verifyTypes(g, op, index);
      for (size_t i = 0; i < op.numResults(); ++i) defined.insert(op.result(i));
    }

    if (g.outputs().size() != g.outputNames().size())
      failGraph(g, fmt::format("has {} output names but {} output values", g.outputNames().size(), g.outputs().size()));
    std::unordered_set<std::string> outputNames;
    for (size_t i = 0; i < g.outputs().size(); ++i) {
      const Value *v = g.outputs()[i];
      const std::string &name = g.outputNames()[i];
      if (!outputNames.insert(name).second) failGraph(g, fmt::format("output '{}' is declared twice", name));
      if (!v) failGraph(g, fmt::format("output '{}' has no value", name));
      bool ok = v->kind() == Value::Kind::Constant ? isModuleConstant(v) : defined.count(v) > 0;
      if (!ok) failGraph(g, fmt::format("output '{}' returns {}, which is not defined in this graph", name, refName(v)));
    }
  }
};

} // namespace

std::optional<Type> reconcileInferredType(const Type &recorded, const Type &inferred) {
  if (recorded.dtype() != inferred.dtype() || !(recorded.ternScale() == inferred.ternScale())) return std::nullopt;
  if (!inferred.isRanked()) return recorded;
  if (!recorded.isRanked() || recorded.rank() != inferred.rank()) return std::nullopt;
  for (size_t i = 0; i < recorded.rank(); ++i)
    if (!inferred.dim(i).isUnknown() && inferred.dim(i) != recorded.dim(i)) return std::nullopt;
  return recorded;
}

void verify(const Module &m, const std::string &context) { ModuleVerifier(m, context).run(); }

void inferTypes(Module &m) {
  for (const auto &g : m.graphs())
    for (const auto &op : g->ops()) op->inferTypes();
}

} // namespace ternc
