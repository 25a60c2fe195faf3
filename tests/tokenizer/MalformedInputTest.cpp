// MalformedInputTest.cpp: malformed tokenizer files give a std::runtime_error naming the file and the problem.
#include "TinyTokenizer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

using ternc::rt::Tokenizer;
using ternc::rt::TokenizerKind;
using ternc::rt::test::TinyTokenizer;

namespace {

/// The message of the runtime_error loading `bytes` throws ("" if none).
std::string loadError(TokenizerKind kind, std::string_view bytes, std::string_view origin) {
  try {
    Tokenizer::load(kind, bytes, origin);
  } catch (const std::runtime_error &e) {
    return e.what();
  }
  return "";
}

std::string hfError(const nlohmann::json &j) { return loadError(TokenizerKind::HfJson, j.dump(), "models/bad.json"); }

/// Whether `message` names the origin and contains each of `parts`.
testing::AssertionResult namesOriginAnd(const std::string &message, std::initializer_list<const char *> parts) {
  if (message.find("models/bad.json") == std::string::npos)
    return testing::AssertionFailure() << "origin missing in: \"" << message << "\"";
  for (const char *part : parts) {
    if (message.find(part) == std::string::npos)
      return testing::AssertionFailure() << "\"" << part << "\" missing in: \"" << message << "\"";
  }
  return testing::AssertionSuccess();
}

#define EXPECT_ERROR(message, ...) EXPECT_TRUE(namesOriginAnd((message), {__VA_ARGS__}))

TEST(MalformedInput, TruncatedJson) {
  TinyTokenizer b;
  b.merge("a", "b");
  std::string text = b.text();
  for (size_t cut : {size_t{0}, size_t{1}, text.size() / 3, text.size() / 2, text.size() - 1}) {
    std::string m = loadError(TokenizerKind::HfJson, text.substr(0, cut), "models/bad.json");
    EXPECT_ERROR(m, "not valid JSON");
  }
  EXPECT_ERROR(loadError(TokenizerKind::HfJson, "\xFF\xFE{", "models/bad.json"), "not valid JSON");
  EXPECT_ERROR(loadError(TokenizerKind::HfJson, "[1, 2]", "models/bad.json"), "expected an object");
}

TEST(MalformedInput, BadMerges) {
  TinyTokenizer b;
  b.merge("a", "b");
  auto j = b.json();
  j["model"]["merges"] = {"a"};
  EXPECT_ERROR(hfError(j), "model.merges[0]", "not two tokens");
  j["model"]["merges"] = {"a b c"};
  EXPECT_ERROR(hfError(j), "model.merges[0]", "not two tokens");
  j["model"]["merges"] = {"a b", "a zz"};
  EXPECT_ERROR(hfError(j), "model.merges[1]", "\"zz\" is not in the vocabulary");
  j["model"]["merges"] = {"b a"};
  EXPECT_ERROR(hfError(j), "model.merges[0]", "merged token \"ba\"");
  j["model"]["merges"] = {nlohmann::json::array({"a"})};
  EXPECT_ERROR(hfError(j), "model.merges[0]");
  j["model"]["merges"] = {42};
  EXPECT_ERROR(hfError(j), "model.merges[0]");
  j["model"]["merges"] = "a b";
  EXPECT_ERROR(hfError(j), "model.merges", "expected an array");
}

TEST(MalformedInput, BadModel) {
  TinyTokenizer b;
  auto j = b.json();
  j["model"]["type"] = "WordPiece";
  EXPECT_ERROR(hfError(j), "model.type", "unsupported model type \"WordPiece\"");
  j = b.json();
  j.erase("model");
  EXPECT_ERROR(hfError(j), "missing \"model\"");
  j = b.json();
  j["model"]["vocab"]["x"] = -3;
  EXPECT_ERROR(hfError(j), "out of range");
  j["model"]["vocab"]["x"] = 1e12;
  EXPECT_ERROR(hfError(j), "expected an integer id");
  j["model"]["vocab"]["x"] = 4000000000u;
  EXPECT_ERROR(hfError(j), "out of range");
  j = b.json();
  j["model"]["vocab"] = nlohmann::json::array();
  EXPECT_ERROR(hfError(j), "model.vocab");
  j = b.json();
  j["model"]["dropout"] = 0.1;
  EXPECT_ERROR(hfError(j), "dropout");
  j = b.json();
  j["model"]["unk_token"] = "<unk>";
  EXPECT_ERROR(hfError(j), "unk_token", "not in the vocabulary");
  j = b.json();
  j["model"]["ignore_merges"] = "yes";
  EXPECT_ERROR(hfError(j), "model.ignore_merges", "expected a boolean");
}

TEST(MalformedInput, UnsupportedPipelines) {
  TinyTokenizer b;
  auto j = b.json();
  j["normalizer"] = {{"type", "NFC"}};
  EXPECT_ERROR(hfError(j), "normalizer \"NFC\" is not supported");
  j = b.json();
  j["pre_tokenizer"] = {{"type", "Metaspace"}};
  EXPECT_ERROR(hfError(j), "pre-tokenizer \"Metaspace\" is not supported");
  j = b.json();
  j["pre_tokenizer"] = nullptr;
  EXPECT_ERROR(hfError(j), "not a byte-level BPE");
  j = b.json();
  j["pre_tokenizer"] = {{"type", "Sequence"},
                        {"pretokenizers",
                         {{{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}},
                          {{"type", "ByteLevel"}}}}};
  EXPECT_ERROR(hfError(j), "pre_tokenizer.pretokenizers[0].pattern.Regex", "bad regex");
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Regex", "x"}};
  j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
  EXPECT_ERROR(hfError(j), "unknown split behavior \"Sideways\"");
  j = b.json();
  j["decoder"] = {{"type", "WordPiece"}};
  EXPECT_ERROR(hfError(j), "decoder \"WordPiece\" is not supported");
  j = b.json();
  j["post_processor"] = {{"type", "TemplateProcessing"},
                         {"single", {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}}}},
                         {"special_tokens", nlohmann::json::object()}};
  EXPECT_ERROR(hfError(j), "post_processor.single[0]", "\"<s>\" is not in");
  j = b.json();
  j["added_tokens"] = {{{"content", "<x>"}}};
  EXPECT_ERROR(hfError(j), "added_tokens[0]", "missing \"id\"");
}

