// GgufMalformedTest.cpp: broken GGUF files give a ternc::Error naming the file and the problem, never a crash
// (the tests run under ASan/UBSan when built with TERNC_SANITIZE). A valid file is written byte by byte here and
// then truncated, patched and mutated.
#include "frontend/gguf/GgufFile.h"
#include "frontend/gguf/GgufTensors.h"
#include "frontend/gguf/GgufTokenizer.h"
#include "ir/Error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

using namespace ternc::gguf;

namespace {

constexpr const char *kName = "models/broken.gguf";

/// Builds GGUF bytes and remembers where the interesting fields are.
class Builder {
public:
  std::string bytes;

  size_t u8(uint8_t v) { return put(&v, 1); }
  size_t u32(uint32_t v) { return put(&v, 4); }
  size_t u64(uint64_t v) { return put(&v, 8); }
  size_t f32(float v) { return put(&v, 4); }
  /// Returns the position of the length field.
  size_t str(std::string_view s) {
    size_t at = u64(s.size());
    bytes += s;
    return at;
  }
  void pad(size_t alignment) {
    while (bytes.size() % alignment)
      bytes += '\0';
  }
  void patch32(size_t at, uint32_t v) { std::memcpy(bytes.data() + at, &v, 4); }
  void patch64(size_t at, uint64_t v) { std::memcpy(bytes.data() + at, &v, 8); }

private:
  size_t put(const void *p, size_t n) {
    size_t at = bytes.size();
    bytes.append(static_cast<const char *>(p), n);
    return at;
  }
};

/// Field positions of the valid file.
struct Layout {
  size_t tensorCount, kvCount;
  size_t nameKeyLen, nameValueLen;  // general.name: key length, value length
  size_t alignmentValue;            // general.alignment's u32
  size_t alignmentType;             // its value type
  size_t tokensArrayLen, firstTokenLen, tokensElemType;
  size_t scoresType;                // tokenizer.ggml.scores' value type
  size_t boolValue;                 // tokenizer.ggml.add_bos_token's byte
  size_t embdName, embdDims, embdNe0, embdNe1, embdType, embdOffset;
  size_t tqNameLen, tqNe0, tqType, tqOffset;
  size_t infosEnd, dataOffset, embdData, tqData, end;
};

/// A valid GGUF v3 file: metadata of several types (a small "gpt2" tokenizer among them) and two tensors,
/// token_embd.weight (f32, ne [8, 2]) and blk.0.attn_q.weight (tq2_0, ne [256, 2]).
std::string validFile(Layout *l = nullptr) {
  Layout lay{};
  Builder b;
  b.bytes = "GGUF";
  b.u32(3);
  lay.tensorCount = b.u64(2);
  lay.kvCount = b.u64(11);
  b.str("general.architecture");
  b.u32(8);
  b.str("llama");
  lay.nameKeyLen = b.str("general.name");
  b.u32(8);
  lay.nameValueLen = b.str("tiny");
  b.str("general.alignment");
  lay.alignmentType = b.u32(4);
  lay.alignmentValue = b.u32(32);
  b.str("llama.block_count");
  b.u32(4);
  b.u32(1);
  b.str("llama.rope.freq_base");
  b.u32(6);
  b.f32(10000.0f);
  b.str("tokenizer.ggml.model");
  b.u32(8);
  b.str("gpt2");
  b.str("tokenizer.ggml.tokens");
  b.u32(9);
  lay.tokensElemType = b.u32(8);
  lay.tokensArrayLen = b.u64(4);
  lay.firstTokenLen = b.str("a");
  b.str("b");
  b.str("ab");
  b.str("<s>");
  b.str("tokenizer.ggml.token_type");
  b.u32(9);
  b.u32(5);
  b.u64(4);
  for (uint32_t t : {1, 1, 1, 3})
    b.u32(t);
  b.str("tokenizer.ggml.merges");
  b.u32(9);
  b.u32(8);
  b.u64(1);
  b.str("a b");
  b.str("tokenizer.ggml.scores");
  lay.scoresType = b.u32(9);
  b.u32(6);
  b.u64(4);
  for (int k = 0; k < 4; ++k)
    b.f32(-float(k));
  b.str("tokenizer.ggml.add_bos_token");
  b.u32(7);
  lay.boolValue = b.u8(1);

  lay.embdName = b.str("token_embd.weight");
  lay.embdDims = b.u32(2);
  lay.embdNe0 = b.u64(8);
  lay.embdNe1 = b.u64(2);
  lay.embdType = b.u32(0);
  lay.embdOffset = b.u64(0);
  lay.tqNameLen = b.str("blk.0.attn_q.weight");
  b.u32(2);
  lay.tqNe0 = b.u64(256);
  b.u64(2);
  lay.tqType = b.u32(35);
  lay.tqOffset = b.u64(64);
  lay.infosEnd = b.bytes.size();
  b.pad(32);
  lay.dataOffset = b.bytes.size();
  lay.embdData = b.bytes.size();
  for (int k = 0; k < 16; ++k)
    b.f32(float(k) * 0.5f - 2.0f);
  lay.tqData = b.bytes.size();
  for (int blk = 0; blk < 2; ++blk) {
    for (int k = 0; k < 64; ++k)
      b.u8(uint8_t(0b10010010 >> (k % 3)) & 0b10101010);  // codes 0 and 2 only
    uint16_t d = 0x3c00;  // 1.0
    b.bytes.append(reinterpret_cast<const char *>(&d), 2);
  }
  lay.end = b.bytes.size();
  if (l)
    *l = lay;
  return b.bytes;
}

/// Opens `bytes` from an exact-size heap copy (so ASan sees any read past the end).
std::unique_ptr<GgufFile> openBytes(const std::string &bytes) {
  auto owner = std::make_shared<std::vector<std::byte>>(bytes.size());
  if (!bytes.empty())
    std::memcpy(owner->data(), bytes.data(), bytes.size());
  auto storage = ternc::Storage::borrow(owner, owner->data(), owner->size());
  return GgufFile::fromBytes(kName, storage);
}

/// Opens `bytes` and uses everything in it: each tensor decoded, the tokenizer converted. Returns the Error's
/// message, or "" if all of it worked. Any other exception propagates (and fails the test).
std::string useAll(const std::string &bytes) {
  try {
    auto f = openBytes(bytes);
    for (const auto &[key, v] : f->metadata())
      (void)v.brief();
    for (const TensorInfo &t : f->tensors()) {
      if (canDecodeToF32(t.type))
        (void)toF32(*f, t);
      if (isTernaryType(t.type))
        (void)decodeTernary(*f, t);
    }
    (void)tokenizerFromGguf(*f);
  } catch (const ternc::Error &e) {
    return e.what();
  }
  return "";
}

/// The message of opening `bytes` ("" if it opened).
std::string openError(const std::string &bytes) {
  try {
    openBytes(bytes);
  } catch (const ternc::Error &e) {
    return e.what();
  }
  return "";
}

testing::AssertionResult namesFileAnd(const std::string &message, std::initializer_list<const char *> parts) {
  if (message.rfind(std::string(kName) + ": ", 0) != 0)
    return testing::AssertionFailure() << "the message does not start with the file name: \"" << message << "\"";
  for (const char *part : parts) {
    if (message.find(part) == std::string::npos)
      return testing::AssertionFailure() << "\"" << part << "\" missing in: \"" << message << "\"";
  }
  return testing::AssertionSuccess();
}

#define EXPECT_ERROR(message, ...) EXPECT_TRUE(namesFileAnd((message), {__VA_ARGS__}))

template <typename F> std::string patched(F &&edit) {
  Layout l;
  Builder b;
  b.bytes = validFile(&l);
  edit(b, l);
  return b.bytes;
}

TEST(GgufMalformed, ValidFileReads) {
  Layout l;
  std::string bytes = validFile(&l);
  auto f = openBytes(bytes);
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(f->dataOffset(), l.dataOffset);
  EXPECT_EQ(f->getString("general.architecture"), "llama");
  EXPECT_EQ(f->getU32("llama.block_count"), 1u);
  EXPECT_EQ(f->getInt("llama.block_count"), 1);
  EXPECT_EQ(f->getFloat("llama.rope.freq_base"), 10000.0);
  EXPECT_EQ(f->getInt("missing.key", 7), 7);
  EXPECT_EQ(f->getString("missing.key", "x"), "x");
  EXPECT_TRUE(f->getBool("tokenizer.ggml.add_bos_token"));
  EXPECT_EQ(f->getStringArray("tokenizer.ggml.tokens"), (std::vector<std::string>{"a", "b", "ab", "<s>"}));
  EXPECT_EQ(f->getIntArray("tokenizer.ggml.token_type"), (std::vector<int64_t>{1, 1, 1, 3}));
  EXPECT_EQ(f->getFloatArray("tokenizer.ggml.scores"), (std::vector<float>{0.0f, -1.0f, -2.0f, -3.0f}));
  ASSERT_EQ(f->tensors().size(), 2u);
  const TensorInfo &e = f->getTensor("token_embd.weight");
  EXPECT_EQ(e.ne, (std::vector<int64_t>{8, 2}));
  EXPECT_EQ(e.shape(), (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(e.fileOffset, l.embdData);
  ternc::Tensor t = toF32(*f, e);
  ASSERT_EQ(t.shape(), (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(t.data<float>()[9], 2.5f);
  const TensorInfo &q = f->getTensor("blk.0.attn_q.weight");
  EXPECT_EQ(q.nbytes, 132u);
  TernaryWeight w = decodeTernary(*f, q);
  EXPECT_EQ(w.rows, 2);
  EXPECT_EQ(w.cols, 256);
  EXPECT_EQ(w.group, 256);
  EXPECT_EQ(w.scales, (std::vector<float>{1.0f, 1.0f}));
  std::optional<TokenizerBlob> tok = tokenizerFromGguf(*f);
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->kind, TokenizerBlob::Kind::HfJson);
  // No tokenizer.ggml.pre: GPT-2's pre-tokenizer.
  EXPECT_NE(tok->bytes.find("\"ignore_merges\":false"), std::string::npos);
  EXPECT_NE(tok->bytes.find("\"use_regex\":true"), std::string::npos);
  EXPECT_EQ(useAll(bytes), "");
}

TEST(GgufMalformed, WrongTypesAndMissingKeys) {
  auto f = openBytes(validFile());
  auto err = [](auto &&fn) -> std::string {
    try {
      fn();
    } catch (const ternc::Error &e) {
      return e.what();
    }
    return "";
  };
  EXPECT_ERROR(err([&] { f->getString("llama.block_count"); }), "'llama.block_count'", "expected a string", "u32");
  EXPECT_ERROR(err([&] { f->getInt("general.name"); }), "'general.name'", "expected an integer", "string");
  EXPECT_ERROR(err([&] { f->getInt("nope"); }), "'nope'", "missing");
  EXPECT_ERROR(err([&] { f->getInt("nope.default", 3), f->getInt("general.name", 3); }), "expected an integer");
  EXPECT_ERROR(err([&] { f->getBool("general.name"); }), "expected a bool");
  EXPECT_ERROR(err([&] { f->getStringArray("tokenizer.ggml.scores"); }), "expected an array of string",
               "array of f32");
  EXPECT_ERROR(err([&] { f->getFloatArray("tokenizer.ggml.tokens"); }), "expected an array of f32");
  EXPECT_ERROR(err([&] { f->getIntArray("general.name"); }), "expected an array");
  EXPECT_ERROR(err([&] { f->getTensor("output.weight"); }), "tensor 'output.weight' is missing");
  EXPECT_ERROR(err([&] { toF32(*f, f->getTensor("blk.0.attn_q.weight")), decodeTernary(*f, f->tensors()[0]); }),
               "token_embd.weight", "not a ternary type");
}

TEST(GgufMalformed, TruncatedAtEveryByte) {
  Layout l;
  std::string bytes = validFile(&l);
  // Everything up to the end of the last tensor's data is needed.
  for (size_t cut = 0; cut < l.end; ++cut) {
    std::string m = useAll(bytes.substr(0, cut));
    EXPECT_TRUE(namesFileAnd(m, {})) << "cut at " << cut << ": \"" << m << "\"";
  }
  EXPECT_ERROR(openError(bytes.substr(0, l.infosEnd - 3)), "tensor 'blk.0.attn_q.weight'", "the data offset",
               "runs past the end of the file");
  EXPECT_ERROR(openError(bytes.substr(0, l.tqData + 10)), "tensor 'blk.0.attn_q.weight'", "runs past the end");
  EXPECT_ERROR(openError(bytes.substr(0, 2)), "header", "not a GGUF file");
}

TEST(GgufMalformed, MagicAndVersion) {
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &) { b.bytes[0] = 'g'; })), "not a GGUF file");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &) { b.patch32(4, 1); })), "version 1 is not supported");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &) { b.patch32(4, 4); })), "unsupported GGUF version 4");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &) { b.patch32(4, 0x03000000); })), "big-endian");
  EXPECT_EQ(openError(patched([](Builder &b, Layout &) { b.patch32(4, 2); })), "");
}

