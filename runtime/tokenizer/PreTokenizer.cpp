// PreTokenizer.cpp: Split behaviors, ByteLevel's prefix space and regex, Digits, applied piece by piece.
#include "tokenizer/PreTokenizer.h"

#include <algorithm>

namespace ternc::rt::tok {
namespace {

/// GPT-2's pre-tokenizer regex, which ByteLevel applies when use_regex is set.
constexpr std::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

struct Range {
  size_t begin, end;
  bool isMatch;
};

/// Turns the matches of a pattern in a string of `size` bytes into the kept
/// ranges, as HF's NormalizedString::split does for `behavior`.
void applyBehavior(const std::vector<std::pair<size_t, size_t>> &matches, size_t size, SplitBehavior behavior,
                   bool invert, std::vector<std::pair<size_t, size_t>> &kept) {
  std::vector<Range> marks;
  size_t prev = 0;
  for (auto [b, e] : matches) {
    if (prev != b)
      marks.push_back({prev, b, false});
    marks.push_back({b, e, true});
    prev = e;
  }
  if (prev != size || size == 0)
    marks.push_back({prev, size, false});
  if (invert) {
    for (Range &r : marks)
      r.isMatch = !r.isMatch;
  }

  std::vector<Range> acc;
  bool prevMatch = false;
  switch (behavior) {
  case SplitBehavior::Removed:
    for (const Range &r : marks) {
      if (!r.isMatch)
        acc.push_back(r);
    }
    break;
  case SplitBehavior::Isolated:
    acc = marks;
    break;
  case SplitBehavior::MergedWithPrevious:
    for (const Range &r : marks) {
      if (r.isMatch && !prevMatch && !acc.empty())
        acc.back().end = r.end;
      else
        acc.push_back(r);
      prevMatch = r.isMatch;
    }
    break;
  case SplitBehavior::MergedWithNext:
    for (auto it = marks.rbegin(); it != marks.rend(); ++it) {
      if (it->isMatch && !prevMatch && !acc.empty())
        acc.back().begin = it->begin;
      else
        acc.push_back(*it);
      prevMatch = it->isMatch;
    }
    std::reverse(acc.begin(), acc.end());
    break;
  case SplitBehavior::Contiguous:
    for (const Range &r : marks) {
      if (r.isMatch == prevMatch && !acc.empty())
        acc.back().end = r.end;
      else
        acc.push_back(r);
      prevMatch = r.isMatch;
    }
    break;
  }
  kept.clear();
  for (const Range &r : acc) {
    if (r.end > r.begin)
      kept.emplace_back(r.begin, r.end);
  }
}

void findLiteral(std::string_view s, std::string_view literal, std::vector<std::pair<size_t, size_t>> &matches) {
  matches.clear();
  if (literal.empty())
    return;
  size_t pos = 0;
  while ((pos = s.find(literal, pos)) != std::string_view::npos) {
    matches.emplace_back(pos, pos + literal.size());
    pos += literal.size();
  }
}

} // namespace

void PreTokenizer::addSplit(std::shared_ptr<const Regex> regex, SplitBehavior behavior, bool invert) {
  Step s;
  s.regex = std::move(regex);
  s.behavior = behavior;
  s.invert = invert;
  steps_.push_back(std::move(s));
}

void PreTokenizer::addSplitLiteral(std::string literal, SplitBehavior behavior, bool invert) {
  Step s;
  s.literal = std::move(literal);
  s.behavior = behavior;
  s.invert = invert;
  steps_.push_back(std::move(s));
}

void PreTokenizer::addByteLevel(bool addPrefixSpace, bool useRegex) {
  Step s;
  s.kind = Step::ByteLevel;
  if (useRegex)
    s.regex = std::make_shared<Regex>(translateOnigurumaPattern(kGpt2Pattern));
  s.addPrefixSpace = addPrefixSpace;
  steps_.push_back(std::move(s));
}

void PreTokenizer::addDigits(bool individualDigits) {
  addSplit(std::make_shared<Regex>("\\p{N}"), individualDigits ? SplitBehavior::Isolated : SplitBehavior::Contiguous,
           false);
}

void PreTokenizer::run(std::string_view text, std::vector<Piece> &pieces) const {
  pieces.clear();
  if (!text.empty())
    pieces.push_back({0, static_cast<uint32_t>(text.size()), false});
  std::vector<Piece> next;
  std::vector<std::pair<size_t, size_t>> matches, kept;
  std::string s;
  for (const Step &step : steps_) {
    next.clear();
    for (Piece piece : pieces) {
      if (step.kind == Step::ByteLevel) {
        bool startsWithSpace = piece.space || (piece.end > piece.begin && text[piece.begin] == ' ');
        if (step.addPrefixSpace && !startsWithSpace)
          piece.space = true;
        if (!step.regex) {
          next.push_back(piece);
          continue;
        }
      }
      // The piece as the step sees it, then its ranges mapped back: offset 0
      // of a spaced piece is the added space, offset o > 0 is text[begin + o - 1].
      s.clear();
      if (piece.space)
        s += ' ';
      s.append(text.substr(piece.begin, piece.end - piece.begin));
      if (step.regex)
        step.regex->findAll(s, matches);
      else
        findLiteral(s, step.literal, matches);
      applyBehavior(matches, s.size(), step.kind == Step::ByteLevel ? SplitBehavior::Isolated : step.behavior,
                    step.kind == Step::ByteLevel ? false : step.invert, kept);
      uint32_t shift = piece.space ? 1 : 0;
      for (auto [a, b] : kept) {
        if (piece.space && a == 0)
          next.push_back({piece.begin, static_cast<uint32_t>(piece.begin + b - 1), true});
        else
          next.push_back(
              {static_cast<uint32_t>(piece.begin + a - shift), static_cast<uint32_t>(piece.begin + b - shift), false});
      }
    }
    pieces.swap(next);
  }
}

} // namespace ternc::rt::tok
