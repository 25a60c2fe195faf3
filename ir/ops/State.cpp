// State ops: the KV cache as module state. `CacheUpdate` appends new rows to
// a state along its cache axis and yields everything cached so far;
// `CacheRead` yields the rows cached before this run. Both name their state
// and the symbol (`past`) that holds the number of cached rows when the
// graph starts; the host binds it (ModuleState::length in the interpreter,
// the instance's position in compiled code). They are impure: never folded,
// merged or deleted.
#include "ir/Interpreter.h"
#include "ir/ops/OpHelpers.h"

#include <cstring>

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

std::vector<Tensor> evalCacheUpdate(EvalContext &ctx) {
  CacheView v = viewOf(ctx);
  const Tensor &in = ctx.input(0);
  int64_t past = pastOf(ctx), seq = in.shape()[size_t(v.axis)];
  if (past < 0 || past + seq > v.capacity)
    ctx.fail("state @{} holds {} positions: {} cached + {} new do not fit (raise the context length)",
             ctx.attrs().getString("state", ""), v.capacity, past, seq);
  copyRows(in, seq, 0, *v.buffer, v.capacity, past, v.outer, seq, v.inner);
  std::vector<int64_t> shape = in.shape();
  shape[size_t(v.axis)] = past + seq;
  Tensor out(in.dtype(), shape);
  copyRows(*v.buffer, v.capacity, 0, out, past + seq, 0, v.outer, past + seq, v.inner);
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
