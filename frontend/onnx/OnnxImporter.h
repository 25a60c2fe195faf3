// OnnxImporter: reads an ONNX model (with external data) into a ternc Module.
#pragma once

#include "ir/Error.h"
#include "ir/IR.h"

#include <memory>
#include <string>

namespace ternc {

/// The Error thrown for a well-formed model that uses something ternc does
/// not import: an op outside the supported set, an opset outside 13..17, a
/// dtype such as string, a sequence-typed input. Tools that sweep many models
/// (the ONNX node-test runner) tell these apart from real failures.
class UnsupportedError : public Error {
public:
  using Error::Error;
};

/// Imports `path` (opsets 13..17 of the default domain; an older opset only
/// if none of the model's ops changed between it and 13, see
/// docs/frontend-onnx.md). Initializers become
/// constants that reference the parsed protobuf's bytes or memory-map their
/// external-data file (which must stay inside the model's folder). dim_param
/// dims become symbols; types are inferred through the graph and the module
/// is verified. Unsupported ops are reported all at once, with node names.
/// Throws Error naming the file and the node on any problem.
std::unique_ptr<Module> importOnnx(const std::string &path);

/// Reads an ONNX TensorProto `.pb` file (as in the ONNX backend test data).
Tensor readTensorProtoFile(const std::string &path);

} // namespace ternc
