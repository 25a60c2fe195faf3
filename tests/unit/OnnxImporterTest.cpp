// OnnxImporterTest: the ONNX importer (frontend/onnx) on models built here
// with the ONNX protobuf classes — translation, constants without copies,
// external data, symbols — and every bad input it must reject with an
// error naming the file and the node or tensor.
#include "frontend/onnx/OnnxImporter.h"
#include "ir/Error.h"
#include "ir/Interpreter.h"

#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <variant>

namespace ternc {
namespace {

namespace fs = std::filesystem;
using DimSpec = std::variant<int64_t, std::string>;  // value, param ("" = anonymous)

/// Builds a ModelProto step by step.
class ModelBuilder {
public:
  explicit ModelBuilder(int opset = 17) {
    model.set_ir_version(8);
    auto *o = model.add_opset_import();
    o->set_domain("");
    o->set_version(opset);
    model.mutable_graph()->set_name("test");
  }

  onnx::GraphProto &graph() { return *model.mutable_graph(); }

  void input(const std::string &name, int elemType, const std::vector<DimSpec> &dims) {
    setType(graph().add_input(), name, elemType, dims);
  }
  void output(const std::string &name, int elemType, const std::vector<DimSpec> &dims) {
    setType(graph().add_output(), name, elemType, dims);
  }

  onnx::NodeProto &node(const std::string &op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                        const std::string &name = "") {
    auto *n = graph().add_node();
    n->set_op_type(op);
    n->set_name(name);
    for (auto &i : inputs) n->add_input(i);
    for (auto &o : outputs) n->add_output(o);
    return *n;
  }

  /// A float initializer stored as raw_data.
  onnx::TensorProto &floats(const std::string &name, std::vector<int64_t> dims, const std::vector<float> &values) {
    auto *t = graph().add_initializer();
    t->set_name(name);
    t->set_data_type(onnx::TensorProto::FLOAT);
    for (auto d : dims) t->add_dims(d);
    t->set_raw_data(std::string(reinterpret_cast<const char *>(values.data()), values.size() * 4));
    return *t;
  }

  std::string save(const fs::path &path) const {
    std::ofstream out(path, std::ios::binary);
    model.SerializeToOstream(&out);
    return path.string();
  }

