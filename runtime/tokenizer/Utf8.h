// Utf8.h: UTF-8 validation, repair and streaming hold-back shared by the tokenizers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ternc::rt::tok {

inline constexpr std::string_view kReplacementChar = "\xEF\xBF\xBD"; // U+FFFD

/// Length of the well-formed UTF-8 sequence (Unicode table 3-7: shortest
/// form, no surrogates, at most U+10FFFF) starting at s[i], 0 if none does.
size_t wellFormedLength(std::string_view s, size_t i);
bool isValidUtf8(std::string_view s);
/// The code point of the well-formed sequence of `len` bytes at s[i].
char32_t decodeAt(std::string_view s, size_t i, size_t len);
void appendUtf8(char32_t c, std::string &out);

/// Appends `bytes` with each maximal ill-formed subpart replaced by U+FFFD,
/// the rule of Rust's String::from_utf8_lossy and of WHATWG's TextDecoder.
void appendLossy(std::string_view bytes, std::string &out);
/// Where a trailing sequence starts that further bytes could still make
/// well-formed (a lead byte followed by fitting continuation bytes, too few of
/// them); bytes.size() if there is none. Both repair rules above decode
/// bytes[0, cut) exactly as they decode that part of any longer stream.
size_t incompleteTailStart(std::string_view bytes);

/// Unicode White_Space (what Oniguruma's and Rust regex's \s match).
bool isWhiteSpace(char32_t c);

/// The code point that ends at offset `end` of `s` and its length; false when
/// the bytes before `end` do not end with a well-formed sequence.
bool lastCodePoint(std::string_view s, size_t end, char32_t &c, size_t &len);

} // namespace ternc::rt::tok
