// AddedTokens.h: tokenizer.json added_tokens, found in the text before pre-tokenization.
#pragma once

#include "tokenizer/Regex.h"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ternc::rt::tok {

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool singleWord = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

/// A stretch of the input: an added token (id >= 0) or text to pre-tokenize (id -1).
struct Segment {
  size_t begin, end;
  int32_t id;
};

/// Hugging Face's AddedVocabulary matching: tokens with normalized=false are
/// found first in the whole text, those with normalized=true then in the
/// stretches between (the normalizer being the identity here); each pass takes
/// leftmost-longest non-overlapping matches, drops single_word matches next to
/// a word character, and lstrip/rstrip take the adjacent whitespace along.
class AddedVocabulary {
public:
  void add(AddedToken token);
  void finalize();
  const std::vector<AddedToken> &tokens() const { return tokens_; }

  /// Segments covering all of `text`, in order.
  void split(std::string_view text, std::vector<Segment> &segments) const;

private:
  struct MatchSet {
    /// Token indices by first byte, longest content first.
    std::array<std::vector<uint32_t>, 256> byFirstByte;
    bool empty = true;
  };
  void splitPass(std::string_view text, size_t offset, const MatchSet &set, std::vector<Segment> &out) const;
  bool isWordChar(std::string_view text, size_t begin, size_t end) const;

  std::vector<AddedToken> tokens_;
  MatchSet raw_, normalized_;
  std::unique_ptr<Regex> wordChar_; // only when a token is single_word
};

} // namespace ternc::rt::tok