  onnx::ModelProto model;

private:
  static void setType(onnx::ValueInfoProto *vi, const std::string &name, int elemType,
                      const std::vector<DimSpec> &dims) {
    vi->set_name(name);
    auto *tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elemType);
    auto *shape = tt->mutable_shape();
    for (const auto &d : dims) {
      auto *dim = shape->add_dim();
      if (auto *v = std::get_if<int64_t>(&d)) dim->set_dim_value(*v);
      else if (!std::get<std::string>(d).empty()) dim->set_dim_param(std::get<std::string>(d));
    }
  }
};

onnx::AttributeProto *intAttr(onnx::NodeProto &n, const std::string &name, int64_t v) {
  auto *a = n.add_attribute();
  a->set_name(name);
  a->set_type(onnx::AttributeProto::INT);
  a->set_i(v);
  return a;
}

class OnnxImporterTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("ternc-onnx-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string &name) const { return (dir_ / name).string(); }

  /// The message of the Error that importing `file` throws.
  std::string importError(const std::string &file) {
    try {
      importOnnx(file);
    } catch (const Error &e) {
      return e.what();
    }
    ADD_FAILURE() << "importing " << file << " did not fail";
    return "";
  }

  /// x: f32[batch,4] -> MatMul(x, w[4,2]) -> Add(b[2]) -> Relu -> y.
  ModelBuilder linearModel() {
    ModelBuilder b;
    b.input("x", onnx::TensorProto::FLOAT, {std::string("batch"), int64_t(4)});
    b.floats("w", {4, 2}, {1, 0, 0, 1, 1, 0, 0, -1});
    b.floats("bias", {2}, {0.5f, -0.5f});
    b.node("MatMul", {"x", "w"}, {"xw"}, "mm");
    b.node("Add", {"xw", "bias"}, {"pre"});
    b.node("Relu", {"pre"}, {"y"}, "act");
    b.output("y", onnx::TensorProto::FLOAT, {std::string("batch"), int64_t(2)});
    return b;
  }

  fs::path dir_;
};

TEST_F(OnnxImporterTest, ImportsAndRunsASmallModel) {
  std::string file = linearModel().save(path("linear.onnx"));
  auto m = importOnnx(file);
  const Graph *g = m->findGraph("main");
  ASSERT_NE(g, nullptr);
  ASSERT_EQ(g->arguments().size(), 1u);
  EXPECT_EQ(g->argument(0)->name(), "x");
  EXPECT_EQ(g->argument(0)->type().str(), "f32[batch,4]");
  ASSERT_EQ(g->ops().size(), 3u);
  EXPECT_EQ(g->ops()[0]->loc(), file + ": node \"mm\" (MatMul)");
  EXPECT_EQ(g->ops()[1]->loc(), file + ": node #1 (Add)");
  EXPECT_EQ(g->outputNames(), std::vector<std::string>{"y"});
  EXPECT_EQ(g->outputs()[0]->type().str(), "f32[batch,2]");

  Tensor x(DType::F32, {2, 4});
  const float xs[] = {1, 2, 3, 4, -1, -2, -3, -4};
  std::memcpy(x.mutableRawData(), xs, sizeof xs);
  auto out = interpret(*g, std::vector<Tensor>{x});
  // Row 0: [1+3, 2-4] + [0.5, -0.5] = [4.5, -2.5] -> relu [4.5, 0].
  // Row 1: [-4, 2] + [0.5, -0.5] = [-3.5, 1.5] -> relu [0, 1.5].
  ASSERT_EQ(out[0].shape(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(std::vector<float>(out[0].values<float>().begin(), out[0].values<float>().end()),
            (std::vector<float>{4.5f, 0.0f, 0.0f, 1.5f}));
}

TEST_F(OnnxImporterTest, InitializersBorrowTheProtobufBytes) {
  auto m = importOnnx(linearModel().save(path("linear.onnx")));
  Value *w = m->findConstant("w");
  ASSERT_NE(w, nullptr);
  const Tensor &t = w->constant()->data;
  EXPECT_EQ(t.dtype(), DType::F32);
  EXPECT_EQ(t.shape(), (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(t.values<float>()[7], -1.0f);
  // Borrowed storage is read-only: it is the parsed raw_data, not a copy.
  EXPECT_EQ(t.storage()->mutableData(), nullptr);
}

TEST_F(OnnxImporterTest, TypedFieldsConstantNodesAndCast) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(3)});
  auto *h = b.graph().add_initializer();  // f16 bit patterns in int32_data
  h->set_name("half");
  h->set_data_type(onnx::TensorProto::FLOAT16);
  h->add_dims(2);
  h->add_int32_data(0x3c00);  // 1.0
  h->add_int32_data(0xc000);  // -2.0
  auto *i8 = b.graph().add_initializer();
  i8->set_name("small");
  i8->set_data_type(onnx::TensorProto::INT8);
  i8->add_dims(2);
  i8->add_int32_data(-7);
  i8->add_int32_data(100);
  auto &c1 = b.node("Constant", {}, {"k"}, "k");
  auto *v = c1.add_attribute();
  v->set_name("value_floats");
  v->set_type(onnx::AttributeProto::FLOATS);
  for (float f : {1.0f, 2.0f, 3.0f}) v->add_floats(f);
  auto &c2 = b.node("Constant", {}, {"shape"});
  auto *vi = c2.add_attribute();
  vi->set_name("value_ints");
  vi->set_type(onnx::AttributeProto::INTS);
  vi->add_ints(3);
  b.node("Mul", {"x", "k"}, {"p"}, "mul");
  intAttr(b.node("Cast", {"p"}, {"y"}, "cast"), "to", onnx::TensorProto::INT32);
  b.output("y", onnx::TensorProto::INT32, {int64_t(3)});

  auto m = importOnnx(b.save(path("typed.onnx")));
  const Tensor &half = m->findConstant("half")->constant()->data;
  EXPECT_EQ(half.dtype(), DType::F16);
  EXPECT_EQ(half.getDouble(0), 1.0);
  EXPECT_EQ(half.getDouble(1), -2.0);
  const Tensor &small = m->findConstant("small")->constant()->data;
  EXPECT_EQ(small.getInt(0), -7);
  EXPECT_EQ(small.getInt(1), 100);
  EXPECT_EQ(m->findConstant("k")->type().str(), "f32[3]");
  EXPECT_EQ(m->findConstant("shape")->type().str(), "i64[1]");

  const Graph *g = m->findGraph("main");
  ASSERT_EQ(g->ops().size(), 2u);  // the Constant nodes are constants, not ops
  const Op &cast = *g->ops()[1];
  ASSERT_EQ(cast.opName(), "Cast");
  const AttrValue *to = cast.attrs().find("to");
  ASSERT_NE(to, nullptr);
  ASSERT_EQ(attrKind(*to), AttrKind::DType);
  EXPECT_EQ(std::get<DType>(*to), DType::I32);
  EXPECT_EQ(g->outputs()[0]->type().str(), "i32[3]");
}

TEST_F(OnnxImporterTest, InputsThatAreInitializersAreConstants) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(2)});
  b.input("w", onnx::TensorProto::FLOAT, {int64_t(2)});  // IR version 3 style
  b.floats("w", {2}, {1, 2});
  b.node("Add", {"x", "w"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {int64_t(2)});
  auto m = importOnnx(b.save(path("ir3.onnx")));
  const Graph *g = m->findGraph("main");
  ASSERT_EQ(g->arguments().size(), 1u);
  EXPECT_EQ(g->argument(0)->name(), "x");
  EXPECT_EQ(g->ops()[0]->operand(1)->kind(), Value::Kind::Constant);
}

