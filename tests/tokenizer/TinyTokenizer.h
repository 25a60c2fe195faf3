// TinyTokenizer.h: builds small tokenizer.json documents for the unit tests (a byte alphabet plus chosen merges).
#pragma once

#include "tokenizer/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ternc::rt::test {

/// The byte-level spelling of raw bytes, written out independently of the
/// library: '!'..'~', 0xA1..0xAC, 0xAE..0xFF stand for themselves, the other
/// bytes take U+0100 + k in byte order.
inline std::string byteLevel(std::string_view bytes) {
  std::string out;
  for (unsigned char b : bytes) {
    unsigned cp = b;
    bool self = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    if (!self) {
      unsigned k = 0;
      for (unsigned x = 0; x < b; ++x) {
        bool s = (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE;
        k += s ? 0 : 1;
      }
      cp = 0x100 + k;
    }
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

/// A tokenizer.json with ids 0..255 for the bytes (id == byte value), then
/// one id per merge result in the order merges are added, then added tokens.
class TinyTokenizer {
public:
  TinyTokenizer() {
    for (int b = 0; b < 256; ++b)
      vocab_[byteLevel(std::string(1, static_cast<char>(b)))] = b;
    root_["version"] = "1.0";
    root_["normalizer"] = nullptr;
    root_["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
    root_["post_processor"] = nullptr;
    root_["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}};
    root_["added_tokens"] = nlohmann::json::array();
  }

  /// Adds the merge of two raw-byte strings; returns the id of the result.
  int merge(const std::string &left, const std::string &right) {
    merges_.push_back(byteLevel(left) + " " + byteLevel(right));
    return token(left + right);
  }
  /// A vocabulary entry without a merge (reachable through ignore_merges only).
  int token(const std::string &raw) {
    auto key = byteLevel(raw);
    if (!vocab_.contains(key))
      vocab_[key] = static_cast<int>(vocab_.size());
    return vocab_[key].get<int>();
  }
  int added(const std::string &content, bool special, bool lstrip = false, bool rstrip = false, bool singleWord = false,
            bool normalized = false) {
    int id = static_cast<int>(vocab_.size() + root_["added_tokens"].size());
    root_["added_tokens"].push_back({{"id", id},
                                     {"content", content},
                                     {"single_word", singleWord},
                                     {"lstrip", lstrip},
                                     {"rstrip", rstrip},
                                     {"normalized", normalized},
                                     {"special", special}});
    return id;
  }
  nlohmann::json &root() { return root_; }
  bool ignoreMerges = false;

  nlohmann::json json() const {
    nlohmann::json r = root_;
    r["model"] = {{"type", "BPE"},     {"dropout", nullptr},     {"unk_token", nullptr},
                  {"fuse_unk", false}, {"byte_fallback", false}, {"ignore_merges", ignoreMerges},
                  {"vocab", vocab_},   {"merges", merges_}};
    return r;
  }
  std::string text() const { return json().dump(); }
  std::unique_ptr<Tokenizer> load() const { return Tokenizer::load(TokenizerKind::HfJson, text(), "tiny.json"); }

private:
  nlohmann::json root_;
  nlohmann::json vocab_ = nlohmann::json::object();
  std::vector<std::string> merges_;
};

/// The bytes of a string as ids of a TinyTokenizer without merges.
inline std::vector<int32_t> byteIds(std::string_view s) {
  std::vector<int32_t> ids;
  for (unsigned char c : s)
    ids.push_back(c);
  return ids;
}

} // namespace ternc::rt::test
