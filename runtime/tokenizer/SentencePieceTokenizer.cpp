// SentencePieceTokenizer.cpp: ternc_tokenizer_spm — SentencePiece .model files through Debian's libsentencepiece.
#include "tokenizer/SentencePiece.h"

#include "tokenizer/Utf8.h"

#include <sentencepiece_processor.h>

#include <algorithm>
#include <stdexcept>

extern "C" {
int ternc_tokenizer_spm_anchor = 0;
}

namespace ternc::rt {
namespace {

class SpmTokenizer;

/// Streams spm's DecodeIds. The decoded text of a piece depends only on
/// whether the text before it is still empty (the leading ▁ of the first
/// visible piece is dropped) and, for byte pieces, on the byte run it is in.
/// So ids are kept in a window from the last point where the text was
/// non-empty and ended after a non-byte piece; the window is decoded behind an
/// anchor piece that makes the text non-empty, and trailing U+FFFDs of an
/// open byte run are held back until the run is complete.
class SpmDecodeStream final : public DecodeStream {
public:
  explicit SpmDecodeStream(const SpmTokenizer &t) : tokenizer_(t) {}
  std::string push(int32_t id) override;
  std::string finish() override;

private:
  const SpmTokenizer &tokenizer_;
  std::vector<int> window_;
  bool settled_ = false; // the text before window_ is non-empty
  size_t emitted_ = 0;   // bytes of the window's text already returned
};

class SpmTokenizer final : public Tokenizer {
public:
  SpmTokenizer(std::string_view bytes, std::string_view origin) {
    std::string prefix = "tokenizer '" + std::string(origin) + "': ";
    if (bytes.empty())
      throw std::runtime_error(prefix + "empty SentencePiece model");
    auto status = sp_.LoadFromSerializedProto(bytes);
    if (!status.ok())
      throw std::runtime_error(prefix + "not a valid SentencePiece model (" + status.ToString() + ")");
    size_ = sp_.GetPieceSize();
    if (size_ <= 0)
      throw std::runtime_error(prefix + "SentencePiece model has no pieces");
    findAnchor();
  }

  std::vector<int32_t> encode(std::string_view text, bool addSpecial) const override {
    std::vector<int> ids;
    auto status = sp_.Encode(text, &ids);
    if (!status.ok())
      throw std::runtime_error("SentencePiece encode failed: " + status.ToString());
    std::vector<int32_t> out;
    out.reserve(ids.size() + 1);
    if (addSpecial && sp_.bos_id() >= 0)
      out.push_back(sp_.bos_id());
    out.insert(out.end(), ids.begin(), ids.end());
    return out;
  }

  std::string decode(std::span<const int32_t> ids) const override {
    std::vector<int> valid;
    valid.reserve(ids.size());
    for (int32_t id : ids) {
      if (inRange(id))
        valid.push_back(id);
    }
    return decodeIds(valid);
  }

  int32_t vocabSize() const override { return size_; }
  std::optional<int32_t> bosId() const override {
    return sp_.bos_id() >= 0 ? std::optional<int32_t>(sp_.bos_id()) : std::nullopt;
  }
  std::vector<int32_t> eosIds() const override {
    return sp_.eos_id() >= 0 ? std::vector<int32_t>{sp_.eos_id()} : std::vector<int32_t>{};
  }
  std::optional<std::string> idToPiece(int32_t id) const override {
    return inRange(id) ? std::optional<std::string>(sp_.IdToPiece(id)) : std::nullopt;
  }
  TokenizerKind kind() const override { return TokenizerKind::SentencePiece; }
  std::unique_ptr<DecodeStream> newDecodeStream() const override { return std::make_unique<SpmDecodeStream>(*this); }

  bool inRange(int32_t id) const { return id >= 0 && id < size_; }
  bool isByte(int32_t id) const { return sp_.IsByte(id); }
  bool hasAnchor() const { return anchor_ >= 0; }

  std::string decodeIds(const std::vector<int> &ids) const {
    std::string text;
    auto status = sp_.Decode(ids, &text);
    if (!status.ok())
      throw std::runtime_error("SentencePiece decode failed: " + status.ToString());
    return text;
  }

  /// The text `ids` add after a non-empty text that ended with a non-byte piece.
  std::string decodeAfterAnchor(const std::vector<int> &ids) const {
    std::vector<int> withAnchor;
    withAnchor.reserve(ids.size() + 1);
    withAnchor.push_back(anchor_);
    withAnchor.insert(withAnchor.end(), ids.begin(), ids.end());
    std::string text = decodeIds(withAnchor);
    if (text.compare(0, anchorText_.size(), anchorText_) != 0)
      throw std::runtime_error("SentencePiece stream decode: the anchor piece did not decode as a prefix");
    return text.substr(anchorText_.size());
  }

private:
  /// A normal piece with a visible surface, preferably without ▁.
  void findAnchor() {
    constexpr std::string_view kSpace = "\xE2\x96\x81";
    for (int pass = 0; pass < 2 && anchor_ < 0; ++pass) {
      for (int id = 0; id < size_; ++id) {
        if (sp_.IsControl(id) || sp_.IsUnknown(id) || sp_.IsByte(id) || sp_.IsUnused(id))
          continue;
        if (pass == 0 && sp_.IdToPiece(id).find(kSpace) != std::string::npos)
          continue;
        std::string text = decodeIds({id});
        if (!text.empty()) {
          anchor_ = id;
          anchorText_ = std::move(text);
          break;
        }
      }
    }
  }

  sentencepiece::SentencePieceProcessor sp_;
  int32_t size_ = 0;
  int anchor_ = -1;
  std::string anchorText_;
};

std::string SpmDecodeStream::push(int32_t id) {
  if (!tokenizer_.inRange(id))
    return {};
  window_.push_back(id);
  std::string text = settled_ ? tokenizer_.decodeAfterAnchor(window_) : tokenizer_.decodeIds(window_);
  bool openByteRun = tokenizer_.isByte(id);
  size_t stable = text.size();
  if (openByteRun) {
    // U+FFFDs at the end of a byte run may still become a character.
    constexpr size_t n = tok::kReplacementChar.size();
    while (stable >= emitted_ + n && text.compare(stable - n, n, tok::kReplacementChar) == 0)
      stable -= n;
  }
  std::string out = stable > emitted_ ? text.substr(emitted_, stable - emitted_) : std::string();
  emitted_ = std::max(emitted_, stable);
  if (!openByteRun && (settled_ || !text.empty()) && tokenizer_.hasAnchor()) {
    settled_ = true;
    window_.clear();
    emitted_ = 0;
  }
  return out;
}

std::string SpmDecodeStream::finish() {
  std::string text = settled_ ? tokenizer_.decodeAfterAnchor(window_) : tokenizer_.decodeIds(window_);
  std::string out = text.size() > emitted_ ? text.substr(emitted_) : std::string();
  window_.clear();
  settled_ = false;
  emitted_ = 0;
  return out;
}

/// Installs the loader when this object is linked in (see SentencePiece.h).
struct Registrar {
  Registrar() { registerSentencePieceTokenizer(); }
};
const Registrar registrar;

} // namespace

std::unique_ptr<Tokenizer> loadSentencePieceTokenizer(std::string_view bytes, std::string_view origin) {
  return std::make_unique<SpmTokenizer>(bytes, origin);
}

void registerSentencePieceTokenizer() {
  registerTokenizerLoader(TokenizerKind::SentencePiece, &loadSentencePieceTokenizer);
}

} // namespace ternc::rt
