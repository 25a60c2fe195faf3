// SafetensorsTest.cpp: reading valid safetensors files and Hugging Face checkpoint folders (frontend/hf/Safetensors.h).
#include "safetensors_test_util.h"

#include <cmath>
#include <cstdio>

using namespace ternc;
using namespace ternc::hf;
using namespace ternc::hf::test;

namespace {

/// A file with f32[2,3] "w", bf16[4] "b", i8[3] "q", u8 scalar "s" (in that data order) and metadata.
std::string sampleFile() {
  std::string data = floatBytes({1, 2, 3, 4, 5, 6});                        // [0, 24)
  data += std::string("\x80\x3f\x00\x40\x40\xc0\x80\x7f", 8);               // bf16 1, 2, -3, inf: [24, 32)
  data += std::string("\xff\x00\x01", 3);                                   // i8 -1 0 1: [32, 35)
  data += std::string("\x07", 1);                                           // u8 7: [35, 36)
  // Keys deliberately out of data order.
  std::string header = R"({"s":{"dtype":"U8","shape":[],"data_offsets":[35,36]},)"
                       R"("__metadata__":{"format":"pt","note":"x"},)"
                       R"("w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
                       R"("q":{"dtype":"I8","shape":[3],"data_offsets":[32,35]},)"
                       R"("b":{"dtype":"BF16","shape":[4],"data_offsets":[24,32]}})";
  return stBytes(padHeader(header), data);
}

/// IEEE half -> float, written independently of ir/Tensor.cpp.
float halfReference(uint16_t h) {
  int e = h >> 10 & 31, m = h & 1023;
  double v = e == 0 ? std::ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : std::ldexp(1024 + m, e - 25);
  return float(h & 0x8000 ? -v : v);
}

bool sameFloat(float a, float b) {
  return (std::isnan(a) && std::isnan(b)) || std::memcmp(&a, &b, 4) == 0;
}

TEST(Safetensors, ReadsTensorsAndMetadata) {
  auto f = fromString(sampleFile(), "sample.safetensors");
  EXPECT_EQ(f->name(), "sample.safetensors");
  EXPECT_EQ(f->metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "x"}}));
  ASSERT_EQ(f->tensors().size(), 4u);
  // Ordered by data offset, whatever the header order.
  EXPECT_EQ(f->tensors()[0].name, "w");
  EXPECT_EQ(f->tensors()[1].name, "b");
  EXPECT_EQ(f->tensors()[2].name, "q");
  EXPECT_EQ(f->tensors()[3].name, "s");

  const StTensor *w = f->find("w");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->dtype, StDType::F32);
  EXPECT_EQ(w->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w->nbytes, 24u);
  EXPECT_EQ(w->offset, 8 + f->headerSize());
  EXPECT_EQ(*w->file, "sample.safetensors");
  EXPECT_EQ(w->data, reinterpret_cast<const uint8_t *>(f->storage()->data()) + w->offset);
  Tensor tw = f->view(*w);
  EXPECT_EQ(tw.dtype(), DType::F32);
  EXPECT_EQ(std::vector<float>(tw.values<float>().begin(), tw.values<float>().end()),
            (std::vector<float>{1, 2, 3, 4, 5, 6}));

  const StTensor *s = f->find("s");
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(s->numElements(), 1);
  EXPECT_EQ(f->view(*s).getInt(0), 7);
  Tensor q = f->view(*f->find("q"));
  EXPECT_EQ(q.dtype(), DType::I8);
  EXPECT_EQ(q.getInt(0), -1);
  EXPECT_EQ(q.getInt(2), 1);
  Tensor b = f->toF32(*f->find("b"));
  EXPECT_EQ(b.dtype(), DType::F32);
  EXPECT_EQ(b.getDouble(0), 1.0);
  EXPECT_EQ(b.getDouble(1), 2.0);
  EXPECT_EQ(b.getDouble(2), -3.0);
  EXPECT_TRUE(std::isinf(b.getDouble(3)));
  EXPECT_EQ(f->find("missing"), nullptr);
  EXPECT_EQ(f->find("__metadata__"), nullptr);
}

TEST(Safetensors, DTypeTable) {
  const std::pair<const char *, size_t> names[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"U16", 2}, {"I16", 2},
                                                   {"F16", 2},  {"BF16", 2}, {"U32", 4}, {"I32", 4}, {"F32", 4},
                                                   {"U64", 8},  {"I64", 8}, {"F64", 8}};
  for (auto [name, size] : names) {
    auto d = parseStDType(name);
    ASSERT_TRUE(d) << name;
    EXPECT_EQ(stDTypeName(*d), name);
    EXPECT_EQ(stDTypeSize(*d), size);
    EXPECT_EQ(dtypeSize(toTerncDType(*d)), size) << name;
  }
  EXPECT_FALSE(parseStDType("bf16"));  // The format spells dtypes in capitals.
  EXPECT_FALSE(parseStDType("F8_E4M3"));
}

