// Tensor: storage kinds, element access and half/bfloat16 conversion.
#include "ir/Tensor.h"

#include "ir/Error.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ternc {

namespace {

/// From this size on, storage is its own anonymous mapping (zero pages from the kernel, unmapped when freed)
/// rather than malloc's. fold-constants evaluating the quantizer subgraphs of an exported model frees a
/// full-size intermediate per op; through malloc the freed blocks were neither reused nor returned (peak RSS
/// 3.7 GB for a model of 385 MB of f32 weights, 384 MB of them live), as their own mappings they go back at once.
constexpr size_t kMappedStorageBytes = size_t(1) << 20;

class OwnedStorage : public Storage {
public:
  explicit OwnedStorage(size_t bytes) {
    size_t alloc = (bytes + 63) / 64 * 64;
    if (alloc == 0) alloc = 64;
    void *p = nullptr;
    if (alloc >= kMappedStorageBytes) {
      p = mmap(nullptr, alloc, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED) throw Error(fmt::format("out of memory allocating {} bytes", bytes));
      mapped_ = alloc;
    } else {
      p = std::aligned_alloc(64, alloc);
      if (!p) throw Error(fmt::format("out of memory allocating {} bytes", bytes));
      std::memset(p, 0, alloc);
    }
    data_ = static_cast<std::byte *>(p);
    size_ = bytes;
    mutable_ = true;
  }
  ~OwnedStorage() override {
    if (mapped_) munmap(const_cast<std::byte *>(data_), mapped_);
    else std::free(const_cast<std::byte *>(data_));
  }

private:
  size_t mapped_ = 0;  ///< the mapping's length, 0 for malloc'd storage
};

class MappedStorage : public Storage {
public:
  MappedStorage(void *base, size_t mapLen, size_t delta, size_t size) : base_(base), mapLen_(mapLen) {
    data_ = static_cast<std::byte *>(base) + delta;
    size_ = size;
  }
  ~MappedStorage() override {
    if (base_) munmap(base_, mapLen_);
  }
  void releaseResident(size_t offset, size_t size) const override {
    if (offset > size_ || size > size_ - offset) return;
    const uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
    uintptr_t begin = (reinterpret_cast<uintptr_t>(data_ + offset) + page - 1) / page * page;
    uintptr_t end = reinterpret_cast<uintptr_t>(data_ + offset + size) / page * page;
    if (end > begin) madvise(reinterpret_cast<void *>(begin), end - begin, MADV_DONTNEED);  // read-only: clean pages
  }

private:
  void *base_;
  size_t mapLen_;
};

class BorrowedStorage : public Storage {
public:
  BorrowedStorage(std::shared_ptr<const void> owner, const void *data, size_t size) : owner_(std::move(owner)) {
    data_ = static_cast<const std::byte *>(data);
    size_ = size;
  }

private:
  std::shared_ptr<const void> owner_;
};

} // namespace

std::shared_ptr<Storage> Storage::allocate(size_t bytes) { return std::make_shared<OwnedStorage>(bytes); }

std::shared_ptr<Storage> Storage::mapFile(const std::string &path, size_t offset, size_t size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    fail("{}: cannot stat: {}", path, std::strerror(e));
  }
  if (offset > size_t(st.st_size) || size > size_t(st.st_size) - offset) {
    ::close(fd);
    fail("{}: file has {} bytes, but data at offset {} with length {} was expected", path, st.st_size, offset,
         size);
  }
  if (size == 0) {
    ::close(fd);
    return allocate(0);
  }
  long page = sysconf(_SC_PAGESIZE);
  size_t aligned = offset / size_t(page) * size_t(page);
  size_t delta = offset - aligned;
  void *p = mmap(nullptr, size + delta, PROT_READ, MAP_PRIVATE, fd, off_t(aligned));
  int e = errno;
  ::close(fd);
  if (p == MAP_FAILED) fail("{}: cannot map: {}", path, std::strerror(e));
  return std::make_shared<MappedStorage>(p, size + delta, delta, size);
}

std::shared_ptr<Storage> Storage::borrow(std::shared_ptr<const void> owner, const void *data, size_t size) {
  return std::make_shared<BorrowedStorage>(std::move(owner), data, size);
}

