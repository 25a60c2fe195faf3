// fuse-bitlinear: ActQuant + dequantize + TernaryMatMul becomes BitLinear
// (BitNet b1.58's integer math), which then absorbs the output scale, bias,
// activation, GLU gate and residual add around it; the norm before the
// ActQuant moves into the ActQuant (docs/passes.md, "fuse-bitlinear").
#include "passes/Passes.h"
#include "passes/TernaryPatterns.h"

#include "ir/OpRegistry.h"

#include <cmath>

namespace ternc {

namespace {

using namespace patterns;

/// BitLinear's operand slots (ir/ops/Ternary.cpp).
enum Slot : size_t { kQ, kS, kW, kWScale, kBias, kGate, kGateScale, kGateBias, kResidual, kNumSlots };

std::vector<Value *> slotsOf(const Op &op) {
  std::vector<Value *> v = op.operands();
  v.resize(kNumSlots, nullptr);
  return v;
}

void setSlots(Op &op, std::vector<Value *> v) {
  while (!v.empty() && !v.back()) v.pop_back();
  op.setOperands(std::move(v));
}

std::string actOf(const Op &bl) { return bl.attrs().getString("act", "none"); }

/// True if nothing after the matmul has been absorbed yet, so that an output
/// scale or a bias still applies to the bare product.
bool isBare(const Op &bl) {
  auto s = slotsOf(bl);
  return !s[kBias] && !s[kGate] && !s[kResidual] && actOf(bl) == "none";
}

/// True if `v` is an f32 vector of `n` elements that broadcasts along the
/// last axis only (shape [n], or [1, ..., 1, n]).
bool isChannelVector(const Value *v, const Dim &n) {
  const Type &t = v->type();
  if (t.dtype() != DType::F32 || !t.isRanked() || t.rank() == 0 || t.dims().back() != n) return false;
  for (size_t i = 0; i + 1 < t.rank(); ++i)
    if (t.dim(i) != Dim(1)) return false;
  return true;
}

class Fuser {
public:
  Fuser(Module &m, Graph &g) : m_(m), g_(g), uses_(g) {}

  /// Applies the first rule that matches some op; false at the fixed point.
  bool applyOne() {
    std::vector<Op *> ops;
    for (const auto &op : g_.ops()) ops.push_back(op.get());
    for (Op *op : ops) {
      const std::string &name = op->opName();
      bool done = false;
      if (name == "TernaryMatMul") done = fuseMatMul(*op);
      else if (name == "ActQuant") done = absorbNorm(*op);
      else if (name == "Mul") done = mergeGatedPair(*op);
      else if (name == "BitLinear")
        done = absorbOutputScale(*op) || absorbBias(*op) || absorbActivation(*op) || absorbResidual(*op);
      if (done) return true;
    }
    return false;
  }

private:
  Module &m_;
  Graph &g_;
  UseMap uses_;

  /// The one op reading `v` in exactly one operand slot, if it is `name`.
  Op *onlyUser(const Value *v, std::initializer_list<std::string_view> names) const {
    if (!uses_.hasOneUse(v)) return nullptr;
    return defOp(uses_.users(v).front()->result(), names);
  }

  /// TernaryMatMul(Div(Cast(q), s), w, scale) with q, s of one ActQuant
  /// (or Mul(Cast(q), s), a step-form dequantization) -> BitLinear(q, s, w,
  /// scale).
  bool fuseMatMul(Op &tmm) {
    Op *dequant = defOp(tmm.operand(0), {"Div", "Mul"});
    if (!dequant) return false;
    for (size_t j = 0; j < 2; ++j) {
      if (dequant->opName() == "Div" && j == 1) break;  // q / s, never s / q
      Op *cast = defOp(dequant->operand(j), {"Cast"});
      Op *aq = cast ? defOp(cast->operand(0), {"ActQuant"}) : nullptr;
      if (!aq || cast->operand(0) != aq->result(0) || cast->result()->type().dtype() != DType::F32 ||
          dequant->operand(1 - j) != aq->result(1))
        continue;
      Attrs attrs;
      attrs.set("act", std::string("none"));
      attrs.set("dequant", std::string(dequant->opName() == "Div" ? "div" : "mul"));
      Op *bl = g_.buildOp("BitLinear", {aq->result(0), aq->result(1), tmm.operand(1), tmm.operand(2)}, attrs,
                          {"bitlinear"}, &tmm);
      if (bl->result()->type() != tmm.result()->type()) {
        g_.eraseOp(bl);
        return false;
      }
      replaceOpKeepingName(g_, &tmm, bl->result());
      return true;
    }
    return false;
  }