TEST(MalformedInput, GarbageSentencePieceModels) {
  std::mt19937 rng(7);
  std::string random(4096, '\0');
  for (char &c : random)
    c = static_cast<char>(rng());
  TinyTokenizer b;
  for (const std::string &bytes : {std::string(), random, std::string("this is not a model\n"), b.text(),
                                   std::string("\x0a\x05\x0a\x01\x61\x15", 6)}) {
    std::string m = loadError(TokenizerKind::SentencePiece, bytes, "models/bad.json");
    EXPECT_ERROR(m, "SentencePiece");
  }
}

TEST(MalformedInput, DeepNestingAndOddDocuments) {
  std::string deep = std::string(200000, '[') + std::string(200000, ']');
  EXPECT_ERROR(loadError(TokenizerKind::HfJson, deep, "models/bad.json"), "expected an object");
  std::string deepModel = "{\"model\": " + std::string(100000, '{');
  EXPECT_ERROR(loadError(TokenizerKind::HfJson, deepModel, "models/bad.json"), "not valid JSON");
  EXPECT_ERROR(loadError(TokenizerKind::HfJson, "null", "models/bad.json"), "expected an object");
  EXPECT_ERROR(loadError(TokenizerKind::HfJson, "{}", "models/bad.json"), "missing \"model\"");
}

TEST(MalformedInput, RandomCorruptionsNeverCrash) {
  // Every corruption of a valid file either loads (and then encodes and decodes) or is a runtime_error.
  TinyTokenizer b;
  b.merge("a", "b");
  b.merge("ab", "c");
  b.added("<x>", true);
  b.root()["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "Split"}, {"pattern", {{"Regex", "\\p{L}+|\\s+"}}}, {"behavior", "Isolated"}},
        {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  std::string text = b.text();
  std::mt19937 rng(99);
  int loaded = 0, rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string s = text;
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % s.size();
      switch (rng() % 4) {
      case 0:
        s[pos] = static_cast<char>(rng());
        break;
      case 1:
        s.erase(pos, 1 + rng() % 8);
        break;
      case 2:
        s.insert(pos, 1, "{}[]\",:0-9 \\"[rng() % 12]);
        break;
      default:
        s.resize(pos);
        break;
      }
      if (s.empty())
        s = "x";
    }
    try {
      auto t = Tokenizer::load(TokenizerKind::HfJson, s, "fuzz.json");
      ++loaded;
      auto ids = t->encode("abc <x> ab\xFF c", true);
      t->decode(ids);
    } catch (const std::runtime_error &) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(loaded, 0);
}

TEST(MalformedInput, DetectKind) {
  EXPECT_EQ(ternc::rt::detectTokenizerKind(""), TokenizerKind::None);
  EXPECT_EQ(ternc::rt::detectTokenizerKind(" \n{\"model\": {}}"), TokenizerKind::HfJson);
  EXPECT_EQ(ternc::rt::detectTokenizerKind("\xEF\xBB\xBF{}"), TokenizerKind::HfJson);
  EXPECT_EQ(ternc::rt::detectTokenizerKind("\x0a\x0b\x0a\x05<unk>"), TokenizerKind::SentencePiece);
  EXPECT_EQ(ternc::rt::detectTokenizerKind("   "), TokenizerKind::SentencePiece);
}

TEST(MalformedInput, KindsAndOrigins) {
  EXPECT_ERROR(loadError(TokenizerKind::None, "{}", "models/bad.json"), "no tokenizer kind");
  EXPECT_ERROR(loadError(static_cast<TokenizerKind>(9), "{}", "models/bad.json"), "unknown tokenizer kind 9");
}

TEST(MalformedInput, PathologicalRegexFailsInsteadOfHanging) {
  TinyTokenizer b;
  b.root()["pre_tokenizer"] = {{"type", "Sequence"},
                               {"pretokenizers",
                                {{{"type", "Split"}, {"pattern", {{"Regex", "(a+)+$"}}}, {"behavior", "Isolated"}},
                                 {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
  auto t = b.load();
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(t->encode(std::string(64, 'a') + "!", false), std::runtime_error);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30.0);
  EXPECT_EQ(t->encode("aaa", false).size(), 3u);
}

} // namespace
