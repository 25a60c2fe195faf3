// KernelsTest: the portable kernel library (codegen/kernels/, compiled natively here) against independent
// results: ternc's interpreter for GEMM, MatMulInteger, Softmax, LogSoftmax, LayerNormalization and the
// reductions; libm for the scalar math; the interpreter's own f16/bf16 conversions over every bit pattern.
// Random data, odd and blocking-crossing sizes, transposed and strided operands, padded outputs, special
// values, and every item run separately in reverse order (items must be independent).
#include "codegen/kernels/Kernels.h"
#include "ir/IR.h"
#include "ir/Interpreter.h"
#include "ir/Tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

using namespace ternc;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

Attrs attrs(std::initializer_list<std::pair<std::string, AttrValue>> list) {
  Attrs a;
  for (const auto &[k, v] : list) a.set(k, v);
  return a;
}

/// Evaluates op `name` on `inputs` (an invalid tensor is an omitted operand) with ternc's interpreter.
std::vector<Tensor> interpretOp(std::string_view name, const std::vector<Tensor> &inputs, Attrs a = {},
                                size_t results = 1) {
  Module m;
  Graph *g = m.addGraph("main");
  std::vector<Value *> operands;
  for (const Tensor &t : inputs) {
    if (!t.isValid()) {
      operands.push_back(nullptr);
      continue;
    }
    std::vector<Dim> dims(t.shape().begin(), t.shape().end());
    operands.push_back(g->addArgument("in" + std::to_string(operands.size()), Type(t.dtype(), dims)));
  }
  Op *op = g->buildOp(name, operands, std::move(a), std::vector<std::string>(results, "r"));
  return evaluateOp(*op, inputs);
}

/// Floats uniform in [lo, hi] (rounded to the dtype); integers uniform over the whole type.
Tensor randomTensor(DType dt, std::vector<int64_t> shape, std::mt19937 &rng, double lo = -1, double hi = 1) {
  Tensor t(dt, std::move(shape));
  for (int64_t i = 0; i < t.numElements(); ++i) {
    if (isFloat(dt)) t.setDouble(i, std::uniform_real_distribution<double>(lo, hi)(rng));
    else t.setInt(i, int64_t(std::uniform_int_distribution<uint64_t>()(rng)));
  }
  return t;
}

/// The unit roundoff of a float dtype.
double unitRoundoff(DType dt) {
  switch (dt) {
  case DType::F64: return 0x1p-53;
  case DType::F16: return 0x1p-11;
  case DType::BF16: return 0x1p-8;
  default: return 0x1p-24;
  }
}

/// got == want for NaN (both NaN), infinities and integers; otherwise within tol.
void expectNear(double got, double want, double tol, const std::string &where) {
  if (std::isnan(want)) EXPECT_TRUE(std::isnan(got)) << where << ": got " << got << ", want NaN";
  else if (std::isinf(want) || tol == 0) EXPECT_EQ(got, want) << where;
  else EXPECT_NEAR(got, want, tol) << where;
}

std::string shapeName(std::initializer_list<int64_t> dims) {
  std::string s;
  for (int64_t d : dims) s += (s.empty() ? "" : "x") + std::to_string(d);
  return s;
}

// ---------------------------------------------------------------------------
// GEMM
// ---------------------------------------------------------------------------

/// How a kernel sees a logical [rows, cols] matrix: row-major, transposed (column-major), or every other
/// element of a wider row-major buffer (neither stride 1, the generic path).
enum class Layout { Plain, Transposed, Strided };

template <typename T> struct Laid {
  std::vector<T> data;
  int64_t rowStride, colStride;
};

template <typename T> Laid<T> layOut(const Tensor &logical, Layout layout) {
  int64_t rows = logical.shape()[0], cols = logical.shape()[1];
  const T *v = logical.data<T>();
  Laid<T> l;
  switch (layout) {
  case Layout::Plain: l = {std::vector<T>(v, v + rows * cols), cols, 1}; break;
  case Layout::Transposed: l = {std::vector<T>(size_t(rows * cols)), 1, rows}; break;
  case Layout::Strided: l = {std::vector<T>(size_t(rows * (2 * cols + 1)), T(7)), 2 * cols + 1, 2}; break;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) l.data[size_t(r * l.rowStride + c * l.colStride)] = v[r * cols + c];
  return l;
}

const char *layoutName(Layout l) { return l == Layout::Plain ? "plain" : l == Layout::Transposed ? "trans" : "strided"; }

template <typename T>
using GemmCount = int64_t (*)(const T *, int64_t, int64_t, const T *, int64_t, int64_t, T *, int64_t, int64_t,
                              int64_t, int64_t, float, float);
template <typename T>
using GemmRun = void (*)(const T *, int64_t, int64_t, const T *, int64_t, int64_t, T *, int64_t, int64_t,
                         int64_t, int64_t, float, float, int64_t, int64_t);

template <typename T> struct GemmKernel {
  DType dt;
  GemmCount<T> items, grain;
  GemmRun<T> run;
};

