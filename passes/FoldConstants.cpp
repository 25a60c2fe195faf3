// fold-constants: evaluates ops whose operands are all constants, and
// integer values whose symbolic contents are static (the Shape -> Gather ->
// Concat arithmetic of exported graphs), into module constants.
#include "passes/Passes.h"
#include "passes/QuantizeHead.h"

#include "ir/Error.h"
#include "ir/Interpreter.h"
#include "ir/OpRegistry.h"
#include "ir/Verifier.h"

#include <unordered_map>
#include <unordered_set>

namespace ternc {

namespace {

/// Results above this size are folded only if they are not much larger than
/// the op's inputs (see shouldFold).
constexpr int64_t kMaxGrowingFoldBytes = 1 << 20;

std::optional<int64_t> staticBytes(const Type &t) {
  auto n = t.isStatic() ? t.numElements() : std::nullopt;
  if (!n) return std::nullopt;
  return *n * int64_t(dtypeSize(t.dtype()));
}

/// True if `op` can and should be evaluated now: pure, with reference
/// semantics, every present operand a constant, and static result types.
bool shouldFold(const Op &op) {
  if (!op.def().pure || !op.def().eval || op.numResults() == 0) return false;
  int64_t inBytes = 0, outBytes = 0;
  for (Value *v : op.operands()) {
    if (!v) continue;
    if (!v->constant()) return false;
    inBytes += int64_t(v->constant()->data.byteSize());
  }
  for (size_t i = 0; i < op.numResults(); ++i) {
    auto bytes = staticBytes(op.result(i)->type());
    if (!bytes) return false;
    outBytes += *bytes;
  }
  // Generators such as Expand, ConstantOfShape, Range or Tile turn a few
  // bytes into many. Folding them would bloat the module and its weights
  // file with data the program computes cheaply at run time, so a result is
  // materialized only when it is small or not much larger than its inputs.
  return outBytes <= kMaxGrowingFoldBytes || outBytes <= 2 * inBytes;
}

/// The static contents of an integer op result, as a tensor of its type,
/// if shape inference knows them all.
std::optional<Tensor> staticSymbolicValue(const Value &v) {
  const auto &sym = v.symbolicValue();
  const Type &t = v.type();
  if (!sym || !isInteger(t.dtype()) || !t.isStatic() || t.rank() > 1) return std::nullopt;
  if (t.numElements() != int64_t(sym->size())) return std::nullopt;
  Tensor out(t.dtype(), t.staticShape());
  for (size_t i = 0; i < sym->size(); ++i) {
    if (!(*sym)[i].isStatic()) return std::nullopt;
    out.setInt(int64_t(i), (*sym)[i].value());
  }
  return out;
}

/// Evaluates `op` on its constant operands; nullopt if evaluation fails
/// (e.g. an out-of-range constant index): the error is then reported when
/// the program runs, as it would be without folding.
std::optional<std::vector<Tensor>> evaluateConstantOp(const Op &op) {
  std::vector<Tensor> inputs;
  for (Value *v : op.operands()) inputs.push_back(v ? v->constant()->data : Tensor());
  std::vector<Tensor> results;
  try {
    results = evaluateOp(op, inputs);
  } catch (const Error &) {
    return std::nullopt;
  }
  if (results.size() != op.numResults()) return std::nullopt;
  for (size_t i = 0; i < results.size(); ++i) {
    const Type &t = op.result(i)->type();
    if (results[i].dtype() != t.dtype() || results[i].shape() != t.staticShape())
      fail("{}{}: evaluation gave {} {} for result '{}' of type {}",
           op.loc().empty() ? "" : op.loc() + ": ", op.opName(),
           dtypeName(results[i].dtype()), fmt::join(results[i].shape(), "x"), op.result(i)->name(), t.str());
  }
  return results;
}

class FoldConstants final : public BuiltinPass {
public:
  FoldConstants() : BuiltinPass("fold-constants") {}

  bool run(Module &m) override {
    bool changed = false;
    // Uses of every value across the graphs (constants are shared by them). When the last user of a constant
    // is folded, its data is released at once rather than when the folded ops are erased: a weight behind an
    // exported quantizer subgraph (Abs, ReduceMean, Div, Round, Clip, Mul) makes one full-size intermediate
    // per op, and holding them all kept ~10x the model's f32 weights in memory.
    std::unordered_map<const Value *, int64_t> uses;
    for (const auto &g : m.graphs()) {
      for (const auto &op : g->ops())
        for (Value *v : op->operands())
          if (v) ++uses[v];
      for (Value *v : g->outputs()) ++uses[v];
    }
    auto replace = [&](Graph &g, Value *r, Value *c) {
      g.replaceAllUses(r, c);
      uses[c] += uses[r];
      uses[r] = 0;
    };
    auto release = [&](const Op &op) {
      for (Value *v : op.operands())
        if (v && --uses[v] == 0 && v->constant()) v->constant()->data = Tensor();
    };
    for (const auto &g : m.graphs()) {
      std::vector<Op *> ops;
      for (const auto &op : g->ops()) ops.push_back(op.get());
      std::unordered_set<Op *> folded;
      // quantize-head's int8 weight stays int8: folding would bring back the f32 weight it replaced.
      std::unordered_set<const Value *> int8Weights = int8WeightValues(*g);
      for (Op *op : ops) {
        if (op->numResults() == 1 && int8Weights.count(op->result())) continue;
        // A forward walk: an op whose operands were folded earlier in this
        // walk now reads constants and folds too.
        size_t replaced = 0;
        if (shouldFold(*op)) {
          if (auto results = evaluateConstantOp(*op)) {
            for (size_t i = 0; i < results->size(); ++i) {
              Value *r = op->result(i);
              replace(*g, r, m.addConstant(r->name(), std::move((*results)[i]), r->type()));
            }
            replaced = op->numResults();
          }
        } else if (op->def().pure) {
          for (size_t i = 0; i < op->numResults(); ++i) {
            Value *r = op->result(i);
            if (auto value = staticSymbolicValue(*r)) {
              replace(*g, r, m.addConstant(r->name(), std::move(*value), r->type()));
              ++replaced;
            }
          }
        }
        if (replaced == op->numResults() && replaced > 0) {
          folded.insert(op);
          release(*op);
        }
        changed |= replaced > 0;
      }
      g->eraseOpsIf([&](Op *op) { return folded.count(op) > 0; });
    }
    if (!changed) return false;
    m.eraseUnusedConstants();
    // Constants are more precise than what inference knew of the values they
    // replace (e.g. a Reshape's shape operand), so downstream types may sharpen.
    inferTypes(m);
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> createFoldConstantsPass() { return std::make_unique<FoldConstants>(); }

} // namespace ternc