TEST(GgufMalformed, HugeCounts) {
  for (uint64_t n : {uint64_t(1000), uint64_t(1) << 40, uint64_t(1) << 63, ~uint64_t(0)}) {
    EXPECT_ERROR(openError(patched([n](Builder &b, Layout &l) { b.patch64(l.tensorCount, n); })), "tensors");
    EXPECT_ERROR(openError(patched([n](Builder &b, Layout &l) { b.patch64(l.kvCount, n); })), "metadata");
  }
  // One too many: the reader runs into the tensor infos and fails there.
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.kvCount, 12); })));
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.tensorCount, 3); })), "tensor 2");
}

TEST(GgufMalformed, HugeLengths) {
  for (uint64_t n : {uint64_t(1) << 20, uint64_t(1) << 62, ~uint64_t(0), ~uint64_t(0) - 7}) {
    EXPECT_ERROR(openError(patched([n](Builder &b, Layout &l) { b.patch64(l.nameKeyLen, n); })), "metadata pair 1",
                 "runs past the end");
    EXPECT_ERROR(openError(patched([n](Builder &b, Layout &l) { b.patch64(l.nameValueLen, n); })),
                 "metadata 'general.name'", "runs past the end");
    EXPECT_ERROR(openError(patched([n](Builder &b, Layout &l) { b.patch64(l.tokensArrayLen, n); })),
                 "metadata 'tokenizer.ggml.tokens'");
    EXPECT_ERROR(openError(patched([n](Builder &b, Layout &l) { b.patch64(l.firstTokenLen, n); })),
                 "metadata 'tokenizer.ggml.tokens'", "string array element 0");
    EXPECT_ERROR(openError(patched([n](Builder &b, Layout &l) { b.patch64(l.embdName, n); })), "tensor 0",
                 "runs past the end");
  }
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.tokensArrayLen, uint64_t(1) << 61); })),
               "cannot fit");
}

