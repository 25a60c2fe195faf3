// LowerTernary: the ternary ops. ActQuant and TernaryMatMul call the portable kernels (codegen/kernels/
// Kernels.h); BitLinear calls the kernel the target's legalization recorded on the op (`target.kernel`, a
// symbol of the target's bitcode with the contract of targets/BitLinearKernel.h), with the shapes, scale
// granularity, activation and fused operands as constants so LLVM specializes the kernel to the op.
#include "codegen/Lowering.h"

#include "ir/Error.h"
#include "ir/TernaryPacking.h"
#include "targets/BitLinearKernel.h"
#include "targets/Target.h"

namespace ternc::codegen {

namespace {

/// Rows (product of all dims but the last) and the last dim of a value.
std::pair<Dim, Dim> rowsAndLast(const Value *v) {
  const Type &t = v->type();
  Dim rows(1);
  for (size_t i = 0; i + 1 < t.rank(); ++i) rows = rows * t.dim(i);
  return {rows, t.dim(t.rank() - 1)};
}

/// sRow and group of the kernels' scale indexing (Kernels.h, targets/BitLinearKernel.h) for weight w.
std::pair<int64_t, int64_t> scaleIndexing(const Op &op, const Value *w) {
  const Type &t = w->type();
  if (!t.dim(1).isStatic()) fail("{}: {} needs a static K, got {}", op.loc(), op.opName(), t.str());
  int64_t k = t.dim(1).value();
  TernScale g = t.ternScale();
  switch (g.kind) {
  case TernScale::Tensor: return {0, k};
  case TernScale::Row: return {1, k};
  case TernScale::Group:
    if (g.group <= 0 || k % g.group) fail("{}: K = {} is not a multiple of the group size {}", op.loc(), k, g.group);
    return {k / g.group, g.group};
  default: fail("{}: the ternary weight {} has no scale granularity", op.loc(), t.str());
  }
}

/// The sRow code of scale operand `scale` when a target tiled it (ir/TernaryPacking.h, TK_SCALES_TILED16_*), 0
/// when it is plain.
int64_t tiledScaleCode(const Op &op, const Value *scale) {
  if (!scale || scale->kind() != Value::Kind::Constant || scale->constant()->layout.empty()) return 0;
  const ScaleTiling *tiling = findScaleTiling(scale->constant()->layout);
  if (!tiling) fail("{}: the scale @{} has the unknown layout \"{}\"", op.loc(), scale->name(), scale->constant()->layout);
  return tiling->half ? TK_SCALES_TILED16_F16 : TK_SCALES_TILED16_F32;
}

int64_t choiceIndex(const Op &op, std::string_view attr, std::initializer_list<std::string_view> values) {
  std::string v = op.attrs().getString(attr, std::string(*values.begin()));
  int64_t i = 0;
  for (std::string_view c : values) {
    if (c == v) return i;
    ++i;
  }
  fail("{}: {} = \"{}\" is not supported by codegen", op.loc(), attr, v);
}

} // namespace

OpCode lowerActQuant(LoweringContext &, const Op &op) {
  const Value *x = op.operand(0), *q = op.result(0), *s = op.result(1);
  const Value *scale = op.numOperands() > 1 ? op.operand(1) : nullptr;
  const Value *bias = op.numOperands() > 2 ? op.operand(2) : nullptr;
  auto [rows, k] = rowsAndLast(x);
  int64_t norm = choiceIndex(op, "norm", {"none", "rms", "rms-div", "layer"});
  int64_t scaleMode = choiceIndex(op, "scale", {"127/m", "rcp(m)*127", "m/127"});
  int64_t epsAdd = choiceIndex(op, "eps_mode", {"max", "add"});
  float eps = op.attrs().getFloat("eps", 1e-5f), normEps = op.attrs().getFloat("norm_eps", 1e-5f);
  return kernelCode("tk_actquant_f32", [=](Env &env) -> std::vector<llvm::Value *> {
    return {env.ptr(x),       scale ? env.ptr(scale) : nullPtr(env), bias ? env.ptr(bias) : nullPtr(env),
            env.ptr(q),       env.ptr(s),                            env.dim(rows),
            env.dim(k),       env.i64(norm),                         env.i64(scaleMode),
            env.i64(epsAdd),  f32(env, eps),                         f32(env, normEps)};
  });
}

OpCode lowerTernaryMatMul(LoweringContext &, const Op &op) {
  const Value *x = op.operand(0), *w = op.operand(1), *scale = op.operand(2), *y = op.result(0);
  if (w->kind() == Value::Kind::Constant && !w->constant()->layout.empty())
    fail("{}: TernaryMatMul reads plain ternary weights, but @{} is packed as {}", op.loc(), w->name(),
         w->constant()->layout);
  if (tiledScaleCode(op, scale))
    fail("{}: TernaryMatMul reads plain scales, but @{} is tiled as {}", op.loc(), scale->name(),
         scale->constant()->layout);
  auto [rows, k] = rowsAndLast(x);
  auto [sRow, group] = scaleIndexing(op, w);
  Dim n = w->type().dim(0);
  return kernelCode("tk_ternary_matmul_f32", [=](Env &env) -> std::vector<llvm::Value *> {
    return {env.ptr(x),  env.ptr(w),  env.ptr(scale), env.ptr(y),      env.dim(rows),
            env.dim(n),  env.dim(k),  env.i64(sRow),  env.i64(group)};
  });
}

OpCode lowerBitLinear(LoweringContext &, const Op &op) {
  enum : size_t { kQ, kS, kW, kWScale, kBias, kGate, kGateScale, kGateBias, kResidual };
  std::string kernel = op.attrs().getString(kTargetKernelAttr, "");
  const Value *w = op.operand(kW);
  if (kernel.empty())
    fail("{}: no kernel of this target takes this BitLinear (weight {}): the target's legalization left it "
         "(`ternc compile --explain-tiling` says why)",
         op.loc(), w->type().str());
  if (w->kind() != Value::Kind::Constant)
    fail("{}: BitLinear's weight must be a constant for kernel {}", op.loc(), kernel);
  auto opt = [&op](size_t i) -> const Value * { return i < op.numOperands() ? op.operand(i) : nullptr; };
  const Value *q = op.operand(kQ), *s = op.operand(kS), *ws = op.operand(kWScale), *bias = opt(kBias),
              *gate = opt(kGate), *gs = opt(kGateScale), *gb = opt(kGateBias), *res = opt(kResidual), *y = op.result(0);
  auto [rows, k] = rowsAndLast(q);
  auto [sRow, group] = scaleIndexing(op, w);
  if (gate && scaleIndexing(op, gate) != std::make_pair(sRow, group))
    fail("{}: BitLinear's gate weight has another scale granularity than its weight", op.loc());
  // Scales the legalization tiled: the kernel learns their layout from sRow (targets/BitLinearKernel.h).
  if (int64_t code = tiledScaleCode(op, ws); code || (gate && tiledScaleCode(op, gs))) {
    if (gate && tiledScaleCode(op, gs) != code)
      fail("{}: BitLinear's weight and gate scales are stored in different layouts", op.loc());
    if (w->type().ternScale().kind != TernScale::Group)
      fail("{}: tiled scales need per-group scales", op.loc());
    sRow = code;
  }
  Dim n = w->type().dim(0);
  int64_t act = choiceIndex(op, "act", {"none", "relu", "relu2", "silu", "gelu"});
  int64_t mul = choiceIndex(op, "dequant", {"div", "mul"});
  return kernelCode(kernel, [=](Env &env) -> std::vector<llvm::Value *> {
    auto ptr = [&env](const Value *v) { return v ? env.ptr(v) : nullPtr(env); };
    return {ptr(q),        ptr(s),        ptr(w),       ptr(ws),        ptr(bias),     ptr(gate),
            ptr(gs),       ptr(gb),       ptr(res),     ptr(y),         env.dim(rows), env.dim(n),
            env.dim(k),    env.i64(sRow), env.i64(group), env.i64(act), env.i64(mul)};
  });
}

} // namespace ternc::codegen