  /// BitLinear(...) * c or / c for a constant scalar or per-channel c, on a
  /// bare BitLinear -> the weight scale times (or over) c. A per-tensor
  /// weight with a per-channel c becomes per-row (same data, retyped).
  bool absorbOutputScale(Op &bl) {
    if (!isBare(bl)) return false;
    Value *y = bl.result();
    Op *user = onlyUser(y, {"Mul", "Div"});
    if (!user || user->result()->type() != y->type()) return false;
    bool divide = user->opName() == "Div";
    if (divide && user->operand(0) != y) return false;
    Value *c = otherOperand(*user, y);
    auto slots = slotsOf(bl);
    const Tensor *ct = constantData(c), *ws = constantData(slots[kWScale]);
    const Type &wType = slots[kW]->type();
    if (!ct || !ws || ct->dtype() != DType::F32 || !slots[kW]->constant()) return false;
    bool perChannel = ct->numElements() != 1;
    if (perChannel && !isChannelVector(c, wType.dim(0))) return false;
    bool perTensor = wType.ternScale().kind == TernScale::Tensor, toRow = perChannel && perTensor;
    int64_t n = wType.dim(0).value(), scalesPerRow = perTensor ? 0 : ws->numElements() / n;
    Tensor scaled(DType::F32, toRow ? std::vector<int64_t>{n} : ws->shape());
    for (int64_t i = 0; i < scaled.numElements(); ++i) {
      int64_t row = toRow ? i : perTensor ? 0 : i / scalesPerRow;
      double s = ws->data<float>()[toRow ? 0 : i], f = ct->data<float>()[perChannel ? row : 0];
      scaled.mutableData<float>()[i] = float(divide ? s / f : s * f);
    }
    if (toRow) {
      const Constant &w = *slots[kW]->constant();
      slots[kW] = m_.addConstant(slots[kW]->name() + "_row", w.data, Type::tern({TernScale::Row, 0}, wType.dims()),
                                 w.layout);
    }
    slots[kWScale] = m_.addConstant(slots[kWScale]->name(), std::move(scaled));
    setSlots(bl, std::move(slots));
    replaceOpKeepingName(g_, user, y);
    return true;
  }

  /// BitLinear(...) + b for a constant per-channel b -> the bias operand.
  bool absorbBias(Op &bl) {
    if (!isBare(bl)) return false;
    Value *y = bl.result();
    Op *add = onlyUser(y, {"Add"});
    Value *b = add ? otherOperand(*add, y) : nullptr;
    if (!b || !b->constant() || add->result()->type() != y->type() ||
        !isChannelVector(b, slotsOf(bl)[kW]->type().dim(0)))
      return false;
    if (b->type().rank() != 1) {
      const Constant &c = *b->constant();
      b = m_.addConstant(b->name() + "_vector", c.data.reshaped({c.data.numElements()}));
    }
    auto slots = slotsOf(bl);
    slots[kBias] = b;
    setSlots(bl, std::move(slots));
    replaceOpKeepingName(g_, add, y);
    return true;
  }

  /// Sets `act` and makes `last` (the end of the activation subgraph) the
  /// BitLinear's result.
  bool setActivation(Op &bl, std::string act, Op *last) {
    bl.attrs().set("act", std::move(act));
    replaceOpKeepingName(g_, last, bl.result());
    return true;
  }

  /// An activation of a BitLinear without gate or residual: Relu; squared
  /// ReLU (Pow(Relu, 2) or Mul(r, r)); SiLU (y * Sigmoid(y)); GELU as
  /// PyTorch exports it (y * (Erf(y / sqrt 2) + 1) * 0.5).
  bool absorbActivation(Op &bl) {
    auto slots = slotsOf(bl);
    if (actOf(bl) != "none" || slots[kGate] || slots[kResidual]) return false;
    Value *y = bl.result();
    if (Op *relu = onlyUser(y, {"Relu"})) {
      Value *r = relu->result();
      Op *sq = uses_.soleUser(r);
      bool squared = sq && ((sq->opName() == "Pow" && sq->operand(0) == r && isScalar(sq->operand(1), 2.0f)) ||
                            (sq->opName() == "Mul" && sq->operand(0) == r && sq->operand(1) == r));
      if (squared) return setActivation(bl, "relu2", sq);
      return setActivation(bl, "relu", relu);
    }
    if (uses_.isOutput(y) || uses_.users(y).size() != 2) return false;
    Op *a = uses_.users(y)[0], *b = uses_.users(y)[1];
    for (int swap = 0; swap < 2; ++swap, std::swap(a, b)) {
      // SiLU: Sigmoid(y) read only by Mul(y, Sigmoid(y)).
      if (a->opName() == "Sigmoid" && b->opName() == "Mul" && otherOperand(*b, y) == a->result() &&
          uses_.hasOneUse(a->result()))
        return setActivation(bl, "silu", b);
      // GELU: Mul(Mul(y, Add(Erf(Div(y, sqrt 2)), 1)), 0.5).
      if (a->opName() == "Div" && a->operand(0) == y && b->opName() == "Mul") {
        auto c = scalarConstant(a->operand(1));
        if (!c || std::fabs(double(*c) - std::sqrt(2.0)) > 1e-6) continue;
        Op *erf = onlyUser(a->result(), {"Erf"});
        Op *plus = erf ? onlyUser(erf->result(), {"Add"}) : nullptr;
        if (!plus || !isScalar(otherOperand(*plus, erf->result()), 1.0f)) continue;
        if (otherOperand(*b, y) != plus->result() || !uses_.hasOneUse(plus->result())) continue;
        Op *half = onlyUser(b->result(), {"Mul"});
        if (!half || !isScalar(otherOperand(*half, b->result()), 0.5f)) continue;
        return setActivation(bl, "gelu", half);
      }
    }
    return false;
  }

