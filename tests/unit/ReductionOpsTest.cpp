// ReductionOpsTest: type inference and reference semantics of ReduceSum,
// ReduceMean, ReduceMax and ReduceMin (ir/ops/Reduction.cpp). Expected
// values are numpy results pasted as literals.
#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/OpRegistry.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include "tests/unit/TensorTestUtil.h"

namespace ternc {
namespace {

using testutil::make;
using testutil::expectValues;

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

Type typeOf(const Tensor &t) { return Type(t.dtype(), std::vector<Dim>(t.shape().begin(), t.shape().end())); }

Attrs reduceAttrs(std::optional<std::vector<int64_t>> axes, int64_t keepdims = 1, int64_t noop = 0) {
  Attrs a;
  if (axes) a.set("axes", *axes);
  a.set("keepdims", keepdims);
  if (noop) a.set("noop_with_empty_axes", noop);
  return a;
}

/// Builds `name` on an argument typed like `x` (plus `axes` as a constant
/// operand 1 when given), infers, evaluates, and returns the result; the
/// inferred type must match the evaluated tensor.
Tensor run(std::string_view name, const Tensor &x, Attrs attrs, std::optional<Tensor> axes = std::nullopt) {
  Module m;
  Graph *g = m.addGraph("main");
  std::vector<Value *> operands{g->addArgument("x", typeOf(x))};
  std::vector<Tensor> inputs{x};
  if (axes) {
    operands.push_back(m.addConstant("axes", *axes));
    inputs.push_back(*axes);
  }
  Op *op = g->buildOp(name, operands, std::move(attrs), {"y"});
  EvalContext ctx(*op, inputs);
  std::vector<Tensor> out = op->def().eval(ctx);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(op->result(0)->type(), typeOf(out[0])) << "eval disagrees with inference for " << name;
  return out[0];
}

/// The ONNX reduce examples' data, shape [3, 2, 2].
Tensor example() { return make(DType::F32, {3, 2, 2}, {5, 1, 20, 2, 30, 1, 40, 2, 55, 1, 60, 2}); }

std::string inferredType(std::string_view name, Type x, Attrs attrs, Value *(*axesOperand)(Graph *, Module &) = nullptr) {
  Module m;
  Graph *g = m.addGraph("main");
  std::vector<Value *> operands{g->addArgument("x", std::move(x))};
  if (axesOperand) operands.push_back(axesOperand(g, m));
  try {
    return g->buildOp(name, operands, std::move(attrs), {"y"})->result(0)->type().str();
  } catch (const Error &e) {
    return std::string("error: ") + e.what();
  }
}

TEST(ReductionOps, KeepDims) {
  // numpy: f(data, axis=1, keepdims=True)
  expectValues(run("ReduceSum", example(), reduceAttrs(std::vector<int64_t>{1})), DType::F32, {3, 1, 2},
               {25, 3, 70, 3, 115, 3});
  expectValues(run("ReduceMean", example(), reduceAttrs(std::vector<int64_t>{1})), DType::F32, {3, 1, 2},
               {12.5, 1.5, 35, 1.5, 57.5, 1.5});
  expectValues(run("ReduceMax", example(), reduceAttrs(std::vector<int64_t>{1})), DType::F32, {3, 1, 2},
               {20, 2, 40, 2, 60, 2});
  expectValues(run("ReduceMin", example(), reduceAttrs(std::vector<int64_t>{1})), DType::F32, {3, 1, 2},
               {5, 1, 30, 1, 55, 1});
}

TEST(ReductionOps, DropDimsOverSeveralAxes) {
  // numpy: f(data, axis=(0, 2))
  Attrs a = reduceAttrs(std::vector<int64_t>{0, 2}, 0);
  expectValues(run("ReduceSum", example(), a), DType::F32, {2}, {93, 126});
  expectValues(run("ReduceMean", example(), a), DType::F32, {2}, {15.5, 21});
  expectValues(run("ReduceMax", example(), a), DType::F32, {2}, {55, 60});
  expectValues(run("ReduceMin", example(), a), DType::F32, {2}, {1, 2});
}

TEST(ReductionOps, NegativeAxes) {
  expectValues(run("ReduceMean", example(), reduceAttrs(std::vector<int64_t>{-1}, 0)), DType::F32, {3, 2},
               {3, 11, 15.5, 21, 28, 31});
  expectValues(run("ReduceMax", example(), reduceAttrs(std::vector<int64_t>{-1})), DType::F32, {3, 2, 1},
               {5, 20, 30, 40, 55, 60});
}

TEST(ReductionOps, AxesAsOperand) {
  expectValues(run("ReduceSum", example(), reduceAttrs(std::nullopt), Tensor::fromI64({-2})), DType::F32, {3, 1, 2},
               {25, 3, 70, 3, 115, 3});
  expectValues(run("ReduceMin", example(), reduceAttrs(std::nullopt, 0), Tensor::fromI64({0, -1})), DType::F32, {2},
               {1, 2});
}

TEST(ReductionOps, EmptyAxesReduceEverything) {
  expectValues(run("ReduceSum", example(), reduceAttrs(std::nullopt)), DType::F32, {1, 1, 1}, {219});
  expectValues(run("ReduceMean", example(), reduceAttrs(std::vector<int64_t>{}, 0)), DType::F32, {}, {18.25});
  expectValues(run("ReduceMax", example(), reduceAttrs(std::nullopt, 0), Tensor::fromI64({})), DType::F32, {}, {60});
}

TEST(ReductionOps, NoopWithEmptyAxes) {
  Tensor x = example();
  EXPECT_TRUE(run("ReduceSum", x, reduceAttrs(std::nullopt, 1, 1), Tensor::fromI64({})).identical(x));
  EXPECT_TRUE(run("ReduceMin", x, reduceAttrs(std::nullopt, 0, 1)).identical(x));
  // Non-empty axes still reduce.
  expectValues(run("ReduceSum", x, reduceAttrs(std::nullopt, 0, 1), Tensor::fromI64({0, 1, 2})), DType::F32, {},
               {219});
}

TEST(ReductionOps, IntegerReductions) {
  Tensor x = make(DType::I32, {2, 2}, {-7, 0, 4, 1});
  // numpy: mean(axis=1).astype(int32) = [-3, 2]: the mean truncates toward zero.
  expectValues(run("ReduceMean", x, reduceAttrs(std::vector<int64_t>{1}, 0)), DType::I32, {2}, {-3, 2});
  expectValues(run("ReduceSum", x, reduceAttrs(std::vector<int64_t>{0}, 0)), DType::I32, {2}, {-3, 1});
  expectValues(run("ReduceMax", x, reduceAttrs(std::vector<int64_t>{0}, 0)), DType::I32, {2}, {4, 1});
  Tensor u = make(DType::U8, {3}, {200, 100, 7});
  expectValues(run("ReduceMin", u, reduceAttrs(std::nullopt, 0)), DType::U8, {}, {7});
  Tensor big = make(DType::U64, {2}, {0, 0});
  big.mutableData<uint64_t>()[1] = uint64_t(1) << 63;
  Tensor m = run("ReduceMax", big, reduceAttrs(std::nullopt, 0));
  EXPECT_EQ(m.data<uint64_t>()[0], uint64_t(1) << 63);
}

TEST(ReductionOps, HalfPrecision) {
  Tensor x = make(DType::F16, {2, 2}, {1, 2.5, -3, 0.125});
  expectValues(run("ReduceSum", x, reduceAttrs(std::vector<int64_t>{1}, 0)), DType::F16, {2}, {3.5, -2.875});
  expectValues(run("ReduceMean", make(DType::BF16, {2}, {1, 2}), reduceAttrs(std::nullopt, 0)), DType::BF16, {}, {1.5});
}

TEST(ReductionOps, NaNPropagatesThroughMaxAndMin) {
  Tensor x = make(DType::F32, {2, 2}, {1, kNaN, 3, 4});
  expectValues(run("ReduceMax", x, reduceAttrs(std::vector<int64_t>{1}, 0)), DType::F32, {2}, {kNaN, 4});
  expectValues(run("ReduceMin", x, reduceAttrs(std::vector<int64_t>{0}, 0)), DType::F32, {2}, {1, kNaN});
}

TEST(ReductionOps, EmptySet) {
  // Reducing a size-0 axis: sum 0, max -inf, min +inf (ONNX's empty-set
  // rule), integer max the dtype's lowest value, mean NaN.
  Tensor x = make(DType::F32, {2, 0}, {});
  Attrs a = reduceAttrs(std::vector<int64_t>{1}, 0);
  expectValues(run("ReduceSum", x, a), DType::F32, {2}, {0, 0});
  expectValues(run("ReduceMax", x, a), DType::F32, {2}, {-kInf, -kInf});
  expectValues(run("ReduceMin", x, a), DType::F32, {2}, {kInf, kInf});
  expectValues(run("ReduceMean", x, a), DType::F32, {2}, {kNaN, kNaN});
  expectValues(run("ReduceMax", make(DType::I32, {0}, {}), reduceAttrs(std::nullopt)), DType::I32, {1},
               {double(std::numeric_limits<int32_t>::min())});
  expectValues(run("ReduceMin", make(DType::U8, {0}, {}), reduceAttrs(std::nullopt, 0)), DType::U8, {}, {255});
  // Keeping a size-0 axis un-reduced gives an empty result.
  expectValues(run("ReduceSum", x, reduceAttrs(std::vector<int64_t>{0})), DType::F32, {1, 0}, {});
}

TEST(ReductionOps, InfersSymbolicDims) {
  Type x(DType::F32, {Dim::symbol("batch"), Dim::symbol("seq"), 64});
  EXPECT_EQ(inferredType("ReduceMean", x, reduceAttrs(std::vector<int64_t>{-1})), "f32[batch,seq,1]");
  EXPECT_EQ(inferredType("ReduceSum", x, reduceAttrs(std::vector<int64_t>{1}, 0)), "f32[batch,64]");
  EXPECT_EQ(inferredType("ReduceMax", x, reduceAttrs(std::nullopt, 0)), "f32[]");
  EXPECT_EQ(inferredType("ReduceMin", x, reduceAttrs(std::nullopt, 1, 1)), "f32[batch,seq,64]");
  EXPECT_EQ(inferredType("ReduceSum", Type::unranked(DType::F32), reduceAttrs(std::vector<int64_t>{0})), "f32[*]");
}

TEST(ReductionOps, AxesKnownOnlyAtRunTime) {
  auto runtimeAxes = [](Graph *g, Module &) { return g->addArgument("axes", Type(DType::I64, {1})); };
  Type x(DType::F32, {Dim::symbol("batch"), 1, 8});
  EXPECT_EQ(inferredType("ReduceSum", x, reduceAttrs(std::nullopt), runtimeAxes), "f32[?,1,?]");
  EXPECT_EQ(inferredType("ReduceSum", x, reduceAttrs(std::nullopt, 0), runtimeAxes), "f32[*]");
}

TEST(ReductionOps, RejectsBadAxes) {
  Type x(DType::F32, {2, 3});
  EXPECT_NE(inferredType("ReduceSum", x, reduceAttrs(std::vector<int64_t>{2})).find("out of range"),
            std::string::npos);
  EXPECT_NE(inferredType("ReduceSum", x, reduceAttrs(std::vector<int64_t>{1, -1})).find("listed twice"),
            std::string::npos);
  auto constAxes = [](Graph *, Module &m) { return m.addConstant("axes", Tensor::fromI64({0})); };
  EXPECT_NE(inferredType("ReduceMean", x, reduceAttrs(std::vector<int64_t>{0}), constAxes).find("both"),
            std::string::npos);
  auto floatAxes = [](Graph *g, Module &) { return g->addArgument("axes", Type(DType::F32, {1})); };
  EXPECT_NE(inferredType("ReduceMean", x, reduceAttrs(std::nullopt), floatAxes).find("integer"), std::string::npos);
  EXPECT_NE(inferredType("ReduceSum", Type(DType::Bool, {2}), reduceAttrs(std::nullopt)).find("numeric"),
            std::string::npos);
}

} // namespace
} // namespace ternc
