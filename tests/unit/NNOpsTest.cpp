// NNOpsTest: type inference and reference semantics of MatMul, Gemm,
// MatMulInteger, Softmax, LogSoftmax, LayerNormalization and
// Quantize/DequantizeLinear. Expected values come from numpy (computed
// offline) or by hand, never from the code under test.
#include "ir/Error.h"
#include "ir/IR.h"
#include "ir/OpRegistry.h"

#include <gtest/gtest.h>

#include <cmath>
#include "tests/unit/TensorTestUtil.h"

using namespace ternc;

namespace {

using testutil::errorOf;

using testutil::make;
using testutil::valuesOf;

Tensor f32(std::vector<int64_t> shape, const std::vector<double> &values) {
  return make(DType::F32, std::move(shape), values);
}

/// Builds one op over fresh graph arguments typed like `inputs` (an invalid
/// tensor is an omitted operand), checks inference, and evaluates it.
class OpRunner {
public:
  Op *build(std::string_view name, const std::vector<Tensor> &inputs, Attrs attrs = {}, size_t numResults = 1) {
    std::vector<Value *> operands;
    for (const Tensor &t : inputs) {
      if (!t.isValid()) {
        operands.push_back(nullptr);
        continue;
      }
      std::vector<Dim> dims(t.shape().begin(), t.shape().end());
      operands.push_back(graph_->addArgument(fmt::format("in{}", graph_->arguments().size()), Type(t.dtype(), dims)));
    }
    return graph_->buildOp(name, operands, std::move(attrs), std::vector<std::string>(numResults, "r"));
  }

  std::vector<Tensor> run(std::string_view name, const std::vector<Tensor> &inputs, Attrs attrs = {},
                          size_t numResults = 1) {
    Op *op = build(name, inputs, std::move(attrs), numResults);
    EvalContext ctx(*op, inputs);
    std::vector<Tensor> out = op->def().eval(ctx);
    EXPECT_EQ(out.size(), numResults);
    for (size_t i = 0; i < out.size() && i < numResults; ++i) {
      // The evaluated result must agree with the inferred static type.
      EXPECT_EQ(out[i].dtype(), op->result(i)->type().dtype()) << name << " result " << i;
      EXPECT_EQ(op->result(i)->type().staticShape(), out[i].shape()) << name << " result " << i;
    }
    return out;
  }

  /// Infers the result type from symbolic argument types.
  Type infer(std::string_view name, const std::vector<Type> &types, Attrs attrs = {}) {
    std::vector<Value *> operands;
    for (const Type &t : types)
      operands.push_back(graph_->addArgument(fmt::format("t{}", graph_->arguments().size()), t));
    return graph_->buildOp(name, operands, std::move(attrs), {"r"})->result(0)->type();
  }

private:
  Module module_;
  Graph *graph_ = module_.addGraph("main");
};

Attrs attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
  Attrs a;
  for (const auto &[k, v] : list) a.set(k, v);
  return a;
}

Dim sym(const char *s) { return Dim::symbol(s); }