TEST_F(OnnxImporterTest, DimParamsBecomeSymbols) {
  ModelBuilder b;
  b.input("a", onnx::TensorProto::FLOAT, {std::string(""), std::string("")});
  b.input("mask", onnx::TensorProto::INT64, {std::string("batch size"), std::string("past_len + 1")});
  b.input("unk__0", onnx::TensorProto::FLOAT, {std::string("unk__0")});
  b.node("Identity", {"a"}, {"a2"});
  b.output("a2", onnx::TensorProto::FLOAT, {});
  b.graph().mutable_output(0)->mutable_type()->mutable_tensor_type()->clear_shape();
  auto m = importOnnx(b.save(path("dims.onnx")));
  const Graph *g = m->findGraph("main");
  // Anonymous dims get fresh symbols that avoid the dim_params in use.
  EXPECT_EQ(g->argument(0)->type().str(), "f32[unk__1,unk__2]");
  EXPECT_EQ(g->argument(1)->type().str(), "i64[batch_size,past_len+1]");
  EXPECT_EQ(g->argument(2)->type().str(), "f32[unk__0]");
}

TEST_F(OnnxImporterTest, OmittedOptionalInputsAreNullOperands) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(4)});
  b.floats("hi", {}, {1.0f});
  b.node("Clip", {"x", "", "hi"}, {"y"}, "clip");
  b.node("Clip", {"x", "", ""}, {"z"}, "noop");
  b.output("y", onnx::TensorProto::FLOAT, {int64_t(4)});
  b.output("z", onnx::TensorProto::FLOAT, {int64_t(4)});
  auto m = importOnnx(b.save(path("clip.onnx")));
  const Graph *g = m->findGraph("main");
  const Op &clip = *g->ops()[0];
  ASSERT_EQ(clip.numOperands(), 3u);
  EXPECT_EQ(clip.operand(1), nullptr);
  EXPECT_NE(clip.operand(2), nullptr);
  EXPECT_EQ(g->ops()[1]->numOperands(), 1u);  // trailing omitted inputs are dropped
}

TEST_F(OnnxImporterTest, OmittedMiddleOutputsGetFreshNames) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(2), int64_t(4)});
  b.floats("scale", {4}, {1, 1, 1, 1});
  b.node("LayerNormalization", {"x", "scale"}, {"y", "", "ln_unused1"}, "ln");
  b.output("y", onnx::TensorProto::FLOAT, {int64_t(2), int64_t(4)});
  b.output("ln_unused1", onnx::TensorProto::FLOAT, {});
  b.graph().mutable_output(1)->mutable_type()->mutable_tensor_type()->clear_shape();
  auto m = importOnnx(b.save(path("ln.onnx")));
  const Op &ln = *m->findGraph("main")->ops()[0];
  ASSERT_EQ(ln.numResults(), 3u);
  EXPECT_EQ(ln.result(0)->name(), "y");
  EXPECT_EQ(ln.result(2)->name(), "ln_unused1");  // the ONNX name is kept...
  EXPECT_NE(ln.result(1)->name(), "ln_unused1");  // ...and the fresh one avoids it
  EXPECT_NE(ln.result(1)->name(), "");
}

