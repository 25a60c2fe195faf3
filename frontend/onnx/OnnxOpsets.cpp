// OnnxOpsets: the supported ONNX ops with the opset versions (up to 17) in
// which the ONNX specification (re)defined each of them.
#include "frontend/onnx/OnnxOpsets.h"

#include <algorithm>
#include <array>

namespace ternc::onnx_import {

namespace {

struct OpVersions {
  std::string_view op;
  std::array<int, 6> since;  // ascending: every version that changed the op, up to 17; 0 pads
};

// From the ONNX operator changelog (docs/Changelog.md), ONNX 1.12.
constexpr std::array<OpVersions, 62> kOps = {{
    {"Abs", {1, 6, 13}},
    {"Add", {1, 6, 7, 13, 14}},
    {"And", {1, 7}},
    {"Cast", {1, 6, 9, 13}},
    {"CastLike", {15}},
    {"Ceil", {1, 6, 13}},
    {"Clip", {1, 6, 11, 12, 13}},
    {"Concat", {1, 4, 11, 13}},
    {"Constant", {1, 9, 11, 12, 13}},
    {"ConstantOfShape", {9}},
    {"Cos", {7}},
    {"DequantizeLinear", {10, 13}},
    {"Div", {1, 6, 7, 13, 14}},
    {"Equal", {1, 7, 11, 13}},
    {"Erf", {9, 13}},
    {"Exp", {1, 6, 13}},
    {"Expand", {8, 13}},
    {"Floor", {1, 6, 13}},
    {"Gather", {1, 11, 13}},
    {"Gemm", {1, 6, 7, 9, 11, 13}},
    {"Greater", {1, 7, 9, 13}},
    {"GreaterOrEqual", {12, 16}},
    {"Identity", {1, 13, 14, 16}},
    {"LayerNormalization", {17}},
    {"Less", {1, 7, 9, 13}},
    {"LessOrEqual", {12, 16}},
    {"Log", {1, 6, 13}},
    {"LogSoftmax", {1, 11, 13}},
    {"MatMul", {1, 9, 13}},
    {"MatMulInteger", {10}},
    {"Max", {1, 6, 8, 12, 13}},
    {"Min", {1, 6, 8, 12, 13}},
    {"Mul", {1, 6, 7, 13, 14}},
    {"Neg", {1, 6, 13}},
    {"Not", {1}},
    {"Or", {1, 7}},
    {"Pow", {1, 7, 12, 13, 15}},
    {"QuantizeLinear", {10, 13}},
    {"Range", {11}},
    {"Reciprocal", {1, 6, 13}},
    {"ReduceMax", {1, 11, 12, 13}},
    {"ReduceMean", {1, 11, 13}},
    {"ReduceMin", {1, 11, 12, 13}},
    {"ReduceSum", {1, 11, 13}},
    {"Relu", {1, 6, 13, 14}},
    {"Reshape", {1, 5, 13, 14}},
    {"Round", {11}},
    {"Shape", {1, 13, 15}},
    {"Sigmoid", {1, 6, 13}},
    {"Sign", {9, 13}},
    {"Sin", {7}},
    {"Slice", {1, 10, 11, 13}},
    {"Softmax", {1, 11, 13}},
    {"Split", {1, 2, 11, 13}},
    {"Sqrt", {1, 6, 13}},
    {"Squeeze", {1, 11, 13}},
    {"Sub", {1, 6, 7, 13, 14}},
    {"Tanh", {1, 6, 13}},
    {"Transpose", {1, 13}},
    {"Trilu", {14}},
    {"Unsqueeze", {1, 11, 13}},
    {"Where", {9, 16}},
}};

static_assert(std::is_sorted(kOps.begin(), kOps.end(), [](const OpVersions &a, const OpVersions &b) { return a.op < b.op; }),
              "kOps must stay sorted by name for lower_bound");

const OpVersions *find(std::string_view op) {
  auto it = std::lower_bound(kOps.begin(), kOps.end(), op, [](const OpVersions &e, std::string_view n) { return e.op < n; });
  return it != kOps.end() && it->op == op ? &*it : nullptr;
}

} // namespace

const std::vector<std::string_view> &supportedOnnxOps() {
  static const std::vector<std::string_view> ops = [] {
    std::vector<std::string_view> out;
    for (const auto &e : kOps) out.push_back(e.op);
    return out;
  }();
  return ops;
}

bool isSupportedOnnxOp(std::string_view opType) { return find(opType) != nullptr; }

std::optional<int> onnxOpSinceVersion(std::string_view opType, int opset) {
  const OpVersions *e = find(opType);
  if (!e) return std::nullopt;
  std::optional<int> best;
  for (int v : e->since)
    if (v != 0 && v <= opset) best = v;
  return best;
}

} // namespace ternc::onnx_import