void expectNear(const std::vector<double> &got, const std::vector<double> &want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

/// Runs `f` and returns the Error message it throws ("" if none).
// ---------------------------------------------------------------------------
// MatMul
// ---------------------------------------------------------------------------

TEST(MatMul, TwoD) {
  OpRunner r;
  Tensor y = r.run("MatMul", {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({3, 2}, {7, 8, 9, 10, 11, 12})})[0];
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(valuesOf(y), (std::vector<double>{58, 64, 139, 154}));
}

TEST(MatMul, OneDOperands) {
  OpRunner r;
  Tensor a1 = f32({3}, {1, 2, 3}), b2 = f32({3, 2}, {7, 8, 9, 10, 11, 12});
  Tensor vm = r.run("MatMul", {a1, b2})[0];
  EXPECT_EQ(vm.shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(valuesOf(vm), (std::vector<double>{58, 64}));
  Tensor mv = r.run("MatMul", {f32({2, 3}, {1, 2, 3, 4, 5, 6}), f32({3}, {1, 1, 1})})[0];
  EXPECT_EQ(mv.shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(valuesOf(mv), (std::vector<double>{6, 15}));
  Tensor vv = r.run("MatMul", {a1, a1})[0];
  EXPECT_EQ(vv.shape(), (std::vector<int64_t>{}));
  EXPECT_EQ(valuesOf(vv), (std::vector<double>{14}));
  // 1-D against a batched matrix: [3] @ [2,3,2] -> [2,2].
  Tensor vb = r.run("MatMul", {a1, f32({2, 3, 2}, {7, 8, 9, 10, 11, 12, 1, 0, 0, 1, 1, 1})})[0];
  EXPECT_EQ(vb.shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(valuesOf(vb), (std::vector<double>{58, 64, 4, 5}));
}

TEST(MatMul, BatchBroadcast) {
  // numpy: np.arange(12).reshape(2,1,2,3) @ (np.arange(18)-5).reshape(3,3,2)
  std::vector<double> a(12), b(18);
  for (int i = 0; i < 12; ++i) a[size_t(i)] = i;
  for (int i = 0; i < 18; ++i) b[size_t(i)] = i - 5;
  OpRunner r;
  Tensor y = r.run("MatMul", {f32({2, 1, 2, 3}, a), f32({3, 3, 2}, b)})[0];
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 3, 2, 2}));
  EXPECT_EQ(valuesOf(y), (std::vector<double>{-5,  -2,  -32, -20, 13, 16, 40, 52,  31,  34,  112, 124,
                                              -59, -38, -86, -56, 67, 88, 94, 124, 193, 214, 274, 304}));
}

TEST(MatMul, IntegerAndHalfDTypes) {
  OpRunner r;
  // int32 products wrap as numpy's do: (2^20+1)*2^12 + 3 = 4099 mod 2^32.
  Tensor yi =
      r.run("MatMul", {make(DType::I32, {2, 2}, {1048577, 3, 5, 7}), make(DType::I32, {2, 2}, {4096, 1, 1, 1})})[0];
  EXPECT_EQ(yi.dtype(), DType::I32);
  EXPECT_EQ(valuesOf(yi), (std::vector<double>{4099, 1048580, 20487, 12}));
  Tensor yl = r.run("MatMul", {make(DType::I64, {1, 2}, {3000000000.0, -2}), make(DType::I64, {2, 1}, {3, 5})})[0];
  EXPECT_EQ(yl.getInt(0), 8999999990);
  Tensor yu = r.run("MatMul", {make(DType::U64, {1, 2}, {2, 3}), make(DType::U64, {2}, {4, 5})})[0];
  EXPECT_EQ(valuesOf(yu), (std::vector<double>{23}));
  Tensor yh = r.run("MatMul", {make(DType::F16, {1, 2}, {0.5, 1.5}), make(DType::F16, {2, 2}, {2, -1, 4, 0.25})})[0];
  EXPECT_EQ(yh.dtype(), DType::F16);
  EXPECT_EQ(valuesOf(yh), (std::vector<double>{7, -0.125}));
  Tensor yb = r.run("MatMul", {make(DType::BF16, {2}, {1, 2}), make(DType::BF16, {2}, {3, 4})})[0];
  EXPECT_EQ(valuesOf(yb), (std::vector<double>{11}));
}

TEST(MatMul, SymbolicShapes) {
  OpRunner r;
  Type x(DType::F32, {sym("batch"), sym("seq"), 64});
  EXPECT_EQ(r.infer("MatMul", {x, Type(DType::F32, {64, 128})}).str(), "f32[batch,seq,128]");
  // Broadcast of batch dims: [1,seq,64] @ [heads,64,seq] -> [heads,seq,seq].
  EXPECT_EQ(
      r.infer("MatMul", {Type(DType::F32, {1, sym("seq"), 64}), Type(DType::F32, {sym("h"), 64, sym("seq")})}).str(),
      "f32[h,seq,seq]");
  EXPECT_EQ(r.infer("MatMul", {Type(DType::F32, {64}), Type(DType::F32, {sym("b"), 64, 8})}).str(), "f32[b,8]");
  EXPECT_EQ(r.infer("MatMul", {Type::unranked(DType::F32), Type(DType::F32, {64, 8})}).str(), "f32[*]");
  // A symbolic inner dim is checked at run time only.
  EXPECT_EQ(r.infer("MatMul", {Type(DType::F32, {2, sym("k")}), Type(DType::F32, {4, 3})}).str(), "f32[2,3]");
}

TEST(MatMul, Errors) {
  OpRunner r;
  std::string msg = errorOf([&] { r.infer("MatMul", {Type(DType::F32, {4, 64}), Type(DType::F32, {32, 8})}); });
  EXPECT_NE(msg.find("MatMul: inner dimensions differ: 64 vs 32"), std::string::npos) << msg;
  msg = errorOf([&] { r.infer("MatMul", {Type(DType::F32, {}), Type(DType::F32, {3})}); });
  EXPECT_NE(msg.find("rank >= 1"), std::string::npos) << msg;
  msg = errorOf([&] { r.infer("MatMul", {Type(DType::I8, {2, 2}), Type(DType::I8, {2, 2})}); });
  EXPECT_NE(msg.find("A has dtype i8, expected one of f32"), std::string::npos) << msg;
  msg = errorOf([&] { r.infer("MatMul", {Type(DType::F32, {2, 2}), Type(DType::F16, {2, 2})}); });
  EXPECT_NE(msg.find("A and B must have the same dtype, got f32 and f16"), std::string::npos) << msg;
  msg = errorOf([&] { r.infer("MatMul", {Type(DType::F32, {3, 2, 4}), Type(DType::F32, {2, 4, 5})}); });
  EXPECT_NE(msg.find("cannot be broadcast"), std::string::npos) << msg;
  // Symbolic inner dims that disagree at run time fail in eval.
  Op *op = r.build("MatMul", {f32({2, 2}, {1, 2, 3, 4}), f32({2, 1}, {1, 1})});
  EvalContext ctx(*op, {f32({2, 2}, {1, 2, 3, 4}), f32({3, 1}, {1, 1, 1})});
  msg = errorOf([&] { op->def().eval(ctx); });
  EXPECT_NE(msg.find("inner dimensions differ: 2 vs 3"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------
// Gemm
// ---------------------------------------------------------------------------

// A = [[1,2,3],[4,5,6]], B = [[1,0,2,1],[0,1,1,2],[3,1,0,1]]; A @ B =
// [[10,5,4,8],[22,11,13,20]].
Tensor gemmA() { return f32({2, 3}, {1, 2, 3, 4, 5, 6}); }
Tensor gemmB() { return f32({3, 4}, {1, 0, 2, 1, 0, 1, 1, 2, 3, 1, 0, 1}); }

TEST(Gemm, DefaultsWithVectorBias) {
  OpRunner r;
  Tensor y = r.run("Gemm", {gemmA(), gemmB(), f32({4}, {1, 2, 3, 4})})[0];
  EXPECT_EQ(valuesOf(y), (std::vector<double>{11, 7, 7, 12, 23, 13, 16, 24}));
  Tensor noBias = r.run("Gemm", {gemmA(), gemmB()})[0];
  EXPECT_EQ(valuesOf(noBias), (std::vector<double>{10, 5, 4, 8, 22, 11, 13, 20}));
}

TEST(Gemm, AlphaAndBetaWithScalarBias) {
  OpRunner r;
  Tensor y = r.run("Gemm", {gemmA(), gemmB()}, attrs({{"alpha", 2.0f}}))[0];
  EXPECT_EQ(valuesOf(y), (std::vector<double>{20, 10, 8, 16, 44, 22, 26, 40}));
  Tensor yb = r.run("Gemm", {gemmA(), gemmB(), f32({}, {4})}, attrs({{"beta", 0.5f}}))[0];
  EXPECT_EQ(valuesOf(yb), (std::vector<double>{12, 7, 6, 10, 24, 13, 15, 22}));
}

TEST(Gemm, AllAttributes) {
  // numpy: 0.5 * (AT.T @ BT.T) + 2 * [[1],[2]]
  OpRunner r;
  Tensor at = f32({3, 2}, {1, 4, 2, 5, 3, 6});
  Tensor bt = f32({4, 3}, {1, 0, 3, 0, 1, 1, 2, 1, 0, 1, 2, 1});
  Attrs a = attrs({{"alpha", 0.5f}, {"beta", 2.0f}, {"transA", int64_t(1)}, {"transB", int64_t(1)}});
  Tensor y = r.run("Gemm", {at, bt, f32({2, 1}, {1, 2})}, a)[0];
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 4}));
  EXPECT_EQ(valuesOf(y), (std::vector<double>{7, 4.5, 4, 6, 15, 9.5, 10.5, 14}));
  // Only one operand transposed, full [M,N] bias.
  Tensor yb = r.run("Gemm", {gemmA(), bt, f32({2, 4}, {1, 1, 1, 1, 0, 0, 0, 0})}, attrs({{"transB", int64_t(1)}}))[0];
  EXPECT_EQ(valuesOf(yb), (std::vector<double>{11, 6, 5, 9, 22, 11, 13, 20}));
}

TEST(Gemm, IntegerDType) {
  OpRunner r;
  Tensor y =
      r.run("Gemm", {make(DType::I64, {1, 2}, {2, 3}), make(DType::I64, {2, 1}, {5, 7}), make(DType::I64, {1}, {100})},
            attrs({{"alpha", 3.0f}, {"beta", -1.0f}}))[0];
  EXPECT_EQ(y.getInt(0), 3 * 31 - 100);
}

TEST(Gemm, InferenceAndErrors) {
  OpRunner r;
  Attrs tb = attrs({{"transB", int64_t(1)}});
  EXPECT_EQ(
      r.infer("Gemm", {Type(DType::F32, {sym("n"), 64}), Type(DType::F32, {128, 64}), Type(DType::F32, {128})}, tb)
          .str(),
      "f32[n,128]");
  std::string msg = errorOf([&] { r.infer("Gemm", {Type(DType::F32, {2, 64}), Type(DType::F32, {32, 8})}); });
  EXPECT_NE(msg.find("inner dimensions differ: 64 vs 32"), std::string::npos) << msg;
  msg = errorOf([&] { r.infer("Gemm", {Type(DType::F32, {1, 2, 3}), Type(DType::F32, {3, 4})}); });
  EXPECT_NE(msg.find("A must be 2-D"), std::string::npos) << msg;
  msg = errorOf([&] { r.infer("Gemm", {Type(DType::F32, {2, 3}), Type(DType::F32, {3, 4}), Type(DType::F32, {3})}); });
  EXPECT_NE(msg.find("C of type f32[3] cannot be broadcast to [2,4]"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------
// MatMulInteger
// ---------------------------------------------------------------------------

Tensor mmiA() { return make(DType::U8, {4, 3}, {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0}); }
Tensor mmiB() { return make(DType::U8, {3, 2}, {1, 4, 2, 5, 3, 6}); }

TEST(MatMulInteger, ScalarZeroPoints) {
  // The ONNX example: a_zero_point = [12], b_zero_point = [0].
  OpRunner r;
  Tensor y = r.run("MatMulInteger", {mmiA(), mmiB(), make(DType::U8, {1}, {12}), make(DType::U8, {1}, {0})})[0];
  EXPECT_EQ(y.dtype(), DType::I32);
  EXPECT_EQ(valuesOf(y), (std::vector<double>{-38, -83, -44, -98, -50, -113, -56, -128}));
  // Without zero points it is a plain integer matmul.
  Tensor plain = r.run("MatMulInteger", {mmiA(), mmiB()})[0];
  EXPECT_EQ(plain.getInt(0), 11 + 14 + 9);
}

TEST(MatMulInteger, PerRowAndPerColumnZeroPoints) {
  // numpy: (A - [1,2,3,4][:,None]) @ (B - [1,5][None,:])
  OpRunner r;
  Tensor y =
      r.run("MatMulInteger", {mmiA(), mmiB(), make(DType::U8, {4}, {1, 2, 3, 4}), make(DType::U8, {2}, {1, 5})})[0];
  EXPECT_EQ(valuesOf(y), (std::vector<double>{10, -8, 4, -8, -2, -8, -8, -8}));
  // Only B's zero point given (A's omitted in the middle).
  Tensor yb = r.run("MatMulInteger", {mmiA(), mmiB(), Tensor(), make(DType::U8, {2}, {1, 5})})[0];
  EXPECT_EQ(yb.getInt(0), 11 * 0 + 7 * 1 + 3 * 2);
}

TEST(MatMulInteger, SignedOperandsAndBatch) {
  // numpy: (Ai + 3) @ (Bi - 2) with int8 extremes.
  OpRunner r;
  Tensor a = make(DType::I8, {2, 3}, {-128, 127, 5, 3, -4, 100});
  Tensor b = make(DType::I8, {3, 2}, {127, -128, -1, 2, 50, -60});
  Tensor y = r.run("MatMulInteger", {a, b, make(DType::I8, {}, {-3}), make(DType::I8, {}, {2})})[0];
  EXPECT_EQ(valuesOf(y), (std::vector<double>{-15631, 15754, 5697, -7166}));
  // Batched A [2,1,3] with a [2,1,1] zero point, 1-D B.
  Tensor ab = make(DType::U8, {2, 1, 3}, {1, 2, 3, 4, 5, 6});
  Tensor yb = r.run("MatMulInteger", {ab, make(DType::U8, {3}, {1, 1, 1}), make(DType::U8, {2, 1, 1}, {1, 4})})[0];
  EXPECT_EQ(yb.shape(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(valuesOf(yb), (std::vector<double>{3, 3}));
}

TEST(MatMulInteger, Errors) {
  OpRunner r;
  std::string msg = errorOf([&] { r.infer("MatMulInteger", {Type(DType::F32, {2, 2}), Type(DType::U8, {2, 2})}); });
  EXPECT_NE(msg.find("A has dtype f32, expected one of u8, i8"), std::string::npos) << msg;
  msg = errorOf([&] {
    r.infer("MatMulInteger", {Type(DType::U8, {2, 3}), Type(DType::I8, {3, 2}), Type(DType::I8, {})});
  });
  EXPECT_NE(msg.find("A and a_zero_point must have the same dtype"), std::string::npos) << msg;
  EXPECT_EQ(r.infer("MatMulInteger", {Type(DType::U8, {sym("s"), 3}), Type(DType::I8, {3, 2})}).str(), "i32[s,2]");
  Op *op = r.build("MatMulInteger", {mmiA(), mmiB(), make(DType::U8, {3}, {1, 2, 3})});
  EvalContext ctx(*op, {mmiA(), mmiB(), make(DType::U8, {3}, {1, 2, 3})});
  msg = errorOf([&] { op->def().eval(ctx); });
  EXPECT_NE(msg.find("A zero point of shape [3,1] cannot be broadcast to [4,3]"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------
// Softmax, LogSoftmax
// ---------------------------------------------------------------------------

TEST(Softmax, LastAxisIsStableForLargeValues) {
  OpRunner r;
  // Rows shifted by a constant give the same result, even where exp of the
  // raw values would overflow (1002) or underflow (-1000) in double.
  Tensor x = f32({3, 3}, {1000, 1001, 1002, 3, 4, 5, -1002, -1001, -1000});
  std::vector<double> row = {0.09003057330846786, 0.2447284758090973, 0.6652409434318542};
  std::vector<double> want;
  for (int i = 0; i < 3; ++i) want.insert(want.end(), row.begin(), row.end());
  expectNear(valuesOf(r.run("Softmax", {x})[0]), want, 1e-7);
  expectNear(valuesOf(r.run("Softmax", {x}, attrs({{"axis", int64_t(1)}}))[0]), want, 1e-7);
  std::vector<double> logRow = {-2.4076058864593506, -1.4076060056686401, -0.40760597586631775}, logWant;
  for (int i = 0; i < 3; ++i) logWant.insert(logWant.end(), logRow.begin(), logRow.end());
  expectNear(valuesOf(r.run("LogSoftmax", {x})[0]), logWant, 1e-6);
}

TEST(Softmax, AxisZero) {
  // numpy in float64 on [[1000,3,-5],[1002,4,-5]] along axis 0.
  OpRunner r;
  Tensor x = f32({2, 3}, {1000, 3, -5, 1002, 4, -5});
  Attrs a0 = attrs({{"axis", int64_t(0)}});
  expectNear(valuesOf(r.run("Softmax", {x}, a0)[0]),
             {0.11920291930437088, 0.2689414322376251, 0.5, 0.8807970881462097, 0.7310585975646973, 0.5}, 1e-7);
  expectNear(valuesOf(r.run("LogSoftmax", {x}, a0)[0]),
             {-2.1269280910491943, -1.31326162815094, -0.6931471824645996, -0.12692801654338837, -0.3132616877555847,
              -0.6931471824645996},
             1e-6);
  // Far-apart values underflow to exactly 0 / give exact differences.
  Tensor far = f32({2, 3}, {1000, 1001, 1002, 3, 4, 5});
  EXPECT_EQ(valuesOf(r.run("Softmax", {far}, a0)[0]), (std::vector<double>{1, 1, 1, 0, 0, 0}));
  EXPECT_EQ(valuesOf(r.run("LogSoftmax", {far}, a0)[0]), (std::vector<double>{0, 0, 0, -997, -997, -997}));
}

TEST(Softmax, InferenceAndErrors) {
  OpRunner r;
  EXPECT_EQ(r.infer("Softmax", {Type(DType::F16, {sym("b"), 4})}).str(), "f16[b,4]");
  std::string msg = errorOf([&] { r.infer("Softmax", {Type(DType::F32, {2, 3})}, attrs({{"axis", int64_t(2)}})); });
  EXPECT_NE(msg.find("Softmax: axis 2 is out of range for rank 2"), std::string::npos) << msg;
  msg = errorOf([&] { r.infer("LogSoftmax", {Type(DType::I32, {2})}); });
  EXPECT_NE(msg.find("input has dtype i32, expected one of f32"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------
// LayerNormalization
// ---------------------------------------------------------------------------

TEST(LayerNormalization, Axis1OfRank3WithStatistics) {
  // numpy (float64): mean/var over axes (1,2), Y = (X-mu)*inv*S + B with
  // S of shape [4] and B of shape [3,1], both broadcast.
  OpRunner r;
  Tensor x =
      f32({2, 3, 4}, {0.5, -1, 2, 3, 0, 1.5, -2, 4, 1, 1, -0.5, 2.5, 7, -3, 0.25, 1, 2, -1, 0, 5, 3, -2, 1, 0.75});
  Tensor scale = f32({4}, {1, 2, 0.5, -1});
  Tensor bias = f32({3, 1}, {0.1, 0.2, -0.3});
  std::vector<Tensor> out = r.run("LayerNormalization", {x, scale, bias}, attrs({{"axis", int64_t(1)}}), 3);
  expectNear(valuesOf(out[0]), {-0.20151080191135406, -2.312086343765259,   0.4015108048915863,   -1.1060432195663452,
                                -0.40302160382270813, 0.8030216097831726,   -0.7045323848724365,  -1.6090648174285889,
                                -0.30000001192092896, -0.30000001192092896, -0.7522662281990051,  -1.2045323848724365,
                                2.262821674346924,    -2.9897453784942627,  -0.06993599236011505, 0.16179490089416504,
                                0.508974552154541,    -1.4066675901412964,  -0.01628217101097107, -1.2212828397750854,
                                0.3797439634799957,   -2.6482064723968506,  -0.3308974504470825,  -0.14551274478435516},
             2e-6);
  EXPECT_EQ(out[1].shape(), (std::vector<int64_t>{2, 1, 1}));
  EXPECT_EQ(out[2].shape(), (std::vector<int64_t>{2, 1, 1}));
  EXPECT_EQ(out[1].dtype(), DType::F32);
  expectNear(valuesOf(out[1]), {1.0, 1.1666666269302368}, 1e-7);
  expectNear(valuesOf(out[2]), {0.6030216217041016, 0.3707694411277771}, 1e-7);
}

TEST(LayerNormalization, DefaultAxisAndEpsilon) {
  // Last axis of [[1,3],[2,2]]: mean 2, var 1 -> (x-2)/sqrt(1+eps); the
  // second row has var 0 -> 0, invstd 1/sqrt(0.25) = 2.
  OpRunner r;
  Tensor x = f32({2, 2}, {1, 3, 2, 2});
  std::vector<Tensor> out = r.run("LayerNormalization", {x, f32({2}, {1, 1})}, attrs({{"epsilon", 0.25f}}), 3);
  double inv = 1 / std::sqrt(1.25);
  expectNear(valuesOf(out[0]), {-inv, inv, 0, 0}, 1e-6);
  EXPECT_EQ(out[1].shape(), (std::vector<int64_t>{2, 1}));
  expectNear(valuesOf(out[2]), {inv, 2}, 1e-6);
  // Y only, default epsilon 1e-5.
  std::vector<Tensor> y = r.run("LayerNormalization", {x, f32({2}, {2, 1})});
  expectNear(valuesOf(y[0]), {-2 / std::sqrt(1 + 1e-5), 1 / std::sqrt(1 + 1e-5), 0, 0}, 1e-6);
}

TEST(LayerNormalization, InferenceAndErrors) {
  OpRunner r;
  Module m;
  Graph *g = m.addGraph("g");
  Value *x = g->addArgument("x", Type(DType::F16, {sym("b"), sym("s"), 64}));
  Value *s = g->addArgument("s", Type(DType::F16, {64}));
  Op *op = g->buildOp("LayerNormalization", {x, s}, attrs({{"axis", int64_t(-2)}}), {"y", "mean", "inv"});
  EXPECT_EQ(op->result(0)->type().str(), "f16[b,s,64]");
  EXPECT_EQ(op->result(1)->type().str(), "f32[b,1,1]");
  EXPECT_EQ(op->result(2)->type().str(), "f32[b,1,1]");
  std::string msg = errorOf([&] {
    g->buildOp("LayerNormalization", {x, s}, attrs({{"stash_type", int64_t(7)}}), {"y"});
  });
  EXPECT_NE(msg.find("stash_type 7 is not a floating-point"), std::string::npos) << msg;
  msg = errorOf([&] { r.infer("LayerNormalization", {Type(DType::F32, {2, 4}), Type(DType::F32, {3})}); });
  EXPECT_NE(msg.find("Scale of type f32[3] cannot be broadcast"), std::string::npos) << msg;
  msg = errorOf([&] { r.infer("LayerNormalization", {Type(DType::F32, {2, 4}), Type(DType::F16, {4})}); });
  EXPECT_NE(msg.find("X and Scale must have the same dtype"), std::string::npos) << msg;
  msg = errorOf([&] {
    r.infer("LayerNormalization", {Type(DType::F32, {2, 4}), Type(DType::F32, {4})}, attrs({{"axis", int64_t(-3)}}));
  });
  EXPECT_NE(msg.find("axis -3 is out of range for rank 2"), std::string::npos) << msg;
}

// ---------------------------------------------------------------------------
// QuantizeLinear, DequantizeLinear
// ---------------------------------------------------------------------------

TEST(QuantizeLinear, PerTensorSaturatesAndRoundsTiesToEven) {
  OpRunner r;
  // The ONNX example: scale 2, zero point 128.
  Tensor y =
      r.run("QuantizeLinear", {f32({6}, {0, 2, 3, 1000, -254, -1000}), f32({}, {2}), make(DType::U8, {}, {128})})[0];
  EXPECT_EQ(y.dtype(), DType::U8);
  EXPECT_EQ(valuesOf(y), (std::vector<double>{128, 129, 130, 255, 1, 0}));
  // x/2 = 0.5, 1.5, 2.5, -0.5, -1.5, -2.5 round to 0, 2, 2, 0, -2, -2; +-150 saturate.
  Tensor yi =
      r.run("QuantizeLinear", {f32({8}, {1, 3, 5, -1, -3, -5, 300, -300}), f32({}, {2}), make(DType::I8, {}, {0})})[0];
  EXPECT_EQ(yi.dtype(), DType::I8);
  EXPECT_EQ(valuesOf(yi), (std::vector<double>{0, 2, 2, 0, -2, -2, 127, -128}));
  // No zero point: u8 with zero point 0.
  Tensor yu = r.run("QuantizeLinear", {f32({3}, {-1, 2.6, 600}), f32({}, {1})})[0];
  EXPECT_EQ(yu.dtype(), DType::U8);
  EXPECT_EQ(valuesOf(yu), (std::vector<double>{0, 3, 255}));
  // i32 input.
  Tensor y32 = r.run("QuantizeLinear", {make(DType::I32, {2}, {7, -9}), f32({}, {2}), make(DType::I8, {}, {1})})[0];
  EXPECT_EQ(valuesOf(y32), (std::vector<double>{5, -3}));
}

TEST(QuantizeLinear, PerAxis) {
  // ONNX test_quantizelinear_axis: axis 1 (default) of [1,3,3,2].
  std::vector<double> x = {-162, 10, -100, 232, -20, -50, -76, 0, 0, 252, 32, -44, 245, -485, -960, -270, -375, -470};
  std::vector<double> q = {3, 89, 34, 200, 74, 59, 5, 24, 24, 87, 32, 13, 245, 99, 4, 142, 121, 102};
  OpRunner r;
  Tensor y =
      r.run("QuantizeLinear", {f32({1, 3, 3, 2}, x), f32({3}, {2, 4, 5}), make(DType::U8, {3}, {84, 24, 196})})[0];
  EXPECT_EQ(valuesOf(y), q);
  // Axis 0 with i8: rows scaled by 2 and 0.5, zero points -1 and 10 (numpy).
  Tensor yi = r.run("QuantizeLinear",
                    {f32({2, 3}, {1, -1, 3, 250, -250, 0.3}), f32({2}, {2, 0.5}), make(DType::I8, {2}, {-1, 10})},
                    attrs({{"axis", int64_t(0)}}))[0];
  EXPECT_EQ(valuesOf(yi), (std::vector<double>{-1, -1, 1, 127, -128, 11}));
  // And back: DequantizeLinear of the same data.
  Tensor d = r.run("DequantizeLinear",
                   {make(DType::U8, {1, 3, 3, 2}, q), f32({3}, {2, 4, 5}), make(DType::U8, {3}, {84, 24, 196})},
                   attrs({{"axis", int64_t(-3)}}))[0];
  EXPECT_EQ(d.dtype(), DType::F32);
  EXPECT_EQ(valuesOf(d), x);
}

TEST(DequantizeLinear, PerTensorAndInt32) {
  OpRunner r;
  Tensor y =
      r.run("DequantizeLinear", {make(DType::U8, {4}, {0, 3, 128, 255}), f32({}, {2}), make(DType::U8, {}, {128})})[0];
  EXPECT_EQ(valuesOf(y), (std::vector<double>{-256, -250, 0, 254}));
  Tensor yi = r.run("DequantizeLinear", {make(DType::I8, {3}, {-128, 0, 127}), f32({}, {0.5})})[0];
  EXPECT_EQ(valuesOf(yi), (std::vector<double>{-64, 0, 63.5}));
  Tensor y32 =
      r.run("DequantizeLinear", {make(DType::I32, {2}, {-5, 100000}), f32({}, {0.5}), make(DType::I32, {}, {0})})[0];
  EXPECT_EQ(valuesOf(y32), (std::vector<double>{-2.5, 50000}));
}

TEST(QuantizeLinear, InferenceAndErrors) {
  OpRunner r;
  EXPECT_EQ(
      r.infer("QuantizeLinear", {Type(DType::F32, {sym("n"), 4}), Type(DType::F32, {}), Type(DType::I8, {})}).str(),
      "i8[n,4]");
  EXPECT_EQ(r.infer("DequantizeLinear", {Type(DType::I8, {sym("n"), 4}), Type(DType::F32, {4})}).str(), "f32[n,4]");
  std::string msg = errorOf([&] {
    r.infer("QuantizeLinear", {Type(DType::F32, {2, 4}), Type(DType::F32, {3}), Type(DType::U8, {3})});
  });
  EXPECT_NE(msg.find("scale has 3 elements, but axis 1 of x f32[2,4] has 4"), std::string::npos) << msg;
  msg = errorOf([&] {
    r.infer("QuantizeLinear", {Type(DType::F32, {2}), Type(DType::F32, {}), Type(DType::I32, {})});
  });
  EXPECT_NE(msg.find("zero point has dtype i32, expected one of u8, i8"), std::string::npos) << msg;
  msg = errorOf([&] {
    r.infer("DequantizeLinear", {Type(DType::U8, {2}), Type(DType::F32, {}), Type(DType::I8, {})});
  });
  EXPECT_NE(msg.find("x and zero point must have the same dtype"), std::string::npos) << msg;
  msg = errorOf([&] { r.infer("DequantizeLinear", {Type(DType::U8, {2, 2}), Type(DType::F32, {2, 2})}); });
  EXPECT_NE(msg.find("scale must be a scalar or 1-D"), std::string::npos) << msg;
  msg = errorOf([&] {
    r.run("DequantizeLinear", {make(DType::I32, {2}, {1, 2}), f32({}, {1}), make(DType::I32, {}, {3})});
  });
  EXPECT_NE(msg.find("an i32 input's zero point must be 0, got 3"), std::string::npos) << msg;
}

} // namespace