TEST(Safetensors, ViewsAreZeroCopyIntoTheMapping) {
  TempDir dir;
  std::string path = dir.write("model.safetensors", sampleFile());
  auto f = SafetensorsFile::open(path);
  EXPECT_EQ(f->name(), path);
  EXPECT_EQ(f->storage()->mutableData(), nullptr);  // A read-only file mapping.
  const std::byte *begin = f->storage()->data(), *end = begin + f->storage()->size();
  for (const StTensor &t : f->tensors()) {
    Tensor v = f->view(t);
    EXPECT_EQ(v.storage(), f->storage()) << t.name;
    EXPECT_EQ(v.byteOffset(), t.offset) << t.name;
    EXPECT_EQ(v.rawData(), reinterpret_cast<const std::byte *>(t.data)) << t.name;
    EXPECT_TRUE(v.rawData() >= begin && v.rawData() + v.byteSize() <= end) << t.name;
    EXPECT_EQ(v.byteSize(), t.nbytes);
  }
  // The mapping outlives the file object through the views.
  Tensor w = f->view(*f->find("w"));
  f.reset();
  EXPECT_EQ(w.getDouble(5), 6.0);
}

TEST(Safetensors, MisalignedDataIsCopied) {
  // Pad the header so that the f32 data starts at an odd file offset.
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  while ((8 + header.size()) % 4 != 1) header += ' ';
  std::string bytes = stBytes(header, floatBytes({1.5f, -2}));
  auto f = fromString(bytes);
  const StTensor &x = *f->find("x");
  ASSERT_NE(reinterpret_cast<uintptr_t>(x.data) % 4, 0u);
  Tensor v = f->view(x);
  EXPECT_NE(v.storage(), f->storage());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(v.rawData()) % 4, 0u);
  EXPECT_EQ(v.getDouble(0), 1.5);
  EXPECT_EQ(v.getDouble(1), -2.0);
  EXPECT_EQ(f->toF32(x).getDouble(0), 1.5);
}

TEST(Safetensors, EmptyTensorsGapsAndEmptyHeader) {
  // Zero-sized tensors may sit anywhere, also inside another tensor's range; gaps between tensors are allowed.
  std::string header = R"({"a":{"dtype":"I32","shape":[0,3],"data_offsets":[4,4]},)"
                       R"("b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]},)"
                       R"("c":{"dtype":"U8","shape":[2],"data_offsets":[8,10]},)"
                       R"("d":{"dtype":"F64","shape":[0],"data_offsets":[2,2]}})";
  auto f = fromString(stBytes(header, std::string(12, '\x01')));
  EXPECT_EQ(f->tensors().size(), 4u);
  EXPECT_EQ(f->find("a")->numElements(), 0);
  EXPECT_EQ(f->view(*f->find("a")).numElements(), 0);
  EXPECT_EQ(f->view(*f->find("d")).dtype(), DType::F64);
  auto empty = fromString(stBytes("{}"));
  EXPECT_TRUE(empty->tensors().empty());
  EXPECT_TRUE(empty->metadata().empty());
}

TEST(Safetensors, ToF32IsExactForEveryHalfAndBFloat16) {
  std::string data;
  for (uint32_t i = 0; i < 65536; ++i) data += std::string{char(i & 0xFF), char(i >> 8)};
  std::string header = R"({"h":{"dtype":"F16","shape":[65536],"data_offsets":[0,131072]},)"
                       R"("b":{"dtype":"BF16","shape":[256,256],"data_offsets":[131072,262144]}})";
  auto f = fromString(stBytes(header, data + data));
  Tensor h = f->toF32(*f->find("h")), b = f->toF32(*f->find("b"));
  EXPECT_EQ(b.shape(), (std::vector<int64_t>{256, 256}));
  for (uint32_t i = 0; i < 65536; ++i) {
    uint32_t bits = i << 16;
    float expect;
    std::memcpy(&expect, &bits, 4);
    ASSERT_TRUE(sameFloat(b.data<float>()[i], expect)) << "bf16 0x" << std::hex << i;
    ASSERT_TRUE(sameFloat(h.data<float>()[i], halfReference(uint16_t(i)))) << "f16 0x" << std::hex << i;
  }
  // f32 is copied into owned storage; integer tensors are refused by name.
  auto g = fromString(sampleFile(), "sample.safetensors");
  Tensor w = g->toF32(*g->find("w"));
  EXPECT_NE(w.storage(), g->storage());
  EXPECT_EQ(w.getDouble(4), 5.0);
  try {
    g->toF32(*g->find("q"));
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_TRUE(contains(e.what(), {"sample.safetensors", "tensor 'q'", "i8[3]"}));
  }
}

/// Two shards and an index, written in C++.
void writeShardedFolder(const TempDir &dir) {
  dir.write("model-00001-of-00002.safetensors",
            stBytes(padHeader(R"({"__metadata__":{"format":"pt"},"model.layers.0.self_attn.q_proj.weight":)"
                    R"({"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}})"),
                    floatBytes({1, 2, 3, 4})));
  dir.write("model-00002-of-00002.safetensors",
            stBytes(padHeader(R"({"model.layers.0.self_attn.k_proj.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                    R"("model.norm.weight":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})"),
                    floatBytes({5, 6, 7})));
  dir.write("model.safetensors.index.json", R"({
  "metadata": {"total_size": 28},
  "weight_map": {
    "model.layers.0.self_attn.k_proj.weight": "model-00002-of-00002.safetensors",
    "model.layers.0.self_attn.q_proj.weight": "model-00001-of-00002.safetensors",
    "model.norm.weight": "model-00002-of-00002.safetensors"
  }
})");
}