TEST_F(OnnxImporterTest, WrongArityNamesTheNode) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(2)});
  b.node("Relu", {"x", "x"}, {"y"}, "twice");
  b.output("y", onnx::TensorProto::FLOAT, {int64_t(2)});
  std::string file = b.save(path("arity.onnx"));
  EXPECT_NE(importError(file).find(file + ": node \"twice\" (Relu): has 2 inputs, but Relu takes 1"),
            std::string::npos);
}

TEST_F(OnnxImporterTest, OlderOpsetsImportOnlyWhenTheirOpsAreUnchanged) {
  ModelBuilder old(7);  // And has not changed since opset 7
  old.input("a", onnx::TensorProto::BOOL, {int64_t(2)});
  old.input("b", onnx::TensorProto::BOOL, {int64_t(2)});
  old.node("And", {"a", "b"}, {"c"});
  old.output("c", onnx::TensorProto::BOOL, {int64_t(2)});
  EXPECT_NO_THROW(importOnnx(old.save(path("and7.onnx"))));

  ModelBuilder b(12);  // Add changed in opset 13
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(2)});
  b.node("Add", {"x", "x"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {int64_t(2)});
  std::string file = b.save(path("opset12.onnx"));
  EXPECT_THROW(importOnnx(file), UnsupportedError);
  std::string msg = importError(file);
  EXPECT_NE(msg.find(file + ": opset 12 is not supported"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Add (opset 7 -> 13)"), std::string::npos) << msg;
}

TEST_F(OnnxImporterTest, RejectsOpset18AndMissingDefaultOpset) {
  ModelBuilder b(18);
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(2)});
  b.node("Relu", {"x"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {int64_t(2)});
  std::string file = b.save(path("opset18.onnx"));
  EXPECT_NE(importError(file).find(file + ": opset 18 is not supported (ternc imports opsets 13..17)"),
            std::string::npos);
  b.model.mutable_opset_import(0)->set_domain("com.example");
  file = b.save(path("noopset.onnx"));
  EXPECT_NE(importError(file).find("imports no opset of the default ONNX domain"), std::string::npos);
}

TEST_F(OnnxImporterTest, ListsEveryUnsupportedOpAtOnce) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(1), int64_t(1), int64_t(4), int64_t(4)});
  b.node("Conv", {"x", "w"}, {"c1"}, "conv1");
  b.node("Relu", {"c1"}, {"r"}, "relu");
  b.node("Conv", {"r", "w"}, {"c2"}, "conv2");
  b.node("Resize", {"c2"}, {"up"}, "up");
  auto &custom = b.node("FusedMatMul", {"up"}, {"y"});
  custom.set_domain("com.microsoft");
  b.output("y", onnx::TensorProto::FLOAT, {});
  std::string file = b.save(path("unsupported.onnx"));
  EXPECT_THROW(importOnnx(file), UnsupportedError);
  EXPECT_EQ(importError(file), file + ": unsupported ops: Conv (nodes \"conv1\", \"conv2\"), Resize (node \"up\"), "
                                      "com.microsoft.FusedMatMul (node #4)");
}

TEST_F(OnnxImporterTest, DanglingNamesAndMissingInitializers) {
  ModelBuilder b = linearModel();
  b.graph().mutable_initializer()->RemoveLast();  // "bias" is gone
  std::string file = b.save(path("missing-init.onnx"));
  std::string msg = importError(file);
  EXPECT_NE(msg.find(file + ": node #1 (Add): input \"bias\" is not defined by any node, initializer or graph input"),
            std::string::npos)
      << msg;

  ModelBuilder c = linearModel();
  c.graph().mutable_output(0)->set_name("nothing");
  file = c.save(path("dangling-output.onnx"));
  EXPECT_NE(importError(file).find(file + ": graph output \"nothing\" is not defined"), std::string::npos);
}

TEST_F(OnnxImporterTest, DuplicateDefinitionsAndCycles) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(2)});
  b.node("Relu", {"x"}, {"y"}, "first");
  b.node("Neg", {"x"}, {"y"}, "second");
  b.output("y", onnx::TensorProto::FLOAT, {int64_t(2)});
  std::string file = b.save(path("dup.onnx"));
  std::string msg = importError(file);
  EXPECT_NE(msg.find("node \"second\" (Neg)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("node \"first\" (Relu)"), std::string::npos) << msg;

  ModelBuilder c;
  c.input("x", onnx::TensorProto::FLOAT, {int64_t(2)});
  c.node("Add", {"x", "b"}, {"a"}, "n1");
  c.node("Relu", {"a"}, {"b"}, "n2");
  c.output("b", onnx::TensorProto::FLOAT, {int64_t(2)});
  file = c.save(path("cycle.onnx"));
  EXPECT_NE(importError(file).find(file + ": the graph has a cycle through node \"n1\""), std::string::npos);
}