/// One GEMM against the interpreter's Gemm (on the logical matrices, with C as the bias). C gets a leading
/// dimension of n + 3 whose padding must stay untouched; with beta 0 it starts as NaN (or garbage).
template <typename T>
void checkGemm(const GemmKernel<T> &k, int64_t m, int64_t n, int64_t kk, Layout la, Layout lb, float alpha,
               float beta, std::mt19937 &rng) {
  std::string where = std::string(dtypeName(k.dt)) + " " + shapeName({m, n, kk}) + " A " + layoutName(la) + " B " +
                      layoutName(lb) + " beta " + std::to_string(beta);
  bool isF = isFloat(k.dt);
  if (!isF) alpha = 1; // integers ignore alpha
  Tensor a = randomTensor(k.dt, {m, kk}, rng), b = randomTensor(k.dt, {kk, n}, rng), c = randomTensor(k.dt, {m, n}, rng);
  Tensor want = interpretOp("Gemm", {a, b, c}, attrs({{"alpha", alpha}, {"beta", beta}}))[0];

  Laid<T> al = layOut<T>(a, la), bl = layOut<T>(b, lb);
  int64_t ldc = n + 3;
  T pad = T(91), garbage = T(12345);
  if constexpr (std::is_floating_point_v<T>) garbage = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> out(size_t(std::max<int64_t>(m, 1) * ldc), pad);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) out[size_t(i * ldc + j)] = beta != 0 ? c.data<T>()[i * n + j] : garbage;

  auto args = std::make_tuple(al.data.data(), al.rowStride, al.colStride, bl.data.data(), bl.rowStride, bl.colStride,
                              out.data(), ldc, m, n, kk, alpha, beta);
  int64_t items = std::apply(k.items, args), grain = std::apply(k.grain, args);
  EXPECT_EQ(items > 0, m > 0 && n > 0) << where;
  EXPECT_GE(grain, 1) << where;
  for (int64_t i = items - 1; i >= 0; --i) std::apply(k.run, std::tuple_cat(args, std::make_tuple(i, i + 1)));

  double tol = isF ? 4 * unitRoundoff(k.dt) * double(kk + 2) : 0;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      T got = out[size_t(i * ldc + j)];
      if (isF) expectNear(double(got), want.getDouble(i * n + j), tol, where + " at " + shapeName({i, j}));
      else EXPECT_EQ(int64_t(got), want.getInt(i * n + j)) << where << " at " << i << "," << j;
    }
    for (int64_t j = n; j < ldc; ++j) ASSERT_EQ(out[size_t(i * ldc + j)], pad) << where << ": padding written";
  }
}

struct Shape3 {
  int64_t m, n, k;
};
// 1x1x1 and odd sizes; 33 and 65 leave row and panel remainders; K 300/600 crosses the 256-deep k blocks;
// M = 1 with contiguous B rows / columns takes the GEMV paths; M 200 splits into row blocks.
const std::vector<Shape3> kGemmShapes = {{1, 1, 1},      {3, 17, 5},   {33, 65, 129}, {1, 2048, 300},
                                         {1, 300, 1000}, {17, 1000, 3}, {200, 20, 40}, {9, 130, 600},
                                         {0, 5, 3},      {4, 3, 0}};

TEST(KernelsGemm, F32AllLayouts) {
  std::mt19937 rng(1);
  GemmKernel<float> k{DType::F32, tk_gemm_f32_items, tk_gemm_f32_grain, tk_gemm_f32};
  for (const Shape3 &s : kGemmShapes)
    for (Layout la : {Layout::Plain, Layout::Transposed, Layout::Strided})
      for (Layout lb : {Layout::Plain, Layout::Transposed, Layout::Strided})
        for (float beta : {0.0f, 1.0f}) checkGemm(k, s.m, s.n, s.k, la, lb, beta == 0 ? 0.5f : 1.0f, beta, rng);
}

template <typename T> void checkGemmDType(const GemmKernel<T> &k) {
  std::mt19937 rng(2);
  for (const Shape3 &s : {Shape3{1, 1, 1}, Shape3{3, 17, 5}, Shape3{33, 65, 129}, Shape3{1, 70, 300}})
    for (Layout la : {Layout::Plain, Layout::Transposed})
      for (Layout lb : {Layout::Plain, Layout::Transposed, Layout::Strided})
        for (float beta : {0.0f, 1.0f}) checkGemm(k, s.m, s.n, s.k, la, lb, 1.5f, beta, rng);
}

TEST(KernelsGemm, F64) { checkGemmDType(GemmKernel<double>{DType::F64, tk_gemm_f64_items, tk_gemm_f64_grain, tk_gemm_f64}); }
TEST(KernelsGemm, I32Wraps) { checkGemmDType(GemmKernel<int32_t>{DType::I32, tk_gemm_i32_items, tk_gemm_i32_grain, tk_gemm_i32}); }
TEST(KernelsGemm, I64Wraps) { checkGemmDType(GemmKernel<int64_t>{DType::I64, tk_gemm_i64_items, tk_gemm_i64_grain, tk_gemm_i64}); }
TEST(KernelsGemm, U32Wraps) { checkGemmDType(GemmKernel<uint32_t>{DType::U32, tk_gemm_u32_items, tk_gemm_u32_grain, tk_gemm_u32}); }
TEST(KernelsGemm, U64Wraps) { checkGemmDType(GemmKernel<uint64_t>{DType::U64, tk_gemm_u64_items, tk_gemm_u64_grain, tk_gemm_u64}); }

