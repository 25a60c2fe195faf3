// GgufFile: a validating, zero-copy reader for GGUF v2/v3 model files (llama.cpp's format; docs/frontend-gguf.md).
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

namespace ternc::gguf {

/// Tensor element types, with upstream ggml's ids (ggml.h) and bitnet.cpp's I2_S (36, which upstream only ever used
/// for a removed repacked type).
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23,
  I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, I2_S = 36, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42,
};

/// Layout of one ggml type: `typeSize` bytes hold `blockSize` consecutive elements of a row.
struct GgmlTypeTraits {
  std::string_view name;  ///< ggml's spelling: "f32", "q8_0", "tq2_0", "i2_s"
  int64_t blockSize;
  int64_t typeSize;
};

/// The type with ggml id `id`; nullopt for ids that are unknown or were removed upstream.
std::optional<GgmlType> ggmlTypeFromId(uint32_t id);
const GgmlTypeTraits &ggmlTypeTraits(GgmlType t);
std::string_view ggmlTypeName(GgmlType t);
/// Bytes a tensor of `n` elements with rows of `rowLength` elements takes: n / blockSize * typeSize; for I2_S
/// ceil(n / 4) + 32 (the packed codes, then the f32 scale and padding). nullopt if `rowLength` is not a multiple
/// of the block size or the size overflows.
std::optional<uint64_t> ggmlTensorBytes(GgmlType t, int64_t n, int64_t rowLength);

/// Metadata value types (gguf_type).
enum class ValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7, String = 8, Array = 9, U64 = 10, I64 = 11,
  F64 = 12,
};
/// "u8", ..., "string", "array".
std::string_view valueTypeName(ValueType t);

/// One metadata value. Strings, string-array elements and the raw elements of scalar arrays point into the file's
/// mapping: a Value is valid while its GgufFile is alive.
struct Value {
  ValueType type = ValueType::U8;
  /// Scalars: unsigned integer types and Bool zero-extended, signed ones sign-extended, F32 widened to F64, all
  /// stored by value here.
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string_view str;  ///< String

  /// Array: element type and count. Scalar elements stay raw little-endian bytes at `elems`; strings are in
  /// `strings`, nested arrays in `arrays`.
  ValueType elemType = ValueType::U8;
  uint64_t count = 0;
  const std::byte *elems = nullptr;
  std::vector<std::string_view> strings;
  std::vector<Value> arrays;

  bool isInteger() const;
  /// Element k (< count) of an array of scalars, as a scalar Value (stored as the scalars above are).
  Value element(uint64_t k) const;
  bool isFloat() const { return type == ValueType::F32 || type == ValueType::F64; }
  /// "u32", "string", "array of f32", "array of array of i8".
  std::string describe() const;
  /// A short rendering for messages and dumps ("42", "\"llama\"", "[3 x string]").
  std::string brief() const;
};

/// One tensor of a GGUF file. `data` points into the file's mapping.
struct TensorInfo {
  std::string name;
  std::vector<int64_t> ne;  ///< ggml order: ne[0] is the innermost (contiguous) dimension
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;      ///< relative to the data section (a multiple of the alignment)
  uint64_t fileOffset = 0;  ///< absolute position of the data in the file
  uint64_t nbytes = 0;
  const std::byte *data = nullptr;

  int64_t numElements() const;
  /// The row-major (numpy / PyTorch) shape: ne reversed.
  std::vector<int64_t> shape() const;
  /// ne[0]: the length of one row.
  int64_t rowLength() const { return ne.empty() ? 1 : ne[0]; }
  /// The product of ne[1..]: the number of rows.
  int64_t numRows() const;
};

/// A parsed, validated GGUF file over a read-only memory mapping of the whole file.
class GgufFile {
public:
  /// Maps and validates `path`. Throws Error naming the file and the item (metadata key, tensor) on any defect.
  static std::unique_ptr<GgufFile> open(const std::string &path);
  /// Validates the file bytes in `bytes`; `name` is used in error messages.
  static std::unique_ptr<GgufFile> fromBytes(std::string name, std::shared_ptr<Storage> bytes);

  /// The path (or name) errors refer to.
  const std::string &path() const { return path_; }
  uint32_t version() const { return version_; }
  /// general.alignment (32 if absent).
  uint64_t alignment() const { return alignment_; }
  /// Absolute offset of the data section.
  uint64_t dataOffset() const { return dataOffset_; }
  /// The whole file's bytes.
  const std::shared_ptr<Storage> &storage() const { return storage_; }

  /// Metadata in file order.
  const std::vector<std::pair<std::string, Value>> &metadata() const { return metadata_; }
  /// The value of `key`, or null.
  const Value *find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  /// The value of `key`; throws Error if it is missing.
  const Value &get(std::string_view key) const;

  /// Typed lookups. Each throws Error naming the file and key when the key is missing or has the wrong type or an
  /// out-of-range value; the overloads with a default return it when the key is missing (a wrong type is still an
  /// error). Integer getters accept every integer type; getFloat accepts f32, f64 and integers.
  std::string getString(std::string_view key) const;
  std::string getString(std::string_view key, const std::string &def) const;
  uint32_t getU32(std::string_view key) const;
  uint32_t getU32(std::string_view key, uint32_t def) const;
  int64_t getInt(std::string_view key) const;
  int64_t getInt(std::string_view key, int64_t def) const;
  double getFloat(std::string_view key) const;
  double getFloat(std::string_view key, double def) const;
  bool getBool(std::string_view key) const;
  bool getBool(std::string_view key, bool def) const;
  /// Arrays (throw when missing; use has() first for optional ones).
  std::vector<std::string> getStringArray(std::string_view key) const;
  std::vector<float> getFloatArray(std::string_view key) const;
  std::vector<int64_t> getIntArray(std::string_view key) const;

  /// Tensors in file order.
  const std::vector<TensorInfo> &tensors() const { return tensors_; }
  /// The tensor called `name`, or null.
  const TensorInfo *findTensor(std::string_view name) const;
  /// The tensor called `name`; throws Error naming the file and tensor if absent.
  const TensorInfo &getTensor(std::string_view name) const;

  /// Limits beyond which a file is refused.
  static constexpr int kMaxDims = 4;
  static constexpr int kMaxArrayDepth = 8;

private:
  GgufFile() = default;
  void parse();
  [[noreturn]] void failKey(std::string_view key, const std::string &what) const;
  const Value &getArray(std::string_view key) const;

  std::string path_;
  std::shared_ptr<Storage> storage_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t dataOffset_ = 0;
  std::vector<std::pair<std::string, Value>> metadata_;
  std::map<std::string, size_t, std::less<>> keyIndex_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> tensorIndex_;
};

} // namespace ternc::gguf
