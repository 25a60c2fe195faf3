// OnnxImporter: reads an ONNX model (with external data) into a ternc Module.
#pragma once

#include "ir/IR.h"

#include <memory>
#include <string>

namespace ternc {

/// Imports `path` (opsets 13..17 of the default domain). Initializers become
/// constants that reference the parsed protobuf's bytes or memory-map their
/// external-data file (which must stay inside the model's folder). dim_param
/// dims become symbols; types are inferred through the graph and the module
/// is verified. Unsupported ops are reported all at once, with node names.
/// Throws Error naming the file and the node on any problem.
std::unique_ptr<Module> importOnnx(const std::string &path);

/// Reads an ONNX TensorProto `.pb` file (as in the ONNX backend test data).
Tensor readTensorProtoFile(const std::string &path);

} // namespace ternc
