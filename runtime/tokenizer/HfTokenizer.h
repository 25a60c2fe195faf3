// HfTokenizer.h: the Hugging Face tokenizer.json (byte-level BPE) loader.
#pragma once

#include "tokenizer/Tokenizer.h"

#include <memory>
#include <string_view>

namespace ternc::rt::tok {

/// Parses a tokenizer.json whose model is BPE over a ByteLevel pre-tokenizer
/// and decoder, with no normalizer (GPT-2, LLaMA-3, tiktoken conversions).
/// Throws std::runtime_error naming `origin` and the JSON path of what is
/// malformed or unsupported.
std::unique_ptr<Tokenizer> loadHfJsonTokenizer(std::string_view bytes, std::string_view origin);

} // namespace ternc::rt::tok
