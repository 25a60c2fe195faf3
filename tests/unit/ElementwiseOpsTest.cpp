// ElementwiseOpsTest: type inference and reference semantics of the
// elementwise ops (ir/ops/Elementwise.cpp). Expected values are literals
// worked out by hand or with numpy, never by the code under test.
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
using testutil::makeInt;

const double kNaN = std::numeric_limits<double>::quiet_NaN();
const double kInf = std::numeric_limits<double>::infinity();

Type typeOf(const Tensor &t) { return Type(t.dtype(), std::vector<Dim>(t.shape().begin(), t.shape().end())); }

/// One op in a fresh graph, with an argument per input (null tensors stand
/// for omitted optional operands).
struct OneOp {
  Module module;
  Graph *graph = module.addGraph("main");
  Op *op = nullptr;

  OneOp(std::string_view name, const std::vector<Tensor> &inputs, Attrs attrs = {}) {
    std::vector<Value *> operands;
    for (size_t i = 0; i < inputs.size(); ++i)
      operands.push_back(inputs[i].isValid() ? graph->addArgument("in" + std::to_string(i), typeOf(inputs[i]))
                                             : nullptr);
    op = graph->buildOp(name, operands, std::move(attrs), {"y"});
  }
  std::string type() const { return op->result(0)->type().str(); }
};

/// Infers and evaluates `name` on concrete inputs; returns result 0.
Tensor run(std::string_view name, const std::vector<Tensor> &inputs, Attrs attrs = {}) {
  OneOp one(name, inputs, std::move(attrs));
  EvalContext ctx(*one.op, inputs);
  std::vector<Tensor> out = one.op->def().eval(ctx);
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(one.op->result(0)->type(), typeOf(out[0])) << "eval disagrees with inference for " << name;
  return out[0];
}

void expectInts(const Tensor &t, DType dt, const std::vector<int64_t> &shape, const std::vector<int64_t> &want) {
  ASSERT_EQ(t.dtype(), dt) << dtypeName(t.dtype());
  ASSERT_EQ(t.shape(), shape);
  ASSERT_EQ(t.toI64Vector(), want);
}