TEST_F(OnnxImporterTest, NodesOutOfOrderAreSorted) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(2)});
  b.node("Neg", {"r"}, {"y"}, "late");
  b.node("Relu", {"x"}, {"r"}, "early");
  b.output("y", onnx::TensorProto::FLOAT, {int64_t(2)});
  auto m = importOnnx(b.save(path("unsorted.onnx")));
  EXPECT_EQ(m->findGraph("main")->ops()[0]->opName(), "Relu");
}

TEST_F(OnnxImporterTest, MismatchedTypesNameTheNode) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(2)});
  b.input("n", onnx::TensorProto::INT64, {int64_t(2)});
  b.node("Add", {"x", "n"}, {"y"}, "mixed");
  b.output("y", onnx::TensorProto::FLOAT, {int64_t(2)});
  std::string file = b.save(path("mixed.onnx"));
  std::string msg = importError(file);
  EXPECT_NE(msg.find(file + ": node \"mixed\" (Add)"), std::string::npos) << msg;
  EXPECT_NE(msg.find("i64"), std::string::npos) << msg;

  ModelBuilder c;
  c.input("x", onnx::TensorProto::FLOAT, {int64_t(2)});
  c.node("Relu", {"x"}, {"y"}, "r");
  c.output("y", onnx::TensorProto::INT64, {int64_t(2)});
  file = c.save(path("declared.onnx"));
  msg = importError(file);
  EXPECT_NE(msg.find(file + ": graph output \"y\" is declared i64 but node \"r\" (Relu) computes f32[2]"),
            std::string::npos)
      << msg;
}

TEST_F(OnnxImporterTest, TruncatedCorruptEmptyAndMissingFiles) {
  ModelBuilder b = linearModel();
  std::vector<float> big(4096, 1.0f);
  b.floats("unused", {4096}, big);
  std::string whole;
  b.model.SerializeToString(&whole);
  std::string truncated = path("truncated.onnx");
  std::ofstream(truncated, std::ios::binary) << whole.substr(0, whole.size() / 2);
  EXPECT_EQ(importError(truncated), truncated + ": not an ONNX model: the protobuf data is truncated or corrupt");

  std::mt19937 rng(1234);
  std::string noise(2048, '\0');
  for (auto &ch : noise) ch = char(rng());
  std::string corrupt = path("corrupt.onnx");
  std::ofstream(corrupt, std::ios::binary) << noise;
  std::string msg = importError(corrupt);
  EXPECT_EQ(msg.rfind(corrupt + ": ", 0), 0u) << msg;

  std::string empty = path("empty.onnx");
  std::ofstream(empty, std::ios::binary).flush();
  EXPECT_NE(importError(empty).find(empty + ": is empty"), std::string::npos);
  EXPECT_NE(importError(path("absent.onnx")).find("no such file"), std::string::npos);
}

TEST_F(OnnxImporterTest, EveryTruncationOfAModelFailsCleanly) {
  std::string whole;
  linearModel().model.SerializeToString(&whole);
  std::string file = path("cut.onnx");
  for (size_t n = 0; n < whole.size(); n += 7) {
    std::ofstream(file, std::ios::binary | std::ios::trunc) << whole.substr(0, n);
    try {
      importOnnx(file);
    } catch (const Error &e) {
      EXPECT_EQ(std::string(e.what()).rfind(file, 0), 0u) << "cut at " << n << ": " << e.what();
    }
  }
}

/// An initializer "w" (f32[4]) whose bytes live in `location`.
ModelBuilder externalModel(const std::string &location, std::optional<int64_t> offset = std::nullopt) {
  ModelBuilder b;
  b.input("x", onnx::TensorProto::FLOAT, {int64_t(4)});
  auto *w = b.graph().add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(4);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto *loc = w->add_external_data();
  loc->set_key("location");
  loc->set_value(location);
  if (offset) {
    auto *off = w->add_external_data();
    off->set_key("offset");
    off->set_value(std::to_string(*offset));
  }
  b.node("Add", {"x", "w"}, {"y"});
  b.output("y", onnx::TensorProto::FLOAT, {int64_t(4)});
  return b;
}