TEST(KernelsGemm, ItemRangesMatchSingleItems) {
  // Running [begin, end) chunks gives the same bits as running the items one by one.
  std::mt19937 rng(3);
  int64_t m = 70, n = 300, k = 520;
  std::vector<float> a(size_t(m * k)), b(size_t(k * n));
  for (float &x : a) x = std::uniform_real_distribution<float>(-1, 1)(rng);
  for (float &x : b) x = std::uniform_real_distribution<float>(-1, 1)(rng);
  std::vector<float> one(size_t(m * n)), chunked(size_t(m * n));
  int64_t items = tk_gemm_f32_items(a.data(), k, 1, b.data(), n, 1, one.data(), n, m, n, k, 1, 0);
  ASSERT_GT(items, 2);
  for (int64_t i = 0; i < items; ++i) tk_gemm_f32(a.data(), k, 1, b.data(), n, 1, one.data(), n, m, n, k, 1, 0, i, i + 1);
  for (int64_t i = 0; i < items; i += 3)
    tk_gemm_f32(a.data(), k, 1, b.data(), n, 1, chunked.data(), n, m, n, k, 1, 0, i, std::min(items, i + 3));
  EXPECT_EQ(0, std::memcmp(one.data(), chunked.data(), one.size() * sizeof(float)));
}

// ---------------------------------------------------------------------------
// MatMulInteger
// ---------------------------------------------------------------------------

template <typename TA, typename TB>
using MmiCount = int64_t (*)(const TA *, int64_t, int64_t, const TB *, int64_t, int64_t, const TA *, int64_t,
                             const TB *, int64_t, int32_t *, int64_t, int64_t, int64_t, int64_t);
template <typename TA, typename TB>
using MmiRun = void (*)(const TA *, int64_t, int64_t, const TB *, int64_t, int64_t, const TA *, int64_t,
                        const TB *, int64_t, int32_t *, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);

enum class ZeroPoint { None, PerTensor, PerAxis };

template <typename TA, typename TB>
void checkMmi(DType da, DType db, MmiCount<TA, TB> itemsFn, MmiRun<TA, TB> runFn) {
  std::mt19937 rng(4);
  for (const Shape3 &s : {Shape3{1, 1, 1}, Shape3{3, 17, 5}, Shape3{33, 65, 129}, Shape3{1, 100, 300}, Shape3{20, 7, 1000}})
    for (Layout la : {Layout::Plain, Layout::Transposed, Layout::Strided})
      for (Layout lb : {Layout::Plain, Layout::Transposed})
        for (ZeroPoint za : {ZeroPoint::None, ZeroPoint::PerTensor, ZeroPoint::PerAxis})
          for (ZeroPoint zb : {ZeroPoint::None, ZeroPoint::PerTensor, ZeroPoint::PerAxis}) {
            std::string where = std::string(dtypeName(da)) + std::string(dtypeName(db)) + " " + shapeName({s.m, s.n, s.k}) + " A " +
                                layoutName(la) + " B " + layoutName(lb) + " zp " + std::to_string(int(za)) +
                                std::to_string(int(zb));
            Tensor a = randomTensor(da, {s.m, s.k}, rng), b = randomTensor(db, {s.k, s.n}, rng);
            Tensor azp = za == ZeroPoint::None     ? Tensor()
                         : za == ZeroPoint::PerAxis ? randomTensor(da, {s.m}, rng)
                                                    : randomTensor(da, {}, rng);
            Tensor bzp = zb == ZeroPoint::None     ? Tensor()
                         : zb == ZeroPoint::PerAxis ? randomTensor(db, {s.n}, rng)
                                                    : randomTensor(db, {}, rng);
            Tensor want = interpretOp("MatMulInteger", {a, b, azp, bzp})[0];
            Laid<TA> al = layOut<TA>(a, la);
            Laid<TB> bl = layOut<TB>(b, lb);
            int64_t ldc = s.n + 2;
            std::vector<int32_t> out(size_t(s.m * ldc), -77);
            auto args = std::make_tuple(al.data.data(), al.rowStride, al.colStride, bl.data.data(), bl.rowStride,
                                        bl.colStride, azp.isValid() ? azp.data<TA>() : nullptr,
                                        int64_t(za == ZeroPoint::PerAxis), bzp.isValid() ? bzp.data<TB>() : nullptr,
                                        int64_t(zb == ZeroPoint::PerAxis), out.data(), ldc, s.m, s.n, s.k);
            int64_t items = std::apply(itemsFn, args);
            for (int64_t i = items - 1; i >= 0; --i) std::apply(runFn, std::tuple_cat(args, std::make_tuple(i, i + 1)));
            for (int64_t i = 0; i < s.m; ++i) {
              for (int64_t j = 0; j < s.n; ++j)
                ASSERT_EQ(out[size_t(i * ldc + j)], want.getInt(i * s.n + j)) << where << " at " << i << "," << j;
              for (int64_t j = s.n; j < ldc; ++j) ASSERT_EQ(out[size_t(i * ldc + j)], -77) << where;
            }
          }
}

