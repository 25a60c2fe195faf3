// SafetensorsMalformedTest.cpp: broken safetensors files and checkpoint folders give a ternc::Error naming the file
// (and the tensor) and never crash or read out of bounds (the suite also runs under ASan + UBSan).
#include "safetensors_test_util.h"

#include <random>

using namespace ternc;
using namespace ternc::hf;
using namespace ternc::hf::test;

namespace {

/// "w" f32[2,2] at [0,16), "b" bf16[4] at [16,24).
const std::string kHeader = R"({"__metadata__":{"format":"pt"},)"
                            R"("w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
                            R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[16,24]}})";

std::string validFile() { return stBytes(kHeader, floatBytes({1, 2, 3, 4}) + std::string(8, '\x3f')); }

/// A file whose header is one tensor entry `entry` for "t" over `dataBytes` bytes of data.
std::string oneTensor(const std::string &entry, size_t dataBytes = 16) {
  return stBytes(R"({"t":)" + entry + "}", std::string(dataBytes, '\0'));
}

#define EXPECT_BAD(bytes, ...) EXPECT_TRUE(contains(parseError(bytes, "bad.safetensors"), {"bad.safetensors", __VA_ARGS__}))

TEST(SafetensorsMalformed, ValidBaseline) { EXPECT_EQ(parseError(validFile()), ""); }

TEST(SafetensorsMalformed, TruncatedAtEveryOffset) {
  std::string file = validFile();
  for (size_t cut = 0; cut < file.size(); ++cut)
    EXPECT_TRUE(contains(parseError(file.substr(0, cut), "bad.safetensors"), {"bad.safetensors"})) << "cut " << cut;
  EXPECT_BAD(file.substr(0, 5), "5 bytes, too few for the 8-byte header length");
  EXPECT_BAD(file.substr(0, 30), "header length", "runs past the end of the file (30 bytes)");
  EXPECT_BAD(file.substr(0, file.size() - 1), "tensor 'b'", "run past the end of the data (23 bytes");
}

TEST(SafetensorsMalformed, HeaderLength) {
  std::string file = validFile();
  auto withLength = [&](uint64_t n) {
    std::string f = file;
    for (int i = 0; i < 8; ++i) f[i] = char(n >> (8 * i) & 0xFF);
    return f;
  };
  EXPECT_BAD(withLength(file.size()), "runs past the end of the file");
  EXPECT_BAD(withLength(file.size() - 7), "runs past the end of the file");
  EXPECT_BAD(withLength(uint64_t(1) << 63), "header length 9223372036854775808 is larger than the 104857600 bytes");
  EXPECT_BAD(withLength(~uint64_t(0)), "is larger than the");
  EXPECT_BAD(withLength(SafetensorsFile::kMaxHeaderBytes + 1), "is larger than the");
  EXPECT_BAD(withLength(0), "not valid JSON");
  EXPECT_BAD(withLength(kHeader.size() - 1), "not valid JSON");
}

TEST(SafetensorsMalformed, InvalidJson) {
  EXPECT_BAD(stBytes(R"({"t":{"dtype":"F32",)"), "header is not valid JSON (byte 21)");
  EXPECT_BAD(stBytes(R"({"t" 1})"), "header is not valid JSON (byte 6)");
  EXPECT_BAD(stBytes("{} {}"), "not valid JSON");
  EXPECT_BAD(stBytes(std::string("{\"\xff\":1}")), "not valid JSON");           // Invalid UTF-8.
  EXPECT_BAD(stBytes(std::string("{\"a\0\":1}", 8)), "not valid JSON");         // Control character.
  EXPECT_BAD(stBytes(std::string("{}\0\0", 4)), "not valid JSON (byte 3): a NUL byte");  // The format pads with spaces.
  EXPECT_BAD(stBytes(std::string("{}\0{\"a\":1}", 10)), "a NUL byte");
  EXPECT_BAD(stBytes(std::string(100000, '[') + std::string(100000, ']')), "nests deeper than 16 levels");
  EXPECT_BAD(stBytes("[]"), "header is an array, not a JSON object");
  EXPECT_BAD(stBytes("\"x\""), "header is a string, not a JSON object");
  EXPECT_EQ(parseError(stBytes("  {}  \n")), "");  // Whitespace padding is fine.
}

