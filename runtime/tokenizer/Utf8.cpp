// Utf8.cpp: UTF-8 validation, lossy repair (maximal subparts) and the streaming hold-back.
#include "tokenizer/Utf8.h"

#include <cstdint>

namespace ternc::rt::tok {
namespace {

inline bool isContinuation(unsigned char b) { return (b & 0xC0) == 0x80; }

/// The sequence length a lead byte announces and the allowed range of the
/// second byte (Unicode table 3-7); length 0 for bytes that cannot lead.
struct Lead {
  int length;
  unsigned char lo, hi;
};

inline Lead leadInfo(unsigned char b) {
  if (b < 0x80)
    return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF)
    return {2, 0x80, 0xBF};
  if (b == 0xE0)
    return {3, 0xA0, 0xBF};
  if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF)
    return {3, 0x80, 0xBF};
  if (b == 0xED)
    return {3, 0x80, 0x9F};
  if (b == 0xF0)
    return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3)
    return {4, 0x80, 0xBF};
  if (b == 0xF4)
    return {4, 0x80, 0x8F};
  return {0, 0, 0};
}

/// How many bytes from s[i] fit the sequence its lead byte starts (the lead
/// included), stopping at the first byte that does not fit or at the end.
inline size_t fittingPrefix(std::string_view s, size_t i, const Lead &lead) {
  size_t n = 1;
  while (n < static_cast<size_t>(lead.length) && i + n < s.size()) {
    auto b = static_cast<unsigned char>(s[i + n]);
    bool fits = n == 1 ? (b >= lead.lo && b <= lead.hi) : isContinuation(b);
    if (!fits)
      break;
    ++n;
  }
  return n;
}

} // namespace

size_t wellFormedLength(std::string_view s, size_t i) {
  Lead lead = leadInfo(static_cast<unsigned char>(s[i]));
  if (lead.length == 0)
    return 0;
  size_t n = fittingPrefix(s, i, lead);
  return n == static_cast<size_t>(lead.length) ? n : 0;
}

bool isValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    size_t n = wellFormedLength(s, i);
    if (n == 0)
      return false;
    i += n;
  }
  return true;
}

char32_t decodeAt(std::string_view s, size_t i, size_t len) {
  auto b = [&](size_t k) { return static_cast<char32_t>(static_cast<unsigned char>(s[i + k])); };
  switch (len) {
  case 1:
    return b(0);
  case 2:
    return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
  case 3:
    return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
  default:
    return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
  }
}

void appendUtf8(char32_t c, std::string &out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xC0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xE0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (c & 0x3F));
  }
}

void appendLossy(std::string_view bytes, std::string &out) {
  size_t i = 0, runStart = 0;
  while (i < bytes.size()) {
    auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    Lead lead = leadInfo(b);
    size_t n = lead.length == 0 ? 0 : fittingPrefix(bytes, i, lead);
    if (lead.length != 0 && n == static_cast<size_t>(lead.length)) {
      i += n;
      continue;
    }
    out.append(bytes.substr(runStart, i - runStart));
    out.append(kReplacementChar);
    // The maximal subpart: the lead and the continuation bytes that fit it.
    i += lead.length == 0 ? 1 : n;
    runStart = i;
  }
  out.append(bytes.substr(runStart));
}

size_t incompleteTailStart(std::string_view bytes) {
  size_t size = bytes.size();
  size_t limit = size >= 4 ? size - 4 : 0;
  for (size_t p = size; p > limit; --p) {
    auto b = static_cast<unsigned char>(bytes[p - 1]);
    if (isContinuation(b))
      continue;
    // The last byte that is not a continuation byte: an incomplete sequence
    // starts here if it leads one and every byte after it fits.
    Lead lead = leadInfo(b);
    if (lead.length <= 1)
      return size;
    size_t n = fittingPrefix(bytes, p - 1, lead);
    bool incomplete = p - 1 + n == size && n < static_cast<size_t>(lead.length);
    return incomplete ? p - 1 : size;
  }
  return size;
}

bool isWhiteSpace(char32_t c) {
  if (c <= 0x20)
    return c == 0x20 || (c >= 0x09 && c <= 0x0D);
  switch (c) {
  case 0x85:
  case 0xA0:
  case 0x1680:
  case 0x2028:
  case 0x2029:
  case 0x202F:
  case 0x205F:
  case 0x3000:
    return true;
  default:
    return c >= 0x2000 && c <= 0x200A;
  }
}

bool lastCodePoint(std::string_view s, size_t end, char32_t &c, size_t &len) {
  size_t start = end;
  while (start > 0 && end - start < 4) {
    --start;
    if (!isContinuation(static_cast<unsigned char>(s[start])))
      break;
  }
  if (start == end)
    return false;
  size_t n = wellFormedLength(s, start);
  if (n == 0 || start + n != end)
    return false;
  c = decodeAt(s, start, n);
  len = n;
  return true;
}

} // namespace ternc::rt::tok
