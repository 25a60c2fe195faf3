// quantize-head: the float LM head — a MatMul whose weight is a constant f32 [K, N] and whose result is a
// graph output named `logits` — gets a per-output-column symmetric int8 weight, written with existing ops
// (DequantizeLinear of an i8 [N, K] constant, then Transpose) so that the interpreter defines the result and
// codegen reads the int8 weight directly (tk_head_int8_f32). Opt-in: `ternc compile --head=int8`
// (docs/passes.md, "quantize-head").
#include "passes/QuantizeHead.h"

#include "passes/Passes.h"

#include "ir/Error.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace ternc {

namespace {

bool isConstant(const Value *v) { return v && v->kind() == Value::Kind::Constant && v->constant(); }

bool staticShape(const Type &t, size_t rank) {
  if (!t.isRanked() || t.rank() != rank) return false;
  for (const Dim &d : t.dims())
    if (!d.isStatic()) return false;
  return true;
}

} // namespace

std::optional<Int8Weight> matchInt8Weight(const Op &mm) {
  if (mm.opName() != "MatMul" || mm.numOperands() != 2) return std::nullopt;
  const Value *x = mm.operand(0), *w = mm.operand(1);
  if (!x || !w || w == x) return std::nullopt;
  const Op *t = w->definingOp();
  if (!t || t->opName() != "Transpose" || t->numOperands() != 1 || !t->operand(0)) return std::nullopt;
  if (t->attrs().has("perm") && t->attrs().getInts("perm") != std::vector<int64_t>{1, 0}) return std::nullopt;
  const Op *d = t->operand(0)->definingOp();
  if (!d || d->opName() != "DequantizeLinear" || (d->numOperands() > 2 && d->operand(2))) return std::nullopt;
  int64_t axis = d->attrs().getInt("axis", 1);
  if (axis != 0 && axis != -2) return std::nullopt;
  const Value *q = d->operand(0), *s = d->operand(1);
  if (!isConstant(q) || !isConstant(s) || !q->constant()->layout.empty() || !s->constant()->layout.empty())
    return std::nullopt;
  const Type &qt = q->type(), &st = s->type(), &xt = x->type();
  if (qt.dtype() != DType::I8 || !staticShape(qt, 2) || st.dtype() != DType::F32 || !staticShape(st, 1))
    return std::nullopt;
  int64_t n = qt.dim(0).value(), k = qt.dim(1).value();
  if (st.dim(0).value() != n) return std::nullopt;
  if (xt.dtype() != DType::F32 || !xt.isRanked() || xt.rank() < 1 || xt.dims().back() != Dim(k))
    return std::nullopt;
  if (mm.result()->type().dtype() != DType::F32) return std::nullopt;
  return Int8Weight{q, s, d, t, n, k};
}

std::unordered_set<const Value *> int8WeightValues(const Graph &g) {
  auto uses = g.useCounts();
  // Uses of each Transpose result as a matched weight, and of each DequantizeLinear result by such Transposes.
  std::unordered_map<const Value *, int> asWeight;
  std::vector<const Op *> transposes;
  for (const auto &op : g.ops())
    if (auto w = matchInt8Weight(*op)) {
      if (asWeight[w->transpose->result()]++ == 0) transposes.push_back(w->transpose);
    }
  std::unordered_set<const Value *> out;
  auto onlyThose = [&](const Value *v, int count) {
    auto it = uses.find(v);
    return it != uses.end() && it->second == count;
  };
  std::unordered_map<const Value *, int> byTransposes;
  for (const Op *t : transposes) {
    const Value *r = t->result();
    if (!onlyThose(r, asWeight[r])) continue;
    out.insert(r);
    byTransposes[t->operand(0)]++;
  }
  for (const auto &[d, count] : byTransposes)
    if (onlyThose(d, count)) out.insert(d);
  return out;
}

