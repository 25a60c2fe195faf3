// HostTensor.cpp: aligned buffers, host tensors and dtype names — kept apart from the file formats so that a
// library's API (Instance.cpp, Shapes.cpp) links without the .npy/.pb code and its protobuf-lite.
#include "Host.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace ternc::rt {

void AlignedBuffer::Free::operator()(std::byte *p) const { std::free(p); }

AlignedBuffer::AlignedBuffer(size_t bytes) : size_(bytes) {
  // aligned_alloc needs a size that is a multiple of the alignment.
  size_t rounded = (std::max<size_t>(bytes, 1) + 63) / 64 * 64;
  auto *p = static_cast<std::byte *>(std::aligned_alloc(64, rounded));
  if (!p) throw Error("out of memory allocating " + std::to_string(bytes) + " bytes");
  std::memset(p, 0, rounded);
  data_.reset(p);
}

HostTensor HostTensor::zeros(int32_t dtype, std::vector<int64_t> shape) {
  size_t elementSize = ternc_dtype_size(dtype);
  if (elementSize == 0) throw Error("unknown dtype " + std::to_string(dtype));
  size_t bytes = elementSize;
  for (int64_t d : shape) {
    if (d < 0) throw Error("negative dimension " + std::to_string(d));
    if (d != 0 && bytes > std::numeric_limits<size_t>::max() / size_t(d)) throw Error("tensor size overflows");
    bytes *= size_t(d);
  }
  HostTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes = AlignedBuffer(bytes);
  return t;
}

int64_t HostTensor::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

const char *dtypeName(int32_t dtype) {
  static const char *const names[] = {"f64", "f32", "f16", "bf16", "i8",  "i16",  "i32",
                                      "i64", "u8",  "u16", "u32",  "u64", "bool", "tern"};
  return dtype >= 0 && dtype < int32_t(sizeof(names) / sizeof(names[0])) ? names[dtype] : "?";
}

} // namespace ternc::rt