TEST_F(OnnxImporterTest, ExternalDataIsMemoryMapped) {
  fs::create_directories(dir_ / "weights");
  std::vector<float> values = {0, 0, 1.5f, -2, 3, 4.25f};  // the tensor starts at offset 8
  std::ofstream(dir_ / "weights" / "w.bin", std::ios::binary)
      .write(reinterpret_cast<const char *>(values.data()), std::streamsize(values.size() * 4));
  auto m = importOnnx(externalModel("weights/w.bin", 8).save(path("ext.onnx")));
  const Tensor &w = m->findConstant("w")->constant()->data;
  EXPECT_EQ(std::vector<float>(w.values<float>().begin(), w.values<float>().end()),
            (std::vector<float>{1.5f, -2, 3, 4.25f}));
  EXPECT_EQ(w.storage()->mutableData(), nullptr);  // mapped read-only, not copied
}

TEST_F(OnnxImporterTest, ExternalDataMustStayInsideTheModelFolder) {
  std::string abs = externalModel("/etc/passwd").save(path("abs.onnx"));
  std::string msg = importError(abs);
  EXPECT_NE(msg.find(abs + ": initializer \"w\": external data location '/etc/passwd' is an absolute path"),
            std::string::npos)
      << msg;
  std::string up = externalModel("sub/../../w.bin").save(path("up.onnx"));
  msg = importError(up);
  EXPECT_NE(msg.find(up + ": initializer \"w\": external data location 'sub/../../w.bin' leaves the model's folder"),
            std::string::npos)
      << msg;
  std::string win = externalModel("..\\w.bin").save(path("win.onnx"));
  EXPECT_NE(importError(win).find("leaves the model's folder"), std::string::npos);
}

TEST_F(OnnxImporterTest, MissingOrShortExternalFiles) {
  std::string missing = externalModel("nowhere.bin").save(path("missing.onnx"));
  std::string msg = importError(missing);
  EXPECT_NE(msg.find(missing + ": initializer \"w\": external data file 'nowhere.bin' does not exist"),
            std::string::npos)
      << msg;
  std::ofstream(dir_ / "short.bin", std::ios::binary) << std::string(12, '\0');
  std::string shortModel = externalModel("short.bin").save(path("short.onnx"));
  msg = importError(shortModel);
  EXPECT_NE(msg.find(shortModel + ": initializer \"w\": external data file 'short.bin' is too short: it has 12 "
                                  "bytes, but the tensor needs 16 bytes at offset 0"),
            std::string::npos)
      << msg;
}

TEST_F(OnnxImporterTest, BadTensorDataNamesTheTensor) {
  ModelBuilder b = linearModel();
  b.graph().mutable_initializer(0)->mutable_raw_data()->resize(12);
  std::string file = b.save(path("rawsize.onnx"));
  EXPECT_NE(importError(file).find(file + ": initializer \"w\" has 12 bytes of raw_data, but f32[4,2] needs 32"),
            std::string::npos);

  ModelBuilder s = linearModel();
  s.graph().mutable_initializer(1)->set_data_type(onnx::TensorProto::STRING);
  file = s.save(path("string.onnx"));
  EXPECT_THROW(importOnnx(file), UnsupportedError);
  EXPECT_NE(importError(file).find(file + ": initializer \"bias\" has data type STRING"), std::string::npos);
}

TEST_F(OnnxImporterTest, ReadsTensorProtoFiles) {
  onnx::TensorProto t;
  t.set_name("input_0");
  t.set_data_type(onnx::TensorProto::INT64);
  t.add_dims(3);
  for (int64_t v : {5, -6, 7}) t.add_int64_data(v);
  std::string file = path("input_0.pb");
  {
    std::ofstream out(file, std::ios::binary);
    t.SerializeToOstream(&out);
  }
  Tensor read = readTensorProtoFile(file);
  EXPECT_EQ(read.dtype(), DType::I64);
  EXPECT_EQ(read.toI64Vector(), (std::vector<int64_t>{5, -6, 7}));

  std::string whole;
  t.SerializeToString(&whole);
  std::string cut = path("cut.pb");
  std::ofstream(cut, std::ios::binary) << whole.substr(0, whole.size() - 3);
  try {
    readTensorProtoFile(cut);
    ADD_FAILURE() << "a truncated .pb was accepted";
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()).rfind(cut + ": ", 0), 0u) << e.what();
  }
}

} // namespace
} // namespace ternc
