// act-quant: the per-token absmax int8 fake-quant subgraph of exported
// BitNet models becomes one ActQuant op followed by its dequantization, in
// the forms exporters produce (docs/passes.md, "act-quant").
#include "passes/Passes.h"
#include "passes/TernaryPatterns.h"

#include "ir/OpRegistry.h"

namespace ternc {

namespace {

using namespace patterns;

/// One matched fake-quant subgraph: Clamp(Round(x * s)) (or x / s), where s
/// is computed from max|x| per token.
struct FakeQuant {
  Value *x = nullptr;
  Value *scale = nullptr;      // the s applied to x (a multiplier, or a step for "m/127")
  Value *quantized = nullptr;  // the clamped, rounded float value
  Op *apply = nullptr;         // the Mul or Div of x by s
  Attrs attrs;                 // ActQuant's eps, eps_mode, scale
};

/// m' = max(m, eps) or m + eps, with m = ReduceMax(Abs(x)) over the last
/// axis: Clip(m, eps), Max(m, eps) or Add(m, eps). Sets eps and eps_mode.
bool matchClampedAbsMax(Value *clamped, Value *x, Attrs &attrs) {
  Op *op = defOp(clamped, {"Clip", "Max", "Add"});
  if (!op) return false;
  Value *m = nullptr, *eps = nullptr;
  if (op->opName() == "Clip") {
    if (op->numOperands() < 2 || (op->numOperands() == 3 && op->operand(2))) return false;
    m = op->operand(0);
    eps = op->operand(1);
  } else {
    for (size_t i = 0; i < 2 && op->numOperands() == 2 && !m; ++i)
      if (scalarConstant(op->operand(1 - i))) {
        m = op->operand(i);
        eps = op->operand(1 - i);
      }
  }
  auto e = scalarConstant(eps);
  // A positive eps keeps all-zero rows finite; without one the subgraph
  // divides by zero and its NaNs have no int8 form.
  if (!m || !e || !(*e > 0)) return false;
  Op *max = defOp(m, {"ReduceMax"});
  Op *abs = max ? defOp(max->operand(0), {"Abs"}) : nullptr;
  if (!abs || abs->operand(0) != x || !reducesLastAxisKeepingDims(*max)) return false;
  attrs.set("eps", *e);
  attrs.set("eps_mode", std::string(op->opName() == "Add" ? "add" : "max"));
  return true;
}

/// The scale `s` that multiplies x: 127 / m' ("127/m") or Reciprocal(m') *
/// 127 ("rcp(m)*127", what PyTorch exports for `127 / t`).
bool matchMultiplier(Value *s, Value *x, Attrs &attrs) {
  if (Op *div = defOp(s, {"Div"}); div && isScalar(div->operand(0), 127.0f)) {
    attrs.set("scale", std::string("127/m"));
    return matchClampedAbsMax(div->operand(1), x, attrs);
  }
  Op *mul = defOp(s, {"Mul"});
  if (!mul) return false;
  for (size_t i = 0; i < 2; ++i) {
    Op *rcp = defOp(mul->operand(i), {"Reciprocal"});
    if (rcp && isScalar(mul->operand(1 - i), 127.0f) && matchClampedAbsMax(rcp->operand(0), x, attrs)) {
      attrs.set("scale", std::string("rcp(m)*127"));
      return true;
    }
  }
  return false;
}

/// The step `d` that x is divided by: m' / 127 ("m/127").
bool matchStep(Value *d, Value *x, Attrs &attrs) {
  Op *div = defOp(d, {"Div"});
  if (!div || !isScalar(div->operand(1), 127.0f)) return false;
  attrs.set("scale", std::string("m/127"));
  return matchClampedAbsMax(div->operand(0), x, attrs);
}

/// A clamp of `v` to the int8 range: Clip(v, lo, hi), Min(Max(v, lo), hi)
/// or Max(Min(v, hi), lo). Per-token absmax scaling never leaves
/// [-127.5, 127.5] (|x * s| <= 127 up to two roundings), so any lo in
/// [-128, -127] with hi = 127 clamps nothing and the int8 result is exact.
/// Returns the clamped value, `v` itself if no clamp follows.
Value *skipInt8Clamp(Value *v, const UseMap &uses) {
  auto isLow = [](const Value *c) {
    auto s = scalarConstant(c);
    return s && *s >= -128.0f && *s <= -127.0f;
  };
  auto isHigh = [](const Value *c) { return isScalar(c, 127.0f); };
  Op *user = uses.hasOneUse(v) ? uses.users(v).front() : nullptr;
  if (!user) return v;
  if (user->opName() == "Clip" && user->numOperands() == 3 && user->operand(0) == v && isLow(user->operand(1)) &&
      isHigh(user->operand(2)))
    return user->result();
  if ((user->opName() == "Max" || user->opName() == "Min") && user->numOperands() == 2) {
    bool max = user->opName() == "Max";
    Value *bound = otherOperand(*user, v);
    if (!bound || !(max ? isLow(bound) : isHigh(bound)) || !uses.hasOneUse(user->result())) return v;
    Op *second = uses.users(user->result()).front();
    if (second->opName() != (max ? "Min" : "Max") || second->numOperands() != 2) return v;
    Value *other = otherOperand(*second, user->result());
    if (other && (max ? isHigh(other) : isLow(other))) return second->result();
  }
  return v;
}

/// Matches the fake-quant subgraph whose Round is `round`.
std::optional<FakeQuant> matchFakeQuant(Op &round, const UseMap &uses) {
  Op *apply = defOp(round.operand(0), {"Mul", "Div"});
  if (!apply || apply->numOperands() != 2 || !uses.hasOneUse(apply->result())) return std::nullopt;
  FakeQuant fq;
  fq.apply = apply;
  if (apply->opName() == "Mul") {
    for (size_t i = 0; i < 2 && !fq.x; ++i) {
      Attrs attrs;
      if (matchMultiplier(apply->operand(1 - i), apply->operand(i), attrs)) {
        fq.x = apply->operand(i);
        fq.scale = apply->operand(1 - i);
        fq.attrs = attrs;
      }
    }
  } else if (matchStep(apply->operand(1), apply->operand(0), fq.attrs)) {
    fq.x = apply->operand(0);
    fq.scale = apply->operand(1);
  }
  if (!fq.x || fq.x->type().dtype() != DType::F32 || !fq.x->type().isRanked()) return std::nullopt;
  fq.quantized = skipInt8Clamp(round.result(), uses);
  return fq;
}

/// Replaces the fake quant by ActQuant + Cast; the dequantization (the Div
/// or Mul of the clamped value by s) then reads them. Returns the ActQuant.
Op *rewrite(Graph &g, const FakeQuant &fq) {
  Op *aq = g.buildOp("ActQuant", {fq.x}, fq.attrs, {"q", "s"}, fq.apply);
  Attrs toF32;
  toF32.set("to", DType::F32);
  Op *cast = g.buildOp("Cast", {aq->result(0)}, toF32, {"qf"}, fq.apply);
  g.replaceAllUses(fq.quantized, cast->result());
  // ActQuant's s is the same value as the graph's s (the same float steps),
  // so every user of s may read it; the subgraph computing s then dies.
  if (aq->result(1)->type() == fq.scale->type()) {
    g.replaceAllUses(fq.scale, aq->result(1));
    // The graph's s is now unused and dies: ActQuant's s takes its name.
    std::string name = fq.scale->name();
    fq.scale->setName(g.uniqueName(name + ".replaced"));
    aq->result(1)->setName(name);
  }
  return aq;
}

/// The straight-through estimator of training code, x + (dq - x), around a
/// dequantized ActQuant output dq -> dq. This is exact, not an
/// approximation: a quantized nonzero dq lies within half a step of x, so dq
/// and x are within a factor of two and dq - x is exact (Sterbenz), and x +
/// (dq - x) = dq is then representable; for a zero dq, x + (-x) = +0 = dq.
bool removeStraightThrough(Graph &g, Op &add, const UseMap &uses) {
  for (size_t i = 0; i < 2 && add.numOperands() == 2; ++i) {
    Value *x = add.operand(i);
    Op *sub = defOp(add.operand(1 - i), {"Sub"});
    if (!sub || sub->operand(1) != x || !uses.hasOneUse(sub->result())) continue;
    Value *dq = sub->operand(0);
    Op *dequant = defOp(dq, {"Div", "Mul"});
    if (!dequant) continue;
    Op *aq = nullptr;
    for (size_t j = 0; j < 2 && !aq; ++j) {
      if (dequant->opName() == "Div" && j == 1) break;  // q / s, never s / q
      Op *cast = defOp(dequant->operand(j), {"Cast"});
      Op *def = cast ? defOp(cast->operand(0), {"ActQuant"}) : nullptr;
      if (def && cast->operand(0) == def->result(0) && cast->result()->type().dtype() == DType::F32 &&
          dequant->operand(1 - j) == def->result(1))
        aq = def;
    }
    if (!aq || aq->operand(0) != x || aq->attrs().getString("norm", "none") != "none") continue;
    // dq = q / s for a multiplier, q * s for a step; the other pairing is
    // no dequantization.
    bool step = aq->attrs().getString("scale", "") == "m/127";
    if ((dequant->opName() == "Mul") != step) continue;
    if (dq->type() != add.result()->type()) continue;
    g.replaceAllUses(add.result(), dq);
    return true;
  }
  return false;
}

class ActQuantPass final : public BuiltinPass {
public:
  ActQuantPass() : BuiltinPass("act-quant") {}

  bool run(Module &m) override {
    bool changed = false;
    for (const auto &g : m.graphs()) {
      bool graphChanged = false;
      {
        UseMap uses(*g);
        std::vector<Op *> rounds;
        for (const auto &op : g->ops())
          if (op->opName() == "Round") rounds.push_back(op.get());
        for (Op *round : rounds)
          if (auto fq = matchFakeQuant(*round, uses)) {
            rewrite(*g, *fq);
            graphChanged = true;
          }
      }
      if (graphChanged) {
        // Users of s earlier in the op list now read an ActQuant placed later;
        // the replaced ops are dead and must not count as uses.
        g->sortTopologically();
        eraseDeadOps(m);
        UseMap uses(*g);
        std::vector<Op *> adds;
        for (const auto &op : g->ops())
          if (op->opName() == "Add") adds.push_back(op.get());
        for (Op *add : adds) removeStraightThrough(*g, *add, uses);
      }
      changed |= graphChanged;
    }
    if (!changed) return false;
    eraseDeadOps(m);
    m.eraseUnusedConstants();
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> createActQuantPass() { return std::make_unique<ActQuantPass>(); }

} // namespace ternc