TEST(KernelsMatMulInteger, U8U8) { checkMmi<uint8_t, uint8_t>(DType::U8, DType::U8, tk_matmul_integer_u8u8_items, tk_matmul_integer_u8u8); }
TEST(KernelsMatMulInteger, U8I8) { checkMmi<uint8_t, int8_t>(DType::U8, DType::I8, tk_matmul_integer_u8i8_items, tk_matmul_integer_u8i8); }
TEST(KernelsMatMulInteger, I8U8) { checkMmi<int8_t, uint8_t>(DType::I8, DType::U8, tk_matmul_integer_i8u8_items, tk_matmul_integer_i8u8); }
TEST(KernelsMatMulInteger, I8I8) { checkMmi<int8_t, int8_t>(DType::I8, DType::I8, tk_matmul_integer_i8i8_items, tk_matmul_integer_i8i8); }

// ---------------------------------------------------------------------------
// Softmax, LogSoftmax
// ---------------------------------------------------------------------------

template <typename S> using RowsCount = int64_t (*)(const S *, S *, int64_t, int64_t, int64_t);
template <typename S> using RowsRun = void (*)(const S *, S *, int64_t, int64_t, int64_t, int64_t, int64_t);

template <typename S> struct SoftmaxKernel {
  DType dt;
  RowsCount<S> items, grain;
  RowsRun<S> run;
};

struct Shape3D {
  int64_t outer, n, inner;
};

/// x with, when there are at least 4 rows of at least 4 elements, special rows: -inf entries, huge values
/// (no overflow thanks to the max), a NaN (the whole row is NaN).
Tensor softmaxInput(DType dt, const Shape3D &s, std::mt19937 &rng) {
  Tensor x = randomTensor(dt, {s.outer, s.n, s.inner}, rng, -5, 5);
  if (s.inner != 1 || s.outer < 4 || s.n < 4) return x;
  double big = dt == DType::F16 ? 60000 : 80;
  for (int64_t j = 0; j < s.n; ++j) {
    if (j % 3 == 0) x.setDouble(1 * s.n + j, -kInf);
    x.setDouble(2 * s.n + j, big - double(j % 5));
  }
  x.setDouble(3 * s.n + 1, kNaN);
  return x;
}

template <typename S> void checkSoftmax(const SoftmaxKernel<S> &k, const char *op) {
  std::mt19937 rng(5);
  bool log = std::string(op) == "LogSoftmax";
  for (const Shape3D &s : {Shape3D{1, 1, 1}, Shape3D{3, 17, 1}, Shape3D{2, 1000, 1}, Shape3D{4, 9, 1},
                           Shape3D{2, 5, 3}, Shape3D{1, 7, 300}, Shape3D{4, 1, 5}, Shape3D{2, 0, 3}}) {
    std::string where = std::string(op) + " " + std::string(dtypeName(k.dt)) + " " + shapeName({s.outer, s.n, s.inner});
    Tensor x = softmaxInput(k.dt, s, rng);
    Tensor want = interpretOp(op, {x}, attrs({{"axis", int64_t(1)}}))[0];
    Tensor y(k.dt, {s.outer, s.n, s.inner});
    int64_t items = k.items(x.data<S>(), y.mutableData<S>(), s.outer, s.n, s.inner);
    EXPECT_GE(k.grain(x.data<S>(), y.mutableData<S>(), s.outer, s.n, s.inner), 1);
    for (int64_t i = items - 1; i >= 0; --i) k.run(x.data<S>(), y.mutableData<S>(), s.outer, s.n, s.inner, i, i + 1);
    // Computed in f32 (f64) rather than the interpreter's double, then rounded to the dtype (which may
    // round the other way: one ulp, or one subnormal step of f16).
    double uc = k.dt == DType::F64 ? 0x1p-53 : 0x1p-24, tiny = k.dt == DType::F16 ? 0x1p-24 : 0;
    for (int64_t i = 0; i < x.numElements(); ++i) {
      double w = want.getDouble(i);
      double tol = 2 * unitRoundoff(k.dt) * std::abs(w) + 32 * uc * (log ? 8 + std::abs(w) : std::abs(w)) + tiny;
      expectNear(y.getDouble(i), w, tol, where + " element " + std::to_string(i));
    }
  }
}

TEST(KernelsSoftmax, F32) { checkSoftmax(SoftmaxKernel<float>{DType::F32, tk_softmax_f32_items, tk_softmax_f32_grain, tk_softmax_f32}, "Softmax"); }
TEST(KernelsSoftmax, F64) { checkSoftmax(SoftmaxKernel<double>{DType::F64, tk_softmax_f64_items, tk_softmax_f64_grain, tk_softmax_f64}, "Softmax"); }
TEST(KernelsSoftmax, F16) { checkSoftmax(SoftmaxKernel<uint16_t>{DType::F16, tk_softmax_f16_items, tk_softmax_f16_grain, tk_softmax_f16}, "Softmax"); }
TEST(KernelsSoftmax, BF16) { checkSoftmax(SoftmaxKernel<uint16_t>{DType::BF16, tk_softmax_bf16_items, tk_softmax_bf16_grain, tk_softmax_bf16}, "Softmax"); }
TEST(KernelsLogSoftmax, F32) { checkSoftmax(SoftmaxKernel<float>{DType::F32, tk_logsoftmax_f32_items, tk_logsoftmax_f32_grain, tk_logsoftmax_f32}, "LogSoftmax"); }
TEST(KernelsLogSoftmax, F64) { checkSoftmax(SoftmaxKernel<double>{DType::F64, tk_logsoftmax_f64_items, tk_logsoftmax_f64_grain, tk_logsoftmax_f64}, "LogSoftmax"); }
TEST(KernelsLogSoftmax, F16) { checkSoftmax(SoftmaxKernel<uint16_t>{DType::F16, tk_logsoftmax_f16_items, tk_logsoftmax_f16_grain, tk_logsoftmax_f16}, "LogSoftmax"); }
TEST(KernelsLogSoftmax, BF16) { checkSoftmax(SoftmaxKernel<uint16_t>{DType::BF16, tk_logsoftmax_bf16_items, tk_logsoftmax_bf16_grain, tk_logsoftmax_bf16}, "LogSoftmax"); }

