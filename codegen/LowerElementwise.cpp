// LowerElementwise: the scalar semantics of each elementwise op in LLVM IR
// (mirroring ir/ops/Elementwise.cpp), and fused trees of them as one loop.
#include "codegen/Lowering.h"

#include "ir/Error.h"
#include "ir/OpRegistry.h"

#include <llvm/IR/Intrinsics.h>

namespace ternc::codegen {

namespace {

using Args = std::vector<llvm::Value *>;

/// f32 math through the kernel library (vectorizable, inlined); f64 via
/// libm. f16/bf16 compute as f32.
llvm::Value *mathCall(Env &env, const char *name, llvm::Value *x) {
  auto &b = env.b;
  if (x->getType()->isFloatTy()) return b.CreateCall(env.kernel(std::string("tk_") + name + "_f32"), {x});
  std::string libm = name;
  llvm::FunctionCallee f = env.module().getOrInsertFunction(libm, b.getDoubleTy(), b.getDoubleTy());
  return b.CreateCall(f, {x});
}

llvm::Value *floatConst(llvm::Value *like, double v) { return llvm::ConstantFP::get(like->getType(), v); }
llvm::Value *intConst(llvm::Value *like, int64_t v) { return llvm::ConstantInt::get(like->getType(), uint64_t(v), true); }

llvm::Value *unaryFloat(Env &env, const std::string &op, llvm::Value *x) {
  auto &b = env.b;
  auto intrinsic = [&](llvm::Intrinsic::ID id) { return b.CreateUnaryIntrinsic(id, x); };
  if (op == "Sqrt") return intrinsic(llvm::Intrinsic::sqrt);
  if (op == "Reciprocal") return b.CreateFDiv(floatConst(x, 1.0), x);
  if (op == "Exp") return mathCall(env, "exp", x);
  if (op == "Log") return mathCall(env, "log", x);
  if (op == "Erf") return mathCall(env, "erf", x);
  if (op == "Tanh") return mathCall(env, "tanh", x);
  if (op == "Cos") return mathCall(env, "cos", x);
  if (op == "Sin") return mathCall(env, "sin", x);
  if (op == "Sigmoid") {
    if (x->getType()->isFloatTy()) return b.CreateCall(env.kernel("tk_sigmoid_f32"), {x});
    return b.CreateFDiv(floatConst(x, 1.0), b.CreateFAdd(floatConst(x, 1.0), mathCall(env, "exp", b.CreateFNeg(x))));
  }
  if (op == "Floor") return intrinsic(llvm::Intrinsic::floor);
  if (op == "Ceil") return intrinsic(llvm::Intrinsic::ceil);
  if (op == "Round") return intrinsic(llvm::Intrinsic::roundeven);
  return nullptr;
}

/// x ^ y for integers by squaring (wrapping), with the interpreter's rules
/// for negative exponents.
llvm::Value *intPow(Env &env, llvm::Value *base, llvm::Value *exp) {
  auto &b = env.b;
  llvm::Value *r = intConst(base, 1), *x = base, *e = exp;
  for (unsigned bit = 0; bit < exp->getType()->getIntegerBitWidth(); ++bit) {
    llvm::Value *odd = b.CreateICmpNE(b.CreateAnd(e, intConst(e, 1)), intConst(e, 0));
    r = b.CreateSelect(odd, b.CreateMul(r, x), r);
    x = b.CreateMul(x, x);
    e = b.CreateLShr(e, intConst(e, 1));
  }
  llvm::Value *negative = b.CreateICmpSLT(exp, intConst(exp, 0));
  llvm::Value *isOne = b.CreateICmpEQ(base, intConst(base, 1));
  llvm::Value *isMinusOne = b.CreateICmpEQ(base, intConst(base, -1));
  llvm::Value *evenExp = b.CreateICmpEQ(b.CreateAnd(exp, intConst(exp, 1)), intConst(exp, 0));
  llvm::Value *negResult = b.CreateSelect(
      isOne, intConst(base, 1),
      b.CreateSelect(isMinusOne, b.CreateSelect(evenExp, intConst(base, 1), intConst(base, -1)), intConst(base, 0)));
  return b.CreateSelect(negative, negResult, r);
}

} // namespace

llvm::Value *emitElementwise(Env &env, const Op &op, const Args &args) {
  auto &b = env.b;
  const std::string &name = op.opName();
  DType dt = op.operand(0)->type().dtype();
  DType out = op.result(0)->type().dtype();
  bool fl = isFloat(dt), sg = isSignedInt(dt);
  llvm::Value *x = args.at(0);

  if (fl)
    if (llvm::Value *v = unaryFloat(env, name, x)) return v;
  if (name == "Identity") return x;
  if (name == "Neg") return fl ? b.CreateFNeg(x) : b.CreateSub(intConst(x, 0), x);
  if (name == "Abs") {
    if (fl) return b.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, x);
    if (!sg) return x;
    return b.CreateSelect(b.CreateICmpSLT(x, intConst(x, 0)), b.CreateSub(intConst(x, 0), x), x);
  }
  if (name == "Sign") {
    if (fl)
      return b.CreateSelect(b.CreateFCmpOGT(x, floatConst(x, 0)), floatConst(x, 1),
                            b.CreateSelect(b.CreateFCmpOLT(x, floatConst(x, 0)), floatConst(x, -1), x));
    if (!sg) return b.CreateSelect(b.CreateICmpUGT(x, intConst(x, 0)), intConst(x, 1), intConst(x, 0));
    return b.CreateSelect(b.CreateICmpSGT(x, intConst(x, 0)), intConst(x, 1),
                          b.CreateSelect(b.CreateICmpSLT(x, intConst(x, 0)), intConst(x, -1), x));
  }
  if (name == "Relu") {
    if (fl) return b.CreateSelect(b.CreateFCmpOLT(x, floatConst(x, 0)), floatConst(x, 0), x);
    return b.CreateSelect(b.CreateICmpSLT(x, intConst(x, 0)), intConst(x, 0), x);
  }
  if (name == "Not") return b.CreateNot(x);
  if (name == "Cast" || name == "CastLike") return convertScalar(env, x, dt, out);

