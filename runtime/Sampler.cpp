// Sampler.cpp: see Sampler.h.
#include "Sampler.h"

#include <algorithm>
#include <cmath>

namespace ternc::rt {

int64_t Sampler::greedy(std::span<const float> logits) {
  int64_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i)
    if (logits[i] > logits[size_t(best)] || std::isnan(logits[size_t(best)])) best = int64_t(i);
  return best;
}

int64_t Sampler::sample(std::span<const float> logits) {
  if (opts_.temperature <= 0 || logits.size() < 2) return greedy(logits);
  candidates_.clear();
  for (size_t i = 0; i < logits.size(); ++i)
    if (!std::isnan(logits[i])) candidates_.emplace_back(logits[i] / opts_.temperature, int64_t(i));
  if (candidates_.empty()) return 0;
  // Highest first, ties by id, so the order (and the draw) is deterministic.
  auto higher = [](const auto &a, const auto &b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  size_t k = opts_.topK > 0 ? std::min(candidates_.size(), size_t(opts_.topK)) : candidates_.size();
  std::partial_sort(candidates_.begin(), candidates_.begin() + long(k), candidates_.end(), higher);
  candidates_.resize(k);
  // Softmax in double over the kept candidates.
  double maxv = candidates_.front().first, sum = 0;
  std::vector<double> p(k);
  for (size_t i = 0; i < k; ++i) sum += p[i] = std::exp(double(candidates_[i].first) - maxv);
  size_t keep = k;
  if (opts_.topP < 1) {
    double acc = 0;
    for (size_t i = 0; i < k; ++i) {
      acc += p[i] / sum;
      if (acc >= double(opts_.topP)) {
        keep = i + 1;
        break;
      }
    }
  }
  double total = 0;
  for (size_t i = 0; i < keep; ++i) total += p[i];
  // A uniform draw in [0, 1) from the top 53 bits: the same on every platform.
  double u = double(rng_() >> 11) * 0x1.0p-53 * total;
  for (size_t i = 0; i < keep; ++i) {
    if (u < p[i]) return candidates_[i].second;
    u -= p[i];
  }
  return candidates_[keep - 1].second;
}

} // namespace ternc::rt
