// LowerOps: the lowering of every non-elementwise op — data movement as
// strided maps, and the heavy ops as calls into the kernel library
// (codegen/kernels/Kernels.h) with the model's shapes as constants.
#include "codegen/Lowering.h"

#include "ir/Error.h"
#include "ir/OpRegistry.h"
#include "ir/ops/OpHelpers.h"
#include "passes/PlanMemory.h"

#include <numeric>

namespace ternc::codegen {

namespace {

int64_t axisAttr(const Op &op, const char *name, int64_t dflt, size_t rank) {
  int64_t a = op.attrs().getInt(name, dflt);
  if (a < 0) a += int64_t(rank);
  if (a < 0 || a >= int64_t(std::max<size_t>(rank, 1))) fail("{}: {} axis {} out of range", op.loc(), op.opName(), a);
  return a;
}

/// The integer contents of a constant operand; throws naming the op if the
/// operand is not a compile-time constant.
std::vector<int64_t> constantInts(const Op &op, size_t i, const char *what) {
  const Value *v = op.operand(i);
  if (v && v->kind() == Value::Kind::Constant) return v->constant()->data.toI64Vector();
  fail("{}: {} needs its {} as a constant to be compiled (bind the input with --bind NAME=FILE)", op.loc(),
       op.opName(), what);
}

Dim productOf(const std::vector<Dim> &d, size_t from, size_t to) {
  Dim p = 1;
  for (size_t i = from; i < to; ++i) p = p * d[i];
  return p;
}

/// A whole op as one strided map (copy or compute).
OpCode mapCode(std::shared_ptr<StridedMap> map, bool simplifyIt = true) {
  if (simplifyIt) simplify(*map);
  OpCode code;
  code.items = [map](Env &env) { return mapItems(env, *map); };
  Dim inner = productOf(map->dims, 1, map->dims.size());
  code.grain = inner.isStatic() && inner.value() > 0 ? std::max<int64_t>(1, kElementsPerTask / inner.value()) : 1;
  code.body = [map](Env &env, llvm::Value *b, llvm::Value *e) { emitMap(env, *map, b, e); };
  return code;
}

/// Several maps run one after another as one serial item.
OpCode sequenceCode(std::vector<std::shared_ptr<StridedMap>> maps) {
  for (auto &m : maps) simplify(*m);
  OpCode code;
  code.body = [maps](Env &env, llvm::Value *, llvm::Value *) {
    for (const auto &m : maps) emitMap(env, *m, env.i64(0), mapItems(env, *m));
  };
  return code;
}

OpCode copyCode(const Value *from, const Value *to) {
  auto map = std::make_shared<StridedMap>();
  map->dims = to->type().dims();
  map->inputs.push_back({from, from->type().dtype(), denseStrides(to->type().dims()), 0});
  map->output = {to, to->type().dtype(), denseStrides(to->type().dims()), 0};
  return mapCode(map);
}

OpCode lowerView(LoweringContext &, const Op &op) { return copyCode(op.operand(0), op.result(0)); }

OpCode lowerTranspose(LoweringContext &, const Op &op) {
  const Type &x = op.operand(0)->type();
  size_t r = x.rank();
  std::vector<int64_t> perm = op.attrs().getInts("perm");
  if (perm.empty())
    for (size_t i = 0; i < r; ++i) perm.push_back(int64_t(r - 1 - i));
  std::vector<Dim> in = denseStrides(x.dims()), strides;
  for (int64_t p : perm) strides.push_back(in[size_t(p)]);
  auto map = std::make_shared<StridedMap>();
  map->dims = op.result(0)->type().dims();
  map->inputs.push_back({op.operand(0), x.dtype(), strides, 0});
  map->output = {op.result(0), x.dtype(), denseStrides(map->dims), 0};
  return mapCode(map);
}

OpCode lowerExpand(LoweringContext &, const Op &op) {
  auto map = std::make_shared<StridedMap>();
  map->dims = op.result(0)->type().dims();
  map->inputs.push_back({op.operand(0), op.operand(0)->type().dtype(), broadcastStrides(op.operand(0)->type(), map->dims), 0});
  map->output = {op.result(0), op.result(0)->type().dtype(), denseStrides(map->dims), 0};
  return mapCode(map);
}

OpCode lowerSlice(LoweringContext &, const Op &op) {
  const Type &x = op.operand(0)->type();
  std::vector<int64_t> starts = constantInts(op, 1, "starts");
  // A symbolic end (inference kept the slice's rows symbolic; GraphLowering
  // checks the bound at run time) leaves the start as given.
  const Tensor *endsConst = op.operand(2)->kind() == Value::Kind::Constant ? &op.operand(2)->constant()->data : nullptr;
  std::vector<int64_t> ends = endsConst ? constantInts(op, 2, "ends") : std::vector<int64_t>();
  std::vector<int64_t> axes, steps;
  if (op.numOperands() > 3 && op.operand(3)) axes = constantInts(op, 3, "axes");
  else
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (op.numOperands() > 4 && op.operand(4)) steps = constantInts(op, 4, "steps");
  else steps.assign(starts.size(), 1);
  std::vector<Dim> in = denseStrides(x.dims()), strides = in;
  Dim offset = 0;
  for (size_t i = 0; i < axes.size(); ++i) {
    size_t a = size_t(axes[i] < 0 ? axes[i] + int64_t(x.rank()) : axes[i]);
    const Dim &d = x.dim(a);
    Dim start;
    if (d.isStatic() && ends.empty()) {
      start = starts[i];
    } else if (d.isStatic()) {
      start = ops::resolveSlice(starts[i], ends[i], steps[i], d.value()).start;
    } else {
      // Inference only keeps symbolic dims for whole-axis slices.
      start = steps[i] > 0 ? Dim(0) : d - Dim(1);
    }
    offset = offset + start * in[a];
    strides[a] = in[a] * Dim(steps[i]);
  }
  auto map = std::make_shared<StridedMap>();
  map->dims = op.result(0)->type().dims();
  map->inputs.push_back({op.operand(0), x.dtype(), strides, offset});
  map->output = {op.result(0), x.dtype(), denseStrides(map->dims), 0};
  return mapCode(map);
}

OpCode lowerConcat(LoweringContext &, const Op &op) {
  const Type &out = op.result(0)->type();
  size_t axis = size_t(axisAttr(op, "axis", 0, out.rank()));
  std::vector<Dim> outStrides = denseStrides(out.dims());
  std::vector<std::shared_ptr<StridedMap>> maps;
  Dim at = 0;
  for (const Value *in : op.operands()) {
    auto map = std::make_shared<StridedMap>();
    map->dims = in->type().dims();
    map->inputs.push_back({in, in->type().dtype(), denseStrides(in->type().dims()), 0});
    map->output = {op.result(0), out.dtype(), outStrides, at * outStrides[axis]};
    maps.push_back(map);
    at = at + in->type().dim(axis);
  }
  return sequenceCode(maps);
}

OpCode lowerSplit(LoweringContext &, const Op &op) {
  const Type &x = op.operand(0)->type();
  size_t axis = size_t(axisAttr(op, "axis", 0, x.rank()));
  std::vector<Dim> inStrides = denseStrides(x.dims());
  std::vector<std::shared_ptr<StridedMap>> maps;
  Dim at = 0;
  for (size_t i = 0; i < op.numResults(); ++i) {
    const Value *r = op.result(i);
    Dim len = r->type().dim(axis);
    auto map = std::make_shared<StridedMap>();
    map->dims = r->type().dims();
    map->inputs.push_back({op.operand(0), x.dtype(), inStrides, at * inStrides[axis]});
    map->output = {r, x.dtype(), denseStrides(r->type().dims()), 0};
    at = at + len;
    maps.push_back(map);
  }
  // Unused results are not computed; skip their maps.
  std::vector<std::shared_ptr<StridedMap>> kept;
  for (auto &m : maps)
    if (slotOf(*m->output.value) != kSlotUnused) kept.push_back(m);
  return sequenceCode(kept);
}

OpCode lowerShapeLike(LoweringContext &, const Op &op) {
  // Shape (and any i64 value whose symbolic contents are known): store the
  // dims, evaluated from the symbols.
  const Value *r = op.result(0);
  if (!r->symbolicValue()) fail("{}: {} result %{} is not known at compile time", op.loc(), op.opName(), r->name());
  std::vector<Dim> dims = *r->symbolicValue();
  OpCode code;
  code.body = [r, dims](Env &env, llvm::Value *, llvm::Value *) {
    for (size_t i = 0; i < dims.size(); ++i)
      storeElement(env, DType::I64, env.ptr(r), env.i64(int64_t(i)), env.dim(dims[i]));
  };
  return code;
}

OpCode lowerConstantOfShape(LoweringContext &, const Op &op) {
  const Value *r = op.result(0);
  double value = 0;
  if (const AttrValue *v = op.attrs().find("value"); v && std::holds_alternative<Tensor>(*v))
    value = std::get<Tensor>(*v).getDouble(0);
  DType dt = r->type().dtype();
  auto map = std::make_shared<StridedMap>();
  map->dims = r->type().dims();
  map->output = {r, dt, denseStrides(map->dims), 0};
  map->compute = [dt, value](Env &env, const std::vector<llvm::Value *> &, const std::vector<llvm::Value *> &) {
    return scalarConstant(env, dt, value);
  };
  return mapCode(map);
}

OpCode lowerRange(LoweringContext &, const Op &op) {
  const Value *r = op.result(0);
  DType dt = r->type().dtype();
  const Value *start = op.operand(0), *delta = op.operand(2);
  auto map = std::make_shared<StridedMap>();
  map->dims = r->type().dims();
  map->inputs = {{start, dt, {Dim(0)}, 0}, {delta, dt, {Dim(0)}, 0}};
  map->output = {r, dt, {Dim(1)}, 0};
  map->compute = [dt](Env &env, const std::vector<llvm::Value *> &in, const std::vector<llvm::Value *> &idx) {
    llvm::Value *i = convertScalar(env, idx[0], DType::I64, dt);
    return isFloat(dt) ? env.b.CreateFAdd(in[0], env.b.CreateFMul(i, in[1])) : env.b.CreateAdd(in[0], env.b.CreateMul(i, in[1]));
  };
  return mapCode(map, false);
}

OpCode lowerTrilu(LoweringContext &, const Op &op) {
  const Value *x = op.operand(0), *r = op.result(0);
  DType dt = x->type().dtype();
  bool upper = op.attrs().getInt("upper", 1) != 0;
  size_t rank = x->type().rank();
  auto map = std::make_shared<StridedMap>();
  map->dims = r->type().dims();
  map->inputs.push_back({x, dt, denseStrides(map->dims), 0});
  bool hasK = op.numOperands() > 1 && op.operand(1);
  if (hasK) map->inputs.push_back({op.operand(1), op.operand(1)->type().dtype(), std::vector<Dim>(rank, Dim(0)), 0});
  map->output = {r, dt, denseStrides(map->dims), 0};
  map->compute = [dt, upper, rank, hasK](Env &env, const std::vector<llvm::Value *> &in,
                                          const std::vector<llvm::Value *> &idx) {
    auto &b = env.b;
    llvm::Value *k = hasK ? in[1] : env.i64(0);
    llvm::Value *diff = b.CreateSub(idx[rank - 1], idx[rank - 2]);
    llvm::Value *keep = upper ? b.CreateICmpSGE(diff, k) : b.CreateICmpSLE(diff, k);
    return b.CreateSelect(keep, in[0], scalarConstant(env, dt, 0));
  };
  return mapCode(map, false);
}

OpCode lowerGather(LoweringContext &, const Op &op) {
  const Value *data = op.operand(0), *indices = op.operand(1), *r = op.result(0);
  const Type &dt = data->type(), &it = indices->type();
  size_t axis = size_t(axisAttr(op, "axis", 0, dt.rank()));
  size_t q = it.rank();
  OpCode code;
  std::vector<Dim> outDims = r->type().dims();
  code.items = [outDims](Env &env) { return outDims.empty() ? env.i64(1) : env.dim(outDims[0]); };
  code.body = [=](Env &env, llvm::Value *begin, llvm::Value *end) {
    auto &b = env.b;
    std::vector<Dim> dStrides = denseStrides(dt.dims()), iStrides = denseStrides(it.dims()),
                     oStrides = denseStrides(outDims);
    llvm::Value *axisLen = env.dim(dt.dim(axis));
    std::vector<llvm::Value *> n;
    for (const Dim &d : outDims) n.push_back(env.dim(d));
    if (n.empty()) n.push_back(env.i64(1));
    emitLoopNest(
        env, n,
        [&](const std::vector<llvm::Value *> &idx) {
          // Output index = data[:axis] ++ indices ++ data[axis+1:].
          llvm::Value *iat = env.i64(0);
          for (size_t k = 0; k < q; ++k) iat = b.CreateAdd(iat, b.CreateMul(idx[axis + k], env.dim(iStrides[k])));
          llvm::Value *j = convertScalar(env, loadElement(env, it.dtype(), env.ptr(indices), iat), it.dtype(), DType::I64);
          j = b.CreateSelect(b.CreateICmpSLT(j, env.i64(0)), b.CreateAdd(j, axisLen), j);
          // Out-of-range indices (an error in the interpreter) are clamped
          // so that the program never reads outside the tensor.
          j = b.CreateSelect(b.CreateICmpSLT(j, env.i64(0)), env.i64(0), j);
          j = b.CreateSelect(b.CreateICmpSGE(j, axisLen), b.CreateSub(axisLen, env.i64(1)), j);
          llvm::Value *dat = b.CreateMul(j, env.dim(dStrides[axis]));
          for (size_t k = 0; k < axis; ++k) dat = b.CreateAdd(dat, b.CreateMul(idx[k], env.dim(dStrides[k])));
          for (size_t k = axis + 1; k < dt.rank(); ++k)
            dat = b.CreateAdd(dat, b.CreateMul(idx[k - 1 + q], env.dim(dStrides[k])));
          llvm::Value *oat = env.i64(0);
          for (size_t k = 0; k < outDims.size(); ++k) oat = b.CreateAdd(oat, b.CreateMul(idx[k], env.dim(oStrides[k])));
          storeElement(env, dt.dtype(), env.ptr(r), oat, loadElement(env, dt.dtype(), env.ptr(data), dat));
        },
        outDims.empty() ? nullptr : begin, outDims.empty() ? nullptr : end);
  };
  return code;
}

OpCode lowerQuantize(LoweringContext &, const Op &op, bool quantize) {
  const Value *x = op.operand(0), *scale = op.operand(1), *r = op.result(0);
  const Value *zp = op.numOperands() > 2 ? op.operand(2) : nullptr;
  const Type &xt = x->type();
  auto paramStrides = [&](const Value *p) {
    std::vector<Dim> s(xt.rank(), Dim(0));
    if (p->type().rank() == 1 && !(p->type().dim(0).isStatic() && p->type().dim(0).value() == 1))
      s[size_t(axisAttr(op, "axis", 1, xt.rank()))] = 1;
    return s;
  };
  auto map = std::make_shared<StridedMap>();
  map->dims = xt.dims();
  map->inputs.push_back({x, xt.dtype(), denseStrides(map->dims), 0});
  map->inputs.push_back({scale, DType::F32, paramStrides(scale), 0});
  if (zp) map->inputs.push_back({zp, zp->type().dtype(), paramStrides(zp), 0});
  DType out = r->type().dtype(), in = xt.dtype();
  DType zdt = zp ? zp->type().dtype() : out;
  map->output = {r, out, denseStrides(map->dims), 0};
  bool hasZp = zp != nullptr;
  map->compute = [=](Env &env, const std::vector<llvm::Value *> &v, const std::vector<llvm::Value *> &) -> llvm::Value * {
    auto &b = env.b;
    if (quantize) {
      // f32 divides in f32 (as ONNX does), others in f64; round half to
      // even, add the zero point, saturate; NaN maps to the zero point.
      llvm::Value *q;
      if (in == DType::F32 || in == DType::F16 || in == DType::BF16) {
        q = convertScalar(env, b.CreateFDiv(convertScalar(env, v[0], in, DType::F32), v[1]), DType::F32, DType::F64);
      } else {
        q = b.CreateFDiv(convertScalar(env, v[0], in, DType::F64), convertScalar(env, v[1], DType::F32, DType::F64));
      }
      q = b.CreateUnaryIntrinsic(llvm::Intrinsic::roundeven, q);
      q = b.CreateSelect(b.CreateFCmpUNO(q, q), llvm::ConstantFP::get(q->getType(), 0.0), q);
      if (hasZp) q = b.CreateFAdd(q, convertScalar(env, v[2], zdt, DType::F64));
      double lo = out == DType::U8 ? 0 : -128, hi = out == DType::U8 ? 255 : 127;
      q = b.CreateSelect(b.CreateFCmpOLT(q, llvm::ConstantFP::get(q->getType(), lo)), llvm::ConstantFP::get(q->getType(), lo), q);
      q = b.CreateSelect(b.CreateFCmpOGT(q, llvm::ConstantFP::get(q->getType(), hi)), llvm::ConstantFP::get(q->getType(), hi), q);
      return convertScalar(env, q, DType::F64, out);
    }
    llvm::Value *xi = convertScalar(env, v[0], in, DType::I64);
    if (hasZp) xi = b.CreateSub(xi, convertScalar(env, v[2], zdt, DType::I64));
    llvm::Value *d = b.CreateFMul(convertScalar(env, xi, DType::I64, DType::F64),
                                  convertScalar(env, v[1], DType::F32, DType::F64));
    return convertScalar(env, d, DType::F64, DType::F32);
  };
  return mapCode(map);
}

} // namespace

// ---- Kernel calls -------------------------------------------------------------

OpCode kernelCode(std::string name, std::function<std::vector<llvm::Value *>(Env &)> args) {
  OpCode code;
  code.items = [name, args](Env &env) { return env.b.CreateCall(env.kernel(name + "_items"), args(env)); };
  code.grainFn = [name, args](Env &env) { return env.b.CreateCall(env.kernel(name + "_grain"), args(env)); };
  code.body = [name, args](Env &env, llvm::Value *begin, llvm::Value *end) {
    std::vector<llvm::Value *> a = args(env);
    a.push_back(begin);
    a.push_back(end);
    env.b.CreateCall(env.kernel(name), a);
  };
  return code;
}

llvm::Value *f32(Env &env, double v) { return llvm::ConstantFP::get(env.b.getFloatTy(), v); }
llvm::Value *nullPtr(Env &env) { return llvm::ConstantPointerNull::get(env.b.getPtrTy()); }

namespace {

std::string dtSuffix(const Op &op, DType dt, std::initializer_list<DType> allowed) {
  for (DType a : allowed)
    if (a == dt) return std::string(dtypeName(dt));
  fail("{}: codegen has no {} kernel for {}", op.loc(), op.opName(), dtypeName(dt));
}

OpCode lowerSoftmax(LoweringContext &, const Op &op, const char *kind) {
  const Type &x = op.operand(0)->type();
  size_t axis = size_t(axisAttr(op, "axis", -1, x.rank()));
  std::string name = std::string("tk_") + kind + "_" +
                     dtSuffix(op, x.dtype(), {DType::F32, DType::F64, DType::F16, DType::BF16});
  const Value *in = op.operand(0), *out = op.result(0);
  Dim outer = productOf(x.dims(), 0, axis), n = x.rank() ? x.dim(axis) : Dim(1),
      inner = productOf(x.dims(), axis + 1, x.rank());
  return kernelCode(name, [=](Env &env) -> std::vector<llvm::Value *> {
    return {env.ptr(in), env.ptr(out), env.dim(outer), env.dim(n), env.dim(inner)};
  });
}

OpCode lowerLayerNorm(LoweringContext &lc, const Op &op) {
  const Type &x = op.operand(0)->type();
  size_t axis = size_t(axisAttr(op, "axis", -1, x.rank()));
  std::string name =
      "tk_layernorm_" + dtSuffix(op, x.dtype(), {DType::F32, DType::F64, DType::F16, DType::BF16});
  Dim outer = productOf(x.dims(), 0, axis), n = productOf(x.dims(), axis, x.rank());
  for (size_t i = 1; i < 3 && i < op.numOperands(); ++i) {
    const Value *p = op.operand(i);
    if (!p) continue;
    auto count = p->type().numElements();
    bool dense = count ? (n.isStatic() && *count == n.value())
                       : p->type().rank() <= x.rank() - axis &&
                             std::equal(p->type().dims().begin(), p->type().dims().end(), x.dims().end() - long(p->type().rank()));
    if (!dense)
      fail("{}: LayerNormalization with a broadcast {} ({}) is not supported by codegen", op.loc(),
           i == 1 ? "scale" : "bias", p->type().str());
  }
  const Value *in = op.operand(0), *scale = op.operand(1);
  const Value *bias = op.numOperands() > 2 ? op.operand(2) : nullptr;
  auto resultPtr = [&op](Env &env, size_t i) -> llvm::Value * {
    if (i >= op.numResults()) return nullPtr(env);
    const Value *r = op.result(i);
    // Unused statistics are not stored.
    return slotOf(*r) == kSlotUnused ? nullPtr(env) : env.ptr(r);
  };
  float eps = op.attrs().getFloat("epsilon", 1e-5f);
  return kernelCode(name, [=, &op](Env &env) -> std::vector<llvm::Value *> {
    return {env.ptr(in), env.ptr(scale), bias ? env.ptr(bias) : nullPtr(env), env.ptr(op.result(0)),
            resultPtr(env, 1), resultPtr(env, 2), env.dim(outer), env.dim(n), f32(env, eps)};
  });
}

/// Reduction over axes that are not adjacent (e.g. {0, 2}): loops over the
/// kept dims outside and the reduced dims inside, accumulating in a
/// register (f32 for f16/bf16/f32, the element type otherwise).
OpCode reduceLoops(const Op &op, const std::string &kind, const std::vector<int64_t> &axes) {
  const Value *in = op.operand(0), *out = op.result(0);
  const Type x = in->type();
  std::vector<size_t> kept, reduced;
  for (size_t a = 0; a < x.rank(); ++a)
    (std::binary_search(axes.begin(), axes.end(), int64_t(a)) ? reduced : kept).push_back(a);
  OpCode code;
  code.body = [=](Env &env, llvm::Value *, llvm::Value *) {
    auto &b = env.b;
    DType dt = x.dtype();
    llvm::Type *ct = computeType(b.getContext(), dt);
    bool fl = isFloat(dt);
    std::vector<Dim> strides = denseStrides(x.dims());
    std::vector<llvm::Value *> keptN, redN;
    for (size_t a : kept) keptN.push_back(env.dim(x.dim(a)));
    for (size_t a : reduced) redN.push_back(env.dim(x.dim(a)));
    llvm::Value *count = env.i64(1);
    for (llvm::Value *v : redN) count = b.CreateMul(count, v);
    llvm::IRBuilder<> eb(&b.GetInsertBlock()->getParent()->getEntryBlock(),
                         b.GetInsertBlock()->getParent()->getEntryBlock().begin());
    llvm::Value *acc = eb.CreateAlloca(ct);
    llvm::Value *outAt = eb.CreateAlloca(b.getInt64Ty());
    b.CreateStore(env.i64(0), outAt);
    double init = kind == "max" ? -INFINITY : kind == "min" ? INFINITY : 0.0;
    auto initValue = [&]() -> llvm::Value * {
      if (fl || init == 0.0) return scalarConstant(env, dt, init);
      unsigned bits = ct->getIntegerBitWidth();
      bool sg = isSignedInt(dt);
      llvm::APInt v = kind == "max" ? (sg ? llvm::APInt::getSignedMinValue(bits) : llvm::APInt::getMinValue(bits))
                                    : (sg ? llvm::APInt::getSignedMaxValue(bits) : llvm::APInt::getMaxValue(bits));
      return llvm::ConstantInt::get(ct, v);
    };
    emitLoopNest(env, keptN.empty() ? std::vector<llvm::Value *>{env.i64(1)} : keptN,
                 [&](const std::vector<llvm::Value *> &ki) {
      llvm::Value *base = env.i64(0);
      for (size_t k = 0; k < kept.size(); ++k) base = b.CreateAdd(base, b.CreateMul(ki[k], env.dim(strides[kept[k]])));
      b.CreateStore(initValue(), acc);
      emitLoopNest(env, redN, [&](const std::vector<llvm::Value *> &ri) {
        llvm::Value *at = base;
        for (size_t k = 0; k < reduced.size(); ++k) at = b.CreateAdd(at, b.CreateMul(ri[k], env.dim(strides[reduced[k]])));
        llvm::Value *v = loadElement(env, dt, env.ptr(in), at);
        llvm::Value *a = b.CreateLoad(ct, acc);
        llvm::Value *r;
        if (kind == "sum" || kind == "mean") r = fl ? b.CreateFAdd(a, v) : b.CreateAdd(a, v);
        else if (fl) r = b.CreateSelect(b.CreateOr(kind == "max" ? b.CreateFCmpOGT(v, a) : b.CreateFCmpOLT(v, a),
                                                   b.CreateFCmpUNO(v, v)), v, a);
        else if (isSignedInt(dt)) r = b.CreateSelect(kind == "max" ? b.CreateICmpSGT(v, a) : b.CreateICmpSLT(v, a), v, a);
        else r = b.CreateSelect(kind == "max" ? b.CreateICmpUGT(v, a) : b.CreateICmpULT(v, a), v, a);
        b.CreateStore(r, acc);
      });
      llvm::Value *r = b.CreateLoad(ct, acc);
      if (kind == "mean")
        r = fl ? b.CreateFDiv(r, convertScalar(env, count, DType::I64, dt))
               : isSignedInt(dt) ? b.CreateSDiv(r, b.CreateIntCast(count, ct, false)) : b.CreateUDiv(r, b.CreateIntCast(count, ct, false));
      llvm::Value *o = b.CreateLoad(b.getInt64Ty(), outAt);
      storeElement(env, dt, env.ptr(out), o, r);
      b.CreateStore(b.CreateAdd(o, env.i64(1)), outAt);
    });
  };
  return code;
}

OpCode lowerReduce(LoweringContext &, const Op &op, const char *kind) {
  const Type &x = op.operand(0)->type();
  size_t rank = x.rank();
  std::vector<int64_t> axes = op.attrs().getInts("axes");
  if (op.numOperands() > 1 && op.operand(1)) axes = constantInts(op, 1, "axes");
  bool noop = op.attrs().getInt("noop_with_empty_axes", 0) != 0;
  const Value *in = op.operand(0), *out = op.result(0);
  if (axes.empty() && noop) return copyCode(in, out);
  if (axes.empty())
    for (size_t i = 0; i < rank; ++i) axes.push_back(int64_t(i));
  for (int64_t &a : axes) a = a < 0 ? a + int64_t(rank) : a;
  std::sort(axes.begin(), axes.end());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  // Size-1 axes do not change the layout: reduce over the rest.
  std::vector<int64_t> real;
  for (int64_t a : axes)
    if (!(x.dim(size_t(a)).isStatic() && x.dim(size_t(a)).value() == 1)) real.push_back(a);
  std::string name = std::string("tk_reduce_") + kind + "_" +
                     dtSuffix(op, x.dtype(),
                              {DType::F32, DType::F64, DType::F16, DType::BF16, DType::I8, DType::U8, DType::I16,
                               DType::U16, DType::I32, DType::U32, DType::I64, DType::U64});
  bool contiguous = real.empty() || real.back() - real.front() + 1 == int64_t(real.size());
  if (contiguous) {
    size_t lo = real.empty() ? rank : size_t(real.front()), hi = real.empty() ? rank : size_t(real.back()) + 1;
    Dim outer = productOf(x.dims(), 0, lo), r = productOf(x.dims(), lo, hi), inner = productOf(x.dims(), hi, rank);
    return kernelCode(name, [=](Env &env) -> std::vector<llvm::Value *> {
      return {env.ptr(in), env.ptr(out), env.dim(outer), env.dim(r), env.dim(inner)};
    });
  }
  return reduceLoops(op, kind, real);
}

OpCode lowerGemmLike(LoweringContext &lc, const Op &op, bool isGemm) {
  const Value *a = op.operand(0), *bv = op.operand(1), *y = op.result(0);
  const Type &at = a->type(), &bt = bv->type(), &yt = y->type();
  DType dt = at.dtype();
  std::string name = "tk_gemm_" + dtSuffix(op, dt, {DType::F32, DType::F64, DType::I32, DType::I64, DType::U32, DType::U64});
  float alpha = 1, beta = 0;
  bool transA = false, transB = false;
  const Value *c = nullptr;
  if (isGemm) {
    alpha = op.attrs().getFloat("alpha", 1.0f);
    float betaAttr = op.attrs().getFloat("beta", 1.0f);
    transA = op.attrs().getInt("transA", 0) != 0;
    transB = op.attrs().getInt("transB", 0) != 0;
    if (op.numOperands() > 2 && op.operand(2) && betaAttr != 0) c = op.operand(2);
    if (c && betaAttr != 1.0f && !isFloat(dt))
      fail("{}: integer Gemm with beta {} is not supported by codegen", op.loc(), betaAttr);
    beta = c ? 1.0f : 0.0f;
    // Y = beta * C (broadcast) first; the kernel then accumulates alpha * A'B'.
    std::shared_ptr<StridedMap> fill;
    if (c) {
      fill = std::make_shared<StridedMap>();
      fill->dims = yt.dims();
      fill->inputs.push_back({c, dt, broadcastStrides(c->type(), yt.dims()), 0});
      fill->output = {y, dt, denseStrides(yt.dims()), 0};
      if (betaAttr != 1.0f)
        fill->compute = [betaAttr, dt](Env &env, const std::vector<llvm::Value *> &v, const std::vector<llvm::Value *> &) {
          return env.b.CreateFMul(v[0], scalarConstant(env, dt, betaAttr));
        };
      simplify(*fill);
    }
    Dim M = yt.dim(0), N = yt.dim(1), K = at.dim(transA ? 0 : 1);
    Dim lda = at.dim(1), ldb = bt.dim(1);
    auto args = [=](Env &env) -> std::vector<llvm::Value *> {
      llvm::Value *sam = transA ? env.i64(1) : env.dim(lda), *sak = transA ? env.dim(lda) : env.i64(1);
      llvm::Value *sbk = transB ? env.i64(1) : env.dim(ldb), *sbn = transB ? env.dim(ldb) : env.i64(1);
      return {env.ptr(a), sam, sak, env.ptr(bv), sbk, sbn, env.ptr(y), env.dim(N), env.dim(M), env.dim(N), env.dim(K),
              f32(env, alpha), f32(env, beta)};
    };
    OpCode code = kernelCode(name, args);
    if (fill) {
      // The fill must finish before any task accumulates, so this op runs
      // as one serial item: fill, then every kernel item.
      OpCode seq;
      seq.body = [fill, name, args](Env &env, llvm::Value *, llvm::Value *) {
        emitMap(env, *fill, env.i64(0), mapItems(env, *fill));
        std::vector<llvm::Value *> a = args(env);
        llvm::Value *n = env.b.CreateCall(env.kernel(name + "_items"), a);
        a.push_back(env.i64(0));
        a.push_back(n);
        env.b.CreateCall(env.kernel(name), a);
      };
      return seq;
    }
    return code;
  }
  // MatMul with numpy semantics: 1-D operands promoted, batch broadcast.
  bool aVec = at.rank() == 1, bVec = bt.rank() == 1;
  std::vector<Dim> aM = aVec ? std::vector<Dim>{Dim(1), at.dim(0)} : at.dims();
  std::vector<Dim> bM = bVec ? std::vector<Dim>{bt.dim(0), Dim(1)} : bt.dims();
  Dim M = aM[aM.size() - 2], K = aM.back(), N = bM.back();
  size_t batchRank = std::max(aM.size(), bM.size()) - 2;
  std::vector<Dim> batch;
  auto batchDim = [&](const std::vector<Dim> &d, size_t i) -> Dim {
    size_t off = batchRank - (d.size() - 2);
    return i < off ? Dim(1) : d[i - off];
  };
  for (size_t i = 0; i < batchRank; ++i) {
    Dim da = batchDim(aM, i), db = batchDim(bM, i);
    batch.push_back(da.isStatic() && da.value() == 1 ? db : da);
  }
  auto batchStrides = [&](const std::vector<Dim> &d, Dim matrix) {
    std::vector<Dim> s(batchRank, Dim(0));
    Dim acc = matrix;
    for (size_t i = batchRank; i-- > 0;) {
      Dim di = batchDim(d, i);
      if (!(di.isStatic() && di.value() == 1)) s[i] = acc;
      acc = acc * di;
    }
    return s;
  };
  std::vector<Dim> aS = batchStrides(aM, M * K), bS = batchStrides(bM, K * N), yS = batchStrides(batch, M * N);
  for (size_t i = 0; i < batchRank; ++i) yS[i] = productOf(batch, i + 1, batchRank) * M * N;
  auto args = [=](Env &env, llvm::Value *aOff, llvm::Value *bOff, llvm::Value *yOff) -> std::vector<llvm::Value *> {
    auto &b = env.b;
    llvm::Type *et = storageType(b.getContext(), dt);
    return {b.CreateInBoundsGEP(et, env.ptr(a), aOff), env.dim(K), env.i64(1),
            b.CreateInBoundsGEP(et, env.ptr(bv), bOff), env.dim(N), env.i64(1),
            b.CreateInBoundsGEP(et, env.ptr(y), yOff), env.dim(N), env.dim(M), env.dim(N), env.dim(K),
            f32(env, 1), f32(env, 0)};
  };
  Dim batchCount = productOf(batch, 0, batchRank);
  if (batchCount.isStatic() && batchCount.value() == 1)
    return kernelCode(name, [=](Env &env) { return args(env, env.i64(0), env.i64(0), env.i64(0)); });
  OpCode code;
  code.items = [batchCount](Env &env) { return env.dim(batchCount); };
  code.body = [=](Env &env, llvm::Value *begin, llvm::Value *end) {
    auto &b = env.b;
    std::vector<llvm::Value *> n;
    for (const Dim &d : batch) n.push_back(env.dim(d));
    // Flat batch items [begin, end): decompose each into batch indices.
    emitLoopNest(env, {env.dim(batchCount)}, [&](const std::vector<llvm::Value *> &flat) {
      llvm::Value *rest = flat[0];
      llvm::Value *ao = env.i64(0), *bo = env.i64(0), *yo = env.i64(0);
      for (size_t i = batchRank; i-- > 0;) {
        llvm::Value *idx = b.CreateSRem(rest, n[i]);
        rest = b.CreateSDiv(rest, n[i]);
        ao = b.CreateAdd(ao, b.CreateMul(idx, env.dim(aS[i])));
        bo = b.CreateAdd(bo, b.CreateMul(idx, env.dim(bS[i])));
        yo = b.CreateAdd(yo, b.CreateMul(idx, env.dim(yS[i])));
      }
      std::vector<llvm::Value *> a = args(env, ao, bo, yo);
      llvm::Value *items = b.CreateCall(env.kernel(name + "_items"), a);
      a.push_back(env.i64(0));
      a.push_back(items);
      b.CreateCall(env.kernel(name), a);
    }, begin, end);
  };
  return code;
}

OpCode lowerMatMulInteger(LoweringContext &, const Op &op) {
  const Value *a = op.operand(0), *bv = op.operand(1), *y = op.result(0);
  const Value *azp = op.numOperands() > 2 ? op.operand(2) : nullptr;
  const Value *bzp = op.numOperands() > 3 ? op.operand(3) : nullptr;
  const Type &at = a->type(), &bt = bv->type();
  if (at.rank() != 2 || bt.rank() != 2) fail("{}: codegen supports 2-D MatMulInteger only", op.loc());
  auto code = [&](DType d) { return d == DType::U8 ? "u8" : d == DType::I8 ? "i8" : nullptr; };
  const char *an = code(at.dtype()), *bn = code(bt.dtype());
  if (!an || !bn) fail("{}: MatMulInteger on {} x {}", op.loc(), dtypeName(at.dtype()), dtypeName(bt.dtype()));
  std::string name = std::string("tk_matmul_integer_") + an + bn;
  Dim M = at.dim(0), K = at.dim(1), N = bt.dim(1);
  auto perAxis = [](const Value *zp) {
    auto n = zp ? zp->type().numElements() : std::optional<int64_t>(1);
    return n && *n == 1 ? 0 : 1;
  };
  int64_t sazp = perAxis(azp), sbzp = perAxis(bzp);
  return kernelCode(name, [=](Env &env) -> std::vector<llvm::Value *> {
    return {env.ptr(a), env.dim(K), env.i64(1), env.ptr(bv), env.dim(N), env.i64(1),
            azp ? env.ptr(azp) : nullPtr(env), env.i64(sazp), bzp ? env.ptr(bzp) : nullPtr(env), env.i64(sbzp),
            env.ptr(y), env.dim(N), env.dim(M), env.dim(N), env.dim(K)};
  });
}

} // namespace

const std::map<std::string, LowerFn, std::less<>> &opLowerings() {
  static const std::map<std::string, LowerFn, std::less<>> table = {
      {"Reshape", lowerView},
      {"Squeeze", lowerView},
      {"Unsqueeze", lowerView},
      {"Flatten", lowerView},
      {"Transpose", lowerTranspose},
      {"Expand", lowerExpand},
      {"Slice", lowerSlice},
      {"Concat", lowerConcat},
      {"Split", lowerSplit},
      {"Shape", lowerShapeLike},
      {"ConstantOfShape", lowerConstantOfShape},
      {"Range", lowerRange},
      {"Trilu", lowerTrilu},
      {"Gather", lowerGather},
      {"QuantizeLinear", [](LoweringContext &lc, const Op &op) { return lowerQuantize(lc, op, true); }},
      {"DequantizeLinear", [](LoweringContext &lc, const Op &op) { return lowerQuantize(lc, op, false); }},
      {"Softmax", [](LoweringContext &lc, const Op &op) { return lowerSoftmax(lc, op, "softmax"); }},
      {"LogSoftmax", [](LoweringContext &lc, const Op &op) { return lowerSoftmax(lc, op, "logsoftmax"); }},
      {"LayerNormalization", lowerLayerNorm},
      {"ReduceSum", [](LoweringContext &lc, const Op &op) { return lowerReduce(lc, op, "sum"); }},
      {"ReduceMean", [](LoweringContext &lc, const Op &op) { return lowerReduce(lc, op, "mean"); }},
      {"ReduceMax", [](LoweringContext &lc, const Op &op) { return lowerReduce(lc, op, "max"); }},
      {"ReduceMin", [](LoweringContext &lc, const Op &op) { return lowerReduce(lc, op, "min"); }},
      {"MatMul",
       [](LoweringContext &lc, const Op &op) {
         if (std::optional<OpCode> head = lowerHeadInt8(lc, op)) return std::move(*head);
         return lowerGemmLike(lc, op, false);
       }},
      {"Gemm", [](LoweringContext &lc, const Op &op) { return lowerGemmLike(lc, op, true); }},
      {"MatMulInteger", lowerMatMulInteger},
      {"ActQuant", lowerActQuant},
      {"TernaryMatMul", lowerTernaryMatMul},
      {"BitLinear", lowerBitLinear},
      {"CacheUpdate", lowerCacheUpdate},
      {"CacheRead", lowerCacheRead},
      {"CacheWrite", lowerCacheWrite},
      {"Attention", lowerAttention},
  };
  return table;
}

} // namespace ternc::codegen