TEST(GgufMalformed, ValueTypes) {
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch32(l.alignmentType, 13); })),
               "'general.alignment'", "unknown value type 13");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch32(l.tokensElemType, 99); })),
               "'tokenizer.ggml.tokens'", "unknown value type 99");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.bytes[l.boolValue] = 2; })),
               "'tokenizer.ggml.add_bos_token'", "neither 0 nor 1");
  // Another type than the one written: the rest of the file no longer parses.
  EXPECT_ERROR(useAll(patched([](Builder &b, Layout &l) { b.patch32(l.tokensElemType, 0); })));
  EXPECT_ERROR(useAll(patched([](Builder &b, Layout &l) { b.patch32(l.scoresType, 4); })));
}

/// A file with one key holding arrays nested `depth` deep.
std::string nestedFile(int depth) {
  Builder b;
  b.bytes = "GGUF";
  b.u32(3);
  b.u64(0);
  b.u64(1);
  b.str("nested");
  b.u32(9);
  for (int k = 1; k < depth; ++k) {
    b.u32(9);
    b.u64(1);
  }
  b.u32(0);
  b.u64(1);
  b.u8(42);
  return b.bytes;
}

TEST(GgufMalformed, NestedArrays) {
  auto f = openBytes(nestedFile(GgufFile::kMaxArrayDepth));
  const Value *v = f->find("nested");
  ASSERT_TRUE(v);
  for (int k = 1; k < GgufFile::kMaxArrayDepth; ++k) {
    ASSERT_EQ(v->arrays.size(), 1u);
    v = &v->arrays[0];
  }
  EXPECT_EQ(v->elemType, ValueType::U8);
  EXPECT_EQ(static_cast<uint8_t>(v->elems[0]), 42);
  EXPECT_ERROR(openError(nestedFile(GgufFile::kMaxArrayDepth + 1)), "'nested'", "nested more than");
  EXPECT_ERROR(openError(nestedFile(100000)), "'nested'", "nested more than");
}

