// TernaryPacking: packing and unpacking of the tern2b<B> layouts, and the registry of targets' own layouts.
#include "ir/TernaryPacking.h"

#include "ir/Error.h"
#include "ir/Tensor.h"

#include <cmath>
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

namespace {

/// The binary16 h of scale s under factor c, and the scale that h stands for: the f32 product c * h, which the
/// kernels compute in single precision (exact in double, rounded once).
uint16_t halfOf(float s, float c) { return floatToHalf(float(double(s) / double(c))); }
float scaleOf(uint16_t h, float c) { return float(double(halfToFloat(h)) * double(c)); }

bool sameBits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

bool factors(const float *s, int64_t count, float c) {
  if (!std::isfinite(c) || c == 0.0f) return false;
  for (int64_t i = 0; i < count; ++i)
    if (!sameBits(scaleOf(halfOf(s[i], c), c), s[i])) return false;
  return true;
}

} // namespace

int64_t ScaleTiling::bytes(int64_t n, int64_t groups) const {
  int64_t tiles = (n + kRows - 1) / kRows * kRows * groups;
  return half ? kHeaderBytes + tiles * 2 : tiles * 4;
}

std::vector<uint8_t> ScaleTiling::tile(const float *s, int64_t n, int64_t groups) const {
  std::vector<uint8_t> out(size_t(bytes(n, groups)), 0);
  float c = 1.0f;
  if (half) {
    std::optional<float> f = halfFactor(s, n * groups);
    if (!f) fail("scales16h: the scales are not an f32 factor times binary16 values");
    c = *f;
    std::memcpy(out.data(), &c, sizeof(float));
  }
  uint8_t *tiles = out.data() + (half ? kHeaderBytes : 0);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      int64_t at = ((r / kRows) * groups + g) * kRows + r % kRows;
      float v = s[r * groups + g];
      if (half) {
        uint16_t h = halfOf(v, c);
        std::memcpy(tiles + at * 2, &h, 2);
      } else {
        std::memcpy(tiles + at * 4, &v, 4);
      }
    }
  return out;
}

std::string ScaleTiling::untile(const uint8_t *tiled, size_t size, int64_t n, int64_t groups, float *s) const {
  if (int64_t(size) != bytes(n, groups))
    return fmt::format("{} bytes, but {} rows by {} groups tiled as {} take {}", size, n, groups, name,
                       bytes(n, groups));
  float c = 1.0f;
  if (half) {
    std::memcpy(&c, tiled, sizeof(float));
    if (!std::isfinite(c) || c == 0.0f) return fmt::format("the header's factor is {}", c);
    for (int64_t i = 4; i < kHeaderBytes; ++i)
      if (tiled[i]) return fmt::format("header byte {} is {}, not 0", i, int(tiled[i]));
    tiled += kHeaderBytes;
  }
  int64_t padded = (n + kRows - 1) / kRows * kRows;
  for (int64_t r = 0; r < padded; ++r)
    for (int64_t g = 0; g < groups; ++g) {
      int64_t at = ((r / kRows) * groups + g) * kRows + r % kRows;
      float v;
      if (half) {
        uint16_t h;
        std::memcpy(&h, tiled + at * 2, 2);
        v = scaleOf(h, c);
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

std::optional<float> halfFactor(const float *s, int64_t count) {
  if (factors(s, count, 1.0f)) return 1.0f;
  // The largest scale's h is put in [2^14, 2^15) (a power of two moves between c and h exactly), which leaves
  // the others 29 binades below it before binary16's subnormals; each of its 1024 significands gives c = the
  // scale / h, rounded to f32, which the true factor may miss by the rounding of the folded product: its f32
  // neighbours are tried too.
  float big = 0.0f;
  for (int64_t i = 0; i < count; ++i)
    if (std::isfinite(s[i]) && std::fabs(s[i]) > big) big = std::fabs(s[i]);
    else if (!std::isfinite(s[i])) return std::nullopt;
  if (big == 0.0f) return 1.0f;
  for (int m = 0; m < 1024; ++m) {
    double h = std::ldexp(1.0 + m / 1024.0, 14);
    float c = float(double(big) / h);
    for (float cand : {c, std::nextafter(c, 0.0f), std::nextafter(c, INFINITY)})
      if (factors(s, count, cand)) return cand;
  }
  return std::nullopt;
}

} // namespace ternc
