// Sampler: picks the next token from logits — greedy at temperature 0, otherwise temperature, top-k and top-p
// (nucleus) sampling with a seeded std::mt19937_64, so the same seed gives the same tokens on every run and
// every machine.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace ternc::rt {

struct SamplerOptions {
  float temperature = 0.8f;  ///< <= 0: greedy (argmax, the lowest id on ties)
  int topK = 40;             ///< <= 0: the whole vocabulary
  float topP = 0.95f;        ///< >= 1: no nucleus cut
  uint64_t seed = 0;
};

class Sampler {
public:
  explicit Sampler(SamplerOptions o) : opts_(o), rng_(o.seed) {}
  int64_t sample(std::span<const float> logits);
  /// The argmax of logits (the lowest index on ties; NaN never wins).
  static int64_t greedy(std::span<const float> logits);

private:
  SamplerOptions opts_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, int64_t>> candidates_;
};

} // namespace ternc::rt
