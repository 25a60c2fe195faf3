// Tokenizer.cpp: Tokenizer::load (the loader registry) and StreamDecoder.
#include "tokenizer/Tokenizer.h"

#include "tokenizer/HfTokenizer.h"

#include <array>
#include <mutex>
#include <stdexcept>

namespace ternc::rt {
namespace {

constexpr size_t kNumKinds = 3;

struct Registry {
  std::mutex mutex;
  std::array<TokenizerLoader, kNumKinds> loaders{};
  Registry() { loaders[static_cast<size_t>(TokenizerKind::HfJson)] = &tok::loadHfJsonTokenizer; }
};

Registry &registry() {
  static Registry r;
  return r;
}

std::string quoted(std::string_view origin) { return "tokenizer '" + std::string(origin) + "': "; }

} // namespace

std::string_view tokenizerKindName(TokenizerKind kind) {
  switch (kind) {
  case TokenizerKind::None:
    return "none";
  case TokenizerKind::HfJson:
    return "hf-json";
  case TokenizerKind::SentencePiece:
    return "sentencepiece";
  }
  return "unknown";
}

TokenizerKind detectTokenizerKind(std::string_view bytes) {
  if (bytes.substr(0, 3) == "\xEF\xBB\xBF")
    bytes.remove_prefix(3);
  size_t first = bytes.find_first_not_of(" \t\r\n");
  if (bytes.empty())
    return TokenizerKind::None;
  return first != std::string_view::npos && bytes[first] == '{' ? TokenizerKind::HfJson : TokenizerKind::SentencePiece;
}

DecodeStream::~DecodeStream() = default;
Tokenizer::~Tokenizer() = default;

void registerTokenizerLoader(TokenizerKind kind, TokenizerLoader loader) {
  auto index = static_cast<size_t>(kind);
  if (index == 0 || index >= kNumKinds)
    throw std::invalid_argument("registerTokenizerLoader: no such tokenizer kind " + std::to_string(index));
  std::lock_guard<std::mutex> lock(registry().mutex);
  registry().loaders[index] = loader;
}

std::unique_ptr<Tokenizer> Tokenizer::load(TokenizerKind kind, std::string_view bytes, std::string_view origin) {
  auto index = static_cast<size_t>(kind);
  if (kind == TokenizerKind::None)
    throw std::runtime_error(quoted(origin) + "no tokenizer kind given");
  if (index >= kNumKinds)
    throw std::runtime_error(quoted(origin) + "unknown tokenizer kind " + std::to_string(static_cast<int32_t>(kind)));
  TokenizerLoader loader;
  {
    std::lock_guard<std::mutex> lock(registry().mutex);
    loader = registry().loaders[index];
  }
  if (!loader)
    throw std::runtime_error(
        quoted(origin) + "SentencePiece tokenizers need ternc_tokenizer_spm linked in (see tokenizer/SentencePiece.h)");
  return loader(bytes, origin);
}

StreamDecoder::StreamDecoder(const Tokenizer &tokenizer)
    : tokenizer_(&tokenizer), stream_(tokenizer.newDecodeStream()) {}

std::string StreamDecoder::push(int32_t id) { return stream_->push(id); }

std::string StreamDecoder::finish() {
  std::string rest = stream_->finish();
  reset();
  return rest;
}

void StreamDecoder::reset() { stream_ = tokenizer_->newDecodeStream(); }

} // namespace ternc::rt