/// The message of the Error that inferring `name` throws ("" if none).
std::string inferError(std::string_view name, const std::vector<Type> &types, Attrs attrs = {}) {
  Module m;
  Graph *g = m.addGraph("main");
  std::vector<Value *> operands;
  for (size_t i = 0; i < types.size(); ++i) operands.push_back(g->addArgument("in" + std::to_string(i), types[i]));
  try {
    g->buildOp(name, operands, std::move(attrs), {"y"});
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

Dim sym(const char *name) { return Dim::symbol(name); }

// ---------------------------------------------------------------------------
// Broadcasting binary arithmetic
// ---------------------------------------------------------------------------

TEST(ElementwiseOps, AddBroadcastsLowerRankOperand) {
  Tensor a = make(DType::F32, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = make(DType::F32, {3}, {10, 20, 30});
  expectValues(run("Add", {a, b}), DType::F32, {2, 3}, {11, 22, 33, 14, 25, 36});
}

TEST(ElementwiseOps, MulByScalar) {
  Tensor a = make(DType::F32, {2, 2}, {1, -2, 3.5, 0});
  Tensor s = make(DType::F32, {}, {2});
  expectValues(run("Mul", {a, s}), DType::F32, {2, 2}, {2, -4, 7, 0});
  expectValues(run("Mul", {s, a}), DType::F32, {2, 2}, {2, -4, 7, 0});
}

TEST(ElementwiseOps, SubBroadcastsBothOperands) {
  // numpy: arange(3).reshape(3,1)*1.5 - [[1,-2,3,0.5]]
  Tensor a = make(DType::F32, {3, 1}, {0, 1.5, 3});
  Tensor b = make(DType::F32, {1, 4}, {1, -2, 3, 0.5});
  expectValues(run("Sub", {a, b}), DType::F32, {3, 4}, {-1, 2, -3, -0.5, 0.5, 3.5, -1.5, 1, 2, 5, 0, 2.5});
}

TEST(ElementwiseOps, BroadcastWithEmptyDimension) {
  Tensor a = make(DType::F32, {0, 3}, {});
  Tensor b = make(DType::F32, {1, 3}, {1, 2, 3});
  expectValues(run("Add", {a, b}), DType::F32, {0, 3}, {});
}

TEST(ElementwiseOps, IntegerDivTruncatesTowardZero) {
  Tensor a = makeInt(DType::I32, {4}, {7, -7, 7, -7});
  Tensor b = makeInt(DType::I32, {4}, {2, 2, -2, -2});
  expectInts(run("Div", {a, b}), DType::I32, {4}, {3, -3, -3, 3});
  Tensor u = makeInt(DType::U8, {2}, {250, 9});
  Tensor v = makeInt(DType::U8, {}, {4});
  expectInts(run("Div", {u, v}), DType::U8, {2}, {62, 2});
  Tensor m = makeInt(DType::I64, {1}, {std::numeric_limits<int64_t>::min()});
  Tensor n = makeInt(DType::I64, {1}, {-1});
  expectInts(run("Div", {m, n}), DType::I64, {1}, {std::numeric_limits<int64_t>::min()});
}

TEST(ElementwiseOps, IntegerDivisionByZeroIsAnError) {
  Tensor a = makeInt(DType::I64, {2}, {1, 2});
  Tensor b = makeInt(DType::I64, {2}, {1, 0});
  EXPECT_THROW(run("Div", {a, b}), Error);
  // Floats follow IEEE.
  expectValues(run("Div", {make(DType::F32, {2}, {1, -1}), make(DType::F32, {2}, {0, 0})}), DType::F32, {2},
               {kInf, -kInf});
}

TEST(ElementwiseOps, IntegerArithmeticWraps) {
  // numpy: uint8 [200, 10] + [100, 5] = [44, 15]
  expectInts(run("Add", {makeInt(DType::U8, {2}, {200, 10}), makeInt(DType::U8, {2}, {100, 5})}), DType::U8, {2},
             {44, 15});
  expectInts(run("Mul", {makeInt(DType::I8, {1}, {100}), makeInt(DType::I8, {1}, {3})}), DType::I8, {1}, {44});
  expectInts(run("Sub", {makeInt(DType::U16, {1}, {1}), makeInt(DType::U16, {1}, {2})}), DType::U16, {1}, {65535});
}

TEST(ElementwiseOps, HalfPrecisionComputesInFloatAndRounds) {
  // numpy float16: [1.0, 0.1] + [2**-11, 0.2] = [1.0, 0.2998046875]
  Tensor a = make(DType::F16, {2}, {1.0, 0.1});
  Tensor b = make(DType::F16, {2}, {std::ldexp(1.0, -11), 0.2});
  Tensor y = run("Add", {a, b});
  ASSERT_EQ(y.dtype(), DType::F16);
  EXPECT_EQ(y.data<uint16_t>()[0], 0x3c00);
  EXPECT_EQ(y.data<uint16_t>()[1], 0x34cc);
  Tensor c = make(DType::BF16, {2}, {1.5, -2.0});
  expectValues(run("Mul", {c, c}), DType::BF16, {2}, {2.25, 4.0});
}

TEST(ElementwiseOps, PowKeepsTheBaseDType) {
  // numpy: float32 [1.5, 2, -2] ** int64 [2, 3, 3]
  Tensor y = run("Pow", {make(DType::F32, {3}, {1.5, 2, -2}), makeInt(DType::I64, {3}, {2, 3, 3})});
  expectValues(y, DType::F32, {3}, {2.25, 8, -8});
  // ONNX test_pow_types_int64_float32: int64 [1,2,3] ** float32 [4,5,6]
  y = run("Pow", {makeInt(DType::I64, {3}, {1, 2, 3}), make(DType::F32, {3}, {4, 5, 6})});
  expectInts(y, DType::I64, {3}, {1, 32, 729});
  // Integer powers are exact beyond double precision: 3**39.
  y = run("Pow", {makeInt(DType::I64, {}, {3}), makeInt(DType::I64, {}, {39})});
  expectInts(y, DType::I64, {}, {4052555153018976267});
  y = run("Pow", {makeInt(DType::I32, {4}, {2, 1, -1, -1}), makeInt(DType::I32, {4}, {-1, -3, -3, -2})});
  expectInts(y, DType::I32, {4}, {0, 1, -1, 1});
  y = run("Pow", {make(DType::F32, {2}, {4, 9}), make(DType::F32, {}, {0.5})});
  expectValues(y, DType::F32, {2}, {2, 3});
}

// ---------------------------------------------------------------------------
// Inference
// ---------------------------------------------------------------------------

TEST(ElementwiseOps, InfersSymbolicBroadcast) {
  Type x(DType::F32, {sym("batch"), 4});
  Type b(DType::F32, {4});
  Module m;
  Graph *g = m.addGraph("main");
  Value *vx = g->addArgument("x", x), *vb = g->addArgument("b", b);
  EXPECT_EQ(g->buildOp("Add", {vx, vb}, {}, {"y"})->result(0)->type().str(), "f32[batch,4]");
  Value *col = g->addArgument("col", Type(DType::F32, {sym("batch"), 1}));
  Value *row = g->addArgument("row", Type(DType::F32, {1, sym("seq")}));
  EXPECT_EQ(g->buildOp("Mul", {col, row}, {}, {"z"})->result(0)->type().str(), "f32[batch,seq]");
  EXPECT_EQ(g->buildOp("Less", {col, row}, {}, {"c"})->result(0)->type().str(), "bool[batch,seq]");
  Value *u = g->addArgument("u", Type::unranked(DType::F32));
  EXPECT_EQ(g->buildOp("Sub", {vx, u}, {}, {"w"})->result(0)->type().str(), "f32[*]");
}

TEST(ElementwiseOps, RejectsMismatchedOperands) {
  std::string msg = inferError("Add", {Type(DType::F32, {2}), Type(DType::I64, {2})});
  EXPECT_NE(msg.find("operand dtypes differ: f32 vs i64"), std::string::npos) << msg;
  msg = inferError("Mul", {Type(DType::F32, {2, 3}), Type(DType::F32, {4})});
  EXPECT_NE(msg.find("cannot be broadcast"), std::string::npos) << msg;
  msg = inferError("Sqrt", {Type(DType::I32, {2})});
  EXPECT_NE(msg.find("floating-point"), std::string::npos) << msg;
  msg = inferError("And", {Type(DType::F32, {2}), Type(DType::F32, {2})});
  EXPECT_NE(msg.find("bool"), std::string::npos) << msg;
  msg = inferError("Where", {Type(DType::F32, {2}), Type(DType::F32, {2}), Type(DType::F32, {2})});
  EXPECT_NE(msg.find("bool"), std::string::npos) << msg;
  msg = inferError("Cast", {Type(DType::F32, {2})});
  EXPECT_NE(msg.find("'to'"), std::string::npos) << msg;
  msg = inferError("Clip", {Type(DType::F32, {2}), Type(DType::F32, {2})});
  EXPECT_NE(msg.find("scalar"), std::string::npos) << msg;
  EXPECT_NE(inferError("Max", {Type(DType::F32, {2}), Type(DType::F16, {2})}), "");
}

// ---------------------------------------------------------------------------
// Unary ops
// ---------------------------------------------------------------------------

TEST(ElementwiseOps, FloatMath) {
  // numpy float32 over x = [0.25, 1, 2, 4.5]
  Tensor x = make(DType::F32, {4}, {0.25, 1, 2, 4.5});
  const double tol = 1e-6;
  expectValues(run("Sqrt", {x}), DType::F32, {4}, {0.5, 1.0, 1.4142135381698608, 2.1213202476501465}, tol);
  expectValues(run("Reciprocal", {x}), DType::F32, {4}, {4.0, 1.0, 0.5, 0.2222222238779068}, tol);
  expectValues(run("Exp", {x}), DType::F32, {4}, {1.2840255498886108, 2.7182819843292236, 7.3890557289123535,
                                                  90.01712799072266}, tol);
  expectValues(run("Log", {x}), DType::F32, {4}, {-1.3862943649291992, 0.0, 0.6931471824645996, 1.504077434539795},
               tol);
  expectValues(run("Tanh", {x}), DType::F32, {4}, {0.24491865932941437, 0.7615941762924194, 0.9640275835990906,
                                                   0.9997532367706299}, tol);
  expectValues(run("Sigmoid", {x}), DType::F32, {4}, {0.562176525592804, 0.7310585975646973, 0.8807970285415649,
                                                      0.9890130758285522}, tol);
  expectValues(run("Cos", {x}), DType::F32, {4}, {0.9689124226570129, 0.5403022766113281, -0.41614681482315063,
                                                  -0.2107957899570465}, tol);
  expectValues(run("Sin", {x}), DType::F32, {4}, {0.24740396440029144, 0.8414710164070129, 0.9092974066734314,
                                                  -0.9775301218032837}, tol);
  Tensor e = make(DType::F32, {5}, {-1.5, -0.5, 0.0, 0.3, 2.0});
  expectValues(run("Erf", {e}), DType::F32, {5}, {-0.9661051630973816, -0.5204998850822449, 0.0, 0.3286267817020416,
                                                  0.9953222870826721}, tol);
  Tensor s = make(DType::F64, {3}, {-3, 0, 3});
  expectValues(run("Sigmoid", {s}), DType::F64, {3}, {0.04742587317756678, 0.5, 0.9525741268224334}, 1e-12);
  expectValues(run("Log", {make(DType::F32, {2}, {0, -1})}), DType::F32, {2}, {-kInf, kNaN});
}

TEST(ElementwiseOps, FloorCeilAndRoundHalfToEven) {
  Tensor x = make(DType::F32, {4}, {-1.5, -0.5, 0.5, 1.7});
  expectValues(run("Floor", {x}), DType::F32, {4}, {-2, -1, 0, 1});
  expectValues(run("Ceil", {x}), DType::F32, {4}, {-1, 0, 1, 2});
  // ONNX test_round: halves go to the even neighbour.
  Tensor r = make(DType::F32, {15}, {0.1, 0.5, 0.9, 1.2, 1.5, 1.8, 2.3, 2.5, 2.7, -1.1, -1.5, -1.9, -2.2, -2.5, -2.8});
  expectValues(run("Round", {r}), DType::F32, {15}, {0, 0, 1, 1, 2, 2, 2, 2, 3, -1, -2, -2, -2, -2, -3});
  expectValues(run("Round", {make(DType::F16, {3}, {0.5, 1.5, -3.5})}), DType::F16, {3}, {0, 2, -4});
}

TEST(ElementwiseOps, SignedUnaryOps) {
  Tensor f = make(DType::F32, {5}, {-2.5, -0.0, 0.0, 3, kNaN});
  expectValues(run("Neg", {f}), DType::F32, {5}, {2.5, 0, 0, -3, kNaN});
  expectValues(run("Abs", {f}), DType::F32, {5}, {2.5, 0, 0, 3, kNaN});
  expectValues(run("Sign", {f}), DType::F32, {5}, {-1, 0, 0, 1, kNaN});
  expectValues(run("Relu", {f}), DType::F32, {5}, {0, 0, 0, 3, kNaN});
  Tensor i = makeInt(DType::I8, {4}, {-128, -3, 0, 7});
  expectInts(run("Neg", {i}), DType::I8, {4}, {-128, 3, 0, -7});
  expectInts(run("Abs", {i}), DType::I8, {4}, {-128, 3, 0, 7});
  expectInts(run("Sign", {i}), DType::I8, {4}, {-1, -1, 0, 1});
  expectInts(run("Relu", {i}), DType::I8, {4}, {0, 0, 0, 7});
  Tensor u = makeInt(DType::U32, {2}, {0, 4000000000});
  expectInts(run("Abs", {u}), DType::U32, {2}, {0, 4000000000});
  expectInts(run("Sign", {u}), DType::U32, {2}, {0, 1});
  EXPECT_NE(inferError("Neg", {Type(DType::U8, {2})}), "");
}

TEST(ElementwiseOps, IdentityReturnsItsOperand) {
  Tensor t = makeInt(DType::I16, {2, 1}, {5, -6});
  Tensor y = run("Identity", {t});
  EXPECT_TRUE(y.identical(t));
}

// ---------------------------------------------------------------------------
// Comparison and logic
// ---------------------------------------------------------------------------

TEST(ElementwiseOps, ComparisonsGiveBool) {
  Tensor a = make(DType::F32, {2, 2}, {1, 2, 3, kNaN});
  Tensor b = make(DType::F32, {2}, {2, 2});
  expectInts(run("Equal", {a, b}), DType::Bool, {2, 2}, {0, 1, 0, 0});
  expectInts(run("Less", {a, b}), DType::Bool, {2, 2}, {1, 0, 0, 0});
  expectInts(run("Greater", {a, b}), DType::Bool, {2, 2}, {0, 0, 1, 0});
  expectInts(run("LessOrEqual", {a, b}), DType::Bool, {2, 2}, {1, 1, 0, 0});
  expectInts(run("GreaterOrEqual", {a, b}), DType::Bool, {2, 2}, {0, 1, 1, 0});
  // Unsigned comparisons stay unsigned: 2^63 is greater than 1.
  Tensor big = makeInt(DType::U64, {1}, {std::numeric_limits<int64_t>::min()});
  expectInts(run("Greater", {big, makeInt(DType::U64, {1}, {1})}), DType::Bool, {1}, {1});
  Tensor p = makeInt(DType::Bool, {2}, {1, 0});
  expectInts(run("Equal", {p, makeInt(DType::Bool, {}, {0})}), DType::Bool, {2}, {0, 1});
}

TEST(ElementwiseOps, LogicOps) {
  Tensor a = makeInt(DType::Bool, {2, 2}, {0, 0, 1, 1});
  Tensor b = makeInt(DType::Bool, {2}, {0, 1});
  expectInts(run("And", {a, b}), DType::Bool, {2, 2}, {0, 0, 0, 1});
  expectInts(run("Or", {a, b}), DType::Bool, {2, 2}, {0, 1, 1, 1});
  expectInts(run("Not", {b}), DType::Bool, {2}, {1, 0});
}

TEST(ElementwiseOps, WhereBroadcastsAllThree) {
  Tensor c = makeInt(DType::Bool, {2, 1}, {1, 0});
  Tensor x = make(DType::F32, {3}, {1, 2, 3});
  Tensor y = make(DType::F32, {}, {-1});
  expectValues(run("Where", {c, x, y}), DType::F32, {2, 3}, {1, 2, 3, -1, -1, -1});
  Tensor xi = makeInt(DType::I64, {2, 2}, {1, 2, 3, 4});
  Tensor yi = makeInt(DType::I64, {2, 2}, {9, 8, 7, 6});
  expectInts(run("Where", {makeInt(DType::Bool, {2}, {0, 1}), xi, yi}), DType::I64, {2, 2}, {9, 2, 7, 4});
}

// ---------------------------------------------------------------------------
// Min, Max, Clip
// ---------------------------------------------------------------------------

TEST(ElementwiseOps, MinMaxAreVariadicWithBroadcasting) {
  // ONNX test_max_example / test_min_example
  Tensor a = make(DType::F32, {3}, {3, 2, 1}), b = make(DType::F32, {3}, {1, 4, 4}), c = make(DType::F32, {3}, {2, 5, 3});
  expectValues(run("Max", {a, b, c}), DType::F32, {3}, {3, 5, 4});
  expectValues(run("Min", {a, b, make(DType::F32, {3}, {2, 5, 0})}), DType::F32, {3}, {1, 2, 0});
  expectValues(run("Max", {a}), DType::F32, {3}, {3, 2, 1});
  Tensor col = make(DType::F32, {2, 1}, {0, 2.5});
  expectValues(run("Max", {col, a}), DType::F32, {2, 3}, {3, 2, 1, 3, 2.5, 2.5});
  // NaN propagates, as numpy.maximum / numpy.minimum.
  Tensor n = make(DType::F32, {2}, {kNaN, 1});
  expectValues(run("Max", {n, make(DType::F32, {2}, {0, kNaN})}), DType::F32, {2}, {kNaN, kNaN});
  expectValues(run("Min", {make(DType::F32, {2}, {0, 5}), n}), DType::F32, {2}, {kNaN, 1});
  Tensor u = makeInt(DType::U64, {2}, {1, std::numeric_limits<int64_t>::min()});
  expectInts(run("Max", {u, makeInt(DType::U64, {}, {2})}), DType::U64, {2}, {2, std::numeric_limits<int64_t>::min()});
  expectInts(run("Min", {makeInt(DType::I8, {2}, {-5, 5}), makeInt(DType::I8, {2}, {3, -3})}), DType::I8, {2},
             {-5, -3});
}

TEST(ElementwiseOps, ClipWithOptionalBounds) {
  Tensor x = make(DType::F32, {5}, {-2, -1, 0, 1, 2});
  Tensor lo = make(DType::F32, {}, {-1}), hi = make(DType::F32, {}, {1});
  expectValues(run("Clip", {x, lo, hi}), DType::F32, {5}, {-1, -1, 0, 1, 1});
  expectValues(run("Clip", {x, lo}), DType::F32, {5}, {-1, -1, 0, 1, 2});
  expectValues(run("Clip", {x, Tensor(), hi}), DType::F32, {5}, {-2, -1, 0, 1, 1});
  expectValues(run("Clip", {x}), DType::F32, {5}, {-2, -1, 0, 1, 2});
  // min > max: everything becomes max.
  expectValues(run("Clip", {x, hi, lo}), DType::F32, {5}, {-1, -1, -1, -1, -1});
  Tensor i = makeInt(DType::I8, {4}, {-128, -5, 5, 127});
  expectInts(run("Clip", {i, makeInt(DType::I8, {}, {-4}), makeInt(DType::I8, {}, {100})}), DType::I8, {4},
             {-4, -4, 5, 100});
  expectValues(run("Clip", {make(DType::F32, {1}, {kNaN}), lo, hi}), DType::F32, {1}, {kNaN});
}

// ---------------------------------------------------------------------------
// Cast and CastLike
// ---------------------------------------------------------------------------

Attrs castTo(DType dt) {
  Attrs a;
  a.set("to", dt);
  return a;
}

TEST(ElementwiseOps, CastFloatToIntTruncates) {
  Tensor x = make(DType::F32, {4}, {-1.7, 1.7, 2.5, -0.5});
  expectInts(run("Cast", {x}, castTo(DType::I32)), DType::I32, {4}, {-1, 1, 2, 0});
  Tensor y = make(DType::F64, {2}, {255.9, 3.99});
  expectInts(run("Cast", {y}, castTo(DType::U8)), DType::U8, {2}, {255, 3});
}

TEST(ElementwiseOps, CastToAndFromBool) {
  Tensor x = make(DType::F32, {5}, {0, -0.0, 0.1, -3, kNaN});
  expectInts(run("Cast", {x}, castTo(DType::Bool)), DType::Bool, {5}, {0, 0, 1, 1, 1});
  Tensor b = makeInt(DType::Bool, {3}, {1, 0, 1});
  expectValues(run("Cast", {b}, castTo(DType::F32)), DType::F32, {3}, {1, 0, 1});
  expectInts(run("Cast", {makeInt(DType::I64, {3}, {0, 2, -1})}, castTo(DType::Bool)), DType::Bool, {3}, {0, 1, 1});
}

TEST(ElementwiseOps, CastBetweenIntsWraps) {
  // numpy: int64 [300, -129, 127] .astype(int8) = [44, 127, 127]
  Tensor x = makeInt(DType::I64, {3}, {300, -129, 127});
  expectInts(run("Cast", {x}, castTo(DType::I8)), DType::I8, {3}, {44, 127, 127});
  Tensor u = makeInt(DType::U8, {2}, {255, 0});
  expectInts(run("Cast", {u}, castTo(DType::I64)), DType::I64, {2}, {255, 0});
  expectInts(run("Cast", {makeInt(DType::I8, {1}, {-1})}, castTo(DType::U16)), DType::U16, {1}, {65535});
}

TEST(ElementwiseOps, CastToHalfRoundsToNearestEven) {
  // numpy float32 -> float16: 1+2^-11 is a tie (-> 1.0), 1+3*2^-11 rounds up,
  // 65520 overflows to inf, 1e-8 underflows to 0, 0.1 -> 0x2e66.
  Tensor x = make(DType::F32, {5}, {1 + std::ldexp(1.0, -11), 1 + 3 * std::ldexp(1.0, -11), 65520, 1e-8, 0.1});
  Tensor y = run("Cast", {x}, castTo(DType::F16));
  ASSERT_EQ(y.dtype(), DType::F16);
  std::vector<uint16_t> bits(y.data<uint16_t>(), y.data<uint16_t>() + 5);
  EXPECT_EQ(bits, (std::vector<uint16_t>{0x3c00, 0x3c02, 0x7c00, 0x0000, 0x2e66}));
  expectValues(run("Cast", {y}, castTo(DType::F64)), DType::F64, {5}, {1.0, 1.001953125, kInf, 0, 0.0999755859375});
}

TEST(ElementwiseOps, CastToBFloat16RoundsToNearestEven) {
  // torch float32 -> bfloat16 bits: 3f80 3f80 3f81 4049 bb24
  Tensor x = make(DType::F32, {5}, {1.0, 1.00390625, 1.005859375, 3.14159265, -2.5e-3});
  Tensor y = run("Cast", {x}, castTo(DType::BF16));
  std::vector<uint16_t> bits(y.data<uint16_t>(), y.data<uint16_t>() + 5);
  EXPECT_EQ(bits, (std::vector<uint16_t>{0x3f80, 0x3f80, 0x3f81, 0x4049, 0xbb24}));
}

TEST(ElementwiseOps, CastLikeTakesTheSecondOperandsDType) {
  Tensor x = make(DType::F64, {2}, {1.5, -2.25});
  Tensor like = make(DType::F32, {}, {0});
  expectValues(run("CastLike", {x, like}), DType::F32, {2}, {1.5, -2.25});
  expectInts(run("CastLike", {x, makeInt(DType::I32, {1}, {0})}), DType::I32, {2}, {1, -2});
}

// ---------------------------------------------------------------------------
// Symbolic shape values
// ---------------------------------------------------------------------------

class ElementwiseShapeValues : public ::testing::Test {
protected:
  Module m;
  Graph *g = m.addGraph("main");

  /// An i64 argument of `n` elements whose contents are known symbolically.
  Value *shapeArg(const std::string &name, std::vector<Dim> contents, bool scalar = false) {
    Value *v = g->addArgument(name, Type(DType::I64, scalar ? std::vector<Dim>{} : std::vector<Dim>{int64_t(contents.size())}));
    v->setSymbolicValue(std::move(contents));
    return v;
  }
  Value *constant(std::vector<int64_t> v) { return m.addConstant("c", Tensor::fromI64(v)); }
  std::string build(std::string_view name, std::vector<Value *> operands, Attrs attrs = {}) {
    Value *r = g->buildOp(name, std::move(operands), std::move(attrs), {"r"})->result(0);
    if (!r->symbolicValue()) return "none";
    std::string s;
    for (const Dim &d : *r->symbolicValue()) s += (s.empty() ? "" : ",") + d.str();
    return "[" + s + "]";
  }
};

TEST_F(ElementwiseShapeValues, ArithmeticOnShapes) {
  Value *shape = shapeArg("s", {sym("batch"), sym("seq"), 64});
  EXPECT_EQ(build("Mul", {shape, constant({2, 1, 1})}), "[2*batch,seq,64]");
  EXPECT_EQ(build("Add", {shape, constant({1})}), "[batch+1,seq+1,65]");
  EXPECT_EQ(build("Sub", {shape, shape}), "[0,0,0]");
  EXPECT_EQ(build("Div", {shape, constant({64})}), "[?,?,1]");
  EXPECT_EQ(build("Neg", {shape}), "[-batch,-seq,-64]");
  EXPECT_EQ(build("Identity", {shape}), "[batch,seq,64]");
  EXPECT_EQ(build("Cast", {shape}, castTo(DType::I32)), "[batch,seq,64]");
  EXPECT_EQ(build("Cast", {shape}, castTo(DType::F32)), "none");
  // Batch * seq, the flattening dim of Reshape(x, Concat(Shape(x)[0]*Shape(x)[1], -1)).
  Value *b = shapeArg("b", {sym("batch")}, true), *s = shapeArg("q", {sym("seq")}, true);
  EXPECT_EQ(build("Mul", {b, s}), "[batch*seq]");
  Value *twice = g->buildOp("Mul", {s, constant({4})}, {}, {"t"})->result(0);
  EXPECT_EQ(build("Div", {twice, constant({2})}), "[2*seq]");
  // Static shapes truncate like ONNX Div.
  EXPECT_EQ(build("Div", {constant({-7, 7}), constant({2})}), "[-3,3]");
}

TEST_F(ElementwiseShapeValues, StaticMinMaxEqualWhere) {
  Value *shape = shapeArg("s", {sym("batch"), 1, 64});
  EXPECT_EQ(build("Max", {constant({3, 1, 2}), constant({1, 5, 2})}), "[3,5,2]");
  EXPECT_EQ(build("Min", {constant({3, 1, 2}), constant({1})}), "[1,1,1]");
  EXPECT_EQ(build("Max", {shape, constant({2})}), "[?,2,64]");
  Value *eq = g->buildOp("Equal", {shape, constant({-1, 1, 3})}, {}, {"e"})->result(0);
  ASSERT_TRUE(eq->symbolicValue());
  EXPECT_EQ((*eq->symbolicValue())[1].str(), "1");
  EXPECT_EQ((*eq->symbolicValue())[2].str(), "0");
  // A size never equals a negative constant: batch == -1 is false (exporters' expand(-1) pattern).
  EXPECT_EQ((*eq->symbolicValue())[0].str(), "0");
  // Where(Equal(s, [-1, 1, 3]), [7, 7, 7], s): the static conditions select.
  EXPECT_EQ(build("Where", {eq, constant({7, 7, 7}), shape}), "[batch,7,64]");
  Value *eq2 = g->buildOp("Equal", {shape, constant({2, 1, 3})}, {}, {"e2"})->result(0);
  EXPECT_EQ((*eq2->symbolicValue())[0].str(), "?");
  // Float tensors never carry shape values.
  Value *f = g->addArgument("f", Type(DType::F32, {2}));
  EXPECT_EQ(build("Add", {f, f}), "none");
}

} // namespace
} // namespace ternc