TEST(SafetensorsMalformed, WrongJsonTypes) {
  EXPECT_BAD(stBytes(R"({"t":[1]})"), "tensor 't': entry is an array, not an object");
  EXPECT_BAD(oneTensor(R"({"shape":[4],"data_offsets":[0,16]})"), "tensor 't': missing \"dtype\"");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","data_offsets":[0,16]})"), "missing \"shape\"");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4]})"), "missing \"data_offsets\"");
  EXPECT_BAD(oneTensor(R"({"dtype":32,"shape":[4],"data_offsets":[0,16]})"), "dtype is an integer, not a string");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":4,"data_offsets":[0,16]})"), "shape is an integer, not an array");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":{"0":4},"data_offsets":[0,16]})"), "shape is an object");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":"0-16"})"), "data_offsets is a string");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":[0]})"), "data_offsets is an array of 1");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":[0,8,16]})"), "an array of 3");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":[0,"16"]})"),
             "data_offsets[1] is a string, not a non-negative integer");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":[null,16]})"), "data_offsets[0] is null");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":[0,16.0]})"),
             "data_offsets[1] is a fractional number");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":[-1,16]})"), "data_offsets[0] is a negative");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":[0,18446744073709551616]})"),
             "data_offsets[1] is a fractional number");  // Past uint64: nlohmann makes it a double.
  EXPECT_BAD(stBytes(R"({"__metadata__":["a"]})"), "__metadata__ is an array, not an object");
  EXPECT_BAD(stBytes(R"({"__metadata__":{"total":12}})"), "__metadata__ 'total' is an integer, not a string");
  EXPECT_BAD(stBytes(R"({"":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}})"), "empty tensor name");
}

TEST(SafetensorsMalformed, DTypes) {
  EXPECT_BAD(oneTensor(R"({"dtype":"F17","shape":[4],"data_offsets":[0,16]})"), "tensor 't': unknown dtype 'F17'");
  EXPECT_BAD(oneTensor(R"({"dtype":"f32","shape":[4],"data_offsets":[0,16]})"), "unknown dtype 'f32'");
  EXPECT_BAD(oneTensor(R"({"dtype":"","shape":[4],"data_offsets":[0,16]})"), "unknown dtype ''");
  EXPECT_BAD(oneTensor(R"({"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]})"),
             "dtype 'F8_E4M3' is not supported");
}

TEST(SafetensorsMalformed, Shapes) {
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[-4],"data_offsets":[0,16]})"),
             "tensor 't': shape[0] is a negative integer, not a non-negative integer");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[2,2.0],"data_offsets":[0,16]})"), "shape[1] is a fractional number");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[2,"2"],"data_offsets":[0,16]})"), "shape[1] is a string");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[true],"data_offsets":[0,16]})"), "shape[0] is a boolean");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[9223372036854775808],"data_offsets":[0,16]})"),
             "shape[0] 9223372036854775808 is too large");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,16]})"),
             "f32[4294967296,4294967296] has more bytes than fit in 64 bits");
  EXPECT_BAD(oneTensor(R"({"dtype":"F64","shape":[2305843009213693952],"data_offsets":[0,16]})"),
             "more bytes than fit in 64 bits");
  // Even an empty tensor may not have dims whose product overflows.
  EXPECT_BAD(oneTensor(R"({"dtype":"U8","shape":[0,4294967296,4294967296],"data_offsets":[0,0]})"),
             "more bytes than fit in 64 bits");
}

TEST(SafetensorsMalformed, DataOffsets) {
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":[0,20]})"),
             "tensor 't': data_offsets [0, 20) run past the end of the data (16 bytes after the");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":[18446744073709551615,16]})"),
             "data_offsets[0] 18446744073709551615 is too large");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[4],"data_offsets":[16,0]})"), "data_offsets [16, 0) end before");
  EXPECT_BAD(oneTensor(R"({"dtype":"F32","shape":[3],"data_offsets":[0,16]})"),
             "data_offsets [0, 16) hold 16 bytes but f32[3] needs 12");
  EXPECT_BAD(stBytes(R"({"model.layers.0.self_attn.q_proj.weight":{"dtype":"BF16","shape":[4,16],)"
                     R"("data_offsets":[0,100]}})",
                     std::string(128, '\0')),
             "tensor 'model.layers.0.self_attn.q_proj.weight': data_offsets [0, 100) hold 100 bytes but bf16[4,16] "
             "needs 128");
}