  if (name == "Where") return b.CreateSelect(args.at(0), args.at(1), args.at(2));
  if (name == "Clip") {
    llvm::Value *v = x;
    if (op.operand(1)) {
      llvm::Value *lo = args.at(1);
      v = b.CreateSelect(fl ? b.CreateFCmpOLT(v, lo) : sg ? b.CreateICmpSLT(v, lo) : b.CreateICmpULT(v, lo), lo, v);
    }
    if (op.numOperands() > 2 && op.operand(2)) {
      llvm::Value *hi = args.at(op.operand(1) ? 2 : 1);
      v = b.CreateSelect(fl ? b.CreateFCmpOGT(v, hi) : sg ? b.CreateICmpSGT(v, hi) : b.CreateICmpUGT(v, hi), hi, v);
    }
    return v;
  }
  if (name == "Min" || name == "Max") {
    // Pairwise `b < a ? b : a` (Min) and `a < b ? b : a` (Max), exactly as
    // the interpreter folds them, NaN included.
    llvm::Value *acc = x;
    for (size_t i = 1; i < args.size(); ++i) {
      llvm::Value *y = args[i];
      auto less = [&](llvm::Value *p, llvm::Value *q) {
        return fl ? b.CreateFCmpOLT(p, q) : sg ? b.CreateICmpSLT(p, q) : b.CreateICmpULT(p, q);
      };
      acc = name == "Min" ? b.CreateSelect(less(y, acc), y, acc) : b.CreateSelect(less(acc, y), y, acc);
    }
    return acc;
  }