// ---------------------------------------------------------------------------

Tensor::Tensor(DType dtype, std::vector<int64_t> shape) : dtype_(dtype), shape_(std::move(shape)) {
  for (int64_t d : shape_)
    if (d < 0) fail("internal: negative dimension {} in a tensor shape", d);
  storage_ = Storage::allocate(byteSize());
}

Tensor::Tensor(DType dtype, std::vector<int64_t> shape, std::shared_ptr<Storage> storage, size_t byteOffset)
    : dtype_(dtype), shape_(std::move(shape)), storage_(std::move(storage)), offset_(byteOffset) {
  if (offset_ + byteSize() > storage_->size())
    fail("internal: tensor of {} bytes at offset {} exceeds its storage of {} bytes", byteSize(), offset_,
         storage_->size());
}

int64_t Tensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

std::byte *Tensor::mutableRawData() {
  if (!storage_->mutableData() || storage_.use_count() > 1) {
    auto fresh = Storage::allocate(byteSize());
    std::memcpy(fresh->mutableData(), rawData(), byteSize());
    storage_ = std::move(fresh);
    offset_ = 0;
  }
  return storage_->mutableData() + offset_;
}

double Tensor::getDouble(int64_t i) const {
  const std::byte *p = rawData();
  switch (dtype_) {
  case DType::F64: return reinterpret_cast<const double *>(p)[i];
  case DType::F32: return reinterpret_cast<const float *>(p)[i];
  case DType::F16: return halfToFloat(reinterpret_cast<const uint16_t *>(p)[i]);
  case DType::BF16: return bf16ToFloat(reinterpret_cast<const uint16_t *>(p)[i]);
  case DType::I8:
  case DType::Tern: return reinterpret_cast<const int8_t *>(p)[i];
  case DType::I16: return reinterpret_cast<const int16_t *>(p)[i];
  case DType::I32: return reinterpret_cast<const int32_t *>(p)[i];
  case DType::I64: return double(reinterpret_cast<const int64_t *>(p)[i]);
  case DType::U8: return reinterpret_cast<const uint8_t *>(p)[i];
  case DType::U16: return reinterpret_cast<const uint16_t *>(p)[i];
  case DType::U32: return reinterpret_cast<const uint32_t *>(p)[i];
  case DType::U64: return double(reinterpret_cast<const uint64_t *>(p)[i]);
  case DType::Bool: return reinterpret_cast<const uint8_t *>(p)[i] ? 1.0 : 0.0;
  }
  return 0;
}

int64_t Tensor::getInt(int64_t i) const {
  const std::byte *p = rawData();
  switch (dtype_) {
  case DType::I64: return reinterpret_cast<const int64_t *>(p)[i];
  case DType::U64: return int64_t(reinterpret_cast<const uint64_t *>(p)[i]);
  case DType::I32: return reinterpret_cast<const int32_t *>(p)[i];
  case DType::U32: return reinterpret_cast<const uint32_t *>(p)[i];
  case DType::I16: return reinterpret_cast<const int16_t *>(p)[i];
  case DType::U16: return reinterpret_cast<const uint16_t *>(p)[i];
  case DType::I8:
  case DType::Tern: return reinterpret_cast<const int8_t *>(p)[i];
  case DType::U8: return reinterpret_cast<const uint8_t *>(p)[i];
  case DType::Bool: return reinterpret_cast<const uint8_t *>(p)[i] ? 1 : 0;
  default: {
    double d = getDouble(i);
    if (std::isnan(d)) return 0;
    return int64_t(d);
  }
  }
}

void Tensor::setDouble(int64_t i, double v) {
  std::byte *p = mutableRawData();
  switch (dtype_) {
  case DType::F64: reinterpret_cast<double *>(p)[i] = v; return;
  case DType::F32: reinterpret_cast<float *>(p)[i] = float(v); return;
  case DType::F16: reinterpret_cast<uint16_t *>(p)[i] = floatToHalf(float(v)); return;
  case DType::BF16: reinterpret_cast<uint16_t *>(p)[i] = floatToBF16(float(v)); return;
  case DType::Bool: reinterpret_cast<uint8_t *>(p)[i] = v != 0.0; return;
  default: setInt(i, std::isnan(v) ? 0 : int64_t(v)); return;
  }
}

