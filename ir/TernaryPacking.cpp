// TernaryPacking: packing and unpacking of the tern2b<B> layouts.
#include "ir/TernaryPacking.h"

namespace ternc {

int64_t TernaryLayout::byteOffset(int64_t r, int64_t kk, int64_t k, int *shift) const {
  const int64_t b = blockBytes, rowBytes = paddedK(k) / 4;
  int64_t block = kk / (4 * b), within = kk % (4 * b), s = within / b, j = within % b;
  *shift = int(2 * s);
  return (r / kRowGroup) * kRowGroup * rowBytes + (block * kRowGroup + r % kRowGroup) * b + j;
}

std::vector<uint8_t> TernaryLayout::pack(const int8_t *t, int64_t n, int64_t k) const {
  // Every code starts as 1 (t = 0), which is also the padding.
  std::vector<uint8_t> out(size_t(bytes(n, k)), 0x55);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t kk = 0; kk < k; ++kk) {
      int shift = 0;
      uint8_t &byte = out[size_t(byteOffset(r, kk, k, &shift))];
      byte = uint8_t((byte & ~(3 << shift)) | ((t[r * k + kk] + 1) << shift));
    }
  return out;
}

bool TernaryLayout::unpack(const uint8_t *packed, int64_t n, int64_t k, int8_t *t) const {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t kk = 0; kk < k; ++kk) {
      int shift = 0;
      int code = (packed[byteOffset(r, kk, k, &shift)] >> shift) & 3;
      if (code == 3) return false;
      t[r * k + kk] = int8_t(code - 1);
    }
  return true;
}

const std::vector<TernaryLayout> &ternaryLayouts() {
  static const std::vector<TernaryLayout> layouts = {{"tern2b32", 32}, {"tern2b64", 64}};
  return layouts;
}

const TernaryLayout *findTernaryLayout(std::string_view name) {
  for (const TernaryLayout &l : ternaryLayouts())
    if (l.name == name) return &l;
  return nullptr;
}

} // namespace ternc