TEST(SafetensorsMalformed, Overlap) {
  EXPECT_BAD(stBytes(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                     std::string(12, '\0')),
             "tensor 'b': data_offsets [4, 12) overlap those of tensor 'a' [0, 8)");
  // Same range twice.
  EXPECT_BAD(stBytes(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                     R"("b":{"dtype":"I8","shape":[4],"data_offsets":[0,4]}})",
                     std::string(4, '\0')),
             "overlap");
  // Contained in an earlier, larger tensor that is not the previous one in offset order.
  EXPECT_BAD(stBytes(R"({"big":{"dtype":"U8","shape":[16],"data_offsets":[0,16]},)"
                     R"("x":{"dtype":"U8","shape":[2],"data_offsets":[2,4]},)"
                     R"("y":{"dtype":"U8","shape":[2],"data_offsets":[10,12]}})",
                     std::string(16, '\0')),
             "overlap those of tensor 'big' [0, 16)");
}

TEST(SafetensorsMalformed, DuplicateKeys) {
  EXPECT_BAD(stBytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                     R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                     "xy"),
             "header: tensor 'a' appears twice");
  EXPECT_BAD(stBytes(R"({"a":{"dtype":"U8","dtype":"I8","shape":[1],"data_offsets":[0,1]}})", "x"),
             "key 'dtype' appears twice in the entry of 'a'");
  EXPECT_BAD(stBytes(R"({"__metadata__":{"k":"1","k":"2"}})"), "key 'k' appears twice in the entry of '__metadata__'");
  EXPECT_BAD(stBytes(R"({"__metadata__":{},"__metadata__":{}})"), "'__metadata__' appears twice");
}

/// Every single-byte change of the header gives either a valid file or an Error naming the file.
TEST(SafetensorsMalformed, HeaderByteMutations) {
  std::string file = validFile();
  const char replacements[] = {'\0', '"', '{', '}', '[', ']', ',', ':', '-', '0', '9', 'e', '.', ' ', '\xff'};
  int valid = 0;
  for (size_t pos = 0; pos < 8 + kHeader.size(); ++pos)
    for (char r : replacements) {
      std::string f = file;
      if (f[pos] == r) continue;
      f[pos] = r;
      std::string m = parseError(f, "bad.safetensors");
      if (m.empty()) {
        ++valid;
      } else {
        ASSERT_NE(m.find("bad.safetensors"), std::string::npos) << m;
      }
    }
  EXPECT_GT(valid, 0);  // E.g. a digit changed in the metadata ...
  std::mt19937 rng(1);
  for (int i = 0; i < 2000; ++i) {
    std::string f = file;
    for (int k = 0; k < 3; ++k) f[8 + rng() % kHeader.size()] = char(rng());
    std::string m = parseError(f, "bad.safetensors");
    if (!m.empty()) {
      ASSERT_NE(m.find("bad.safetensors"), std::string::npos) << m;
    }
  }
}

TEST(SafetensorsMalformed, FilesOnDisk) {
  TempDir dir;
  auto openError = [](const std::string &path) -> std::string {
    try {
      SafetensorsFile::open(path);
    } catch (const Error &e) {
      return e.what();
    }
    return "";
  };
  EXPECT_TRUE(contains(openError(dir.path() + "/missing.safetensors"), {"missing.safetensors", "cannot open"}));
  EXPECT_TRUE(contains(openError(dir.path()), {dir.path(), "not a regular file"}));
  EXPECT_TRUE(contains(openError(dir.write("empty.safetensors", "")), {"empty.safetensors", "0 bytes"}));
  EXPECT_TRUE(contains(openError(dir.write("cut.safetensors", validFile().substr(0, 40))), {"cut.safetensors"}));
}

// ---------------------------------------------------------------------------
// Checkpoint folders

std::string shard(const std::string &name) {
  return stBytes(R"({")" + name + R"(":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", floatBytes({1}));
}

std::string index(const std::string &weightMap) {
  return R"({"metadata":{"total_size":8},"weight_map":)" + weightMap + "}";
}

