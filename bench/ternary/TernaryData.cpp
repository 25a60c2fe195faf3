// TernaryData: operand generation, the activation quantizer and the scalar reference dot.
#include "TernaryData.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace ternc::bench {

uint64_t splitmix(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::vector<int8_t> randomTernary(uint64_t seed, int64_t n, int64_t k) {
  std::vector<int8_t> t(static_cast<size_t>(n * k));
  uint64_t state = seed;
  for (size_t i = 0; i + 1 < t.size(); i += 2) {
    uint64_t r = splitmix(state);
    // The top bits of (32-bit value) * 3 are uniform over {0, 1, 2} to within 2^-32.
    t[i] = static_cast<int8_t>(((r & 0xffffffffu) * 3 >> 32) - 1);
    t[i + 1] = static_cast<int8_t>(((r >> 32) * 3 >> 32) - 1);
  }
  if (t.size() % 2)
    t.back() = static_cast<int8_t>(((splitmix(state) & 0xffffffffu) * 3 >> 32) - 1);
  for (size_t i = 0; i < t.size(); i += 256)
    t[i] = 1;
  return t;
}

std::vector<float> randomGroupScales(uint64_t seed, int64_t n, int64_t groups, float base) {
  std::vector<float> scales(static_cast<size_t>(n * groups));
  uint64_t state = seed;
  for (float &v : scales)
    v = std::ldexp(base, static_cast<int>(((splitmix(state) & 0xffffffffu) * 3 >> 32)) - 1);
  return scales;
}

std::vector<float> randomNormal(uint64_t seed, int64_t count) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(count));
  for (float &v : x)
    v = normal(rng);
  return x;
}

void actQuant(const float *x, int64_t rows, int64_t k, int8_t *q, float *s) {
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = x + r * k;
    // |x| compared as the bits of a non-negative float: an integer max reduction, which vectorizes without
    // -ffast-math (the rows hold no NaN).
    uint32_t maxBits = 0;
    for (int64_t i = 0; i < k; ++i) {
      uint32_t bits;
      std::memcpy(&bits, row + i, sizeof bits);
      maxBits = std::max(maxBits, bits & 0x7fffffffu);
    }
    float absmax;
    std::memcpy(&absmax, &maxBits, sizeof absmax);
    float scale = 127.0f / std::max(absmax, 1e-5f);
    s[r] = scale;
    int8_t *out = q + r * k;
    for (int64_t i = 0; i < k; ++i)
      out[i] = static_cast<int8_t>(std::clamp(std::nearbyint(row[i] * scale), -128.0f, 127.0f));
  }
}

int32_t referenceDot(const int8_t *q, const int8_t *t, int64_t k) {
  int32_t sum = 0;
  for (int64_t i = 0; i < k; ++i)
    sum += static_cast<int32_t>(q[i]) * static_cast<int32_t>(t[i]);
  return sum;
}

} // namespace ternc::bench