// ---------------------------------------------------------------------------
// LayerNormalization
// ---------------------------------------------------------------------------

template <typename S, typename St> struct LayerNormKernel {
  DType dt;
  int64_t (*items)(const S *, const S *, const S *, S *, St *, St *, int64_t, int64_t, float);
  int64_t (*grain)(const S *, const S *, const S *, S *, St *, St *, int64_t, int64_t, float);
  void (*run)(const S *, const S *, const S *, S *, St *, St *, int64_t, int64_t, float, int64_t, int64_t);
};

template <typename S, typename St> void checkLayerNorm(const LayerNormKernel<S, St> &k) {
  std::mt19937 rng(6);
  DType stash = k.dt == DType::F64 ? DType::F64 : DType::F32;
  float eps = 1e-5f;
  for (auto [outer, n] : {std::pair<int64_t, int64_t>{1, 1}, {3, 17}, {2, 1000}, {5, 3}, {1, 2048}})
    for (bool withBias : {true, false})
      for (bool withStats : {true, false}) {
        std::string where = std::string(dtypeName(k.dt)) + " " + shapeName({outer, n}) + (withBias ? " bias" : "") +
                            (withStats ? " stats" : "");
        Tensor x = randomTensor(k.dt, {outer, n}, rng, -2, 4), scale = randomTensor(k.dt, {n}, rng, 0.5, 2);
        Tensor bias = withBias ? randomTensor(k.dt, {n}, rng) : Tensor();
        std::vector<Tensor> want =
            interpretOp("LayerNormalization", {x, scale, bias},
                        attrs({{"axis", int64_t(-1)}, {"epsilon", eps}, {"stash_type", int64_t(stash == DType::F64 ? 11 : 1)}}), 3);
        Tensor y(k.dt, {outer, n});
        std::vector<St> mean(size_t(outer), St(-1)), inv(size_t(outer), St(-1));
        auto args = std::make_tuple(x.data<S>(), scale.data<S>(), withBias ? bias.data<S>() : nullptr, y.mutableData<S>(),
                                    withStats ? mean.data() : nullptr, withStats ? inv.data() : nullptr, outer, n, eps);
        int64_t items = std::apply(k.items, args);
        EXPECT_EQ(items, outer) << where;
        EXPECT_GE(std::apply(k.grain, args), 1) << where;
        for (int64_t i = items - 1; i >= 0; --i) std::apply(k.run, std::tuple_cat(args, std::make_tuple(i, i + 1)));
        // Statistics summed in f32 (f64) in another order than the interpreter's double sums.
        double stat = stash == DType::F64 ? 1e-12 : 1e-4, ux = unitRoundoff(k.dt);
        for (int64_t r = 0; r < outer; ++r) {
          double wantInv = want[2].getDouble(r);
          if (withStats) {
            expectNear(double(mean[size_t(r)]), want[1].getDouble(r), stat, where + " mean");
            expectNear(double(inv[size_t(r)]), wantInv, stat * wantInv, where + " invstd");
          } else {
            EXPECT_EQ(mean[size_t(r)], St(-1)) << where;
          }
          for (int64_t j = 0; j < n; ++j) {
            double w = want[0].getDouble(r * n + j);
            // Rounding to f16/bf16 twice (normalized, then y) may each go the other way.
            double tol = 4 * ux * (std::abs(w) + 2) + 2 * stat * (std::abs(w) + 1);
            expectNear(y.getDouble(r * n + j), w, tol, where + " y at " + shapeName({r, j}));
          }
        }
      }
}

TEST(KernelsLayerNorm, F32) { checkLayerNorm(LayerNormKernel<float, float>{DType::F32, tk_layernorm_f32_items, tk_layernorm_f32_grain, tk_layernorm_f32}); }
TEST(KernelsLayerNorm, F64) { checkLayerNorm(LayerNormKernel<double, double>{DType::F64, tk_layernorm_f64_items, tk_layernorm_f64_grain, tk_layernorm_f64}); }
TEST(KernelsLayerNorm, F16) { checkLayerNorm(LayerNormKernel<uint16_t, float>{DType::F16, tk_layernorm_f16_items, tk_layernorm_f16_grain, tk_layernorm_f16}); }
TEST(KernelsLayerNorm, BF16) { checkLayerNorm(LayerNormKernel<uint16_t, float>{DType::BF16, tk_layernorm_bf16_items, tk_layernorm_bf16_grain, tk_layernorm_bf16}); }

