// Safetensors: a validating, zero-copy reader for Hugging Face .safetensors files and checkpoint folders
// (docs/frontend-hf.md, "Safetensors reading").
#pragma once

#include "ir/Tensor.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ternc::hf {

/// The element types a safetensors header may name ("BOOL", "U8", ..., "F64").
enum class StDType { BOOL, U8, I8, U16, I16, F16, BF16, U32, I32, F32, U64, I64, F64 };

/// Bytes per element.
size_t stDTypeSize(StDType t);
/// The header spelling: "BF16", "F32", ...
std::string_view stDTypeName(StDType t);
/// Parses a header dtype name (case-sensitive, as the format requires); nullopt if unknown.
std::optional<StDType> parseStDType(std::string_view s);
/// The ternc dtype with the same layout (every safetensors dtype has one).
DType toTerncDType(StDType t);

/// One tensor of a safetensors file. `data` points into the file's mapping, which outlives the tensor
/// as long as its SafetensorsFile (or the Storage from storage()) is alive.
struct StTensor {
  std::string name;
  StDType dtype = StDType::F32;
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  size_t nbytes = 0;
  const std::string *file = nullptr;  ///< The path of the file holding it (its SafetensorsFile's name()).
  size_t offset = 0;                  ///< Byte offset of `data` within the file's storage().

  int64_t numElements() const;
};

/// A parsed, validated safetensors file over a read-only memory mapping of the whole file.
class SafetensorsFile {
public:
  /// Maps and validates `path`. Throws Error naming the file (and tensor) on any defect.
  static std::unique_ptr<SafetensorsFile> open(const std::string &path);
  /// Validates the file bytes in `bytes`; `name` is used in error messages and as the tensors' file.
  static std::unique_ptr<SafetensorsFile> fromBytes(std::string name, std::shared_ptr<Storage> bytes);

  /// The path (or name) errors and tensors refer to.
  const std::string &name() const { return name_; }
  /// The whole file's bytes; tensors' `offset` fields index into it.
  const std::shared_ptr<Storage> &storage() const { return storage_; }
  /// Tensors in order of their data offsets.
  const std::vector<StTensor> &tensors() const { return tensors_; }
  /// The "__metadata__" object (empty if absent).
  const std::map<std::string, std::string> &metadata() const { return metadata_; }
  /// The tensor called `name`, or null.
  const StTensor *find(std::string_view name) const;
  /// Size of the JSON header in bytes (without the 8-byte length prefix).
  uint64_t headerSize() const { return headerSize_; }

  /// A ternc tensor viewing the mapped bytes of `t` (a tensor of this file) without copying. If the data is not
  /// aligned to its element size (possible only in hand-made files), the bytes are copied instead.
  Tensor view(const StTensor &t) const;
  /// `t` (f32, f16 or bf16) converted exactly to a new owned f32 tensor.
  Tensor toF32(const StTensor &t) const;

  /// Largest accepted JSON header (the reference implementation's limit).
  static constexpr uint64_t kMaxHeaderBytes = 100u << 20;

private:
  SafetensorsFile() = default;
  void parse();

  std::string name_;
  std::shared_ptr<Storage> storage_;
  uint64_t headerSize_ = 0;
  std::vector<StTensor> tensors_;
  std::map<std::string, size_t, std::less<>> byName_;
  std::map<std::string, std::string> metadata_;
};

/// A Hugging Face checkpoint folder: model.safetensors.index.json with its shards, or every *.safetensors file.
class Checkpoint {
public:
  /// Opens the folder `dir` (or a single .safetensors file). Throws Error naming the folder or file on any defect.
  static std::unique_ptr<Checkpoint> open(const std::string &dir);

  /// The folder (or file) given to open().
  const std::string &dir() const { return dir_; }
  /// The tensor called `name`, or null.
  const StTensor *find(std::string_view name) const;
  /// The tensor called `name`; throws Error naming the folder, the tensor and up to 5 similar names.
  const StTensor &get(std::string_view name) const;
  /// All tensor names, sorted.
  std::vector<std::string> names() const;
  /// The opened files, in file-name order.
  const std::vector<std::unique_ptr<SafetensorsFile>> &files() const { return files_; }
  /// The file holding `t` (a tensor of this checkpoint).
  const SafetensorsFile &fileOf(const StTensor &t) const;
  /// The mapping holding `t`'s bytes (at `t.offset`).
  const std::shared_ptr<Storage> &storage(const StTensor &t) const { return fileOf(t).storage(); }
  /// Zero-copy ternc view of `t` (see SafetensorsFile::view).
  Tensor view(const StTensor &t) const { return fileOf(t).view(t); }
  /// `t` (f32, f16 or bf16) as a new owned f32 tensor.
  Tensor toF32(const StTensor &t) const { return fileOf(t).toF32(t); }

private:
  Checkpoint() = default;

  std::string dir_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const StTensor *, std::less<>> byName_;
};

} // namespace ternc::hf
