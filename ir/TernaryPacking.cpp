// TernaryPacking: packing and unpacking of the tern2b<B> layouts, and the registry of targets' own layouts.
#include "ir/TernaryPacking.h"

#include "ir/Error.h"
#include "ir/Tensor.h"

#include <cstring>

namespace ternc {

int64_t TernaryLayout::byteOffset(int64_t r, int64_t kk, int64_t k, int *shift) const {
  const int64_t b = blockBytes, rows = panelRows(), panelBytes = paddedK(k) / kBlockK * b;
  *shift = int(2 * ((kk % kBlockK) / 4));
  return (r / rows) * panelBytes + (kk / kBlockK) * b + 4 * (r % rows) + kk % 4;
}

std::vector<uint8_t> TernaryLayout::pack(const int8_t *t, int64_t n, int64_t k) const {
  if (codec) return codec->pack(t, n, k);
  // Padding rows and weights keep code 1 (t = 0). Each row fills 4 bytes of each block of its panel (byteOffset's
  // layout, walked in order rather than computed per weight: this runs on every weight of a model at compile
  // time).
  std::vector<uint8_t> out(size_t(bytes(n, k)), 0x55);
  const int64_t b = blockBytes, rows = panelRows(), blocks = paddedK(k) / kBlockK, panelBytes = blocks * b;
  for (int64_t r = 0; r < n; ++r) {
    const int8_t *row = t + r * k;
    uint8_t *dst = out.data() + (r / rows) * panelBytes + 4 * (r % rows);
    for (int64_t block = 0; block < blocks; ++block, dst += b) {
      int64_t k0 = block * kBlockK;
      for (int64_t j = 0; j < 4; ++j) {
        unsigned byte = 0;
        for (int s = 0; s < 4; ++s) {
          int64_t kk = k0 + 4 * s + j;
          byte |= unsigned(kk < k ? row[kk] + 1 : 1) << (2 * s);
        }
        dst[j] = uint8_t(byte);
      }
    }
  }
  return out;
}

bool TernaryLayout::unpack(const uint8_t *packed, int64_t n, int64_t k, int8_t *t) const {
  if (codec) return codec->unpack(packed, size_t(codec->bytes(n, k)), n, k, t);
  const int64_t b = blockBytes, rows = panelRows(), blocks = paddedK(k) / kBlockK, panelBytes = blocks * b;
  for (int64_t r = 0; r < n; ++r) {
    int8_t *row = t + r * k;
    const uint8_t *src = packed + (r / rows) * panelBytes + 4 * (r % rows);
    for (int64_t block = 0; block < blocks; ++block, src += b) {
      int64_t k0 = block * kBlockK;
      for (int64_t j = 0; j < 4; ++j)
        for (int s = 0; s < 4; ++s) {
          int64_t kk = k0 + 4 * s + j;
          if (kk >= k) continue;
          int code = (src[j] >> (2 * s)) & 3;
          if (code == 3) return false;
          row[kk] = int8_t(code - 1);
        }
    }
  }
  return true;
}

std::string TernaryLayout::check(const uint8_t *packed, size_t size, int64_t n, int64_t k) const {
  if (codec) return codec->check(packed, size, n, k);
  if (int64_t(size) != bytes(n, k))
    return "it holds " + std::to_string(size) + " bytes, but [" + std::to_string(n) + ", " + std::to_string(k) +
           "] in " + std::string(name) + " takes " + std::to_string(bytes(n, k));
  return "";
}

bool TernaryLayout::unpack(const uint8_t *packed, size_t size, int64_t n, int64_t k, int8_t *t) const {
  return codec ? codec->unpack(packed, size, n, k, t) : unpack(packed, n, k, t);
}

namespace {

std::deque<TernaryLayout> &mutableLayouts() {
  // A deque: registering a layout leaves the references to the others valid.
  static std::deque<TernaryLayout> layouts = {{"tern2b32", 32, nullptr}, {"tern2b64", 64, nullptr}};
  return layouts;
}

} // namespace

const std::deque<TernaryLayout> &ternaryLayouts() { return mutableLayouts(); }

void registerTernaryLayout(const std::string &name, TernaryLayoutCodec codec) {
  if (!codec.bytes || !codec.pack || !codec.check || !codec.unpack)
    fail("ternary layout \"{}\": the codec needs bytes, pack, check and unpack", name);
  auto shared = std::make_shared<const TernaryLayoutCodec>(std::move(codec));
  for (TernaryLayout &l : mutableLayouts())
    if (l.name == name) {
      if (!l.codec) fail("ternary layout \"{}\" is built in and cannot be replaced", name);
      l.codec = std::move(shared);
      return;
    }
  static std::deque<std::string> names;  // the string_views' storage
  names.push_back(name);
  mutableLayouts().push_back(TernaryLayout{names.back(), 0, std::move(shared)});
}

const TernaryLayout *findTernaryLayout(std::string_view name) {
  for (const TernaryLayout &l : ternaryLayouts())
    if (l.name == name) return &l;
  return nullptr;
}

int64_t ScaleTiling::bytes(int64_t n, int64_t groups) const {
  return (n + kRows - 1) / kRows * kRows * groups * (half ? 2 : 4);
}

std::vector<uint8_t> ScaleTiling::tile(const float *s, int64_t n, int64_t groups) const {
  std::vector<uint8_t> out(size_t(bytes(n, groups)), 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      int64_t at = ((r / kRows) * groups + g) * kRows + r % kRows;
      float v = s[r * groups + g];
      if (half) {
        uint16_t h = floatToHalf(v);
        std::memcpy(out.data() + at * 2, &h, 2);
      } else {
        std::memcpy(out.data() + at * 4, &v, 4);
      }
    }
  return out;
}

std::string ScaleTiling::untile(const uint8_t *tiled, size_t size, int64_t n, int64_t groups, float *s) const {
  if (int64_t(size) != bytes(n, groups))
    return fmt::format("{} bytes, but {} rows by {} groups tiled as {} take {}", size, n, groups, name,
                       bytes(n, groups));
  int64_t padded = (n + kRows - 1) / kRows * kRows;
  for (int64_t r = 0; r < padded; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      int64_t at = ((r / kRows) * groups + g) * kRows + r % kRows;
      float v;
      if (half) {
        uint16_t h;
        std::memcpy(&h, tiled + at * 2, 2);
        v = halfToFloat(h);
      } else {
        std::memcpy(&v, tiled + at * 4, 4);
      }
      if (r < n) s[r * groups + g] = v;
      else if (v != 0.0f) return fmt::format("padding row {} holds the scale {}, not 0", r, v);
    }
  return "";
}

const ScaleTiling *findScaleTiling(std::string_view name) {
  static const ScaleTiling tilings[] = {{"scales16", false}, {"scales16h", true}};
  for (const ScaleTiling &t : tilings)
    if (t.name == name) return &t;
  return nullptr;
}

bool halfExact(const float *s, int64_t count) {
  for (int64_t i = 0; i < count; ++i) {
    float back = halfToFloat(floatToHalf(s[i]));
    if (std::memcmp(&back, s + i, sizeof(float)) != 0) return false;
  }
  return true;
}

} // namespace ternc
