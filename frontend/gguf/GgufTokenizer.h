// GgufTokenizer: turns a GGUF file's tokenizer.ggml.* metadata into a tokenizer file ternc's runtime loads
// (runtime/tokenizer/, docs/tokenizers.md): a Hugging Face tokenizer.json for byte-level BPE ("gpt2") and a
// SentencePiece ModelProto for "llama" (docs/frontend-gguf.md, "Tokenizers").
#pragma once

#include "frontend/gguf/GgufFile.h"

#include <optional>
#include <string>

namespace ternc::gguf {

/// A tokenizer file: what `ternc::rt::Tokenizer::load(kind, bytes, origin)` takes.
struct TokenizerBlob {
  enum class Kind { HfJson, SentencePiece } kind = Kind::HfJson;
  std::string bytes;
};

/// The tokenizer of `file`, converted; nullopt when the file has no tokenizer.ggml.model. Throws Error naming the
/// file and key for a tokenizer model or pre-tokenizer ternc does not support ("gpt2" with the pre-tokenizers
/// "llama-bpe", "llama3", "gpt-2", "default" and "llama" are) and for inconsistent metadata (array lengths, ids
/// out of range, a merge that is not two tokens).
std::optional<TokenizerBlob> tokenizerFromGguf(const GgufFile &file);

} // namespace ternc::gguf
