// AddedTokens.cpp: finding added/special tokens in the input (leftmost-longest, single_word, lstrip, rstrip).
#include "tokenizer/AddedTokens.h"

#include "tokenizer/Utf8.h"

#include <algorithm>
#include <unordered_map>

namespace ternc::rt::tok {
namespace {

/// What the Rust regex crate's \w matches (the single_word test of HF).
constexpr std::string_view kWordCharPattern = "[\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}]";

size_t whitespaceBefore(std::string_view s, size_t pos) {
  char32_t c;
  size_t len;
  while (lastCodePoint(s, pos, c, len) && isWhiteSpace(c))
    pos -= len;
  return pos;
}

size_t whitespaceAfter(std::string_view s, size_t pos) {
  while (pos < s.size()) {
    size_t n = wellFormedLength(s, pos);
    if (n == 0 || !isWhiteSpace(decodeAt(s, pos, n)))
      break;
    pos += n;
  }
  return pos;
}

} // namespace

void AddedVocabulary::add(AddedToken token) {
  if (!token.content.empty())
    tokens_.push_back(std::move(token));
}

void AddedVocabulary::finalize() {
  // A content listed twice keeps its last entry.
  std::unordered_map<std::string, size_t> last;
  for (size_t i = 0; i < tokens_.size(); ++i)
    last[tokens_[i].content] = i;
  std::vector<AddedToken> unique;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (last[tokens_[i].content] == i)
      unique.push_back(std::move(tokens_[i]));
  }
  tokens_ = std::move(unique);

  bool anySingleWord = false;
  for (uint32_t i = 0; i < tokens_.size(); ++i) {
    MatchSet &set = tokens_[i].normalized ? normalized_ : raw_;
    set.byFirstByte[static_cast<uint8_t>(tokens_[i].content[0])].push_back(i);
    set.empty = false;
    anySingleWord |= tokens_[i].singleWord;
  }
  for (MatchSet *set : {&raw_, &normalized_}) {
    for (auto &bucket : set->byFirstByte) {
      std::stable_sort(bucket.begin(), bucket.end(),
                       [&](uint32_t a, uint32_t b) { return tokens_[a].content.size() > tokens_[b].content.size(); });
    }
  }
  if (anySingleWord)
    wordChar_ = std::make_unique<Regex>(kWordCharPattern);
}

bool AddedVocabulary::isWordChar(std::string_view text, size_t begin, size_t end) const {
  return wordChar_->matchesPrefix(text.substr(begin, end - begin));
}

void AddedVocabulary::split(std::string_view text, std::vector<Segment> &segments) const {
  segments.clear();
  std::vector<Segment> first;
  splitPass(text, 0, raw_, first);
  for (const Segment &s : first) {
    if (s.id >= 0)
      segments.push_back(s);
    else
      splitPass(text.substr(s.begin, s.end - s.begin), s.begin, normalized_, segments);
  }
}

void AddedVocabulary::splitPass(std::string_view sentence, size_t offset, const MatchSet &set,
                                std::vector<Segment> &out) const {
  size_t size = sentence.size();
  size_t startOffset = 0;
  size_t i = set.empty ? size : 0;
  while (i < size) {
    const auto &bucket = set.byFirstByte[static_cast<uint8_t>(sentence[i])];
    const AddedToken *token = nullptr;
    for (uint32_t index : bucket) {
      const std::string &c = tokens_[index].content;
      if (sentence.compare(i, c.size(), c) == 0) {
        token = &tokens_[index];
        break;
      }
    }
    if (!token) {
      ++i;
      continue;
    }
    size_t start = i, stop = i + token->content.size();
    i = stop; // matches do not overlap, whether or not this one is kept
    if (token->singleWord) {
      char32_t c;
      size_t len;
      bool wordBefore = start > 0 && lastCodePoint(sentence, start, c, len) && isWordChar(sentence, start - len, start);
      size_t n = stop < size ? wellFormedLength(sentence, stop) : 0;
      bool wordAfter = n > 0 && isWordChar(sentence, stop, stop + n);
      if (wordBefore || wordAfter)
        continue;
    }
    if (start < startOffset) // inside whitespace an earlier rstrip took
      continue;
    if (token->lstrip)
      start = std::max(whitespaceBefore(sentence, start), startOffset);
    if (token->rstrip)
      stop = whitespaceAfter(sentence, stop);
    if (startOffset < start)
      out.push_back({offset + startOffset, offset + start, -1});
    out.push_back({offset + start, offset + stop, token->id});
    startOffset = stop;
  }
  if (startOffset < size)
    out.push_back({offset + startOffset, offset + size, -1});
}

} // namespace ternc::rt::tok
