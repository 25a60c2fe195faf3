// HfTokenizerTest.cpp: tokenizer.json semantics on hand-made vocabularies whose ids can be worked out by hand.
#include "TinyTokenizer.h"

#include <gtest/gtest.h>

using ternc::rt::StreamDecoder;
using ternc::rt::Tokenizer;
using ternc::rt::test::byteIds;
using ternc::rt::test::TinyTokenizer;
using Ids = std::vector<int32_t>;

namespace {

std::string decodeAll(const Tokenizer &t, const Ids &ids) { return t.decode(ids); }

std::string streamAll(const Tokenizer &t, const Ids &ids) {
  StreamDecoder s(t);
  std::string out;
  for (int32_t id : ids)
    out += s.push(id);
  return out + s.finish();
}

TEST(HfTokenizer, MergesByRankThenLeftmost) {
  TinyTokenizer b;
  int bc = b.merge("b", "c"); // rank 0
  b.merge("a", "b");          // rank 1: loses to "b c" in "abc"
  int aa = b.merge("a", "a");
  auto t = b.load();
  EXPECT_EQ(t->encode("abc", false), (Ids{'a', bc}));
  // Equal ranks: the leftmost pair first.
  EXPECT_EQ(t->encode("aaa", false), (Ids{aa, 'a'}));
  EXPECT_EQ(t->encode("aaaa", false), (Ids{aa, aa}));
}

TEST(HfTokenizer, MergesChainIntoWords) {
  TinyTokenizer b;
  b.merge("h", "e");
  b.merge("l", "l");
  b.merge("he", "ll");
  int hello = b.merge("hell", "o");
  auto t = b.load();
  EXPECT_EQ(t->encode("hello", false), Ids{hello});
  EXPECT_EQ(t->encode("", false), Ids{});
  EXPECT_EQ(t->decode(Ids{hello}), "hello");
}

TEST(HfTokenizer, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  TinyTokenizer b;
  int ab = b.token("ab"); // in the vocabulary, but no merge makes it
  b.ignoreMerges = false;
  EXPECT_EQ(b.load()->encode("ab", false), (Ids{'a', 'b'}));
  b.ignoreMerges = true;
  EXPECT_EQ(b.load()->encode("ab", false), Ids{ab});
  EXPECT_EQ(b.load()->encode("abab", false), (Ids{'a', 'b', 'a', 'b'}));
}

TEST(HfTokenizer, SplitBehaviors) {
  auto withSplit = [](const char *behavior, bool invert) {
    TinyTokenizer b;
    b.merge("a", "-");
    b.merge("-", "b");
    b.merge("-", "-");
    b.root()["pre_tokenizer"] = {
        {"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
    return b.load();
  };
  // Ids: "a-" = 256, "-b" = 257, "--" = 258.
  EXPECT_EQ(withSplit("Removed", false)->encode("a-b", false), (Ids{'a', 'b'}));
  EXPECT_EQ(withSplit("Isolated", false)->encode("a-b", false), (Ids{'a', '-', 'b'}));
  EXPECT_EQ(withSplit("Isolated", false)->encode("a--b", false), (Ids{'a', '-', '-', 'b'}));
  EXPECT_EQ(withSplit("MergedWithPrevious", false)->encode("a-b", false), (Ids{256, 'b'}));
  EXPECT_EQ(withSplit("MergedWithNext", false)->encode("a-b", false), (Ids{'a', 257}));
  EXPECT_EQ(withSplit("Contiguous", false)->encode("a--b", false), (Ids{'a', 258, 'b'}));
  // Inverted, "a" and "b" are the delimiters: Removed keeps the dash only,
  // MergedWithPrevious appends "b" to the dash.
  EXPECT_EQ(withSplit("Removed", true)->encode("a-b", false), (Ids{'-'}));
  EXPECT_EQ(withSplit("MergedWithPrevious", true)->encode("a-b", false), (Ids{'a', 257}));
}

TEST(HfTokenizer, SplitRegexAndDigits) {
  TinyTokenizer b;
  int twelve = b.merge("1", "2");
  int ab = b.merge("a", "b");
  b.root()["pre_tokenizer"] = {{"type", "Sequence"},
                               {"pretokenizers",
                                {{{"type", "Split"},
                                  {"pattern", {{"Regex", "\\p{N}{1,3}|\\p{L}+"}}},
                                  {"behavior", "Isolated"},
                                  {"invert", false}},
                                 {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  auto t = b.load();
  // "12312": pieces "123" "12"; "ab12ab": "ab" "12" "ab".
  EXPECT_EQ(t->encode("12312", false), (Ids{twelve, '3', twelve}));
  EXPECT_EQ(t->encode("ab12ab", false), (Ids{ab, twelve, ab}));

  TinyTokenizer d;
  int twelveD = d.merge("1", "2");
  d.root()["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Digits"}, {"individual_digits", true}}, {{"type", "ByteLevel"}, {"add_prefix_space", false}}}}};
  EXPECT_EQ(d.load()->encode("x12", false), (Ids{'x', '1', '2'}));
  d.root()["pre_tokenizer"]["pretokenizers"][0]["individual_digits"] = false;
  EXPECT_EQ(d.load()->encode("x12", false), (Ids{'x', twelveD}));
}

TEST(HfTokenizer, ByteLevelRegexAndPrefixSpace) {
  TinyTokenizer b;
  int mSpace = b.merge("m", " ");
  int spaceH = b.merge(" ", "h");
  // Without the GPT-2 regex the whole text is one word.
  auto plain = b.load();
  EXPECT_EQ(plain->encode("I'm here", false), (Ids{'I', '\'', mSpace, 'h', 'e', 'r', 'e'}));
  // With it: "I" "'m" " here", so "m " cannot merge.
  b.root()["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  EXPECT_EQ(b.load()->encode("I'm here", false), (Ids{'I', '\'', 'm', spaceH, 'e', 'r', 'e'}));
  // add_prefix_space: each stretch between added tokens gets a leading space.
  b.root()["pre_tokenizer"]["add_prefix_space"] = true;
  int x = b.added("<x>", true);
  auto t = b.load();
  EXPECT_EQ(t->encode("hi", false), (Ids{spaceH, 'i'}));
  EXPECT_EQ(t->encode("hi<x>hi", false), (Ids{spaceH, 'i', x, spaceH, 'i'}));
  EXPECT_EQ(t->encode(" hi", false), (Ids{spaceH, 'i'}));
}

TEST(HfTokenizer, AddedTokensAreFoundFirstLeftmostLongest) {
  TinyTokenizer b;
  int ab = b.merge("a", "b");
  int x = b.added("<x>", true);
  int xy = b.added("<x><y>", true);
  auto t = b.load();
  EXPECT_EQ(t->encode("a<x>b", false), (Ids{'a', x, 'b'}));
  EXPECT_EQ(t->encode("<x><y><x>", false), (Ids{xy, x}));
  EXPECT_EQ(t->encode("ab<x>ab", false), (Ids{ab, x, ab}));
  EXPECT_EQ(t->encode("<x", false), (Ids{'<', 'x'}));
  EXPECT_EQ(t->decode(Ids{'a', x, 'b'}), "a<x>b");
}

TEST(HfTokenizer, AddedTokenStripAndSingleWord) {
  // The cases of HF's added_vocabulary tests, with the normalizer left out.
  TinyTokenizer b;
  int mask = b.added("<mask>", false, /*lstrip=*/true, /*rstrip=*/true, /*singleWord=*/true, /*normalized=*/true);
  auto t = b.load();
  std::string text = "Hi <mask> there\t<mask>\t<mask>\u2000";
  Ids expected = byteIds("Hi");
  expected.push_back(mask); // " <mask> "
  for (int32_t id : byteIds("there"))
    expected.push_back(id);
  expected.push_back(mask); // "\t<mask>\t"
  expected.push_back(mask); // "<mask>\u2000"
  EXPECT_EQ(t->encode(text, false), expected);

  TinyTokenizer w;
  int m = w.added("<mask>", false, false, false, /*singleWord=*/true);
  auto tw = w.load();
  Ids ids = tw->encode("<mask> My name <mask> A<mask> <mask>ony <mask>", false);
  Ids want{m};
  for (int32_t id : byteIds(" My name "))
    want.push_back(id);
  want.push_back(m);
  for (int32_t id : byteIds(" A<mask> <mask>ony "))
    want.push_back(id);
  want.push_back(m);
  EXPECT_EQ(ids, want);
  // Punctuation and dashes are not word characters; a combining mark is.
  Ids marks = tw->encode("<mask>, <mask>- \u25CC\u0330<mask>", false);
  Ids wantMarks{m};
  for (int32_t id : byteIds(", "))
    wantMarks.push_back(id);
  wantMarks.push_back(m);
  for (int32_t id : byteIds("- \u25CC\u0330<mask>"))
    wantMarks.push_back(id);
  EXPECT_EQ(marks, wantMarks);
}

TEST(HfTokenizer, TemplatePostProcessorAndSpecialIds) {
  TinyTokenizer b;
  int bos = b.added("<|begin_of_text|>", true);
  int eos = b.added("<|end_of_text|>", true);
  int eot = b.added("<|eot_id|>", true);
  b.root()["post_processor"] = {
      {"type", "Sequence"},
      {"processors",
       {{{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", true}},
        {{"type", "TemplateProcessing"},
         {"single",
          {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
           {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
         {"pair", nlohmann::json::array()},
         {"special_tokens",
          {{"<|begin_of_text|>",
            {{"id", "<|begin_of_text|>"}, {"ids", {bos}}, {"tokens", {"<|begin_of_text|>"}}}}}}}}}};
  auto t = b.load();
  EXPECT_EQ(t->encode("hi", true), (Ids{bos, 'h', 'i'}));
  EXPECT_EQ(t->encode("hi", false), (Ids{'h', 'i'}));
  EXPECT_EQ(t->encode("", true), Ids{bos});
  EXPECT_EQ(t->bosId(), bos);
  EXPECT_EQ(t->eosIds(), (Ids{eos, eot}));
  EXPECT_EQ(t->vocabSize(), eot + 1);
  EXPECT_EQ(t->decode(Ids{bos, 'h', 'i', eot}), "<|begin_of_text|>hi<|eot_id|>");

  TinyTokenizer r;
  int cls = r.added("<s>", true);
  int sep = r.added("</s>", true);
  r.root()["post_processor"] = {{"type", "RobertaProcessing"}, {"sep", {"</s>", sep}}, {"cls", {"<s>", cls}}};
  auto tr = r.load();
  EXPECT_EQ(tr->encode("a", true), (Ids{cls, 'a', sep}));
  EXPECT_EQ(tr->bosId(), cls);
  EXPECT_EQ(tr->eosIds(), Ids{sep});
}

TEST(HfTokenizer, BytesThatAreNotUtf8) {
  TinyTokenizer b;
  int ab = b.merge("a", "b");
  b.root()["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  auto t = b.load();
  // Kept as bytes, split as if each bad byte were U+FFFD (a symbol).
  std::string bad = "ab\xFF\xFE"
                    "ab \xC3";
  EXPECT_EQ(t->encode(bad, false), (Ids{ab, 0xFF, 0xFE, ab, ' ', 0xC3}));
  // decode returns UTF-8: the bad bytes come back as U+FFFD.
  EXPECT_EQ(t->decode(t->encode(bad, false)), "ab\uFFFD\uFFFDab \uFFFD");
  EXPECT_EQ(t->encode("\xE2\x82", false), (Ids{0xE2, 0x82}));
}

TEST(HfTokenizer, DecodeIsLossyUtf8AndSkipsUnknownIds) {
  TinyTokenizer b;
  auto t = b.load();
  EXPECT_EQ(t->decode(Ids{0xF0, 0x9F, 0x98, 0x80}), "\U0001F600");
  EXPECT_EQ(t->decode(Ids{0xF0, 0x9F, 0x98, 'A'}), "\uFFFD"
                                                   "A");
  EXPECT_EQ(t->decode(Ids{0xE0, 0x80}), "\uFFFD\uFFFD");
  EXPECT_EQ(t->decode(Ids{'a', -1, 100000, 'b'}), "ab");
  EXPECT_EQ(t->idToPiece(' '), "\u0120");
  EXPECT_EQ(t->idToPiece('\n'), "\u010A");
  EXPECT_EQ(t->idToPiece(-5), std::nullopt);
}

TEST(HfTokenizer, StreamDecoderHoldsBackPartialCharacters) {
  TinyTokenizer b;
  auto t = b.load();
  StreamDecoder s(*t);
  EXPECT_EQ(s.push('h'), "h");
  EXPECT_EQ(s.push(0xF0), "");
  EXPECT_EQ(s.push(0x9F), "");
  EXPECT_EQ(s.push(0x98), "");
  EXPECT_EQ(s.push(0x80), "\U0001F600");
  EXPECT_EQ(s.push(0xE2), "");
  EXPECT_EQ(s.push('x'), "\uFFFDx"); // the partial sequence turned out broken
  EXPECT_EQ(s.push(0xC3), "");
  EXPECT_EQ(s.finish(), "\uFFFD");
  EXPECT_EQ(s.push('y'), "y"); // finish() starts a new text
}

TEST(HfTokenizer, StreamEqualsDecodeOnRandomIds) {
  TinyTokenizer b;
  b.merge("\xE2", "\x82");
  b.merge("\xE2\x82", "\xAC");
  b.merge("\xF0", "\x9F");
  b.merge("\xF0\x9F", "\x98");
  b.added("<x>", true);
  auto t = b.load();
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  // Bias towards lead and continuation bytes so partial sequences are common.
  const int32_t favourites[] = {0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0xC3, 0xA9,
                                0xED, 0xA0, 'a',  256,  257,  258,  259,  260};
  for (int round = 0; round < 2000; ++round) {
    Ids ids;
    size_t len = next() % 12;
    for (size_t i = 0; i < len; ++i)
      ids.push_back(next() % 3 ? favourites[next() % std::size(favourites)] : static_cast<int32_t>(next() % 263));
    ASSERT_EQ(streamAll(*t, ids), decodeAll(*t, ids)) << "round " << round;
  }
}

} // namespace
