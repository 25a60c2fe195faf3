// State ops: the KV cache as module state. `CacheUpdate` appends new rows to
// a state along its cache axis and yields everything cached so far;
// `CacheRead` yields the rows cached before this run. Both name their state
// and the symbol (`past`) that holds the number of cached rows when the
// graph starts; the host binds it (ModuleState::length in the interpreter,
// the instance's position in compiled code). They are impure: never folded,
// merged or deleted.
#include "ir/Interpreter.h"
#include "ir/ops/OpHelpers.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

namespace ternc {

namespace {

using namespace ops;

const StateVar &stateOf(InferContext &ctx) {
  std::string name = ctx.attrs().getString("state", "");
  const Module *m = ctx.op().graph() ? ctx.op().graph()->module() : nullptr;
  const StateVar *s = m ? m->findState(name) : nullptr;
  if (!s) ctx.fail("no state @{} in the module", name);
  if (!s->type.isRanked()) ctx.fail("state @{} must be ranked", name);
  if (!isFloat(s->type.dtype())) ctx.fail("state @{} must be a float type, not {}", name, s->type.str());
  return *s;
}

/// Checks `dims` against the state's type on every axis but the cache axis;
/// returns the normalized axis.
int64_t checkAgainstState(const InferContext &ctx, const StateVar &s, const std::vector<Dim> &dims) {
  if (s.type.rank() != dims.size())
    ctx.fail("state @{} has rank {}, the value has rank {}", s.name, s.type.rank(), dims.size());
  int64_t axis = normalizeAxis(ctx, ctx.attrs().getInt("axis", 0), int64_t(dims.size()));
  for (size_t i = 0; i < dims.size(); ++i)
    if (int64_t(i) != axis && dims[i] != s.type.dim(i))
      ctx.fail("dim {} is {}, but state @{} : {} has {} there", i, dims[i].str(), s.name, s.type.str(),
               s.type.dim(i).str());
  std::string past = ctx.attrs().getString("past", "");
  if (past.empty()) ctx.fail("attribute past must name the symbol of the cached length");
  return axis;
}

void inferCacheUpdate(InferContext &ctx) {
  const Type &in = ctx.inputType(0);
  if (!in.isRanked()) ctx.fail("the new rows must be ranked");
  const StateVar &s = stateOf(ctx);
  int64_t axis = checkAgainstState(ctx, s, in.dims());
  std::vector<Dim> dims = in.dims();
  dims[size_t(axis)] = Dim::symbol(ctx.attrs().getString("past", "")) + in.dim(size_t(axis));
  ctx.setResultType(0, typeLike(in, std::move(dims)));
}

void inferCacheRead(InferContext &ctx) {
  const StateVar &s = stateOf(ctx);
  std::vector<Dim> dims = s.type.dims();
  int64_t axis = normalizeAxis(ctx, ctx.attrs().getInt("axis", 0), int64_t(dims.size()));
  checkAgainstState(ctx, s, dims);
  dims[size_t(axis)] = Dim::symbol(ctx.attrs().getString("past", ""));
  const AttrValue *dt = ctx.attrs().find("dtype");
  DType dtype = dt ? std::get<DType>(*dt) : s.type.dtype();
  ctx.setResultType(0, Type(dtype, std::move(dims)));
}

/// The state's buffer and the split of its shape around the cache axis.
struct CacheView {
  Tensor *buffer;
  int64_t axis, outer, inner, capacity;
};

CacheView viewOf(const EvalContext &ctx) {
  ModuleState *st = ctx.state();
  std::string name = ctx.attrs().getString("state", "");
  if (!st) ctx.fail("state @{} has no value: stateful graphs run with their module state", name);
  auto it = st->buffers.find(name);
  if (it == st->buffers.end()) ctx.fail("state @{} was not allocated", name);
  Tensor &buf = it->second;
  int64_t axis = normalizeAxis(ctx, ctx.attrs().getInt("axis", 0), int64_t(buf.rank()));
  CacheView v{&buf, axis, 1, 1, buf.shape()[size_t(axis)]};
  for (int64_t i = 0; i < axis; ++i) v.outer *= buf.shape()[size_t(i)];
  for (size_t i = size_t(axis) + 1; i < buf.rank(); ++i) v.inner *= buf.shape()[i];
  return v;
}

int64_t pastOf(const EvalContext &ctx) {
  std::string past = ctx.attrs().getString("past", "");
  if (ctx.symbols()) {
    auto it = ctx.symbols()->find(past);
    if (it != ctx.symbols()->end()) return it->second;
  }
  return ctx.state()->length;
}

/// Copies `rows` rows of `inner` elements per outer index between tensors
/// with row strides `srcRows`/`dstRows`, converting dtypes if they differ.
void copyRows(const Tensor &src, int64_t srcRows, int64_t srcAt, Tensor &dst, int64_t dstRows, int64_t dstAt,
              int64_t outer, int64_t rows, int64_t inner) {
  bool same = src.dtype() == dst.dtype();
  size_t es = dtypeSize(src.dtype());
  std::byte *d = dst.mutableRawData();
  for (int64_t o = 0; o < outer; ++o) {
    int64_t s0 = (o * srcRows + srcAt) * inner, d0 = (o * dstRows + dstAt) * inner;
    if (same) {
      std::memcpy(d + size_t(d0) * es, src.rawData() + size_t(s0) * es, size_t(rows * inner) * es);
      continue;
    }
    for (int64_t i = 0; i < rows * inner; ++i) dst.setDouble(d0 + i, src.getDouble(s0 + i));
  }
}

/// RoPE in the rotate-half convention of LLaMA-family exports, applied along the last axis of x [1, heads, S, D]:
///   x' = x * cos + rotate_half(x) * sin,  rotate_half(x) = [-x[D/2:], x[:D/2]]
/// cos and sin broadcast to x's shape. Each product and the sum round to f32, as the Mul, Neg, Concat, Mul and
/// Add it replaces (fuse-attention) do.
Tensor rotateHalf(const EvalContext &ctx, const Tensor &x, size_t first) {
  const Tensor &c = ctx.input(first), &sn = ctx.input(first + 1);
  std::vector<int64_t> cs = broadcastStrides(c.shape(), x.shape()), ss = broadcastStrides(sn.shape(), x.shape());
  const std::vector<int64_t> &sh = x.shape();
  int64_t D = sh[3], half = D / 2;
  Tensor out(DType::F32, sh);
  for (int64_t b = 0; b < sh[0]; ++b)
    for (int64_t h = 0; h < sh[1]; ++h)
      for (int64_t s = 0; s < sh[2]; ++s) {
        int64_t xb = ((b * sh[1] + h) * sh[2] + s) * D;
        for (int64_t d = 0; d < D; ++d) {
          float v = float(x.getDouble(xb + d));
          float r = d < half ? -float(x.getDouble(xb + d + half)) : float(x.getDouble(xb + d - half));
          float cv = float(c.getDouble(b * cs[0] + h * cs[1] + s * cs[2] + d * cs[3]));
          float sv = float(sn.getDouble(b * ss[0] + h * ss[1] + s * ss[2] + d * ss[3]));
          float a = float(double(v) * double(cv)), m = float(double(r) * double(sv));
          out.setDouble(xb + d, double(float(double(a) + double(m))));
        }
      }
  return out;
}

/// Operands `first` and `first + 1`, if present, are RoPE's cos and sin tables for x : [1, heads, S, D]: both
/// or neither, f32, broadcasting to x's shape, D even and not broadcast. Returns whether they are present.
bool checkRopeTables(InferContext &ctx, size_t first, const Type &x) {
  bool hasCos = ctx.numInputs() > first && ctx.hasInput(first);
  bool hasSin = ctx.numInputs() > first + 1 && ctx.hasInput(first + 1);
  if (hasCos != hasSin) ctx.fail("RoPE takes both cos and sin tables (operands {} and {}), or neither", first, first + 1);
  if (!hasCos) return false;
  if (!x.isRanked() || x.rank() != 4 || !x.dim(3).isStatic() || x.dim(3).value() % 2)
    ctx.fail("RoPE rotates [1, heads, seq, head_dim] with an even static head_dim, not {}", x.str());
  for (size_t i : {first, first + 1}) {
    const Type &t = ctx.inputType(i);
    if (!t.isRanked() || t.dtype() != DType::F32 || t.rank() > 4 || t.rank() < 1 || t.dim(t.rank() - 1) != x.dim(3))
      ctx.fail("the RoPE {} table {} must be f32 of rank <= 4 ending in head_dim {}", i == first ? "cos" : "sin",
               t.str(), x.dim(3).str());
    for (size_t a = 0; a < t.rank(); ++a) {
      const Dim &d = t.dim(a), &f = x.dim(4 - t.rank() + a);
      if (d != Dim(1) && d != f) ctx.fail("the RoPE table {} does not broadcast to {}", t.str(), x.str());
    }
  }
  return true;
}

/// Writes input 0 (rotated by RoPE if operands 1 and 2 are its tables) into the state at [past, past+n) along
/// the cache axis; returns past+n.
int64_t writeNewRows(const EvalContext &ctx, const CacheView &v) {
  std::optional<Tensor> rotated;
  if (ctx.numInputs() > 2 && ctx.hasInput(1)) rotated = rotateHalf(ctx, ctx.input(0), 1);
  const Tensor &in = rotated ? *rotated : ctx.input(0);
  int64_t past = pastOf(ctx), seq = in.shape()[size_t(v.axis)];
  if (past < 0 || past + seq > v.capacity)
    ctx.fail("state @{} holds {} positions: {} cached + {} new do not fit (raise the context length)",
             ctx.attrs().getString("state", ""), v.capacity, past, seq);
  copyRows(in, seq, 0, *v.buffer, v.capacity, past, v.outer, seq, v.inner);
  return past + seq;
}

std::vector<Tensor> evalCacheUpdate(EvalContext &ctx) {
  CacheView v = viewOf(ctx);
  int64_t length = writeNewRows(ctx, v);
  std::vector<int64_t> shape = ctx.input(0).shape();
  shape[size_t(v.axis)] = length;
  Tensor out(ctx.input(0).dtype(), shape);
  copyRows(*v.buffer, v.capacity, 0, out, length, 0, v.outer, length, v.inner);
  return {out};
}

std::vector<Tensor> evalCacheRead(EvalContext &ctx) {
  CacheView v = viewOf(ctx);
  int64_t past = pastOf(ctx);
  if (past < 0 || past > v.capacity)
    ctx.fail("state @{} holds {} positions, not {}", ctx.attrs().getString("state", ""), v.capacity, past);
  std::vector<int64_t> shape = v.buffer->shape();
  shape[size_t(v.axis)] = past;
  Tensor out(ctx.resultType(0).dtype(), shape);
  copyRows(*v.buffer, v.capacity, 0, out, past, 0, v.outer, past, v.inner);
  return {out};
}

void inferCacheWrite(InferContext &ctx) {
  const Type &in = ctx.inputType(0);
  if (!in.isRanked()) ctx.fail("the new rows must be ranked");
  int64_t axis = checkAgainstState(ctx, stateOf(ctx), in.dims());
  if (checkRopeTables(ctx, 1, in) && axis != 2)
    ctx.fail("RoPE rows are [1, kv_heads, seq, head_dim], written along axis 2, not {}", axis);
  ctx.setResultType(0, Type(DType::I64, {}));
}

std::vector<Tensor> evalCacheWrite(EvalContext &ctx) {
  CacheView v = viewOf(ctx);
  return {Tensor::scalarI64(writeNewRows(ctx, v))};
}

// ---- Attention ---------------------------------------------------------------------------------------------

/// Operands: q [1, H, S, D], the CacheWrite tokens of the key and value caches, an optional additive mask
/// broadcastable to [1, H, S, past+S], and optional RoPE cos and sin tables (q is rotated first; the keys were
/// rotated by their CacheWrite).
void inferAttention(InferContext &ctx) {
  const Type &q = ctx.inputType(0);
  if (!q.isRanked() || q.rank() != 4 || q.dtype() != DType::F32) ctx.fail("q must be f32[1, heads, seq, head_dim], not {}", q.str());
  for (size_t i : {size_t(1), size_t(2)})
    if (ctx.inputType(i) != Type(DType::I64, {})) ctx.fail("operand {} must be a CacheWrite token (i64[])", i);
  const Module *m = ctx.op().graph()->module();
  std::string past = ctx.attrs().getString("past", "");
  if (past.empty()) ctx.fail("attribute past must name the symbol of the cached length");
  std::vector<const StateVar *> kv;
  for (const char *a : {"state_k", "state_v"}) {
    const StateVar *sv = m->findState(ctx.attrs().getString(a, ""));
    if (!sv) ctx.fail("no state @{} ({})", ctx.attrs().getString(a, ""), a);
    const Type &t = sv->type;
    if (!t.isRanked() || t.rank() != 4 || !isFloat(t.dtype()) || t.dim(0) != Dim(1) || t.dim(3) != q.dim(3))
      ctx.fail("state @{} : {} must be [1, kv_heads, capacity, {}]", sv->name, t.str(), q.dim(3).str());
    kv.push_back(sv);
  }
  if (kv[0]->type.dim(1) != kv[1]->type.dim(1)) ctx.fail("the key and value caches have different head counts");
  const Dim &heads = q.dim(1), &kvHeads = kv[0]->type.dim(1);
  if (!heads.isStatic() || !kvHeads.isStatic() || kvHeads.value() < 1 || heads.value() % kvHeads.value())
    ctx.fail("{} query heads cannot share {} key/value heads", heads.str(), kvHeads.str());
  if (ctx.numInputs() > 3 && ctx.hasInput(3)) {
    const Type &mask = ctx.inputType(3);
    Dim t = Dim::symbol(past) + q.dim(2);
    std::vector<Dim> full = {Dim(1), heads, q.dim(2), t};
    if (!mask.isRanked() || mask.rank() > 4 || mask.dtype() != DType::F32) ctx.fail("the mask must be f32 of rank <= 4");
    for (size_t i = 0; i < mask.rank(); ++i) {
      const Dim &d = mask.dim(i), &f = full[4 - mask.rank() + i];
      if (d != Dim(1) && d != f) ctx.fail("the mask {} does not broadcast to [1, {}, {}, {}]", mask.str(), heads.str(), q.dim(2).str(), t.str());
    }
  }
  checkRopeTables(ctx, 4, q);
  std::string mode = ctx.attrs().getString("scale_mode", "none");
  if (mode != "none" && mode != "div" && mode != "mul") ctx.fail("scale_mode must be none, div or mul");
  ctx.setResultType(0, q);
}

/// The semantics of the unfused graph it replaces, step for step: scores q.k^T summed in double and rounded
/// to f32 (MatMul), scaled in f32 (Div or Mul), plus the mask in f32 (Add), softmax in double rounded to f32,
/// then p.v summed in double (MatMul). Query head h reads key/value head h / (heads / kv_heads).
std::vector<Tensor> evalAttention(EvalContext &ctx) {
  ModuleState *st = ctx.state();
  if (!st) ctx.fail("Attention reads the KV cache: stateful graphs run with their module state");
  std::optional<Tensor> rotated;
  if (ctx.numInputs() > 5 && ctx.hasInput(4)) rotated = rotateHalf(ctx, ctx.input(0), 4);
  const Tensor &q = rotated ? *rotated : ctx.input(0);
  const Tensor &K = st->buffers.at(ctx.attrs().getString("state_k", ""));
  const Tensor &V = st->buffers.at(ctx.attrs().getString("state_v", ""));
  int64_t H = q.shape()[1], S = q.shape()[2], D = q.shape()[3], KVH = K.shape()[1], cap = K.shape()[2];
  int64_t T = pastOf(ctx) + S;
  if (T > cap) ctx.fail("the cache holds {} positions, not {}", cap, T);
  bool hasMask = ctx.numInputs() > 3 && ctx.hasInput(3);
  std::vector<int64_t> mstr(4, 0);
  if (hasMask) {
    const Tensor &m = ctx.input(3);
    std::vector<int64_t> full = {1, H, S, T};
    mstr = broadcastStrides(m.shape(), full);
  }
  std::string mode = ctx.attrs().getString("scale_mode", "none");
  float scale = ctx.attrs().getFloat("scale", 1.0f);
  Tensor out(DType::F32, q.shape());
  std::vector<float> sc(static_cast<size_t>(T));
  std::vector<double> e(static_cast<size_t>(T)), acc(static_cast<size_t>(D));
  int64_t G = H / KVH;
  for (int64_t h = 0; h < H; ++h) {
    int64_t g = h / G;
    for (int64_t s = 0; s < S; ++s) {
      int64_t qb = (h * S + s) * D;
      for (int64_t t = 0; t < T; ++t) {
        double dot = 0;
        int64_t kb = (g * cap + t) * D;
        for (int64_t d = 0; d < D; ++d) dot += double(float(q.getDouble(qb + d))) * K.getDouble(kb + d);
        float v = float(dot);
        if (mode == "div") v = float(double(v) / double(scale));
        else if (mode == "mul") v = float(double(v) * double(scale));
        if (hasMask) v = float(double(v) + ctx.input(3).getDouble(h * mstr[1] + s * mstr[2] + t * mstr[3]));
        sc[size_t(t)] = v;
      }
      double mx = -std::numeric_limits<double>::infinity(), sum = 0;
      for (int64_t t = 0; t < T; ++t) mx = std::max(mx, double(sc[size_t(t)]));
      for (int64_t t = 0; t < T; ++t) sum += e[size_t(t)] = std::exp(double(sc[size_t(t)]) - mx);
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t t = 0; t < T; ++t) {
        double p = double(float(e[size_t(t)] / sum));
        int64_t vb = (g * cap + t) * D;
        for (int64_t d = 0; d < D; ++d) acc[size_t(d)] += p * V.getDouble(vb + d);
      }
      for (int64_t d = 0; d < D; ++d) out.setDouble(qb + d, double(float(acc[size_t(d)])));
    }
  }
  return {out};
}

} // namespace