TEST(GgufMalformed, Alignment) {
  for (uint32_t a : {0u, 3u, 48u, 0x80000000u}) {
    EXPECT_ERROR(openError(patched([a](Builder &b, Layout &l) { b.patch32(l.alignmentValue, a); })),
                 "'general.alignment'", "power of two");
  }
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch32(l.alignmentType, 6); })),
               "'general.alignment'", "expected an integer");
  // Alignment 128: the second tensor's offset (64) is no longer aligned.
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch32(l.alignmentValue, 128); })),
               "blk.0.attn_q.weight", "not a multiple of the alignment 128");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.tqOffset, 65); })),
               "tensor 'blk.0.attn_q.weight'", "data offset 65 is not a multiple of the alignment 32");
}

TEST(GgufMalformed, Offsets) {
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.tqOffset, 96); })),
               "tensor 'blk.0.attn_q.weight'", "runs past the end of the file");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.tqOffset, ~uint64_t(31)); })),
               "tensor 'blk.0.attn_q.weight'", "runs past the end of the file");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.embdOffset, 1u << 30); })),
               "tensor 'token_embd.weight'", "runs past the end of the file");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.tqOffset, 32); })),
               "tensor 'blk.0.attn_q.weight'", "overlaps tensor 'token_embd.weight'");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.tqOffset, 0); })), "overlaps");
}

