// fuse-attention: the attention an exporter writes over the KV cache,
//
//   kk = CacheUpdate(k_new); vv = CacheUpdate(v_new)
//   kr = repeat_kv(kk) (Unsqueeze(kk, 2) -> Expand [1, kv, g, T, D] -> Reshape [1, kv*g, T, D]; absent for g = 1)
//   s  = MatMul(q, Transpose(kr, [0, 1, 3, 2])) [/ c | * c] [+ mask]
//   o  = MatMul(Softmax(s, -1), repeat_kv(vv))            (Casts to f32 around the softmax are looked through)
//
// with one query row (decode) becomes CacheWrite(k_new), CacheWrite(v_new) and one Attention op that reads the cached keys and values in
// place: no copy of the cache, no repeated heads, no transposed keys, and at decode one pass over the cache per
// key/value head (ir/ops/State.cpp has the semantics, bit-identical to the ops it replaces). RoPE on q and on
// k_new (rotate-half: x * cos + Concat(-x[D/2:], x[:D/2]) * sin) moves inside: the Attention rotates q and the
// CacheWrite rotates the keys as it stores them, both taking the exporter's cos and sin tables as operands (so
// LongRoPE's per-dimension factors and attention scaling, which live in the tables, need nothing more). CacheUpdates left
// without users are removed, and so are the ops only they fed.
#include "passes/Passes.h"
#include "passes/Rewriting.h"

#include "ir/Error.h"

#include <algorithm>
#include <map>
#include <optional>