std::string stateCapacitySymbol(const Module &m) {
  std::string sym;
  for (const auto &s : m.states())
    for (const Dim &d : s->type.dims())
      for (const std::string &name : d.symbols()) {
        if (!sym.empty() && sym != name)
          fail("state @{} uses symbol '{}', but the module's states are sized by '{}': one capacity symbol only",
               s->name, name, sym);
        sym = name;
      }
  return sym;
}

ModuleState ModuleState::allocate(const Module &m, int64_t capacity) {
  if (capacity < 1) fail("the context length must be at least 1, not {}", capacity);
  std::string sym = stateCapacitySymbol(m);
  std::map<std::string, int64_t> env;
  if (!sym.empty()) env[sym] = capacity;
  ModuleState st;
  st.capacity = capacity;
  for (const auto &s : m.states()) {
    std::vector<int64_t> shape;
    for (const Dim &d : s->type.dims()) {
      auto v = d.evaluate(env);
      if (!v) fail("state @{} : {} has a dim that the capacity does not determine", s->name, s->type.str());
      shape.push_back(*v);
    }
    st.buffers.emplace(s->name, Tensor(s->type.dtype(), shape));
  }
  return st;
}

void registerStateOps(OpRegistry &r) {
  using K = AttrKind;
  r.add({.name = "CacheWrite",
         .summary = "writes the new rows (rotated by RoPE, rotate-half, if cos and sin tables follow) into state "
                    "@state at [past, past+n) along axis; yields past+n (a token that orders the readers after the "
                    "write)",
         .minInputs = 1,
         .maxInputs = 3,
         .attrs = {{"state", K::String, true}, {"axis", K::Int, true}, {"past", K::String, true}},
         .infer = inferCacheWrite,
         .eval = evalCacheWrite,
         .pure = false});
  r.add({.name = "Attention",
         .summary = "softmax(rope(q) k^T (scale) + mask) v over the cached keys and values [0, past+seq) of "
                    "state_k and state_v, grouped-query; operands q, k token, v token, mask?, cos?, sin? (fused by "
                    "fuse-attention)",
         .minInputs = 3,
         .maxInputs = 6,
         .attrs = {{"state_k", K::String, true}, {"state_v", K::String, true}, {"past", K::String, true},
                   {"scale", K::Float}, {"scale_mode", K::String}},
         .infer = inferAttention,
         .eval = evalAttention,
         .pure = false});
  r.add({.name = "CacheUpdate",
         .summary = "writes the new rows into state @state at [past, past+n) along axis; yields rows [0, past+n)",
         .minInputs = 1,
         .maxInputs = 1,
         .attrs = {{"state", K::String, true}, {"axis", K::Int, true}, {"past", K::String, true}},
         .infer = inferCacheUpdate,
         .eval = evalCacheUpdate,
         .pure = false});
  r.add({.name = "CacheRead",
         .summary = "the rows [0, past) of state @state along axis, as dtype",
         .minInputs = 0,
         .maxInputs = 0,
         .attrs = {{"state", K::String, true}, {"axis", K::Int, true}, {"past", K::String, true},
                   {"dtype", K::DType}},
         .infer = inferCacheRead,
         .eval = evalCacheRead,
         .pure = false});
}

} // namespace ternc