TEST(GgufMalformed, TensorTypes) {
  for (uint32_t t : {4u, 5u, 31u, 33u, 37u, 38u, 43u, 1000u, ~0u}) {
    EXPECT_ERROR(openError(patched([t](Builder &b, Layout &l) { b.patch32(l.embdType, t); })),
                 "tensor 'token_embd.weight'", "unknown ggml type id");
  }
  // Rows that are not whole blocks.
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.tqNe0, 128); })),
               "tensor 'blk.0.attn_q.weight'", "not a whole number of tq2_0 blocks");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch32(l.embdType, 8); })),
               "tensor 'token_embd.weight'", "q8_0 blocks");
  // Q4_0 opens (a known type) but does not decode.
  std::string q4 = patched([](Builder &b, Layout &l) {
    b.patch64(l.embdNe0, 32);
    b.patch64(l.embdNe1, 1);
    b.patch32(l.embdType, 2);
  });
  auto f = openBytes(q4);
  try {
    toF32(*f, f->tensors()[0]);
    ADD_FAILURE() << "q4_0 decoded";
  } catch (const ternc::Error &e) {
    EXPECT_ERROR(e.what(), "tensor 'token_embd.weight'", "cannot decode type q4_0");
  }
}

TEST(GgufMalformed, Dims) {
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.embdNe1, 0); })),
               "tensor 'token_embd.weight'", "dimension 1 is 0");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch32(l.embdDims, 0); })),
               "tensor 'token_embd.weight'", "0 dimensions");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch32(l.embdDims, 5); })),
               "tensor 'token_embd.weight'", "5 dimensions");
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch32(l.embdDims, ~0u); })), "dimensions");
  for (auto [ne0, ne1] : {std::pair<uint64_t, uint64_t>{uint64_t(1) << 32, uint64_t(1) << 32},
                          {uint64_t(1) << 63, 1}, {~uint64_t(0), 1}, {3, uint64_t(1) << 62}}) {
    EXPECT_ERROR(openError(patched([=](Builder &b, Layout &l) {
                   b.patch64(l.embdNe0, ne0);
                   b.patch64(l.embdNe1, ne1);
                 })),
                 "tensor 'token_embd.weight'");
  }
  // Large but representable: the size is checked against the file.
  EXPECT_ERROR(openError(patched([](Builder &b, Layout &l) { b.patch64(l.embdNe1, uint64_t(1) << 40); })),
               "tensor 'token_embd.weight'", "runs past the end");
}

