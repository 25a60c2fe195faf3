// TernaryPacking: packing and unpacking of the tern2b<B> layouts.
#include "ir/TernaryPacking.h"

namespace ternc {

std::vector<uint8_t> TernaryLayout::pack(const int8_t *t, int64_t n, int64_t k) const {
  const int64_t b = blockBytes, kp = paddedK(k), rowBytes = kp / 4;
  std::vector<uint8_t> out(size_t(n * rowBytes), 0);
  for (int64_t r = 0; r < n; ++r) {
    uint8_t *row = out.data() + r * rowBytes;
    for (int64_t kk = 0; kk < kp; ++kk) {
      int code = kk < k ? t[r * k + kk] + 1 : 1;
      int64_t block = kk / (4 * b), within = kk % (4 * b), s = within / b, j = within % b;
      row[block * b + j] |= uint8_t(code << (2 * s));
    }
  }
  return out;
}

bool TernaryLayout::unpack(const uint8_t *packed, int64_t n, int64_t k, int8_t *t) const {
  const int64_t b = blockBytes, rowBytes = paddedK(k) / 4;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t kk = 0; kk < k; ++kk) {
      int64_t block = kk / (4 * b), within = kk % (4 * b), s = within / b, j = within % b;
      int code = (packed[r * rowBytes + block * b + j] >> (2 * s)) & 3;
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