TEST(Checkpoint, ShardedFolderWithIndex) {
  TempDir dir;
  writeShardedFolder(dir);
  auto c = Checkpoint::open(dir.path());
  EXPECT_EQ(c->dir(), dir.path());
  EXPECT_EQ(c->files().size(), 2u);
  EXPECT_EQ(c->names(), (std::vector<std::string>{"model.layers.0.self_attn.k_proj.weight",
                                                  "model.layers.0.self_attn.q_proj.weight", "model.norm.weight"}));
  const StTensor &q = c->get("model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(*q.file, dir.path() + "/model-00001-of-00002.safetensors");
  EXPECT_EQ(&c->fileOf(q), c->files()[0].get());
  EXPECT_EQ(c->storage(q), c->files()[0]->storage());
  Tensor v = c->view(q);
  EXPECT_EQ(v.rawData(), reinterpret_cast<const std::byte *>(q.data));
  EXPECT_EQ(v.getDouble(3), 4.0);
  const StTensor &n = c->get("model.norm.weight");
  EXPECT_EQ(c->toF32(n).getDouble(0), 7.0);
  EXPECT_EQ(c->find("model.norm.bias"), nullptr);
  try {
    c->get("model.layers.0.self_attn.v_proj.weight");
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_TRUE(contains(e.what(), {dir.path(), "no tensor 'model.layers.0.self_attn.v_proj.weight'",
                                    "similar: 'model.layers.0.self_attn.k_proj.weight'",
                                    "'model.layers.0.self_attn.q_proj.weight'"}));
  }
}

TEST(Checkpoint, FolderWithoutIndexAndSingleFile) {
  TempDir dir;
  dir.write("a.safetensors", stBytes(R"({"x":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}})", std::string(8, '\2')));
  dir.write("b.safetensors", stBytes(R"({"y":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", "\3"));
  dir.write("notes.txt", "not a checkpoint");
  dir.write(".safetensors", "ignored: no stem");
  auto c = Checkpoint::open(dir.path());
  EXPECT_EQ(c->names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(c->view(c->get("x")).getInt(0), 0x0202020202020202);
  EXPECT_EQ(c->view(c->get("y")).getInt(0), 3);

  auto single = Checkpoint::open(dir.path() + "/b.safetensors");
  EXPECT_EQ(single->names(), std::vector<std::string>{"y"});
  try {
    single->get("x");
    FAIL() << "no error";
  } catch (const Error &e) {
    EXPECT_TRUE(contains(e.what(), {"b.safetensors", "no tensor 'x'", "similar: 'y'"}));
  }
}

TEST(Checkpoint, ReadsWhatThePythonWriterWrites) {
  TempDir dir;
  std::string cmd = "/usr/bin/python3 " TERNC_SOURCE_DIR "/tests/formats/safetensors_io.py --fixture " + dir.path() +
                    " > /dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto c = Checkpoint::open(dir.path());
  EXPECT_EQ(c->files().size(), 3u);
  EXPECT_EQ(c->names().size(), 17u);
  for (int layer = 0; layer < 4; ++layer) {
    std::string p = "model.layers." + std::to_string(layer) + ".";
    const StTensor &q = c->get(p + "self_attn.q_proj.weight");
    EXPECT_EQ(q.dtype, StDType::BF16);
    EXPECT_EQ(q.shape, (std::vector<int64_t>{8, 8}));
    EXPECT_EQ(c->fileOf(q).metadata().at("format"), "pt");
    Tensor qf = c->toF32(q);
    const StTensor &ln = c->get(p + "input_layernorm.weight");
    Tensor lnv = c->view(ln);
    EXPECT_EQ(lnv.dtype(), DType::F32);
    const StTensor &up = c->get(p + "mlp.up_proj.weight");
    EXPECT_EQ(up.dtype, StDType::F16);
    Tensor upf = c->toF32(up);
    Tensor down = c->view(c->get(p + "mlp.down_proj.weight"));
    EXPECT_EQ(down.dtype(), DType::I8);
    for (int i = 0; i < 64; ++i) ASSERT_EQ(qf.getDouble(i), i - layer) << p << i;
    for (int i = 0; i < 8; ++i) ASSERT_EQ(lnv.getDouble(i), i / 8.0 + layer) << p << i;
    for (int i = 0; i < 32; ++i) {
      ASSERT_EQ(upf.getDouble(i), i + layer) << p << i;
      ASSERT_EQ(down.getInt(i), i % 3 - 1) << p << i;
    }
  }
  Tensor emb = c->view(c->get("model.embed_tokens.weight"));
  EXPECT_EQ(emb.dtype(), DType::U8);
  EXPECT_EQ(emb.shape(), (std::vector<int64_t>{6, 8}));
  EXPECT_EQ(emb.getInt(47), 47);
}

} // namespace
