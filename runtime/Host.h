// Host.h: the runtime's internal C++ side (host tensors, .npy/.pb files, symbol binding) shared by ternc_main and the runtime tests.
#pragma once

#include "ternc/runtime.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace ternc::rt {

/// Any runtime failure; the message names the file/input and what is wrong.
/// ternc_main turns it into `<program>: error: <message>` and exit code 1.
class Error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// Zero-filled bytes aligned to 64 (a cache line and the widest vector), the
/// alignment generated code may assume for inputs, outputs and the arena.
class AlignedBuffer {
public:
  AlignedBuffer() = default;
  explicit AlignedBuffer(size_t bytes);
  std::byte *data() const { return data_.get(); }
  size_t size() const { return size_; }

private:
  struct Free {
    void operator()(std::byte *p) const;
  };
  std::unique_ptr<std::byte, Free> data_;
  size_t size_ = 0;
};

/// A dense row-major tensor owned by the host (an input read from a file or
/// an output buffer). `dtype` is a ternc_dtype.
struct HostTensor {
  int32_t dtype = TERNC_F32;
  std::vector<int64_t> shape;
  AlignedBuffer bytes;

  /// A zero-filled tensor; throws Error on a negative dim or an overflow.
  static HostTensor zeros(int32_t dtype, std::vector<int64_t> shape);
  int64_t numElements() const;
  size_t byteSize() const { return bytes.size(); }
};

/// The IR's name of a dtype ("f32", "i64", "bool", ...); "?" if out of range.
const char *dtypeName(int32_t dtype);

/// Reads a .npy file (format 1.0-3.0, little-endian, C order). Throws Error
/// naming the file if it is unreadable, malformed, or of an unknown dtype.
HostTensor readNpy(const std::string &path);
/// Writes `t` as .npy to `path` directly (not atomic; see writeNpy). bf16 is
/// an error (numpy has no bf16); tern is written as int8.
void writeNpyFile(const HostTensor &t, const std::string &path);
/// Writes `t` as .npy atomically: a temporary file beside `path`, renamed.
void writeNpy(const HostTensor &t, const std::string &path);
/// Reads an ONNX TensorProto .pb file, converting the typed fields by the
/// ONNX rules (int32_data carries the narrow ints, bool, f16 and bf16).
HostTensor readTensorProto(const std::string &path);
/// readTensorProto for `.pb`, readNpy otherwise.
HostTensor readTensorFile(const std::string &path);

/// An output name as a file name: characters outside [A-Za-z0-9._-] become
/// '_', plus ".npy".
std::string outputFileName(const std::string &name);
/// A dim as text over the model's symbols: "4", "batch", "past+seq", "2*batch".
std::string dimText(const ternc_model &model, const ternc_dim &dim);
/// A tensor info as text: "x: f32[batch, 4]".
std::string tensorInfoText(const ternc_model &model, const ternc_tensor_info &info);

/// Checks `inputs` (one per model input, in order) against the model's
/// tensor infos and returns the symbol values: dtype, rank and static dims
/// must match; a dim that is a bare symbol binds it; every other dim is
/// checked once all symbols are bound. Throws Error naming the input (and
/// symbol) on any mismatch or inconsistent binding.
/// `hostBound` (symbol index, value) pairs are bound by the host beforehand
/// (a stateful model's cached length and capacity); inputs must agree.
std::vector<int64_t> bindSymbols(const ternc_model &model, const std::vector<const HostTensor *> &inputs,
                                 const std::vector<std::pair<int32_t, int64_t>> &hostBound = {});

/// Prints the --profile table: each kernel's calls and time (read from `ctx`) against `runMillis`, the wall
/// time of `runs` runs, plus the time outside kernels. `byRole` sums the kernels whose names differ only in
/// layer indices (".5/" and ".17/" both read ".*/") and lists the largest first.
void printProfile(const ternc_model &model, const ternc_context *ctx, double runMillis, int runs, bool byRole);

} // namespace ternc::rt