namespace ternc {

namespace {

Op *defOf(const Value *v, std::string_view name) {
  Op *d = v ? v->definingOp() : nullptr;
  return d && d->opName() == name ? d : nullptr;
}

/// Looks through Casts to the same float type (exporters wrap softmax in them).
const Value *throughCasts(const Value *v) {
  while (Op *c = defOf(v, "Cast"))
    if (c->operand(0)->type().dtype() == v->type().dtype()) v = c->operand(0);
    else break;
  return v;
}

/// A scalar (or one-element) f32 constant's value.
std::optional<float> scalarConstant(const Value *v) {
  if (!v || v->kind() != Value::Kind::Constant) return std::nullopt;
  const Tensor &t = v->constant()->data;
  if (t.dtype() != DType::F32 || t.numElements() != 1) return std::nullopt;
  return float(t.getDouble(0));
}

/// The CacheUpdate under repeat_kv (or the value itself), checking the shapes: [1, kv, T, D] repeated to
/// [1, heads, T, D].
Op *cacheUnderRepeat(const Value *v, const Dim &heads) {
  if (Op *u = defOf(v, "CacheUpdate")) return u;
  Op *reshape = defOf(v, "Reshape");
  Op *expand = reshape ? defOf(reshape->operand(0), "Expand") : nullptr;
  Op *unsq = expand ? defOf(expand->operand(0), "Unsqueeze") : nullptr;
  Op *u = unsq ? defOf(unsq->operand(0), "CacheUpdate") : nullptr;
  if (!u) return nullptr;
  const Type &c = u->result()->type(), &e = expand->result()->type(), &r = reshape->result()->type();
  if (c.rank() != 4 || e.rank() != 5 || r.rank() != 4) return nullptr;
  // [1, kv, T, D] -> [1, kv, 1, T, D] -> [1, kv, g, T, D] -> [1, kv*g, T, D]
  if (unsq->result()->type().rank() != 5 || unsq->result()->type().dim(2) != Dim(1)) return nullptr;
  if (e.dim(0) != c.dim(0) || e.dim(1) != c.dim(1) || e.dim(3) != c.dim(2) || e.dim(4) != c.dim(3)) return nullptr;
  if (r.dim(1) != heads || r.dim(1) != c.dim(1) * e.dim(2) || r.dim(2) != c.dim(2) || r.dim(3) != c.dim(3))
    return nullptr;
  return u;
}

/// One int64 constant of one element (a Slice's start, end or axis), or nullopt.
std::optional<int64_t> oneInt(const Value *v) {
  const Tensor *t = constantData(v);
  if (!t || t->dtype() != DType::I64 || t->numElements() != 1) return std::nullopt;
  return t->getInt(0);
}

/// Slice(x, [start], [end], [axis of head_dim], [1]?) with its bounds clamped to [0, D], or nullopt.
std::optional<std::pair<int64_t, int64_t>> lastAxisSlice(const Value *v, const Value *x, int64_t D) {
  Op *sl = defOf(v, "Slice");
  if (!sl || sl->operand(0) != x || sl->numOperands() < 4) return std::nullopt;
  auto start = oneInt(sl->operand(1)), end = oneInt(sl->operand(2)), axis = oneInt(sl->operand(3));
  if (!start || !end || !axis || (*axis != 3 && *axis != -1)) return std::nullopt;
  if (sl->numOperands() > 4 && sl->operand(4) && oneInt(sl->operand(4)) != std::optional<int64_t>(1))
    return std::nullopt;
  auto clamp = [D](int64_t i) { return std::clamp(i < 0 ? i + D : i, int64_t(0), D); };
  return std::pair{clamp(*start), clamp(*end)};
}

/// RoPE as LLaMA-family exports write it (rotate-half):
///   Add(Mul(x, cos), Mul(Concat(Neg(Slice(x, D/2, D)), Slice(x, 0, D/2), axis -1), sin))
/// with x : f32[1, heads, S, D] and cos, sin f32 tables ending in D that broadcast to it (Mul and Add commute:
/// either operand order). Returns {x, cos, sin}.
struct Rope {
  const Value *x, *cos, *sin;
};
std::optional<Rope> matchRope(const Value *v) {
  Op *add = defOf(v, "Add");
  if (!add || add->numOperands() != 2) return std::nullopt;
  const Type &t = v->type();
  if (t.rank() != 4 || t.dtype() != DType::F32 || !t.dim(3).isStatic() || t.dim(3).value() % 2) return std::nullopt;
  int64_t D = t.dim(3).value();
  auto table = [&](const Value *c) {
    const Type &ct = c->type();
    return ct.isRanked() && ct.dtype() == DType::F32 && ct.rank() >= 1 && ct.rank() <= 4 &&
           ct.dim(ct.rank() - 1) == t.dim(3);
  };
  for (int side = 0; side < 2; ++side) {
    Op *direct = defOf(add->operand(size_t(side)), "Mul"), *rotated = defOf(add->operand(size_t(1 - side)), "Mul");
    if (!direct || !rotated || direct->result()->type() != t || rotated->result()->type() != t) continue;
    for (int ds = 0; ds < 2; ++ds) {
      const Value *x = direct->operand(size_t(ds)), *cos = direct->operand(size_t(1 - ds));
      if (x->type() != t || !table(cos)) continue;
      for (int rs = 0; rs < 2; ++rs) {
        Op *cat = defOf(rotated->operand(size_t(rs)), "Concat");
        const Value *sin = rotated->operand(size_t(1 - rs));
        if (!cat || cat->numOperands() != 2 || !table(sin)) continue;
        int64_t axis = cat->attrs().getInt("axis", 0);
        if (axis != 3 && axis != -1) continue;
        Op *neg = defOf(cat->operand(0), "Neg");
        auto hi = neg ? lastAxisSlice(neg->operand(0), x, D) : std::nullopt;
        auto lo = lastAxisSlice(cat->operand(1), x, D);
        if (hi == std::pair{D / 2, D} && lo == std::pair{int64_t(0), D / 2}) return Rope{x, cos, sin};
      }
    }
  }
  return std::nullopt;
}

struct Match {
  Op *out;                // MatMul(p, v)
  const Value *q, *mask;
  Op *kUpdate, *vUpdate;
  std::string mode;
  float scale = 1;
  std::optional<Rope> qRope;  // q = rope(qRope->x): the Attention rotates it
};

std::optional<Match> matchAttention(Op *pv) {
  if (pv->opName() != "MatMul" || pv->numOperands() != 2) return std::nullopt;
  const Type &ot = pv->result()->type();
  if (ot.rank() != 4 || ot.dtype() != DType::F32 || ot.dim(0) != Dim(1)) return std::nullopt;
  Op *softmax = defOf(throughCasts(pv->operand(0)), "Softmax");
  if (!softmax) return std::nullopt;
  int64_t axis = softmax->attrs().getInt("axis", -1);
  if (axis != -1 && axis != 3) return std::nullopt;
  Match m{pv, nullptr, nullptr, nullptr, nullptr, "none"};
  const Value *x = throughCasts(softmax->operand(0));
  // [+ mask]: whichever side leads to the scores.
  auto scoresOf = [&](const Value *v) -> Op * {
    if (Op *d = defOf(v, "Div"); d && scalarConstant(d->operand(1))) {
      m.mode = "div";
      m.scale = *scalarConstant(d->operand(1));
      v = d->operand(0);
    } else if (Op *mu = defOf(v, "Mul")) {
      for (int side = 0; side < 2; ++side)
        if (scalarConstant(mu->operand(size_t(side))) && defOf(mu->operand(size_t(1 - side)), "MatMul")) {
          m.mode = "mul";
          m.scale = *scalarConstant(mu->operand(size_t(side)));
          v = mu->operand(size_t(1 - side));
          break;
        }
    }
    return defOf(v, "MatMul");
  };
  Op *qk = nullptr;
  if (Op *add = defOf(x, "Add")) {
    for (int side = 0; side < 2 && !qk; ++side) {
      m.mode = "none";
      if ((qk = scoresOf(add->operand(size_t(side))))) m.mask = add->operand(size_t(1 - side));
    }
  } else {
    qk = scoresOf(x);
  }
  if (!qk) return std::nullopt;
  Op *kt = defOf(qk->operand(1), "Transpose");
  if (!kt || kt->attrs().getInts("perm") != std::vector<int64_t>{0, 1, 3, 2}) return std::nullopt;
  m.q = qk->operand(0);
  const Type &qt = m.q->type();
  if (qt.rank() != 4 || qt.dtype() != DType::F32 || qt != ot) return std::nullopt;
  // Decode only (one query row): there one pass over the cache per head group is what pays. A prompt's
  // attention stays the exporter's batched MatMuls, which the GEMM kernels vectorize over the cached rows; the
  // fused kernel scores one row at a time (measured on examples/tiny-fortunes, 1 thread: pp128 4.0k tokens/s
  // fused, 11.4k unfused; tg128 11.8k fused, 8.2k unfused).
  if (qt.dim(2) != Dim(1)) return std::nullopt;
  m.kUpdate = cacheUnderRepeat(kt->operand(0), qt.dim(1));
  m.vUpdate = cacheUnderRepeat(pv->operand(1), qt.dim(1));
  if (!m.kUpdate || !m.vUpdate) return std::nullopt;
  const Op &ku = *m.kUpdate, &vu = *m.vUpdate;
  if (ku.attrs().getInt("axis", 0) != 2 || vu.attrs().getInt("axis", 0) != 2 ||
      ku.attrs().getString("past", "") != vu.attrs().getString("past", ""))
    return std::nullopt;
  const Type &kc = ku.result()->type();
  // Scores [1, H, S, T] with T = past + S: the cache holds exactly what q attends to.
  if (kc.dim(2) != Dim::symbol(ku.attrs().getString("past", "")) + qt.dim(2) || kc.dim(3) != qt.dim(3))
    return std::nullopt;
  if (m.mask && (m.mask->type().dtype() != DType::F32 || m.mask->type().rank() > 4)) return std::nullopt;
  m.qRope = matchRope(m.q);
  return m;
}

class FuseAttention final : public BuiltinPass {
public:
  FuseAttention() : BuiltinPass("fuse-attention") {}