std::string checkpointError(const std::string &dir) {
  try {
    Checkpoint::open(dir);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST(CheckpointMalformed, IndexShardNames) {
  for (const std::string bad : {"../outside.safetensors", "/etc/passwd", "sub/x.safetensors", "sub\\\\x.safetensors",
                                "..", ".", ""}) {
    TempDir dir;
    dir.write("a.safetensors", shard("a"));
    dir.write("model.safetensors.index.json", index(R"({"a":"a.safetensors","b":")" + bad + R"("})"));
    EXPECT_TRUE(contains(checkpointError(dir.path()),
                         {"model.safetensors.index.json", "tensor 'b'", "not a plain file name in the folder"}))
        << bad;
  }
  TempDir dir;
  dir.write("a.safetensors", shard("a"));
  dir.write("model.safetensors.index.json", index(std::string(R"({"a":"a.safe\u0000tensors"})")));
  EXPECT_TRUE(contains(checkpointError(dir.path()),
                       {"model.safetensors.index.json", "maps to 'a.safe\\x00tensors', which is not a plain file name"}));
}

TEST(CheckpointMalformed, IndexContents) {
  TempDir dir;
  dir.write("a.safetensors", shard("a"));
  dir.write("b.safetensors", shard("b"));
  auto withIndex = [&](const std::string &text) {
    dir.write("model.safetensors.index.json", text);
    return checkpointError(dir.path());
  };
  EXPECT_EQ(withIndex(index(R"({"a":"a.safetensors","b":"b.safetensors"})")), "");
  EXPECT_TRUE(contains(withIndex(index(R"({"a":"a.safetensors","c":"c.safetensors"})")),
                       {dir.path(), "shard 'c.safetensors'", "does not exist"}));
  EXPECT_TRUE(contains(withIndex(index(R"({"a":"a.safetensors","b":"a.safetensors"})")),
                       {dir.path(), "maps tensor 'b' to 'a.safetensors', which does not hold it"}));
  EXPECT_TRUE(contains(withIndex(index(R"({"a":"b.safetensors","b":"a.safetensors"})")),
                       {dir.path(), "maps tensor 'a' to 'b.safetensors', which does not hold it (it is in 'a.safetensors')"}));
  EXPECT_TRUE(contains(withIndex(index(R"({"a":"a.safetensors","a":"b.safetensors"})")),
                       {"model.safetensors.index.json", "key 'a' appears twice in the entry of 'weight_map'"}));
  EXPECT_TRUE(contains(withIndex(index(R"({"a":1})")), {"model.safetensors.index.json", "tensor 'a' maps to an integer"}));
  EXPECT_TRUE(contains(withIndex(index(R"(["a.safetensors"])")), {"weight_map is an array, not an object"}));
  EXPECT_TRUE(contains(withIndex(R"({"metadata":{}})"), {"model.safetensors.index.json", "missing \"weight_map\""}));
  EXPECT_TRUE(contains(withIndex(R"({"weight_map":{)"), {"model.safetensors.index.json", "is not valid JSON (byte"}));
  EXPECT_TRUE(contains(withIndex("[]"), {"model.safetensors.index.json", "not a JSON object"}));
  // A broken shard is reported under its own name.
  dir.write("b.safetensors", shard("b").substr(0, 20));
  EXPECT_TRUE(contains(withIndex(index(R"({"a":"a.safetensors","b":"b.safetensors"})")), {"b.safetensors"}));
  // A shard that is a folder.
  std::filesystem::create_directory(dir.path() + "/d.safetensors");
  EXPECT_TRUE(contains(withIndex(index(R"({"a":"d.safetensors"})")), {"d.safetensors", "not a regular file"}));
}

TEST(CheckpointMalformed, FolderWithoutIndex) {
  TempDir dir;
  EXPECT_TRUE(contains(checkpointError(dir.path()), {dir.path(), "no model.safetensors.index.json and no *.safetensors"}));
  EXPECT_TRUE(contains(checkpointError(dir.path() + "/nope"), {"/nope", "no such folder"}));
  dir.write("a.safetensors", shard("x"));
  dir.write("b.safetensors", shard("x"));
  EXPECT_TRUE(contains(checkpointError(dir.path()), {dir.path(), "tensor 'x' is in both", "a.safetensors", "b.safetensors"}));
  dir.write("b.safetensors", "garbage");
  EXPECT_TRUE(contains(checkpointError(dir.path()), {"b.safetensors", "header length"}));
}

} // namespace