  /// Mul(act(gate), up) of two BitLinears reading the same quantized input,
  /// without gate or residual -> one BitLinear with a gate weight (SwiGLU
  /// with silu, ReGLU with relu, BitNet 2B4T's FFN with relu2).
  bool mergeGatedPair(Op &mul) {
    Op *a = defOp(mul.operand(0), {"BitLinear"}), *b = defOp(mul.operand(1), {"BitLinear"});
    if (!a || !b || a == b || !uses_.hasOneUse(a->result()) || !uses_.hasOneUse(b->result())) return false;
    auto sa = slotsOf(*a), sb = slotsOf(*b);
    if (sa[kQ] != sb[kQ] || sa[kS] != sb[kS] || sa[kGate] || sb[kGate] || sa[kResidual] || sb[kResidual]) return false;
    if (a->attrs().getString("dequant", "div") != b->attrs().getString("dequant", "div")) return false;
    if (actOf(*a) != "none" && actOf(*b) != "none") return false;
    if (a->result()->type() != b->result()->type() || mul.result()->type() != a->result()->type()) return false;
    Op *gate = actOf(*b) != "none" ? b : a, *up = gate == a ? b : a;
    auto sg = slotsOf(*gate), su = slotsOf(*up);
    Attrs attrs = gate->attrs();
    std::vector<Value *> operands = {su[kQ], su[kS], su[kW], su[kWScale], su[kBias], sg[kW], sg[kWScale], sg[kBias]};
    while (!operands.back()) operands.pop_back();
    Op *fused = g_.buildOp("BitLinear", operands, attrs, {"bitlinear"}, &mul);
    replaceOpKeepingName(g_, &mul, fused->result());
    g_.eraseOp(a);
    g_.eraseOp(b);
    return true;
  }

  /// BitLinear(...) + r for a computed r of the result's type -> the
  /// residual operand (added last, after the activation or gate).
  bool absorbResidual(Op &bl) {
    auto slots = slotsOf(bl);
    if (slots[kResidual]) return false;
    Value *y = bl.result();
    Op *add = onlyUser(y, {"Add"});
    Value *r = add ? otherOperand(*add, y) : nullptr;
    if (!r || r->constant() || r->type() != y->type() || add->result()->type() != y->type()) return false;
    slots[kResidual] = r;
    setSlots(bl, std::move(slots));
    replaceOpKeepingName(g_, add, y);
    return true;
  }

  /// RMSNorm as exported: x0 * (1 / Sqrt(ReduceMean(Pow(x0, 2)) + eps))
  /// ("rms"; or Reciprocal, or Mul(x0, x0)) or x0 / Sqrt(...) ("rms-div"),
  /// every intermediate read once. Sets x0, form and eps.
  bool matchRmsCore(Value *t, Value *&x0, std::string &form, float &eps) const {
    Op *op = defOp(t, {"Mul", "Div"});
    if (!op || op->numOperands() != 2) return false;
    Value *stddev = nullptr;
    if (op->opName() == "Div") {
      x0 = op->operand(0);
      stddev = op->operand(1);
      form = "rms-div";
    } else {
      for (size_t i = 0; i < 2 && !stddev; ++i) {
        Op *inv = defOp(op->operand(i), {"Div", "Reciprocal"});
        if (!inv || !uses_.hasOneUse(inv->result())) continue;
        if (inv->opName() == "Div" && !isScalar(inv->operand(0), 1.0f)) continue;
        stddev = inv->opName() == "Div" ? inv->operand(1) : inv->operand(0);
        x0 = op->operand(1 - i);
      }
      form = "rms";
    }
    Op *sqrt = defOp(stddev, {"Sqrt"});
    if (!sqrt || !uses_.hasOneUse(stddev)) return false;
    Op *add = defOp(sqrt->operand(0), {"Add"});
    if (!add || !uses_.hasOneUse(add->result())) return false;
    Op *mean = nullptr;
    for (size_t i = 0; i < 2 && !mean; ++i) {
      auto e = scalarConstant(add->operand(1 - i));
      mean = e ? defOp(add->operand(i), {"ReduceMean"}) : nullptr;
      if (mean) eps = *e;
    }
    if (!mean || !uses_.hasOneUse(mean->result()) || !reducesLastAxisKeepingDims(*mean)) return false;
    Op *square = defOp(mean->operand(0), {"Pow", "Mul"});
    if (!square || uses_.soleUser(square->result()) != mean || uses_.users(square->result()).size() != 1) return false;
    bool isSquare = square->operand(0) == x0 &&
                    (square->opName() == "Pow" ? isScalar(square->operand(1), 2.0f) : square->operand(1) == x0);
    return isSquare && x0->type().dtype() == DType::F32;
  }