void Tensor::setInt(int64_t i, int64_t v) {
  std::byte *p = mutableRawData();
  switch (dtype_) {
  case DType::I64: reinterpret_cast<int64_t *>(p)[i] = v; return;
  case DType::U64: reinterpret_cast<uint64_t *>(p)[i] = uint64_t(v); return;
  case DType::I32: reinterpret_cast<int32_t *>(p)[i] = int32_t(v); return;
  case DType::U32: reinterpret_cast<uint32_t *>(p)[i] = uint32_t(v); return;
  case DType::I16: reinterpret_cast<int16_t *>(p)[i] = int16_t(v); return;
  case DType::U16: reinterpret_cast<uint16_t *>(p)[i] = uint16_t(v); return;
  case DType::I8:
  case DType::Tern: reinterpret_cast<int8_t *>(p)[i] = int8_t(v); return;
  case DType::U8: reinterpret_cast<uint8_t *>(p)[i] = uint8_t(v); return;
  case DType::Bool: reinterpret_cast<uint8_t *>(p)[i] = v != 0; return;
  default: setDouble(i, double(v)); return;
  }
}

Tensor Tensor::reshaped(std::vector<int64_t> shape) const {
  Tensor t = *this;
  t.shape_ = std::move(shape);
  if (t.numElements() != numElements()) fail("internal: reshape changes the element count");
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (byteSize()) std::memcpy(t.storage_->mutableData(), rawData(), byteSize());
  return t;
}

bool Tensor::identical(const Tensor &o) const {
  return dtype_ == o.dtype_ && shape_ == o.shape_ && std::memcmp(rawData(), o.rawData(), byteSize()) == 0;
}

Tensor Tensor::scalarI64(int64_t v) {
  Tensor t(DType::I64, {});
  t.mutableData<int64_t>()[0] = v;
  return t;
}

Tensor Tensor::fromI64(const std::vector<int64_t> &v) {
  Tensor t(DType::I64, {int64_t(v.size())});
  if (!v.empty()) std::memcpy(t.mutableRawData(), v.data(), v.size() * 8);
  return t;
}

Tensor Tensor::scalarF32(float v) {
  Tensor t(DType::F32, {});
  t.mutableData<float>()[0] = v;
  return t;
}

std::vector<int64_t> Tensor::toI64Vector() const {
  std::vector<int64_t> out(static_cast<size_t>(numElements()));
  for (int64_t i = 0; i < numElements(); ++i) out[size_t(i)] = getInt(i);
  return out;
}

// ---------------------------------------------------------------------------

uint16_t floatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t mant = x & 0x7fffffu;
  int32_t exp = int32_t((x >> 23) & 0xff);
  if (exp == 0xff) return uint16_t(sign | 0x7c00u | (mant ? 0x200u | (mant >> 13) : 0));
  int32_t e = exp - 127 + 15;
  if (e >= 0x1f) return uint16_t(sign | 0x7c00u);
  if (e <= 0) {
    if (e < -10) return uint16_t(sign);
    mant |= 0x800000u;
    uint32_t shift = uint32_t(14 - e);
    uint32_t h = mant >> shift;
    uint32_t rem = mant & ((1u << shift) - 1);
    uint32_t half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) ++h;
    return uint16_t(sign | h);
  }
  uint32_t h = (uint32_t(e) << 10) | (mant >> 13);
  uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;  // may carry into exponent: correct
  return uint16_t(sign | h);
}

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ffu;
  uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400u));
      x = sign | (uint32_t(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else if (exp == 0x1f) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

uint16_t floatToBF16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  if ((x & 0x7fffffffu) > 0x7f800000u) return uint16_t((x >> 16) | 0x40);  // quiet NaN
  uint32_t rounding = 0x7fffu + ((x >> 16) & 1);
  return uint16_t((x + rounding) >> 16);
}

float bf16ToFloat(uint16_t b) {
  uint32_t x = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

} // namespace ternc