TEST(GgufMalformed, DuplicateNames) {
  // Tensor 0 and tensor 1 both renamed to "blk.0.attn_q.weig" (17 bytes, the length of "token_embd.weight").
  std::string dup = patched([](Builder &b, Layout &l) {
    std::memcpy(b.bytes.data() + l.embdName + 8, "blk.0.attn_q.weig", 17);
    b.patch64(l.tqNameLen, 17);
    b.bytes.erase(l.tqNameLen + 8 + 17, 2);
  });
  EXPECT_ERROR(openError(dup), "tensor 'blk.0.attn_q.weig'", "duplicate tensor name");
  Builder k;
  k.bytes = "GGUF";
  k.u32(3);
  k.u64(0);
  k.u64(2);
  k.str("a.key");
  k.u32(4);
  k.u32(1);
  k.str("a.key");
  k.u32(8);
  k.str("x");
  EXPECT_ERROR(openError(k.bytes), "metadata 'a.key'", "duplicate key");
}

TEST(GgufMalformed, EmptyNames) {
  Builder k;
  k.bytes = "GGUF";
  k.u32(3);
  k.u64(0);
  k.u64(1);
  k.str("");
  k.u32(4);
  k.u32(1);
  EXPECT_ERROR(openError(k.bytes), "metadata pair 0", "empty key");
  Builder t;
  t.bytes = "GGUF";
  t.u32(3);
  t.u64(1);
  t.u64(0);
  t.str("");
  t.u32(1);
  t.u64(1);
  t.u32(0);
  t.u64(0);
  EXPECT_ERROR(openError(t.bytes), "tensor 0", "empty tensor name");
}

TEST(GgufMalformed, TernaryCode3) {
  Layout l;
  std::string bytes = validFile(&l);
  bytes[l.tqData + 66 + 40] = char(0b11000000);  // block 1, byte 40: element 128 + 3 * 32 + 8
  auto f = openBytes(bytes);
  const TensorInfo &t = f->getTensor("blk.0.attn_q.weight");
  auto err = [&](auto &&fn) -> std::string {
    try {
      fn();
    } catch (const ternc::Error &e) {
      return e.what();
    }
    return "";
  };
  EXPECT_ERROR(err([&] { toF32(*f, t); }), "tensor 'blk.0.attn_q.weight'", "code 3", "row 1, column 232");
  EXPECT_ERROR(err([&] { decodeTernary(*f, t); }), "tensor 'blk.0.attn_q.weight'", "code 3", "row 1, column 232");
}

TEST(GgufMalformed, I2SElementCount) {
  // An I2_S tensor of 64 elements: opens (ceil(64 / 4) + 32 bytes), but the x86 layout needs blocks of 128.
  std::string bytes = patched([](Builder &b, Layout &l) {
    b.patch64(l.embdNe0, 64);
    b.patch64(l.embdNe1, 1);
    b.patch32(l.embdType, 36);
  });
  auto f = openBytes(bytes);
  EXPECT_EQ(f->getTensor("token_embd.weight").nbytes, 48u);
  EXPECT_ERROR(useAll(bytes), "tensor 'token_embd.weight'", "multiple of 128");
}

