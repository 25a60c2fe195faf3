// PreTokenizer.h: tokenizer.json pre-tokenizers (Split, ByteLevel, Digits, Sequence) over byte ranges.
#pragma once

#include "tokenizer/Regex.h"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ternc::rt::tok {

/// One pre-token: text[begin, end) of the text being split, preceded by a
/// space when a ByteLevel pre-tokenizer with add_prefix_space added one.
struct Piece {
  uint32_t begin;
  uint32_t end;
  bool space;
};

/// What a Split does with the pieces its pattern matches (HF's SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

/// The pre-tokenizer pipeline: steps applied in order, each splitting every
/// piece further, with Hugging Face's semantics (empty pieces are dropped).
class PreTokenizer {
public:
  void addSplit(std::shared_ptr<const Regex> regex, SplitBehavior behavior, bool invert);
  /// A Split whose pattern is a plain string.
  void addSplitLiteral(std::string literal, SplitBehavior behavior, bool invert);
  /// ByteLevel: prefixes a space to pieces that do not start with one, then
  /// (with useRegex) splits with GPT-2's regex. The byte mapping itself is
  /// implicit: the model works on raw bytes.
  void addByteLevel(bool addPrefixSpace, bool useRegex);
  /// Digits: each numeric character alone (individual) or runs of them.
  void addDigits(bool individualDigits);
  bool empty() const { return steps_.empty(); }

  /// Splits `text` (valid UTF-8) into `pieces`.
  void run(std::string_view text, std::vector<Piece> &pieces) const;

private:
  struct Step {
    enum Kind { Split, ByteLevel } kind = Split;
    std::shared_ptr<const Regex> regex; // Split (null for a literal), ByteLevel with useRegex
    std::string literal;
    SplitBehavior behavior = SplitBehavior::Isolated;
    bool invert = false;
    bool addPrefixSpace = false;
  };
  std::vector<Step> steps_;
};

} // namespace ternc::rt::tok