  /// ActQuant(norm(x0)) with the norm read only by it -> ActQuant(x0,
  /// scale, bias) {norm}: RMSNorm (matchRmsCore, then an optional Mul by a
  /// weight vector) or LayerNormalization over the last axis.
  bool absorbNorm(Op &aq) {
    if (aq.attrs().getString("norm", "none") != "none" || aq.numOperands() != 1) return false;
    Value *x = aq.operand(0);
    if (!uses_.hasOneUse(x)) return false;
    const Dim &k = x->type().dims().back();
    Value *x0 = nullptr, *scale = nullptr, *bias = nullptr;
    std::string form;
    float eps = 0;
    bool found = matchRmsCore(x, x0, form, eps);
    if (!found) {
      if (Op *mul = defOp(x, {"Mul"}); mul && mul->numOperands() == 2)
        for (size_t i = 0; i < 2 && !found; ++i) {
          Value *t = mul->operand(i), *w = mul->operand(1 - i);
          const Type &wt = w->type();
          if (!wt.isRanked() || wt.rank() != 1 || wt.dim(0) != k || wt.dtype() != DType::F32 ||
              !uses_.hasOneUse(t))
            continue;
          found = matchRmsCore(t, x0, form, eps);
          scale = w;
        }
    }
    if (!found) {
      Op *ln = defOp(x, {"LayerNormalization"});
      if (!ln || ln->attrs().getInt("stash_type", 1) != 1) return false;
      for (size_t i = 1; i < ln->numResults(); ++i)
        if (!uses_.users(ln->result(i)).empty() || uses_.isOutput(ln->result(i))) return false;
      int64_t axis = ln->attrs().getInt("axis", -1), rank = int64_t(x->type().rank());
      if (axis != -1 && axis != rank - 1) return false;
      for (size_t i = 1; i < ln->numOperands(); ++i) {
        const Type &p = ln->operand(i) ? ln->operand(i)->type() : Type();
        if (ln->operand(i) && (!p.isRanked() || p.rank() != 1 || p.dim(0) != k)) return false;
      }
      x0 = ln->operand(0);
      scale = ln->operand(1);
      bias = ln->operand(2);
      form = "layer";
      eps = ln->attrs().getFloat("epsilon", 1e-5f);
    }
    if (x0->type() != x->type()) return false;
    std::vector<Value *> operands = {x0, scale, bias};
    while (!operands.back()) operands.pop_back();
    aq.setOperands(operands);
    aq.attrs().set("norm", form);
    aq.attrs().set("norm_eps", eps);
    aq.inferTypes();
    return true;
  }
};

class FuseBitLinear final : public BuiltinPass {
public:
  FuseBitLinear() : BuiltinPass("fuse-bitlinear") {}

  bool run(Module &m) override {
    bool changed = false;
    for (const auto &g : m.graphs()) {
      // One rewrite at a time with fresh use counts, the ops it left dead
      // removed first so that they count no uses. Every rule removes an op
      // or gives an ActQuant its norm, so this terminates.
      bool graphChanged = false;
      while (Fuser(m, *g).applyOne()) {
        eraseDeadOps(m);
        graphChanged = true;
      }
      if (!graphChanged) continue;
      changed = true;
      // Absorbed residuals, biases and norms may be defined after the op
      // that now reads them.
      g->sortTopologically();
    }
    if (!changed) return false;
    eraseDeadOps(m);
    m.eraseUnusedConstants();
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> createFuseBitLinearPass() { return std::make_unique<FuseBitLinear>(); }

} // namespace ternc
