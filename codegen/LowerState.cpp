// LowerState: the KV-cache state ops (ir/ops/State.cpp). The state buffers are the host's
// (ternc_context_set_states), found at run time with ternc_state(ctx, index) by the state's index in the
// module; the cached length `past` and the capacity are symbols the host binds (ternc_model.past_symbol,
// capacity_symbol). Both ops call the portable kernels tk_cache_update / tk_cache_read (codegen/kernels/
// Cache.cpp).
#include "codegen/Lowering.h"

#include "ir/Error.h"

#include <optional>

namespace ternc::codegen {

namespace {

struct CacheShape {
  int32_t index;   ///< in Module::states()
  Dim outer, inner, capacity;
  int64_t kind;    ///< 0 f32, 1 f16, 2 bf16
};

CacheShape cacheShape(const Op &op) {
  const Module &m = *op.graph()->module();
  std::string name = op.attrs().getString("state", "");
  CacheShape c{-1, Dim(1), Dim(1), Dim(0), 0};
  for (size_t i = 0; i < m.states().size(); ++i)
    if (m.states()[i]->name == name) c.index = int32_t(i);
  if (c.index < 0) fail("{}: no state @{}", op.loc(), name);
  const Type &t = m.states()[size_t(c.index)]->type;
  int64_t axis = op.attrs().getInt("axis", 0);
  if (axis < 0) axis += int64_t(t.rank());
  for (int64_t i = 0; i < int64_t(t.rank()); ++i) {
    if (i < axis) c.outer = c.outer * t.dim(size_t(i));
    else if (i > axis) c.inner = c.inner * t.dim(size_t(i));
  }
  c.capacity = t.dim(size_t(axis));
  switch (t.dtype()) {
  case DType::F32: c.kind = 0; break;
  case DType::F16: c.kind = 1; break;
  case DType::BF16: c.kind = 2; break;
  default: fail("{}: state @{} is {}: codegen keeps caches in f32, f16 or bf16", op.loc(), name, t.str());
  }
  return c;
}

llvm::Value *statePtr(Env &env, int32_t index) {
  llvm::LLVMContext &c = env.b.getContext();
  auto *ptrTy = llvm::PointerType::get(c, 0);
  llvm::FunctionCallee fn = env.module().getOrInsertFunction(
      "ternc_state", llvm::FunctionType::get(ptrTy, {ptrTy, llvm::Type::getInt32Ty(c)}, false));
  return env.b.CreateCall(fn, {env.ctx, env.b.getInt32(uint32_t(index))});
}

/// The cached length before the op (`past`) and the rows it appends, of a CacheUpdate or CacheWrite.
std::pair<Dim, Dim> appendedRows(const Op &op) {
  const Type &t = op.operand(0)->type();
  int64_t axis = op.attrs().getInt("axis", 0);
  if (axis < 0) axis += int64_t(t.rank());
  return {Dim::symbol(op.attrs().getString("past", "")), t.dim(size_t(axis))};
}

/// RoPE's cos and sin tables at operands `first` and `first + 1` (ir/ops/State.cpp) and their strides
/// broadcast over x's [1, heads, seq, head_dim]; the last stride is 1 (the verifier checked the tables end in
/// head_dim).
struct RopeOperands {
  const Value *cos, *sin;
  std::vector<Dim> cosStr, sinStr;
};
std::optional<RopeOperands> ropeOperands(const Op &op, size_t first, const Type &x) {
  if (op.numOperands() <= first + 1 || !op.operand(first) || !op.operand(first + 1)) return std::nullopt;
  RopeOperands r{op.operand(first), op.operand(first + 1), {}, {}};
  r.cosStr = broadcastStrides(r.cos->type(), x.dims());
  r.sinStr = broadcastStrides(r.sin->type(), x.dims());
  if (!x.dim(3).isStatic() || x.dim(3).value() > 512 || r.cosStr[3] != Dim(1) || r.sinStr[3] != Dim(1))
    fail("{}: {} applies RoPE to head_dim up to 512 with contiguous tables", op.loc(), op.opName());
  return r;
}

void requireF32(const Op &op, const Value *v) {
  if (v->type().dtype() != DType::F32)
    fail("{}: {} on {} values: codegen supports f32 graph values for caches", op.loc(), op.opName(), v->type().str());
}

} // namespace

OpCode lowerCacheUpdate(LoweringContext &, const Op &op) {
  const Value *src = op.operand(0), *out = op.result(0);
  requireF32(op, src);
  CacheShape c = cacheShape(op);
  auto [past, seq] = appendedRows(op);
  return kernelCode("tk_cache_update", [=](Env &env) -> std::vector<llvm::Value *> {
    return {env.ptr(src),       statePtr(env, c.index), env.ptr(out),    env.dim(c.outer), env.dim(seq),
            env.dim(c.inner),   env.dim(c.capacity),    env.dim(past),   env.i64(c.kind)};
  });
}

OpCode lowerCacheRead(LoweringContext &, const Op &op) {
  const Value *out = op.result(0);
  requireF32(op, out);
  CacheShape c = cacheShape(op);
  Dim past = Dim::symbol(op.attrs().getString("past", ""));
  return kernelCode("tk_cache_read", [=](Env &env) -> std::vector<llvm::Value *> {
    return {statePtr(env, c.index), env.ptr(out),  env.dim(c.outer), env.dim(c.inner),
            env.dim(c.capacity),    env.dim(past), env.i64(c.kind)};
  });
}

OpCode lowerCacheWrite(LoweringContext &, const Op &op) {
  const Value *src = op.operand(0);
  requireF32(op, src);
  CacheShape c = cacheShape(op);
  auto [past, seq] = appendedRows(op);
  const Value *token = op.result(0);
  OpCode code;
  if (std::optional<RopeOperands> rope = ropeOperands(op, 1, src->type())) {
    Dim heads = src->type().dim(1), dimD = src->type().dim(3);
    code = kernelCode("tk_cache_write_rope", [=, r = *rope](Env &env) -> std::vector<llvm::Value *> {
      return {env.ptr(src),         statePtr(env, c.index), env.ptr(r.cos),       env.ptr(r.sin),
              env.dim(r.cosStr[1]), env.dim(r.cosStr[2]),  env.dim(r.sinStr[1]), env.dim(r.sinStr[2]),
              env.dim(heads),       env.dim(seq),          env.dim(dimD),        env.dim(c.capacity),
              env.dim(past),        env.i64(c.kind)};
    });
  } else {
    code = kernelCode("tk_cache_write", [=](Env &env) -> std::vector<llvm::Value *> {
      return {env.ptr(src),       statePtr(env, c.index), env.dim(c.outer), env.dim(seq),
              env.dim(c.inner),   env.dim(c.capacity),    env.dim(past),    env.i64(c.kind)};
    });
  }
  // The token (the cached length) is stored once, by the first item's task.
  auto body = code.body;
  code.body = [body, token, past = past, seq = seq](Env &env, llvm::Value *begin, llvm::Value *end) {
    body(env, begin, end);
    llvm::Function *f = env.b.GetInsertBlock()->getParent();
    auto *store = llvm::BasicBlock::Create(env.b.getContext(), "token.store", f);
    auto *done = llvm::BasicBlock::Create(env.b.getContext(), "token.done", f);
    env.b.CreateCondBr(env.b.CreateICmpEQ(begin, env.i64(0)), store, done);
    env.b.SetInsertPoint(store);
    env.b.CreateStore(env.b.CreateAdd(env.dim(past), env.dim(seq)), env.ptr(token));
    env.b.CreateBr(done);
    env.b.SetInsertPoint(done);
  };
  return code;
}

OpCode lowerAttention(LoweringContext &, const Op &op) {
  const Value *q = op.operand(0), *out = op.result(0);
  const Value *mask = op.numOperands() > 3 ? op.operand(3) : nullptr;
  std::optional<RopeOperands> rope = ropeOperands(op, 4, q->type());
  const Module &m = *op.graph()->module();
  auto stateIndex = [&](const std::string &name) {
    for (size_t i = 0; i < m.states().size(); ++i)
      if (m.states()[i]->name == name) return int32_t(i);
    fail("{}: no state @{}", op.loc(), name);
  };
  int32_t ki = stateIndex(op.attrs().getString("state_k", "")), vi = stateIndex(op.attrs().getString("state_v", ""));
  const Type &kt = m.states()[size_t(ki)]->type, &vt = m.states()[size_t(vi)]->type;
  if (kt.dtype() != vt.dtype()) fail("{}: the key and value caches have different types", op.loc());
  int64_t kind = kt.dtype() == DType::F32 ? 0 : kt.dtype() == DType::F16 ? 1 : kt.dtype() == DType::BF16 ? 2 : -1;
  if (kind < 0) fail("{}: codegen keeps caches in f32, f16 or bf16, not {}", op.loc(), kt.str());
  const Type &qt = q->type();
  if (!qt.dim(3).isStatic() || qt.dim(3).value() > 512)
    fail("{}: the fused attention takes head_dim up to 512, not {}", op.loc(), qt.dim(3).str());
  Dim heads = qt.dim(1), kvHeads = kt.dim(1), seq = qt.dim(2), dimD = qt.dim(3), cap = kt.dim(2);
  Dim total = Dim::symbol(op.attrs().getString("past", "")) + seq;
  std::vector<Dim> mstr(4, Dim(0));
  if (mask) mstr = broadcastStrides(mask->type(), {Dim(1), heads, seq, total});
  std::string modeName = op.attrs().getString("scale_mode", "none");
  int64_t mode = modeName == "div" ? 1 : modeName == "mul" ? 2 : 0;
  float scale = op.attrs().getFloat("scale", 1.0f);
  return kernelCode("tk_attention_f32", [=](Env &env) -> std::vector<llvm::Value *> {
    return {env.ptr(q),        statePtr(env, ki),  statePtr(env, vi),  env.i64(kind),     mask ? env.ptr(mask) : nullPtr(env),
            env.dim(mstr[1]),  env.dim(mstr[2]),   env.dim(mstr[3]),
            rope ? env.ptr(rope->cos) : nullPtr(env), rope ? env.ptr(rope->sin) : nullPtr(env),
            env.dim(rope ? rope->cosStr[1] : Dim(0)), env.dim(rope ? rope->cosStr[2] : Dim(0)),
            env.dim(rope ? rope->sinStr[1] : Dim(0)), env.dim(rope ? rope->sinStr[2] : Dim(0)),
            env.ptr(out),      env.dim(heads),
            env.dim(kvHeads),  env.dim(seq),       env.dim(total),     env.dim(dimD),     env.dim(cap),
            f32(env, scale),   env.i64(mode)};
  });
}

} // namespace ternc::codegen
