// TokenizerInternalsTest.cpp: the UTF-8 repair rules, the byte-level alphabet and the regex layer.
#include "tokenizer/ByteLevel.h"
#include "tokenizer/Regex.h"
#include "tokenizer/Utf8.h"

#include "TinyTokenizer.h"

#include <gtest/gtest.h>

namespace tok = ternc::rt::tok;

namespace {

std::string lossy(std::string_view s) {
  std::string out;
  tok::appendLossy(s, out);
  return out;
}

TEST(Utf8, LossyReplacesMaximalSubparts) {
  // The examples of the Unicode standard's "U+FFFD substitution of maximal subparts" (WHATWG's rule too).
  EXPECT_EQ(lossy("a\x80"
                  "b"),
            "a\uFFFD"
            "b");
  EXPECT_EQ(lossy("\xC0\xAF"), "\uFFFD\uFFFD");                     // C0 never leads
  EXPECT_EQ(lossy("\xE0\x80\xAF"), "\uFFFD\uFFFD\uFFFD");           // E0 needs A0..BF next
  EXPECT_EQ(lossy("\xED\xA0\x80"), "\uFFFD\uFFFD\uFFFD");           // surrogates
  EXPECT_EQ(lossy("\xF4\x90\x80\x80"), "\uFFFD\uFFFD\uFFFD\uFFFD"); // above U+10FFFF
  EXPECT_EQ(lossy("\xF0\x9F\x98"
                  "A"),
            "\uFFFD"
            "A"); // one truncated sequence, one U+FFFD
  EXPECT_EQ(lossy("\xE2\x82"), "\uFFFD");
  EXPECT_EQ(lossy("\xF0\x9F\x98\x80\xE2\x82\xAC"), "\U0001F600\u20AC");
  EXPECT_EQ(lossy(""), "");
}

TEST(Utf8, IncompleteTail) {
  EXPECT_EQ(tok::incompleteTailStart(""), 0u);
  EXPECT_EQ(tok::incompleteTailStart("abc"), 3u);
  EXPECT_EQ(tok::incompleteTailStart("ab\xE2"), 2u);
  EXPECT_EQ(tok::incompleteTailStart("ab\xE2\x82"), 2u);
  EXPECT_EQ(tok::incompleteTailStart("ab\xE2\x82\xAC"), 5u);
  EXPECT_EQ(tok::incompleteTailStart("ab\xF0\x9F\x98"), 2u);
  EXPECT_EQ(tok::incompleteTailStart("\xE0\x80"), 2u); // already broken: nothing to wait for
  EXPECT_EQ(tok::incompleteTailStart("\x80\x80"), 2u);
  EXPECT_EQ(tok::incompleteTailStart("\xF5"), 1u);
  EXPECT_EQ(tok::incompleteTailStart("\xED\x9F"), 0u);
  EXPECT_EQ(tok::incompleteTailStart("\xED\xA0"), 2u);
}

TEST(Utf8, WhiteSpaceIsTheUnicodeProperty) {
  for (char32_t c : {U'\t', U'\n', U'\v', U'\f', U'\r', U' ', U'\u0085', U'\u00A0', U'\u1680', U'\u2000', U'\u200A',
                     U'\u2028', U'\u2029', U'\u202F', U'\u205F', U'\u3000'})
    EXPECT_TRUE(tok::isWhiteSpace(c)) << static_cast<uint32_t>(c);
  for (char32_t c : {U'a', U'\u180E', U'\uFEFF', U'\u200B', U'\0'})
    EXPECT_FALSE(tok::isWhiteSpace(c)) << static_cast<uint32_t>(c);
}

TEST(ByteLevel, Alphabet) {
  EXPECT_EQ(tok::byteToChar(' '), U'\u0120');  // Ġ
  EXPECT_EQ(tok::byteToChar('\n'), U'\u010A'); // Ċ
  EXPECT_EQ(tok::byteToChar('A'), U'A');
  EXPECT_EQ(tok::byteToChar(0xAD), U'\u0143');
  EXPECT_EQ(tok::byteToChar(0x00), U'\u0100');
  for (int b = 0; b < 256; ++b) {
    std::string raw(1, static_cast<char>(b)), back;
    std::string token = tok::bytesToToken(raw);
    EXPECT_EQ(token, ternc::rt::test::byteLevel(raw));
    ASSERT_TRUE(tok::tokenToBytes(token, back));
    EXPECT_EQ(back, raw);
  }
  std::string bytes;
  EXPECT_FALSE(tok::tokenToBytes("\u4E2D", bytes)); // not a byte-level character
  EXPECT_FALSE(tok::tokenToBytes(" ", bytes));      // space is spelled Ġ
}

TEST(Regex, OnigurumaEscapes) {
  EXPECT_EQ(tok::translateOnigurumaPattern("\\s+(?!\\S)"), "\\p{White_Space}+(?!\\P{White_Space})");
  EXPECT_EQ(tok::translateOnigurumaPattern("[^\\s\\p{L}\\p{N}]"), "[^\\p{White_Space}\\p{L}\\p{N}]");
  EXPECT_EQ(tok::translateOnigurumaPattern("\\\\s"), "\\\\s"); // an escaped backslash, then 's'
  EXPECT_EQ(tok::translateOnigurumaPattern("\\h[\\h]"), "[0-9A-Fa-f][0-9A-Fa-f]");
  EXPECT_EQ(tok::translateOnigurumaPattern("[]a]\\s"), "[]a]\\p{White_Space}");
  // U+180E is no longer White_Space; PCRE2's own \s still takes it.
  tok::Regex space(tok::translateOnigurumaPattern("\\s"));
  EXPECT_FALSE(space.matchesPrefix("\u180E"));
  EXPECT_TRUE(space.matchesPrefix("\u0085"));
  EXPECT_TRUE(space.matchesPrefix("\u3000"));
}

TEST(Regex, FindAllLikeOnigFindIter) {
  std::vector<std::pair<size_t, size_t>> m;
  tok::Regex(std::string("a*")).findAll("baa", m);
  EXPECT_EQ(m, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {1, 3}}));
  tok::Regex(std::string("x*")).findAll("\u00E9", m); // steps over a whole character after an empty match
  EXPECT_EQ(m, (std::vector<std::pair<size_t, size_t>>{{0, 0}, {2, 2}}));
  tok::Regex(std::string("(?i:'s|'t)|\\p{L}+")).findAll("IT'S Ünïcode's", m);
  EXPECT_EQ(m, (std::vector<std::pair<size_t, size_t>>{{0, 2}, {2, 4}, {5, 14}, {14, 16}}));
  EXPECT_THROW(tok::Regex(std::string("[a-")), std::runtime_error);
}

} // namespace
