// OnnxTensor: ONNX TensorProtos (raw, typed or external data) as ternc tensors.
#pragma once

#include "ir/Tensor.h"

#include <onnx/onnx_pb.h>

#include <filesystem>
#include <map>
#include <memory>
#include <string>

namespace ternc::onnx_import {

/// The ternc dtype of an ONNX TensorProto.DataType; throws UnsupportedError
/// naming `file` and `what` for types ternc lacks (string, complex, ...).
DType dtypeOfOnnx(int onnxType, const std::string &file, const std::string &what);

/// ONNX's name of a TensorProto.DataType value ("FLOAT", "STRING", ...).
std::string onnxTypeName(int onnxType);

/// Converts TensorProtos of one file. Raw data is borrowed from the parsed
/// protobuf (kept alive by `owner`), typed fields are converted into owned
/// storage, and external data is memory-mapped (each file once) from
/// `baseDir`, which it must not escape.
class TensorReader {
public:
  TensorReader(std::string file, std::filesystem::path baseDir, std::shared_ptr<const void> owner)
      : file_(std::move(file)), baseDir_(std::move(baseDir)), owner_(std::move(owner)) {}

  /// `what` names the tensor in errors, e.g. `initializer "w"`.
  Tensor read(const onnx::TensorProto &t, const std::string &what);

private:
  Tensor readExternal(const onnx::TensorProto &t, const std::string &what, DType dtype,
                      const std::vector<int64_t> &shape, size_t bytes);
  Tensor readTyped(const onnx::TensorProto &t, const std::string &what, DType dtype,
                   const std::vector<int64_t> &shape, int64_t count);

  std::string file_;
  std::filesystem::path baseDir_;
  std::shared_ptr<const void> owner_;
  std::map<std::string, std::shared_ptr<Storage>> mappedFiles_;
};

} // namespace ternc::onnx_import
