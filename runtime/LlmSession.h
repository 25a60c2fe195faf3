// LlmSession: a compiled language model ready to run (runtime.h, ternc_llm) — its context, the KV-cache state
// sized for a context length, the arena, and the position: prefill() and decode() feed tokens and return
// logits, advancing the cache. Used by ternc_llm_main (Generate.cpp) and the runtime tests.
#pragma once

#include "Host.h"

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace ternc::rt {

class LlmSession {
public:
  /// Checks both graphs (ABI, inputs `input_ids`, `attention_mask`, optional `position_ids`, output `logits`,
  /// identical states) and allocates the state for `ctxLength` positions. Throws Error naming what is wrong.
  LlmSession(const ternc_llm &llm, int64_t ctxLength, int threads);
  ~LlmSession();
  LlmSession(const LlmSession &) = delete;
  LlmSession &operator=(const LlmSession &) = delete;

  int64_t vocabSize() const { return vocab_; }
  int64_t contextLength() const { return ctx_; }
  /// Tokens in the cache.
  int64_t position() const { return position_; }
  int threads() const;
  /// The runtime context both graphs run on (for ternc_set_profiling / ternc_profile_read).
  ternc_context *context() const { return context_; }
  /// Empties the cache (the next prefill starts a new sequence).
  void reset() { position_ = 0; }

  /// Runs `tokens` (at least one) through the prefill graph after what is cached; returns the logits of every
  /// position ([tokens.size(), vocab], row-major) if `allLogits`, else at least those of the last position
  /// (the last row; a graph compiled with select-logits computes only that one). Throws Error if they do not
  /// fit in the context.
  const std::vector<float> &prefill(std::span<const int64_t> tokens, bool allLogits = false);
  /// Runs one token through the decode graph; returns its logits [vocab].
  const std::vector<float> &decode(int64_t token);

  /// State `i`'s first position() rows along the cache axis, as f32 (for --dump-state and tests).
  HostTensor stateSnapshot(int32_t i) const;
  int32_t numStates() const { return prefill_.num_states; }
  const char *stateName(int32_t i) const { return prefill_.states[i].name; }

private:
  const std::vector<float> &run(const ternc_model &m, std::span<const int64_t> tokens, bool allLogits);

  const ternc_model &prefill_, &decode_;
  ternc_context *context_ = nullptr;
  int64_t ctx_ = 0, vocab_ = 0, position_ = 0;
  std::vector<AlignedBuffer> states_;
  std::vector<void *> statePtrs_;
  std::vector<int64_t> stateShapeSyms_;  ///< symbols for the state dims (capacity bound)
  AlignedBuffer arena_;
  std::vector<float> logits_;
};

} // namespace ternc::rt