// ---------------------------------------------------------------------------
// Reductions
// ---------------------------------------------------------------------------

template <typename S> struct ReduceKernel {
  const char *op;
  DType dt;
  RowsCount<S> items, grain;
  RowsRun<S> run;
};

template <typename S> void checkReduce(const ReduceKernel<S> &k) {
  std::mt19937 rng(7);
  bool isF = isFloat(k.dt), extreme = std::string(k.op) == "ReduceMax" || std::string(k.op) == "ReduceMin";
  for (const Shape3D &s : {Shape3D{1, 1, 1}, Shape3D{3, 17, 1}, Shape3D{2, 1000, 1}, Shape3D{2, 5, 3},
                           Shape3D{1, 4, 300}, Shape3D{3, 0, 1}, Shape3D{2, 0, 3}, Shape3D{5, 33, 2},
                           Shape3D{3, 1, 4}, Shape3D{2, 2, 5}}) {
    std::string where = std::string(k.op) + " " + std::string(dtypeName(k.dt)) + " " + shapeName({s.outer, s.n, s.inner});
    Tensor x = randomTensor(k.dt, {s.outer, s.n, s.inner}, rng, -10, 10);
    if (isF && s.n >= 3 && s.outer * s.inner >= 3) {
      // Output 0 sees a NaN, output 1 an inf and a -inf (after finite values for the max/min).
      x.setDouble(1 * s.inner, kNaN);
      x.setDouble(1 + 1 * s.inner, kInf);
      x.setDouble(1 + 2 * s.inner, -kInf);
    }
    Tensor want = interpretOp(k.op, {x}, attrs({{"axes", std::vector<int64_t>{1}}, {"keepdims", int64_t(0)}}))[0];
    Tensor y(k.dt, {s.outer, s.inner});
    int64_t items = k.items(x.data<S>(), y.mutableData<S>(), s.outer, s.n, s.inner);
    EXPECT_GE(k.grain(x.data<S>(), y.mutableData<S>(), s.outer, s.n, s.inner), 1) << where;
    for (int64_t i = items - 1; i >= 0; --i) k.run(x.data<S>(), y.mutableData<S>(), s.outer, s.n, s.inner, i, i + 1);
    for (int64_t i = 0; i < y.numElements(); ++i) {
      if (!isF) {
        EXPECT_EQ(y.getInt(i), want.getInt(i)) << where << " output " << i;
        continue;
      }
      double w = want.getDouble(i);
      // Sums accumulate in f32 (f64) in another order; max/min are exact.
      double acc = k.dt == DType::F64 ? 0x1p-53 : 0x1p-24;
      double tol = extreme ? 0 : 2 * unitRoundoff(k.dt) * std::abs(w) + acc * double(s.n + 2) * 10;
      expectNear(y.getDouble(i), w, tol, where + " output " + std::to_string(i));
    }
  }
}