Int8Columns quantizeColumnsInt8(const Tensor &w, const std::string &what) {
  if (w.dtype() != DType::F32 || w.rank() != 2)
    fail("{}: an int8 head needs an f32 [K, N] weight, got {} with {} dims", what, dtypeName(w.dtype()), w.rank());
  int64_t K = w.shape()[0], N = w.shape()[1];
  const float *c = w.data<float>();
  Int8Columns r{Tensor(DType::I8, {N, K}), Tensor(DType::F32, {N})};
  std::vector<float> maxAbs(size_t(N), 0.0f);
  for (int64_t k = 0; k < K; ++k)
    for (int64_t n = 0; n < N; ++n) {
      float a = std::fabs(c[k * N + n]);
      if (!std::isfinite(a))
        fail("{}: weight [{}, {}] is {}; an int8 head needs finite weights", what, k, n, c[k * N + n]);
      maxAbs[size_t(n)] = std::max(maxAbs[size_t(n)], a);
    }
  float *scale = r.scale.mutableData<float>();
  int8_t *q = r.q.mutableData<int8_t>();
  for (int64_t n = 0; n < N; ++n) scale[n] = maxAbs[size_t(n)] / 127.0f;
  // Blocks of columns, so that the transposed writes stay within a few cache lines per row of q.
  constexpr int64_t kBlock = 64;
  for (int64_t n0 = 0; n0 < N; n0 += kBlock) {
    int64_t n1 = std::min(N, n0 + kBlock);
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = n0; n < n1; ++n) {
        // A zero scale (an all-zero column, or one whose max / 127 underflows): q = 0, and q * 0 is 0.
        float s = scale[n];
        float v = s > 0.0f ? std::rint(c[k * N + n] / s) : 0.0f;  // f32 division, ties to even
        q[n * K + k] = int8_t(std::clamp(v, -127.0f, 127.0f));
      }
  }
  return r;
}

namespace {

class QuantizeHead final : public BuiltinPass {
public:
  QuantizeHead() : BuiltinPass("quantize-head") {}

  bool run(Module &m) override {
    // One int8 copy per f32 constant, shared by every graph (prefill and decode read the same head).
    std::map<const Constant *, std::pair<Value *, Value *>> quantized;
    bool changed = false;
    for (const auto &g : m.graphs())
      for (size_t i = 0; i < g->outputs().size(); ++i) {
        if (g->outputNames()[i] != "logits") continue;
        Op *mm = g->outputs()[i]->definingOp();
        if (!mm || mm->opName() != "MatMul" || mm->numOperands() != 2) continue;
        Value *x = mm->operand(0), *w = mm->operand(1);
        if (!x || !isConstant(w) || !w->constant()->layout.empty()) continue;
        const Tensor &c = w->constant()->data;
        const Type &xt = x->type();
        if (c.dtype() != DType::F32 || c.rank() != 2 || xt.dtype() != DType::F32 || !xt.isRanked()) continue;
        auto it = quantized.find(w->constant());
        if (it == quantized.end()) {
          Int8Columns qc = quantizeColumnsInt8(c, fmt::format("quantize-head: @{}", w->name()));
          Value *q = m.addConstant(w->name() + "_q", std::move(qc.q));
          Value *s = m.addConstant(w->name() + "_qscale", std::move(qc.scale));
          it = quantized.emplace(w->constant(), std::make_pair(q, s)).first;
        }
        auto [q, s] = it->second;
        const std::string &y = mm->result()->name();
        Attrs da, ta;
        da.set("axis", int64_t(0));
        ta.set("perm", std::vector<int64_t>{1, 0});
        Op *d = g->buildOp("DequantizeLinear", {q, s}, da, {y + "_wq"}, mm);
        Op *t = g->buildOp("Transpose", {d->result()}, ta, {y + "_w"}, mm);
        d->setLoc(mm->loc());
        t->setLoc(mm->loc());
        mm->setOperand(1, t->result());
        changed = true;
      }
    return changed;
  }
};

} // namespace

std::unique_ptr<Pass> createQuantizeHeadPass() { return std::make_unique<QuantizeHead>(); }

} // namespace ternc
