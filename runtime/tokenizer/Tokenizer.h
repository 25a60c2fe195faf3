// Tokenizer.h: the tokenizers a compiled LLM executable embeds (docs/tokenizers.md).
//
// A compiled executable carries its tokenizer file as raw bytes and calls
// Tokenizer::load(kind, bytes, origin) once. Hugging Face tokenizer.json
// (byte-level BPE) is built into ternc_tokenizer; SentencePiece .model files
// need ternc_tokenizer_spm linked as well (it registers itself, see
// tokenizer/SentencePiece.h), so executables without an SPM tokenizer do not
// depend on libsentencepiece.so.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ternc::rt {

enum class TokenizerKind : int32_t { None = 0, HfJson = 1, SentencePiece = 2 };

/// "none", "hf-json", "sentencepiece" (for messages and command lines).
std::string_view tokenizerKindName(TokenizerKind kind);
/// The kind of a tokenizer file from its bytes: HfJson if it starts (after
/// whitespace or a UTF-8 BOM) with '{', None if it is empty, SentencePiece
/// (a serialized protobuf) otherwise. Load still validates it.
TokenizerKind detectTokenizerKind(std::string_view bytes);

/// Per-stream decoding state of one tokenizer (what StreamDecoder drives).
/// Implementations keep the concatenation of push() and finish() outputs
/// equal to Tokenizer::decode() of all pushed ids.
class DecodeStream {
public:
  virtual ~DecodeStream();
  virtual std::string push(int32_t id) = 0;
  virtual std::string finish() = 0;
};

class Tokenizer {
public:
  virtual ~Tokenizer();

  /// Text -> ids. addSpecial adds what the tokenizer's own config adds: the
  /// post_processor's template of a tokenizer.json (BOS for LLaMA-3), BOS for
  /// a SentencePiece model that has one. Any bytes are accepted: byte-level
  /// BPE encodes bytes that are not UTF-8 as themselves (decode, which
  /// returns UTF-8, shows them as U+FFFD); SentencePiece does what spm does.
  virtual std::vector<int32_t> encode(std::string_view text, bool addSpecial) const = 0;
  /// ids -> UTF-8 text, as the reference decoders do (HF decoder pipeline /
  /// spm DecodeIds), skipping nothing. Ids outside the vocabulary decode to
  /// nothing, as in Hugging Face's decode.
  virtual std::string decode(std::span<const int32_t> ids) const = 0;
  /// One more than the largest id the tokenizer knows (model and added tokens).
  virtual int32_t vocabSize() const = 0;
  virtual std::optional<int32_t> bosId() const = 0;
  /// From the tokenizer's config where it has one (SentencePiece eos_id, the
  /// template's trailing special tokens); otherwise the special tokens that
  /// end a turn or a text by their well-known names (docs/tokenizers.md).
  virtual std::vector<int32_t> eosIds() const = 0;
  /// The vocabulary entry of `id` as the file spells it (a byte-level BPE
  /// token in its Ġ-mapped form, an spm piece with ▁), nullopt if unknown.
  virtual std::optional<std::string> idToPiece(int32_t id) const = 0;
  virtual TokenizerKind kind() const = 0;
  /// Fresh streaming state; prefer StreamDecoder.
  virtual std::unique_ptr<DecodeStream> newDecodeStream() const = 0;

  /// kind + bytes exactly as embedded. `origin` names the file for error
  /// messages. Throws std::runtime_error with a message naming origin and
  /// what is wrong on any malformed input (never crashes, never hangs).
  static std::unique_ptr<Tokenizer> load(TokenizerKind kind, std::string_view bytes, std::string_view origin);
};

/// Streams text while ids arrive one at a time: push(id) returns the bytes
/// that are now complete UTF-8 (it holds back partial multi-byte sequences
/// and whatever the next ids can still change, such as SentencePiece's
/// leading space), finish() returns the rest. The concatenation of all
/// outputs equals tokenizer.decode(all ids). The tokenizer must outlive it.
class StreamDecoder {
public:
  explicit StreamDecoder(const Tokenizer &tokenizer);
  std::string push(int32_t id);
  std::string finish();
  /// Starts a new text (finish() does so as well).
  void reset();

private:
  const Tokenizer *tokenizer_;
  std::unique_ptr<DecodeStream> stream_;
};

/// How Tokenizer::load builds a tokenizer of one kind.
using TokenizerLoader = std::unique_ptr<Tokenizer> (*)(std::string_view bytes, std::string_view origin);
/// Installs the loader Tokenizer::load uses for `kind`, replacing any earlier
/// one (ternc_tokenizer_spm installs the SentencePiece loader). Thread-safe.
void registerTokenizerLoader(TokenizerKind kind, TokenizerLoader loader);

} // namespace ternc::rt