#define TK_REDUCE_TEST(Name, op, name)                                                                         \
  TEST(KernelsReduce, Name) {                                                                                  \
    checkReduce(ReduceKernel<float>{op, DType::F32, tk_reduce_##name##_f32_items, tk_reduce_##name##_f32_grain, \
                                    tk_reduce_##name##_f32});                                                  \
    checkReduce(ReduceKernel<double>{op, DType::F64, tk_reduce_##name##_f64_items,                             \
                                     tk_reduce_##name##_f64_grain, tk_reduce_##name##_f64});                   \
    checkReduce(ReduceKernel<uint16_t>{op, DType::F16, tk_reduce_##name##_f16_items,                           \
                                       tk_reduce_##name##_f16_grain, tk_reduce_##name##_f16});                 \
    checkReduce(ReduceKernel<uint16_t>{op, DType::BF16, tk_reduce_##name##_bf16_items,                         \
                                       tk_reduce_##name##_bf16_grain, tk_reduce_##name##_bf16});               \
    checkReduce(ReduceKernel<int8_t>{op, DType::I8, tk_reduce_##name##_i8_items, tk_reduce_##name##_i8_grain,   \
                                     tk_reduce_##name##_i8});                                                  \
    checkReduce(ReduceKernel<uint8_t>{op, DType::U8, tk_reduce_##name##_u8_items, tk_reduce_##name##_u8_grain,  \
                                      tk_reduce_##name##_u8});                                                 \
    checkReduce(ReduceKernel<int16_t>{op, DType::I16, tk_reduce_##name##_i16_items,                            \
                                      tk_reduce_##name##_i16_grain, tk_reduce_##name##_i16});                  \
    checkReduce(ReduceKernel<uint16_t>{op, DType::U16, tk_reduce_##name##_u16_items,                           \
                                       tk_reduce_##name##_u16_grain, tk_reduce_##name##_u16});                 \
    checkReduce(ReduceKernel<int32_t>{op, DType::I32, tk_reduce_##name##_i32_items,                            \
                                      tk_reduce_##name##_i32_grain, tk_reduce_##name##_i32});                  \
    checkReduce(ReduceKernel<uint32_t>{op, DType::U32, tk_reduce_##name##_u32_items,                           \
                                       tk_reduce_##name##_u32_grain, tk_reduce_##name##_u32});                 \
    checkReduce(ReduceKernel<int64_t>{op, DType::I64, tk_reduce_##name##_i64_items,                            \
                                      tk_reduce_##name##_i64_grain, tk_reduce_##name##_i64});                  \
    checkReduce(ReduceKernel<uint64_t>{op, DType::U64, tk_reduce_##name##_u64_items,                           \
                                       tk_reduce_##name##_u64_grain, tk_reduce_##name##_u64});                 \
  }
TK_REDUCE_TEST(Sum, "ReduceSum", sum)
TK_REDUCE_TEST(Mean, "ReduceMean", mean)
TK_REDUCE_TEST(Max, "ReduceMax", max)
TK_REDUCE_TEST(Min, "ReduceMin", min)

// ---------------------------------------------------------------------------
// f16 / bf16 conversions
// ---------------------------------------------------------------------------

uint32_t bitsOf(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float floatOf(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

/// Calls check(bits) for every f32 bit pattern a stride apart, plus the patterns at and next to each 16-bit
/// format's rounding midpoints (where round-to-nearest-even matters); `widen` gives a format value's f32 bits.
template <typename F> void forConversionProbes(uint32_t (*widen)(uint16_t), F &&check) {
  for (uint64_t u = 0; u <= 0xffffffffull; u += 251) check(uint32_t(u));
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float mid = (floatOf(widen(uint16_t(h))) + floatOf(widen(uint16_t(h + 1)))) / 2; // exact unless signs differ
    for (int d = -1; d <= 1; ++d) check(bitsOf(mid) + uint32_t(d));
  }
}

TEST(KernelsConvert, F16AllPatterns) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = tk_f16_to_f32(uint16_t(h));
    ASSERT_EQ(bitsOf(f), bitsOf(halfToFloat(uint16_t(h)))) << std::hex << h;
    if (std::isnan(f)) ASSERT_TRUE(std::isnan(halfToFloat(tk_f32_to_f16(f)))) << std::hex << h;
    else ASSERT_EQ(tk_f32_to_f16(f), h) << "round trip of " << std::hex << h;
  }
  int mismatches = 0;
  forConversionProbes([](uint16_t h) { return bitsOf(halfToFloat(h)); }, [&](uint32_t u) {
    if (tk_f32_to_f16(floatOf(u)) != floatToHalf(floatOf(u)) && ++mismatches < 5) ADD_FAILURE() << std::hex << u;
  });
  EXPECT_EQ(mismatches, 0);
  // Named cases: ties to even, overflow to inf, the smallest subnormal, NaN stays quiet.
  EXPECT_EQ(tk_f32_to_f16(65520.0f), 0x7c00);
  EXPECT_EQ(tk_f32_to_f16(65519.0f), 0x7bff);
  EXPECT_EQ(tk_f32_to_f16(0x1p-25f), 0x0000);
  EXPECT_EQ(tk_f32_to_f16(0x1.8p-25f), 0x0001);
  EXPECT_EQ(tk_f32_to_f16(-0x1p-24f), 0x8001);
  EXPECT_EQ(tk_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);
  EXPECT_EQ(tk_f32_to_f16(1.0f + 0x3p-11f), 0x3c02);
  EXPECT_EQ(tk_f32_to_f16(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(tk_f32_to_f16(floatOf(0x7f800001u)) & 0x7e00, 0x7e00);
}

TEST(KernelsConvert, BF16AllPatterns) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float f = tk_bf16_to_f32(uint16_t(h));
    ASSERT_EQ(bitsOf(f), bitsOf(bf16ToFloat(uint16_t(h)))) << std::hex << h;
    if (!std::isnan(f)) ASSERT_EQ(tk_f32_to_bf16(f), h) << "round trip of " << std::hex << h;
    else ASSERT_TRUE(std::isnan(bf16ToFloat(tk_f32_to_bf16(f)))) << std::hex << h;
  }
  int mismatches = 0;
  forConversionProbes([](uint16_t h) { return bitsOf(bf16ToFloat(h)); }, [&](uint32_t u) {
    if (tk_f32_to_bf16(floatOf(u)) != floatToBF16(floatOf(u)) && ++mismatches < 5) ADD_FAILURE() << std::hex << u;
  });
  EXPECT_EQ(mismatches, 0);
  EXPECT_EQ(tk_f32_to_bf16(1.0f + 0x1p-8f), 0x3f80);
  EXPECT_EQ(tk_f32_to_bf16(1.0f + 0x3p-8f), 0x3f82);
  EXPECT_EQ(tk_f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(tk_f32_to_bf16(floatOf(0x7f800001u)) & 0x7fc0, 0x7fc0);
}

// ---------------------------------------------------------------------------
// Scalar math
// ---------------------------------------------------------------------------

/// Distance in ulps between two floats (0 for two NaNs, huge for one).
double ulpDistance(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0 : 1e30;
  auto ordered = [](float f) {
    int64_t i = int32_t(bitsOf(f));
    return i < 0 ? -(i & 0x7fffffff) : i;
  };
  return std::abs(double(ordered(a) - ordered(b)));
}

struct MathCase {
  const char *name;
  float (*fn)(float);
  double (*ref)(double);
  double limit; ///< |x| up to which the bound holds
  double maxUlp;
};

const MathCase kMath[] = {
    {"exp", tk_exp_f32, [](double x) { return std::exp(x); }, 1e38, 2},
    {"log", tk_log_f32, [](double x) { return std::log(x); }, 1e38, 2},
    {"tanh", tk_tanh_f32, [](double x) { return std::tanh(x); }, 1e38, 3},
    {"sigmoid", tk_sigmoid_f32, [](double x) { return 1 / (1 + std::exp(-x)); }, 1e38, 3},
    {"erf", tk_erf_f32, [](double x) { return std::erf(x); }, 1e38, 3},
    {"sin", tk_sin_f32, [](double x) { return std::sin(x); }, 1e6, 3},
    {"cos", tk_cos_f32, [](double x) { return std::cos(x); }, 1e6, 3},
};

TEST(KernelsMath, MatchesLibmOverTheRange) {
  for (const MathCase &c : kMath) {
    double worst = 0;
    float worstX = 0;
    auto probe = [&](float x) {
      if (!(std::abs(x) <= c.limit)) return;
      double e = ulpDistance(c.fn(x), float(c.ref(double(x))));
      if (e > worst) worst = e, worstX = x;
    };
    for (uint64_t u = 0; u < 0xffffffffull; u += 1021) probe(floatOf(uint32_t(u))); // every magnitude, both signs
    for (int i = -400000; i <= 400000; ++i) probe(float(i) * 5e-5f);                // densely where values vary
    EXPECT_LE(worst, c.maxUlp) << c.name << " at " << worstX << ": " << c.fn(worstX) << " vs " << c.ref(worstX);
  }
}

TEST(KernelsMath, SpecialValues) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(tk_exp_f32(-inf), 0.0f);
  EXPECT_EQ(tk_exp_f32(inf), inf);
  EXPECT_TRUE(std::isnan(tk_exp_f32(nan)));
  EXPECT_EQ(tk_exp_f32(89.0f), inf);
  EXPECT_EQ(tk_exp_f32(-104.0f), 0.0f);
  EXPECT_EQ(tk_exp_f32(0.0f), 1.0f);
  EXPECT_LE(ulpDistance(tk_exp_f32(88.72f), float(std::exp(88.72f))), 1); // the largest results stay finite
  EXPECT_EQ(tk_exp_f32(-103.0f), float(std::exp(-103.0)));                  // subnormal results
  EXPECT_EQ(tk_log_f32(0.0f), -inf);
  EXPECT_EQ(tk_log_f32(-0.0f), -inf);
  EXPECT_TRUE(std::isnan(tk_log_f32(-1.0f)));
  EXPECT_TRUE(std::isnan(tk_log_f32(-inf)));
  EXPECT_TRUE(std::isnan(tk_log_f32(nan)));
  EXPECT_EQ(tk_log_f32(inf), inf);
  EXPECT_EQ(tk_log_f32(1.0f), 0.0f);
  EXPECT_EQ(tk_log_f32(1e-45f), float(std::log(double(1e-45f)))); // subnormal input
  EXPECT_EQ(tk_tanh_f32(inf), 1.0f);
  EXPECT_EQ(tk_tanh_f32(-inf), -1.0f);
  EXPECT_EQ(tk_tanh_f32(20.0f), 1.0f);
  EXPECT_TRUE(std::isnan(tk_tanh_f32(nan)));
  EXPECT_EQ(bitsOf(tk_tanh_f32(-0.0f)), bitsOf(-0.0f));
  EXPECT_EQ(tk_sigmoid_f32(-inf), 0.0f);
  EXPECT_EQ(tk_sigmoid_f32(inf), 1.0f);
  EXPECT_EQ(tk_sigmoid_f32(0.0f), 0.5f);
  EXPECT_GT(tk_sigmoid_f32(-100.0f), 0.0f); // e^-100, not flushed to 0
  EXPECT_TRUE(std::isnan(tk_sigmoid_f32(nan)));
  EXPECT_EQ(tk_erf_f32(inf), 1.0f);
  EXPECT_EQ(tk_erf_f32(-inf), -1.0f);
  EXPECT_EQ(tk_erf_f32(0.0f), 0.0f);
  EXPECT_EQ(tk_erf_f32(5.0f), 1.0f);
  EXPECT_TRUE(std::isnan(tk_erf_f32(nan)));
  for (float x : {inf, -inf, nan}) {
    EXPECT_TRUE(std::isnan(tk_sin_f32(x))) << x;
    EXPECT_TRUE(std::isnan(tk_cos_f32(x))) << x;
  }
  EXPECT_EQ(bitsOf(tk_sin_f32(-0.0f)), bitsOf(-0.0f));
  EXPECT_EQ(tk_cos_f32(0.0f), 1.0f);
  for (float x : {1e7f, 3e9f, -1e20f, 3.4e38f}) { // past exact reduction: still in [-1, 1]
    EXPECT_LE(std::abs(tk_sin_f32(x)), 1.0f) << x;
    EXPECT_LE(std::abs(tk_cos_f32(x)), 1.0f) << x;
  }
}

} // namespace