  bool run(Module &m) override {
    bool changed = false;
    for (const auto &g : m.graphs()) changed |= runOnGraph(*g);
    return changed;
  }

private:
  bool runOnGraph(Graph &g) {
    std::vector<Match> matches;
    for (const auto &op : g.ops())
      if (auto mt = matchAttention(op.get())) matches.push_back(*mt);
    if (matches.empty()) return false;
    std::map<Op *, Value *> tokens;  // CacheUpdate -> its CacheWrite's token
    auto tokenFor = [&](Op *update) {
      auto it = tokens.find(update);
      if (it != tokens.end()) return it->second;
      Attrs a;
      for (const char *name : {"state", "axis", "past"}) a.set(name, *update->attrs().find(name));
      // Rotated keys: the CacheWrite rotates the projection's rows as it writes them.
      std::vector<Value *> operands = {update->operand(0)};
      if (auto rope = matchRope(update->operand(0)))
        operands = {const_cast<Value *>(rope->x), const_cast<Value *>(rope->cos), const_cast<Value *>(rope->sin)};
      Op *w = g.buildOp("CacheWrite", operands, a, {update->result()->name() + ".written"}, update);
      w->setLoc(update->loc());
      return tokens[update] = w->result();
    };
    for (const Match &mt : matches) {
      Attrs a;
      a.set("state_k", mt.kUpdate->attrs().getString("state", ""));
      a.set("state_v", mt.vUpdate->attrs().getString("state", ""));
      a.set("past", mt.kUpdate->attrs().getString("past", ""));
      a.set("scale_mode", mt.mode);
      if (mt.mode != "none") a.set("scale", mt.scale);
      const Value *q = mt.qRope ? mt.qRope->x : mt.q;
      std::vector<Value *> operands = {const_cast<Value *>(q), tokenFor(mt.kUpdate), tokenFor(mt.vUpdate)};
      if (mt.mask || mt.qRope) operands.push_back(const_cast<Value *>(mt.mask));
      if (mt.qRope) operands.insert(operands.end(), {const_cast<Value *>(mt.qRope->cos), const_cast<Value *>(mt.qRope->sin)});
      Op *att = g.buildOp("Attention", operands, a, {mt.out->result()->name()}, mt.out);
      att->setLoc(mt.out->loc());
      g.replaceAllUses(mt.out->result(), att->result());
    }
    // The replaced ops, then the CacheUpdates nothing reads any more (their writes are the CacheWrites'), then
    // what only they used.
    Module &m = *g.module();
    eraseDeadOps(m);
    auto uses = g.useCounts();
    g.eraseOpsIf([&](Op *op) { return tokens.count(op) && !uses.count(op->result()); });
    eraseDeadOps(m);
    return true;
  }
};

} // namespace

std::unique_ptr<Pass> createFuseAttentionPass() { return std::make_unique<FuseAttention>(); }

} // namespace ternc
