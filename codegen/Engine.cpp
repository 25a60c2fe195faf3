// Engine: element loads, stores and conversions, loop nests, and the
// strided map that elementwise, copy and layout ops lower to.
#include "codegen/Lowering.h"

#include "ir/Error.h"

#include <llvm/IR/Intrinsics.h>

namespace ternc::codegen {

llvm::Value *Env::dim(const Dim &d) {
  if (d.isUnknown()) fail("a dim is unknown at compile time (only static and symbolic dims can be compiled)");
  if (d.isStatic()) return i64(d.value());
  llvm::Value *sum = nullptr;
  for (const auto &[monomial, coeff] : d.terms()) {
    llvm::Value *term = i64(coeff);
    for (const std::string &s : monomial) {
      size_t k = 0;
      while (k < symbolNames->size() && (*symbolNames)[k] != s) ++k;
      if (k == symbolNames->size()) fail("symbol '{}' is not bound by any input", s);
      term = b.CreateMul(term, symbol_(k));
    }
    sum = sum ? b.CreateAdd(sum, term) : term;
  }
  return sum;
}

std::vector<llvm::Value *> Env::dims(const Type &t) {
  std::vector<llvm::Value *> r;
  for (const Dim &d : t.dims()) r.push_back(dim(d));
  return r;
}

llvm::Value *Env::product(const Type &t, size_t from, size_t to) {
  Dim p = 1;
  for (size_t i = from; i < to; ++i) p = p * t.dim(i);
  return dim(p);
}

llvm::Function *Env::kernel(const std::string &name) {
  llvm::Function *f = module().getFunction(name);
  if (!f) fail("the kernel library has no function {}", name);
  return f;
}

llvm::Type *storageType(llvm::LLVMContext &c, DType dt) {
  switch (dt) {
  case DType::F64: return llvm::Type::getDoubleTy(c);
  case DType::F32: return llvm::Type::getFloatTy(c);
  case DType::F16:
  case DType::BF16:
  case DType::I16:
  case DType::U16: return llvm::Type::getInt16Ty(c);
  case DType::I8:
  case DType::U8:
  case DType::Bool:
  case DType::Tern: return llvm::Type::getInt8Ty(c);
  case DType::I32:
  case DType::U32: return llvm::Type::getInt32Ty(c);
  case DType::I64:
  case DType::U64: return llvm::Type::getInt64Ty(c);
  }
  fail("unknown dtype");
}

llvm::Type *computeType(llvm::LLVMContext &c, DType dt) {
  if (dt == DType::F16 || dt == DType::BF16) return llvm::Type::getFloatTy(c);
  if (dt == DType::Bool) return llvm::Type::getInt1Ty(c);
  return storageType(c, dt);
}

llvm::Value *loadElement(Env &env, DType dt, llvm::Value *base, llvm::Value *index) {
  auto &b = env.b;
  llvm::Type *st = storageType(b.getContext(), dt);
  llvm::Value *v = b.CreateLoad(st, b.CreateInBoundsGEP(st, base, index));
  if (dt == DType::F16) return b.CreateCall(env.kernel("tk_f16_to_f32"), {v});
  if (dt == DType::BF16) return b.CreateCall(env.kernel("tk_bf16_to_f32"), {v});
  if (dt == DType::Bool) return b.CreateICmpNE(v, b.getInt8(0));
  return v;
}

void storeElement(Env &env, DType dt, llvm::Value *base, llvm::Value *index, llvm::Value *v) {
  auto &b = env.b;
  llvm::Type *st = storageType(b.getContext(), dt);
  if (dt == DType::F16) v = b.CreateCall(env.kernel("tk_f32_to_f16"), {v});
  else if (dt == DType::BF16) v = b.CreateCall(env.kernel("tk_f32_to_bf16"), {v});
  else if (dt == DType::Bool) v = b.CreateZExt(v, b.getInt8Ty());
  b.CreateStore(v, b.CreateInBoundsGEP(st, base, index));
}

llvm::Value *scalarConstant(Env &env, DType dt, double v) {
  llvm::Type *t = computeType(env.b.getContext(), dt);
  if (isFloat(dt)) return llvm::ConstantFP::get(t, v);
  if (dt == DType::Bool) return env.b.getInt1(v != 0);
  if (isUnsignedInt(dt)) return llvm::ConstantInt::get(t, uint64_t(v));
  return llvm::ConstantInt::get(t, uint64_t(int64_t(v)), true);
}

llvm::Value *convertScalar(Env &env, llvm::Value *v, DType from, DType to) {
  auto &b = env.b;
  llvm::Type *tt = computeType(b.getContext(), to);
  if (from == to) return v;
  if (to == DType::Bool) {
    if (isFloat(from)) return b.CreateFCmpUNE(v, llvm::ConstantFP::get(v->getType(), 0.0));
    return b.CreateICmpNE(v, llvm::ConstantInt::get(v->getType(), 0));
  }
  if (from == DType::Bool) return isFloat(to) ? b.CreateUIToFP(v, tt) : b.CreateZExt(v, tt);
  if (isFloat(from) && isFloat(to)) {
    // f16/bf16 compute as f32; between them the value rounds on store.
    unsigned fb = v->getType()->getPrimitiveSizeInBits(), tb = tt->getPrimitiveSizeInBits();
    return fb == tb ? v : fb < tb ? b.CreateFPExt(v, tt) : b.CreateFPTrunc(v, tt);
  }
  if (isFloat(from)) {
    // Saturating: NaN gives 0 and out-of-range values clamp instead of
    // being undefined.
    auto id = isSignedInt(to) ? llvm::Intrinsic::fptosi_sat : llvm::Intrinsic::fptoui_sat;
    return b.CreateIntrinsic(id, {tt, v->getType()}, {v});
  }
  if (isFloat(to)) return isSignedInt(from) ? b.CreateSIToFP(v, tt) : b.CreateUIToFP(v, tt);
  return b.CreateIntCast(v, tt, isSignedInt(from));
}

void emitLoopNest(Env &env, const std::vector<llvm::Value *> &n,
                  const std::function<void(const std::vector<llvm::Value *> &)> &body, llvm::Value *begin,
                  llvm::Value *end) {
  auto &b = env.b;
  std::vector<llvm::Value *> idx;
  std::function<void(size_t)> level = [&](size_t k) {
    if (k == n.size()) {
      body(idx);
      return;
    }
    llvm::Value *lo = k == 0 && begin ? begin : env.i64(0);
    llvm::Value *hi = k == 0 && end ? end : n[k];
    llvm::Function *f = b.GetInsertBlock()->getParent();
    llvm::BasicBlock *pre = b.GetInsertBlock();
    llvm::BasicBlock *head = llvm::BasicBlock::Create(b.getContext(), "loop", f);
    llvm::BasicBlock *bodyBB = llvm::BasicBlock::Create(b.getContext(), "body", f);
    llvm::BasicBlock *exit = llvm::BasicBlock::Create(b.getContext(), "exit", f);
    b.CreateBr(head);
    b.SetInsertPoint(head);
    llvm::PHINode *i = b.CreatePHI(b.getInt64Ty(), 2, "i");
    i->addIncoming(lo, pre);
    b.CreateCondBr(b.CreateICmpSLT(i, hi), bodyBB, exit);
    b.SetInsertPoint(bodyBB);
    idx.push_back(i);
    level(k + 1);
    idx.pop_back();
    llvm::Value *next = b.CreateAdd(i, env.i64(1), "", true, true);
    i->addIncoming(next, b.GetInsertBlock());
    b.CreateBr(head);
    b.SetInsertPoint(exit);
  };
  level(0);
}

std::vector<Dim> denseStrides(const std::vector<Dim> &dims) {
  std::vector<Dim> s(dims.size());
  Dim acc = 1;
  for (size_t i = dims.size(); i-- > 0;) {
    s[i] = acc;
    acc = acc * dims[i];
  }
  return s;
}

std::vector<Dim> broadcastStrides(const Type &t, const std::vector<Dim> &to) {
  std::vector<Dim> own = denseStrides(t.dims());
  std::vector<Dim> s(to.size(), Dim(0));
  size_t r = t.rank();
  if (r > to.size()) fail("cannot broadcast {} to rank {}", t.str(), to.size());
  for (size_t i = 0; i < r; ++i) {
    const Dim &d = t.dim(r - 1 - i);
    if (d.isStatic() && d.value() == 1 && !(to[to.size() - 1 - i].isStatic() && to[to.size() - 1 - i].value() == 1))
      continue;  // broadcast: stride 0
    s[to.size() - 1 - i] = own[r - 1 - i];
  }
  return s;
}

void simplify(StridedMap &m) {
  // Drop size-1 dims, then merge dim k into k+1 where every access has
  // stride[k] == stride[k+1] * dims[k+1].
  auto all = [&](const std::function<bool(const Access &)> &p) {
    if (!p(m.output)) return false;
    for (const Access &a : m.inputs)
      if (!p(a)) return false;
    return true;
  };
  auto eraseDim = [&](size_t k) {
    m.dims.erase(m.dims.begin() + k);
    m.output.strides.erase(m.output.strides.begin() + k);
    for (Access &a : m.inputs) a.strides.erase(a.strides.begin() + k);
  };
  for (size_t k = m.dims.size(); k-- > 0;)
    if (m.dims[k].isStatic() && m.dims[k].value() == 1 && m.dims.size() > 1) eraseDim(k);
  for (size_t k = m.dims.size(); k-- > 1;) {
    size_t j = k - 1;
    Dim inner = m.dims[k];
    if (all([&](const Access &a) { return a.strides[j] == a.strides[k] * inner; })) {
      m.dims[k] = m.dims[j] * inner;
      eraseDim(j);
    }
  }
  if (m.dims.empty()) {  // a scalar: one item of one element
    m.dims.push_back(1);
    m.output.strides.push_back(0);
    for (Access &a : m.inputs) a.strides.push_back(0);
  }
}

llvm::Value *mapItems(Env &env, const StridedMap &m) { return env.dim(m.dims[0]); }

void emitMap(Env &env, const StridedMap &m, llvm::Value *begin, llvm::Value *end) {
  auto &b = env.b;
  // Base pointers and strides are loop invariant: compute them up front.
  struct Ready {
    llvm::Value *base;
    std::vector<llvm::Value *> strides;
    llvm::Value *offset;
  };
  auto prepare = [&](const Access &a) {
    Ready r{env.ptr(a.value), {}, env.dim(a.offset)};
    for (const Dim &s : a.strides) r.strides.push_back(env.dim(s));
    return r;
  };
  std::vector<Ready> ins;
  for (const Access &a : m.inputs) ins.push_back(prepare(a));
  Ready out = prepare(m.output);
  auto index = [&](const Ready &r, const std::vector<llvm::Value *> &idx) {
    llvm::Value *at = r.offset;
    for (size_t k = 0; k < idx.size(); ++k) {
      auto *c = llvm::dyn_cast<llvm::ConstantInt>(r.strides[k]);
      if (c && c->isZero()) continue;
      at = b.CreateAdd(at, b.CreateMul(idx[k], r.strides[k], "", true, true), "", true, true);
    }
    return at;
  };
  std::vector<llvm::Value *> n;
  for (const Dim &d : m.dims) n.push_back(env.dim(d));
  emitLoopNest(
      env, n,
      [&](const std::vector<llvm::Value *> &idx) {
        std::vector<llvm::Value *> vals;
        for (size_t i = 0; i < ins.size(); ++i)
          vals.push_back(loadElement(env, m.inputs[i].dtype, ins[i].base, index(ins[i], idx)));
        llvm::Value *v = m.compute ? m.compute(env, vals, idx) : vals.at(0);
        storeElement(env, m.output.dtype, out.base, index(out, idx), v);
      },
      begin, end);
}

} // namespace ternc::codegen