TEST(GgufMalformed, Tokenizer) {
  // Token ids out of range, a merge that is not two tokens, an unsupported model or pre-tokenizer.
  auto file = [](std::initializer_list<std::pair<std::string, std::string>> strings, uint32_t bos,
                 std::vector<std::string> merges) {
    Builder k;
    k.bytes = "GGUF";
    k.u32(3);
    k.u64(0);
    k.u64(strings.size() + 3);
    for (const auto &[key, value] : strings) {
      k.str(key);
      k.u32(8);
      k.str(value);
    }
    k.str("tokenizer.ggml.tokens");
    k.u32(9);
    k.u32(8);
    k.u64(3);
    k.str("a");
    k.str("b");
    k.str("ab");
    k.str("tokenizer.ggml.merges");
    k.u32(9);
    k.u32(8);
    k.u64(merges.size());
    for (const std::string &m : merges)
      k.str(m);
    k.str("tokenizer.ggml.bos_token_id");
    k.u32(4);
    k.u32(bos);
    return k.bytes;
  };
  EXPECT_EQ(useAll(file({{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "gpt-2"}}, 2, {"a b"})), "");
  EXPECT_ERROR(useAll(file({{"tokenizer.ggml.model", "gpt2"}}, 3, {"a b"})), "'tokenizer.ggml.bos_token_id'",
               "token id 3 is outside the vocabulary of 3 tokens");
  EXPECT_ERROR(useAll(file({{"tokenizer.ggml.model", "gpt2"}}, 0, {"ab"})), "'tokenizer.ggml.merges'", "merge 0");
  EXPECT_ERROR(useAll(file({{"tokenizer.ggml.model", "gpt2"}}, 0, {"a  b"})), "merge 0");
  EXPECT_ERROR(useAll(file({{"tokenizer.ggml.model", "bert"}}, 0, {})), "'tokenizer.ggml.model'", "\"bert\"");
  EXPECT_ERROR(useAll(file({{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "qwen2"}}, 0, {})),
               "'tokenizer.ggml.pre'", "\"qwen2\"");
  // A SentencePiece vocabulary needs an unknown piece.
  EXPECT_ERROR(useAll(file({{"tokenizer.ggml.model", "llama"}}, 0, {})), "unknown type");
  EXPECT_ERROR(useAll(file({{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.tokens", "x"}}, 0, {})),
               "duplicate key");
}

TEST(GgufMalformed, FilesOnDisk) {
  auto dir = std::filesystem::temp_directory_path() / ("ternc-gguf-malformed-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto err = [](const std::string &path) -> std::string {
    try {
      GgufFile::open(path);
    } catch (const ternc::Error &e) {
      return e.what();
    }
    return "";
  };
  std::string empty = (dir / "empty.gguf").string();
  std::ofstream(empty).close();
  EXPECT_NE(err(empty).find(empty + ": header: not a GGUF file"), std::string::npos) << err(empty);
  std::string missing = (dir / "missing.gguf").string();
  EXPECT_NE(err(missing).find(missing + ": cannot open"), std::string::npos) << err(missing);
  EXPECT_NE(err(dir.string()).find("not a regular file"), std::string::npos) << err(dir.string());
  std::string good = (dir / "good.gguf").string();
  std::string bytes = validFile();
  std::ofstream(good, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
  auto f = GgufFile::open(good);
  EXPECT_EQ(f->path(), good);
  EXPECT_EQ(toF32(*f, f->tensors()[0]).data<float>()[0], -2.0f);
  std::string cut = (dir / "cut.gguf").string();
  std::ofstream(cut, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size() / 2));
  EXPECT_NE(err(cut).find(cut + ": "), std::string::npos) << err(cut);
  std::filesystem::remove_all(dir);
}

TEST(GgufMalformed, RandomCorruptions) {
  // Random byte changes, insertions, deletions and truncations of the valid file: each variant opens and
  // decodes, or is refused with a ternc::Error naming the file.
  std::string original = validFile();
  std::mt19937 rng(2024);
  int refused = 0, accepted = 0;
  for (int iter = 0; iter < 4000; ++iter) {
    std::string b = original;
    int edits = 1 + int(rng() % 4);
    for (int e = 0; e < edits && !b.empty(); ++e) {
      size_t p = rng() % b.size();
      switch (rng() % 5) {
      case 0: b[p] = char(rng()); break;
      case 1: b[p] = char(b[p] ^ (1 << (rng() % 8))); break;
      case 2: b.erase(p, 1 + rng() % 8); break;
      case 3: b.insert(p, std::string(1 + rng() % 8, char(rng()))); break;
      case 4: {  // a large value in a little-endian field
        uint64_t v = uint64_t(rng()) << (rng() % 40);
        std::memcpy(b.data() + p, &v, std::min<size_t>(8, b.size() - p));
        break;
      }
      }
    }
    std::string m = useAll(b);
    if (m.empty()) {
      ++accepted;
    } else {
      ++refused;
      EXPECT_TRUE(namesFileAnd(m, {})) << m;
    }
  }
  EXPECT_GT(refused, 1000);
  EXPECT_GT(accepted, 10);
}

} // namespace
