// Lowering: the internals of lowering a planned ternc graph to LLVM IR —
// the environment an op's code is emitted in, the strided loop engine, and
// the table of per-op lowerings (LowerElementwise.cpp, LowerOps.cpp).
#pragma once

#include "ir/IR.h"

#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ternc::codegen {

/// Where one op's code is being emitted: the builder, the runtime context,
/// the symbol values and the op's buffers. The same lowering code runs in
/// the graph's run function (to count work items) and in the op's own
/// function (to do the work), so everything goes through this.
class Env {
public:
  Env(llvm::IRBuilder<> &b, llvm::Value *ctx, std::function<llvm::Value *(size_t)> symbol,
      std::function<llvm::Value *(const Value *)> buffer)
      : b(b), ctx(ctx), symbol_(std::move(symbol)), buffer_(std::move(buffer)) {}

  llvm::IRBuilder<> &b;
  llvm::Value *ctx;

  /// The buffer holding a value's elements (dense, row-major).
  llvm::Value *ptr(const Value *v) { return buffer_(v); }
  /// A dim as an i64 (a constant when static).
  llvm::Value *dim(const Dim &d);
  std::vector<llvm::Value *> dims(const Type &t);
  /// Product of dims [from, to).
  llvm::Value *product(const Type &t, size_t from, size_t to);
  llvm::Value *i64(int64_t v) { return b.getInt64(uint64_t(v)); }
  llvm::Module &module() { return *b.GetInsertBlock()->getModule(); }
  /// A function of the linked kernel library; throws Error if missing.
  llvm::Function *kernel(const std::string &name);

  /// Symbol names, in the model's order (set by the graph lowering).
  const std::vector<std::string> *symbolNames = nullptr;

private:
  std::function<llvm::Value *(size_t)> symbol_;
  std::function<llvm::Value *(const Value *)> buffer_;
};

/// The LLVM type elements of `dt` are stored as (bool as i8, f16/bf16 as i16).
llvm::Type *storageType(llvm::LLVMContext &c, DType dt);
/// The LLVM type arithmetic on `dt` uses (bool as i1, f16/bf16 as float).
llvm::Type *computeType(llvm::LLVMContext &c, DType dt);
/// Loads element `index` of a `dt` buffer as its compute type.
llvm::Value *loadElement(Env &env, DType dt, llvm::Value *base, llvm::Value *index);
/// Stores a compute-type value as element `index` of a `dt` buffer.
void storeElement(Env &env, DType dt, llvm::Value *base, llvm::Value *index, llvm::Value *v);
/// Converts a compute-type value between dtypes with Cast's semantics.
llvm::Value *convertScalar(Env &env, llvm::Value *v, DType from, DType to);
/// A constant of dtype `dt` (compute type) from a double.
llvm::Value *scalarConstant(Env &env, DType dt, double v);

/// Emits `for (idx[0] < n[0]) for (idx[1] < n[1]) ... body(idx)`; the
/// first loop runs over [begin, end) instead when `begin` is given.
void emitLoopNest(Env &env, const std::vector<llvm::Value *> &n,
                  const std::function<void(const std::vector<llvm::Value *> &)> &body,
                  llvm::Value *begin = nullptr, llvm::Value *end = nullptr);

/// One tensor read or written by a strided map: element at
/// offset + sum(idx[k] * strides[k]) of a dense buffer.
struct Access {
  const Value *value = nullptr;  ///< buffer of this value (or `base` if set)
  DType dtype = DType::F32;
  std::vector<Dim> strides;      ///< one per iteration dim, in elements
  Dim offset = 0;
};

/// A loop nest over `dims` that reads `inputs` at each index, combines
/// them with `compute` (compute-type values in, one out; null = copy
/// input 0) and stores into `output`. Adjacent dims are merged where every
/// access allows it, so that the innermost loop is long and contiguous and
/// vectorizes. The outermost (merged) dim is the unit of parallel work.
struct StridedMap {
  std::vector<Dim> dims;
  std::vector<Access> inputs;
  Access output;
  std::function<llvm::Value *(Env &, const std::vector<llvm::Value *> &inputs,
                              const std::vector<llvm::Value *> &idx)>
      compute;
};
/// Merges adjacent dims of `m` where possible (see StridedMap).
void simplify(StridedMap &m);
/// Number of parallel items (the outer dim) of a simplified map.
llvm::Value *mapItems(Env &env, const StridedMap &m);
/// Emits the map's loops for outer items [begin, end).
void emitMap(Env &env, const StridedMap &m, llvm::Value *begin, llvm::Value *end);
/// Row-major strides of `t` (in elements), 0 where `t` is broadcast to
/// `to` (numpy rules, aligned at the right).
std::vector<Dim> broadcastStrides(const Type &t, const std::vector<Dim> &to);
std::vector<Dim> denseStrides(const std::vector<Dim> &dims);

/// The code for one op: how many parallel work items it has (null: one
/// serial item), the minimum items per task, and the code doing items
/// [begin, end).
struct OpCode {
  std::function<llvm::Value *(Env &)> items;
  int64_t grain = 1;
  /// Overrides `grain` when the minimum depends on the shapes (kernels).
  std::function<llvm::Value *(Env &)> grainFn;
  std::function<void(Env &, llvm::Value *begin, llvm::Value *end)> body;
};

/// What a per-op lowering sees of the graph: which values are computed
/// inline (fused) rather than stored.
class LoweringContext {
public:
  virtual ~LoweringContext() = default;
  virtual bool isFused(const Value *v) const = 0;
};

using LowerFn = std::function<OpCode(LoweringContext &, const Op &)>;
/// The lowering of every op, by op name (LowerOps.cpp).
const std::map<std::string, LowerFn, std::less<>> &opLowerings();

/// Elementwise ops: the scalar function of one op on compute-type operands
/// (LowerElementwise.cpp). `operandTypes` are the op's operand dtypes.
llvm::Value *emitElementwise(Env &env, const Op &op, const std::vector<llvm::Value *> &args);
/// The code for an elementwise op at the root of a fused tree: one loop
/// that evaluates the whole tree per element.
OpCode lowerElementwiseTree(LoweringContext &lc, const Op &root);

/// A kernel-library call: `args` are computed in whichever Env the code
/// runs in; items/grain/body call tk_<name>_items / _grain / tk_<name>.
OpCode kernelCode(std::string name, std::function<std::vector<llvm::Value *>(Env &)> args);
llvm::Value *f32(Env &env, double v);
llvm::Value *nullPtr(Env &env);

/// The ternary ops (LowerTernary.cpp): ActQuant and TernaryMatMul call the
/// portable kernels, BitLinear the target kernel its packing pass chose.
OpCode lowerActQuant(LoweringContext &lc, const Op &op);
OpCode lowerTernaryMatMul(LoweringContext &lc, const Op &op);
OpCode lowerBitLinear(LoweringContext &lc, const Op &op);
/// The KV-cache state ops (LowerState.cpp).
OpCode lowerCacheUpdate(LoweringContext &lc, const Op &op);
OpCode lowerCacheRead(LoweringContext &lc, const Op &op);
OpCode lowerCacheWrite(LoweringContext &lc, const Op &op);
OpCode lowerAttention(LoweringContext &lc, const Op &op);
/// A MatMul on quantize-head's int8 weight -> tk_head_int8_f32 (LowerHead.cpp); nullopt for any other MatMul.
std::optional<OpCode> lowerHeadInt8(LoweringContext &lc, const Op &op);

/// Elements per parallel task below which loops are not split.
inline constexpr int64_t kElementsPerTask = 1 << 15;

} // namespace ternc::codegen
