// GgufImporter: a GGUF v3 language model (llama, bitnet, minicpm architectures) as a ternc Module.
#pragma once

#include "frontend/gguf/GgufTokenizer.h"
#include "ir/IR.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ternc {

/// What a GGUF file says besides its graph.
struct GgufModelInfo {
  std::optional<gguf::TokenizerBlob> tokenizer;  ///< from tokenizer.ggml.* (nullopt if the file has none)
  std::vector<int64_t> eosIds;
  int64_t bosId = -1;
  int64_t contextLength = 0;
};

/// Imports `path`: ternary weights in TQ1_0, TQ2_0 or I2_S (or float pseudo-quantized ones), embeddings, norms
/// and head in F32, F16, BF16, Q8_0 or Q6_K. llama.cpp's row permutation of the Q and K weights (llama and
/// minicpm architectures) is undone, so the graph is the one frontend/llm/ builds for the Hugging Face layout.
/// Throws Error naming the file and what is wrong.
std::unique_ptr<Module> importGguf(const std::string &path, GgufModelInfo *info = nullptr);

} // namespace ternc
