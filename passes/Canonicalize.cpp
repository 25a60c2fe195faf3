// canonicalize: local rewrites applied to a fixed point. Each rule is one
// function; docs/passes.md lists them.
#include "passes/Passes.h"
#include "passes/Rewriting.h"

#include "ir/Error.h"
#include "ir/OpRegistry.h"
#include "ir/Verifier.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>

namespace ternc {

namespace {

/// What a rule may do besides editing its op in place: replace a value's
/// uses, or add a module constant.
struct Rewriter {
  Module &module;
  Graph &graph;
  void replace(Value *from, Value *to) { graph.replaceAllUses(from, to); }
};

/// True if `t` has no unknown dims, so that equal types mean equal shapes
/// at run time.
bool isFullyKnown(const Type &t) {
  if (!t.isRanked()) return false;
  return std::none_of(t.dims().begin(), t.dims().end(), [](const Dim &d) { return d.isUnknown(); });
}

/// Replaces `op`'s only result by `x`, which the caller has shown the op
/// computes, if their types are equal (so no user sees a type change).
/// `needKnownShape`: rules whose proof rests on the types themselves (a
/// Reshape or broadcast that leaves the shape alone) also need every dim
/// known, since two `?` dims compare equal without being equal.
bool forwardOperand(Op &op, Value *x, Rewriter &rw, bool needKnownShape = false) {
  if (!x || op.result()->type() != x->type()) return false;
  if (needKnownShape && !isFullyKnown(x->type())) return false;
  rw.replace(op.result(), x);
  return true;
}

/// The constant contents of an integer list operand, if it is one.
std::optional<std::vector<int64_t>> constantInts(const Value *v) {
  const Tensor *t = constantData(v);
  if (!t || !isInteger(t->dtype()) || t->rank() > 1 || !isSmallConstant(*t)) return std::nullopt;
  return t->toI64Vector();
}

/// The axes of a Squeeze/Unsqueeze, from the attribute or a constant input,
/// normalized against `rank` and sorted; nullopt if unknown or invalid.
std::optional<std::vector<int64_t>> normalizedAxes(const Op &op, int64_t rank) {
  std::optional<std::vector<int64_t>> axes;
  if (op.attrs().has("axes")) axes = op.attrs().getInts("axes");
  else axes = constantInts(op.operand(1));
  if (!axes || axes->empty()) return std::nullopt;
  for (int64_t &a : *axes) {
    if (a < 0) a += rank;
    if (a < 0 || a >= rank) return std::nullopt;
  }
  std::sort(axes->begin(), axes->end());
  return axes;
}

/// The permutation of a Transpose (default: reversed dims), if the input is ranked.
std::optional<std::vector<int64_t>> transposePerm(const Op &op) {
  const Type &in = op.operand(0)->type();
  if (!in.isRanked()) return std::nullopt;
  std::vector<int64_t> perm(in.rank());
  std::iota(perm.rbegin(), perm.rend(), 0);
  if (op.attrs().has("perm")) perm = op.attrs().getInts("perm");
  if (perm.size() != in.rank()) return std::nullopt;
  return perm;
}

/// True if every element of the constant `v` equals `identity` and its
/// dtype is `dtype`.
bool isConstantSplat(const Value *v, DType dtype, int64_t identity) {
  const Tensor *t = constantData(v);
  if (!t || t->dtype() != dtype || !isSmallConstant(*t) || (!isFloat(dtype) && !isInteger(dtype))) return false;
  for (int64_t i = 0; i < t->numElements(); ++i) {
    if (isFloat(dtype) ? t->getDouble(i) != double(identity) : t->getInt(i) != identity) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Rules. Each returns true if it changed something.
// ---------------------------------------------------------------------------

/// Identity(x) -> x.
bool removeIdentity(Op &op, Rewriter &rw) { return forwardOperand(op, op.operand(0), rw); }

/// Cast(x) to x's own dtype -> x; CastLike(x, y) with y of x's dtype -> x.
bool removeNoOpCast(Op &op, Rewriter &rw) { return forwardOperand(op, op.operand(0), rw); }

/// Reshape(x, shape) whose result has x's shape -> x.
bool removeNoOpReshape(Op &op, Rewriter &rw) { return forwardOperand(op, op.operand(0), rw, true); }

/// Transpose(x) with the identity permutation -> x;
/// Transpose(Transpose(x, p), q) -> Transpose(x, p[q[i]]).
bool simplifyTranspose(Op &op, Rewriter &rw) {
  auto perm = transposePerm(op);
  if (!perm) return false;
  bool identity = true;
  for (size_t i = 0; i < perm->size(); ++i) identity &= (*perm)[i] == int64_t(i);
  if (identity) return forwardOperand(op, op.operand(0), rw);

  Op *inner = op.operand(0)->definingOp();
  if (!inner || inner->opName() != "Transpose") return false;
  auto innerPerm = transposePerm(*inner);
  if (!innerPerm || innerPerm->size() != perm->size()) return false;
  std::vector<int64_t> composed(perm->size());
  for (size_t i = 0; i < perm->size(); ++i) {
    int64_t p = (*perm)[i];
    if (p < 0 || p >= int64_t(perm->size())) return false;
    composed[i] = (*innerPerm)[p];
  }
  op.setOperand(0, inner->operand(0));
  op.attrs().set("perm", composed);
  return true;
}

/// Squeeze(Unsqueeze(x, a), a) -> x and Unsqueeze(Squeeze(x, a), a) -> x.
bool cancelSqueezeUnsqueeze(Op &op, Rewriter &rw) {
  Op *inner = op.operand(0)->definingOp();
  bool squeezeOfUnsqueeze = op.opName() == "Squeeze" && inner && inner->opName() == "Unsqueeze";
  bool unsqueezeOfSqueeze = op.opName() == "Unsqueeze" && inner && inner->opName() == "Squeeze";
  if (!squeezeOfUnsqueeze && !unsqueezeOfSqueeze) return false;
  // Both ops' axes index the dims of the larger of the two ranks: the
  // unsqueezed value.
  const Type &unsqueezed = squeezeOfUnsqueeze ? inner->result()->type() : op.result()->type();
  if (!unsqueezed.isRanked()) return false;
  auto outer = normalizedAxes(op, int64_t(unsqueezed.rank()));
  auto innerAxes = normalizedAxes(*inner, int64_t(unsqueezed.rank()));
  if (!outer || !innerAxes || *outer != *innerAxes) return false;
  return forwardOperand(op, inner->operand(0), rw);
}

/// A constant `axes` (Reduce*, Squeeze, Unsqueeze) or `split` (Split)
/// input -> the attribute of the same name. Empty lists stay inputs: for the
/// Reduce ops an empty axes input means "reduce all" or "no-op" depending on
/// noop_with_empty_axes, which the attribute form cannot say.
bool constantInputToAttribute(Op &op, Rewriter &) {
  std::string_view name = op.opName() == "Split" ? "split" : "axes";
  if (op.numOperands() < 2 || op.attrs().has(name)) return false;
  auto values = constantInts(op.operand(1));
  if (!values || values->empty()) return false;
  const auto &schema = op.def().attrs;
  auto spec = std::find_if(schema.begin(), schema.end(), [&](const AttrSpec &s) { return s.name == name; });
  if (spec == schema.end() || spec->kind != AttrKind::Ints) return false;
  op.attrs().set(std::string(name), *values);
  std::vector<Value *> operands = op.operands();
  operands[1] = nullptr;
  while (!operands.empty() && !operands.back()) operands.pop_back();
  op.setOperands(std::move(operands));
  return true;
}

/// x + 0, 0 + x, x - 0, x * 1, 1 * x, x / 1 -> x, when the constant has x's
/// dtype and broadcasting leaves x's type unchanged. For floats x + 0.0
/// turns -0.0 into +0.0; the rewrite keeps -0.0, which compares equal.
bool removeArithmeticIdentity(Op &op, Rewriter &rw) {
  if (op.numOperands() != 2) return false;
  Value *lhs = op.operand(0), *rhs = op.operand(1);
  if (!lhs || !rhs) return false;
  const std::string &name = op.opName();
  int64_t identity = (name == "Add" || name == "Sub") ? 0 : 1;
  bool commutative = name == "Add" || name == "Mul";
  // A scalar constant never broadcasts x; another needs x's shape known.
  auto forwardIfIdentity = [&](Value *constant, Value *x) {
    return isConstantSplat(constant, x->type().dtype(), identity) &&
           forwardOperand(op, x, rw, /*needKnownShape=*/constantData(constant)->rank() > 0);
  };
  return forwardIfIdentity(rhs, lhs) || (commutative && forwardIfIdentity(lhs, rhs));
}

/// Shape(x) of a statically shaped x (within [start, end)) -> a constant.
bool foldStaticShape(Op &op, Rewriter &rw) {
  const Type &in = op.operand(0)->type();
  if (!in.isRanked()) return false;
  int64_t rank = int64_t(in.rank());
  auto clampIndex = [&](int64_t i) { return std::clamp(i < 0 ? i + rank : i, int64_t(0), rank); };
  int64_t start = clampIndex(op.attrs().getInt("start", 0));
  int64_t end = clampIndex(op.attrs().getInt("end", rank));
  std::vector<int64_t> dims;
  for (int64_t i = start; i < end; ++i) {
    if (!in.dim(size_t(i)).isStatic()) return false;
    dims.push_back(in.dim(size_t(i)).value());
  }
  if (op.result()->type() != Type(DType::I64, {Dim(int64_t(dims.size()))})) return false;
  rw.replace(op.result(), rw.module.addConstant(op.result()->name(), Tensor::fromI64(dims)));
  return true;
}

using Rule = bool (*)(Op &, Rewriter &);

/// The rules that apply to an op, by op name.
const std::vector<Rule> &rulesFor(const std::string &opName) {
  static const std::unordered_map<std::string, std::vector<Rule>> table = {
      {"Identity", {removeIdentity}},
      {"Cast", {removeNoOpCast}},
      {"CastLike", {removeNoOpCast}},
      {"Reshape", {removeNoOpReshape}},
      {"Transpose", {simplifyTranspose}},
      {"Squeeze", {constantInputToAttribute, cancelSqueezeUnsqueeze}},
      {"Unsqueeze", {constantInputToAttribute, cancelSqueezeUnsqueeze}},
      {"Split", {constantInputToAttribute}},
      {"ReduceMean", {constantInputToAttribute}},
      {"ReduceMax", {constantInputToAttribute}},
      {"ReduceMin", {constantInputToAttribute}},
      {"ReduceSum", {constantInputToAttribute}},
      {"Add", {removeArithmeticIdentity}},
      {"Sub", {removeArithmeticIdentity}},
      {"Mul", {removeArithmeticIdentity}},
      {"Div", {removeArithmeticIdentity}},
      {"Shape", {foldStaticShape}},
  };
  static const std::vector<Rule> none;
  auto it = table.find(opName);
  return it == table.end() ? none : it->second;
}

class Canonicalize final : public BuiltinPass {
public:
  Canonicalize() : BuiltinPass("canonicalize") {}

  bool run(Module &m) override {
    // Every rule removes an op, or moves an input to an attribute, or makes
    // a transpose chain shorter, so sweeps terminate; the bound only turns a
    // bug into an error instead of a hang.
    constexpr int kMaxSweeps = 1000;
    bool changedAny = false;
    for (int sweep = 0;; ++sweep) {
      if (sweep == kMaxSweeps) fail("internal: canonicalize did not reach a fixed point");
      bool changed = false;
      for (const auto &g : m.graphs()) {
        Rewriter rw{m, *g};
        std::vector<Op *> ops;
        for (const auto &op : g->ops()) ops.push_back(op.get());
        for (Op *op : ops)
          for (Rule rule : rulesFor(op->opName())) changed |= rule(*op, rw);
      }
      // The canonical form has no dead ops or constants (rules leave the
      // replaced ops behind).
      changed |= eraseDeadOps(m);
      size_t constants = m.constants().size();
      m.eraseUnusedConstants();
      changed |= m.constants().size() != constants;
      if (!changed) break;
      changedAny = true;
      // A rewrite may make downstream types more precise (a static Shape
      // became a constant that a Reshape reads).
      inferTypes(m);
    }
    return changedAny;
  }
};

} // namespace

std::unique_ptr<Pass> createCanonicalizePass() { return std::make_unique<Canonicalize>(); }

} // namespace ternc
