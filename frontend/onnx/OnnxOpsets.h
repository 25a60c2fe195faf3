// OnnxOpsets: which ONNX ops and opsets the importer accepts, and the
// versions in which each supported op's definition changed.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

namespace ternc::onnx_import {

/// The default-domain opsets whose definitions the IR's core ops follow.
inline constexpr int kMinOpset = 13;
inline constexpr int kMaxOpset = 17;

/// The ONNX op types of the default domain that the importer translates, in
/// alphabetical order.
const std::vector<std::string_view> &supportedOnnxOps();

/// True if `opType` is one of supportedOnnxOps().
bool isSupportedOnnxOp(std::string_view opType);

/// The opset version whose definition of `opType` applies in a model that
/// imports `opset` (ONNX's "since version"); nullopt if the op does not exist
/// yet at that opset or is not a supported op.
std::optional<int> onnxOpSinceVersion(std::string_view opType, int opset);

} // namespace ternc::onnx_import