  if (args.size() != 2) fail("{}: codegen has no lowering for elementwise op {}", op.loc(), name);
  llvm::Value *y = args[1];
  if (name == "Pow") {
    DType et = op.operand(1)->type().dtype();
    // x^2 (RMSNorm's square): the double product of two f32 (or f16, bf16) values is exact, so rounding it
    // once is the f32 product, bit for bit the double pow the interpreter rounds. No libm call.
    const Value *e = op.operand(1);
    if (fl && dt != DType::F64 && out == dt && e->kind() == Value::Kind::Constant &&
        e->constant()->data.numElements() == 1 && e->constant()->data.getDouble(0) == 2.0)
      return b.CreateFMul(x, x);
    if (fl || isFloat(et)) {
      llvm::Value *xd = convertScalar(env, x, dt, DType::F64), *yd = convertScalar(env, y, et, DType::F64);
      llvm::Value *r = b.CreateBinaryIntrinsic(llvm::Intrinsic::pow, xd, yd);
      return convertScalar(env, r, DType::F64, out);
    }
    llvm::Value *xi = convertScalar(env, x, dt, DType::I64), *yi = convertScalar(env, y, et, DType::I64);
    return convertScalar(env, intPow(env, xi, yi), DType::I64, out);
  }
  if (name == "Add") return fl ? b.CreateFAdd(x, y) : b.CreateAdd(x, y);
  if (name == "Sub") return fl ? b.CreateFSub(x, y) : b.CreateSub(x, y);
  if (name == "Mul") return fl ? b.CreateFMul(x, y) : b.CreateMul(x, y);
  if (name == "Div") {
    if (fl) return b.CreateFDiv(x, y);
    // Integer division by 0 (rejected by the interpreter) gives 0 instead
    // of trapping; INT_MIN / -1 wraps.
    llvm::Value *zero = b.CreateICmpEQ(y, intConst(y, 0));
    llvm::Value *safe = b.CreateSelect(zero, intConst(y, 1), y);
    llvm::Value *q;
    if (sg) {
      llvm::Value *minusOne = b.CreateICmpEQ(safe, intConst(y, -1));
      q = b.CreateSelect(minusOne, b.CreateSub(intConst(x, 0), x), b.CreateSDiv(x, b.CreateSelect(minusOne, intConst(y, 1), safe)));
    } else {
      q = b.CreateUDiv(x, safe);
    }
    return b.CreateSelect(zero, intConst(x, 0), q);
  }
  if (name == "And") return b.CreateAnd(x, y);
  if (name == "Or") return b.CreateOr(x, y);
  if (name == "Equal") return fl ? b.CreateFCmpOEQ(x, y) : b.CreateICmpEQ(x, y);
  if (name == "Less") return fl ? b.CreateFCmpOLT(x, y) : sg ? b.CreateICmpSLT(x, y) : b.CreateICmpULT(x, y);
  if (name == "Greater") return fl ? b.CreateFCmpOGT(x, y) : sg ? b.CreateICmpSGT(x, y) : b.CreateICmpUGT(x, y);
  if (name == "LessOrEqual") return fl ? b.CreateFCmpOLE(x, y) : sg ? b.CreateICmpSLE(x, y) : b.CreateICmpULE(x, y);
  if (name == "GreaterOrEqual")
    return fl ? b.CreateFCmpOGE(x, y) : sg ? b.CreateICmpSGE(x, y) : b.CreateICmpUGE(x, y);
  fail("{}: codegen has no lowering for elementwise op {} on {}", op.loc(), name, dtypeName(dt));
}

OpCode lowerElementwiseTree(LoweringContext &lc, const Op &root) {
  // Leaves of the fused tree become the map's inputs; the compute function
  // replays the tree over them.
  const std::vector<Dim> &dims = root.result(0)->type().dims();
  auto map = std::make_shared<StridedMap>();
  map->dims = dims;
  map->output = {root.result(0), root.result(0)->type().dtype(), denseStrides(dims), 0};
  struct Node {
    const Op *op = nullptr;  // null: a leaf
    int leaf = -1;
    std::vector<int> children;  // indices into nodes (-1 for an omitted operand)
  };
  auto nodes = std::make_shared<std::vector<Node>>();
  std::function<int(const Value *)> visit = [&](const Value *v) -> int {
    if (lc.isFused(v)) {
      Node n;
      n.op = v->definingOp();
      for (const Value *operand : n.op->operands()) n.children.push_back(operand ? visit(operand) : -1);
      nodes->push_back(n);
      return int(nodes->size() - 1);
    }
    Node n;
    n.leaf = int(map->inputs.size());
    map->inputs.push_back({v, v->type().dtype(), broadcastStrides(v->type(), dims), 0});
    nodes->push_back(n);
    return int(nodes->size() - 1);
  };
  Node top;
  top.op = &root;
  for (const Value *operand : root.operands()) top.children.push_back(operand ? visit(operand) : -1);
  nodes->push_back(top);
  map->compute = [nodes](Env &env, const std::vector<llvm::Value *> &leaves, const std::vector<llvm::Value *> &) {
    std::vector<llvm::Value *> value(nodes->size(), nullptr);
    for (size_t i = 0; i < nodes->size(); ++i) {
      const Node &n = (*nodes)[i];
      if (!n.op) {
        value[i] = leaves[size_t(n.leaf)];
        continue;
      }
      std::vector<llvm::Value *> args;
      for (int c : n.children)
        if (c >= 0) args.push_back(value[size_t(c)]);
      value[i] = emitElementwise(env, *n.op, args);
    }
    return value.back();
  };
  simplify(*map);
  OpCode code;
  code.items = [map](Env &env) { return mapItems(env, *map); };
  Dim inner = 1;
  for (size_t k = 1; k < map->dims.size(); ++k) inner = inner * map->dims[k];
  code.grain = inner.isStatic() && inner.value() > 0 ? std::max<int64_t>(1, kElementsPerTask / inner.value()) : 1;
  code.body = [map](Env &env, llvm::Value *begin, llvm::Value *end) { emitMap(env, *map, begin, end); };
  return code;
}

} // namespace ternc::codegen
