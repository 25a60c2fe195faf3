// Tensor: a dense, concrete tensor — constant data and interpreter values.
#pragma once

#include "ir/Type.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ternc {

/// Bytes that a tensor views. Either owned (64-byte aligned heap memory), a
/// read-only memory-mapped file region, or memory kept alive by an external
/// owner (e.g. a parsed protobuf holding an initializer's raw_data), so that
/// large weights are referenced, never copied needlessly.
class Storage {
public:
  virtual ~Storage() = default;
  const std::byte *data() const { return data_; }
  /// Null for read-only storage (mapped files, borrowed memory).
  std::byte *mutableData() const { return mutable_ ? const_cast<std::byte *>(data_) : nullptr; }
  size_t size() const { return size_; }

  /// Zero-initialized, 64-byte aligned, writable.
  static std::shared_ptr<Storage> allocate(size_t bytes);
  /// Maps `[offset, offset+size)` of `path` read-only. Throws Error naming
  /// the file if it cannot be opened or is too short.
  static std::shared_ptr<Storage> mapFile(const std::string &path, size_t offset, size_t size);
  /// Borrows `[data, data+size)`; `owner` keeps it alive.
  static std::shared_ptr<Storage> borrow(std::shared_ptr<const void> owner, const void *data, size_t size);
  /// For a mapped file: gives the pages wholly inside `[offset, offset+size)` back to the page cache, so a
  /// pass that reads a large weight once (ternarize) does not keep it resident; a later read faults them in
  /// again from the file. Other storage keeps its memory.
  virtual void releaseResident(size_t offset, size_t size) const {
    (void)offset;
    (void)size;
  }

protected:
  const std::byte *data_ = nullptr;
  size_t size_ = 0;
  bool mutable_ = false;
};

/// A dense row-major tensor with a static shape. Tern tensors hold one int8
/// per element (-1, 0, +1) in this plain form.
class Tensor {
public:
  Tensor() = default;
  /// A new zero-filled tensor.
  Tensor(DType dtype, std::vector<int64_t> shape);
  /// A view of existing storage.
  Tensor(DType dtype, std::vector<int64_t> shape, std::shared_ptr<Storage> storage, size_t byteOffset = 0);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  int64_t numElements() const;
  size_t byteSize() const { return size_t(numElements()) * dtypeSize(dtype_); }
  bool isValid() const { return storage_ != nullptr; }

  const std::byte *rawData() const { return storage_->data() + offset_; }
  /// Writable bytes; copies on write if the storage is read-only or shared.
  std::byte *mutableRawData();
  template <typename T> const T *data() const { return reinterpret_cast<const T *>(rawData()); }
  template <typename T> T *mutableData() { return reinterpret_cast<T *>(mutableRawData()); }
  template <typename T> std::span<const T> values() const { return {data<T>(), size_t(numElements())}; }

  const std::shared_ptr<Storage> &storage() const { return storage_; }
  size_t byteOffset() const { return offset_; }

  /// Element i (flat index) converted to double / int64, for any dtype.
  double getDouble(int64_t i) const;
  int64_t getInt(int64_t i) const;
  /// Stores a double / int64 at flat index i, converting to the dtype
  /// (floats round to nearest even, integers wrap as in a C cast).
  void setDouble(int64_t i, double v);
  void setInt(int64_t i, int64_t v);

  /// Same data under another shape with the same element count (no copy).
  Tensor reshaped(std::vector<int64_t> shape) const;
  /// A deep copy into fresh owned storage.
  Tensor clone() const;
  /// Bytewise equality of dtype, shape and data.
  bool identical(const Tensor &o) const;

  /// Scalars and 1-D helpers.
  static Tensor scalarI64(int64_t v);
  static Tensor fromI64(const std::vector<int64_t> &v);
  static Tensor scalarF32(float v);
  /// All elements as int64 (for shape/axes tensors).
  std::vector<int64_t> toI64Vector() const;

private:
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  std::shared_ptr<Storage> storage_;
  size_t offset_ = 0;
};

/// IEEE half and bfloat16 conversions (round to nearest even).
uint16_t floatToHalf(float f);
float halfToFloat(uint16_t h);
uint16_t floatToBF16(float f);
float bf16ToFloat(uint16_t b);

} // namespace ternc
