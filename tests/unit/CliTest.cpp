// CliTest: the `ternc` binary end to end — exit codes and messages on bad
// input, the files `ternc run` writes, and the bundled BitNet example
// against PyTorch's output.
#include "frontend/onnx/OnnxImporter.h"
#include "ir/Npy.h"
#include "ir/Tensor.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>

namespace fs = std::filesystem;
using namespace ternc;

namespace {

struct Result {
  int exitCode = -1;
  std::string out, err;
};

std::string readFile(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeFile(const fs::path &p, const std::string &text) { std::ofstream(p, std::ios::binary) << text; }

std::string quote(const std::string &s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

const std::string kSource = TERNC_SOURCE_DIR;
const std::string kExample = kSource + "/examples/bitnet_block";
const std::string kNodeTests = "/usr/share/libonnx-testdata/data/node";

/// Each test gets a fresh folder and runs ternc in it.
class CliTest : public ::testing::Test {
protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "ternc-cli-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir = tmpl;
  }
  void TearDown() override { fs::remove_all(dir); }

  /// Runs `ternc ARGS` (a shell fragment) in `dir`.
  Result ternc(const std::string &args) {
    Result r;
    fs::path errPath = dir / ".stderr";
    std::string cmd = "cd " + quote(dir.string()) + " && " + quote(TERNC_BINARY) + " " + args + " 2>" +
                      quote(errPath.string());
    FILE *pipe = popen(cmd.c_str(), "r");
    if (!pipe) return r;
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) r.out.append(buf, n);
    int status = pclose(pipe);
    r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.err = readFile(errPath);
    return r;
  }

  /// Expects exit code 1 and one `ternc: error:` line containing `needle`.
  void expectError(const Result &r, const std::string &needle) {
    EXPECT_EQ(r.exitCode, 1) << r.err;
    EXPECT_EQ(r.err.rfind("ternc: error: ", 0), 0u) << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
  }

  fs::path dir;
};

/// y = x + b and "out/1" = x * 2, with x: f32[batch,3].
const char *kAddModule = R"(module @m {
  const @two : f32[] = dense<2.0>

  graph @main(%x: f32[batch,3], %b: f32[3]) -> (y: f32[batch,3], "out/1": f32[batch,3]) {
    %y = Add(%x, %b) : f32[batch,3]
    %d = Mul(%x, @two) : f32[batch,3]
    return %y, %d
  }
}
)";

Tensor f32Tensor(std::vector<int64_t> shape, std::vector<float> values) {
  Tensor t(DType::F32, std::move(shape));
  for (size_t i = 0; i < values.size(); ++i) t.setDouble(int64_t(i), values[i]);
  return t;
}

std::vector<double> valuesOf(const Tensor &t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.numElements(); ++i) v.push_back(t.getDouble(i));
  return v;
}

TEST_F(CliTest, HelpAndVersionOnEverySubcommand) {
  for (std::string cmd : {"", "import ", "opt ", "run ", "ops ", "passes "}) {
    Result version = ternc(cmd + "--version");
    EXPECT_EQ(version.exitCode, 0) << cmd;
    EXPECT_EQ(version.out.rfind("ternc ", 0), 0u) << cmd << ": " << version.out;
    Result help = ternc(cmd + "--help");
    EXPECT_EQ(help.exitCode, 0) << cmd;
    EXPECT_NE(help.out.find("--help"), std::string::npos) << cmd;
  }
}

TEST_F(CliTest, UsageErrorsExitWithOne) {
  expectError(ternc(""), "subcommand is required");
  expectError(ternc("frobnicate"), "unknown command 'frobnicate' (commands: import, opt, run, compile, ops, passes, targets)");
  expectError(ternc("opt"), "input is required");
  expectError(ternc("opt x.tir --no-such-flag"), "--no-such-flag");
}

TEST_F(CliTest, ListsOpsAndPasses) {
  Result ops = ternc("ops");
  EXPECT_EQ(ops.exitCode, 0);
  for (const char *op : {"Add", "MatMul", "Reshape", "ReduceMean", "QuantizeLinear"})
    EXPECT_NE(ops.out.find(std::string("\n") + op + " "), std::string::npos) << op;
  Result passes = ternc("passes");
  EXPECT_EQ(passes.exitCode, 0);
  for (const char *p : {"canonicalize", "fold-constants", "cse", "dce"})
    EXPECT_NE(passes.out.find(p), std::string::npos) << p;
}

TEST_F(CliTest, OptReportsBadFiles) {
  expectError(ternc("opt missing.tir"), "missing.tir");
  writeFile(dir / "syntax.tir", "module @m {\n  graph @g(%x: f32[2]) -> (y: f32[2]) {\n    %a = Add(%x %x) : f32[2]\n");
  expectError(ternc("opt syntax.tir"), "syntax.tir:3:17: expected");
  writeFile(dir / "garbage.tir", std::string("\x7f\x45\x4c\x46\0\0\xff\xfe", 8));
  expectError(ternc("opt garbage.tir"), "garbage.tir:1:");
  writeFile(dir / "model.txt", kAddModule);
  expectError(ternc("opt model.txt"), "unknown model format");
  writeFile(dir / "model.tir", kAddModule);
  expectError(ternc("opt model.tir --passes=cse,bogus"), "unknown pass 'bogus'");
}

TEST_F(CliTest, OptWritesAFileThatReadsBack) {
  writeFile(dir / "model.tir", kAddModule);
  Result r = ternc("opt model.tir --passes=canonicalize,cse -o out.tir");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(r.out.empty());
  EXPECT_EQ(readFile(dir / "out.tir"), kAddModule);
  Result again = ternc("opt out.tir");
  EXPECT_EQ(again.exitCode, 0) << again.err;
  EXPECT_EQ(again.out, kAddModule);
}

TEST_F(CliTest, ImportReportsBadModels) {
  expectError(ternc("import missing.onnx"), "missing.onnx");
  writeFile(dir / "garbage.onnx", "this is not a protobuf \x01\x02\x03");
  expectError(ternc("import garbage.onnx"), "garbage.onnx");
}

TEST_F(CliTest, ImportPrintsAndWritesTheExample) {
  Result printed = ternc("import " + quote(kExample + "/model.onnx"));
  ASSERT_EQ(printed.exitCode, 0) << printed.err;
  EXPECT_NE(printed.out.find("const @up.weight : f32[128,64] = elided<32768>"), std::string::npos);
  EXPECT_NE(printed.out.find("graph @main(%x: f32[batch,seq,64]) -> (y: f32[batch,seq,64])"), std::string::npos);

  Result written = ternc("import " + quote(kExample + "/model.onnx") + " --passes=canonicalize,fold-constants,cse,dce -o block.tir");
  ASSERT_EQ(written.exitCode, 0) << written.err;
  EXPECT_TRUE(fs::exists(dir / "block.tir.bin"));
  // The written module runs and gives PyTorch's output.
  Result run = ternc("run block.tir --input x=" + quote(kExample + "/input.npy") + " --output-dir out");
  ASSERT_EQ(run.exitCode, 0) << run.err;
  EXPECT_TRUE(fs::exists(dir / "out" / "y.npy"));
}

TEST_F(CliTest, RunWritesOneNpyPerOutput) {
  writeFile(dir / "model.tir", kAddModule);
  writeNpy(f32Tensor({2, 3}, {1, 2, 3, 4, 5, 6}), (dir / "x.npy").string());
  writeNpy(f32Tensor({3}, {10, 20, 30}), (dir / "b.npy").string());
  Result r = ternc("run model.tir --input x=x.npy --input b=b.npy --output-dir results/new");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  Tensor y = readNpy((dir / "results/new/y.npy").string());
  EXPECT_EQ(y.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(valuesOf(y), (std::vector<double>{11, 22, 33, 14, 25, 36}));
  // "out/1" is not a file name: '/' becomes '_'.
  Tensor d = readNpy((dir / "results/new/out_1.npy").string());
  EXPECT_EQ(valuesOf(d), (std::vector<double>{2, 4, 6, 8, 10, 12}));
  size_t files = 0;
  for (const auto &e : fs::directory_iterator(dir / "results/new")) files += e.is_regular_file();
  EXPECT_EQ(files, 2u);
}

TEST_F(CliTest, RunRejectsBadInputsAndWritesNothing) {
  writeFile(dir / "model.tir", kAddModule);
  writeNpy(f32Tensor({2, 3}, {1, 2, 3, 4, 5, 6}), (dir / "x.npy").string());
  writeNpy(f32Tensor({3}, {10, 20, 30}), (dir / "b.npy").string());
  writeNpy(f32Tensor({4}, {1, 2, 3, 4}), (dir / "b4.npy").string());
  Tensor ints(DType::I64, {3});
  writeNpy(ints, (dir / "bi.npy").string());
  writeFile(dir / "bad.npy", "\x93NUMPY garbage");

  expectError(ternc("run model.tir --input x=x.npy --output-dir out"), "missing --input for b");
  expectError(ternc("run model.tir --input x=x.npy --input b=b.npy --input z=b.npy --output-dir out"),
              "no input 'z'");
  expectError(ternc("run model.tir --input x=x.npy --input x=x.npy --input b=b.npy --output-dir out"), "twice");
  expectError(ternc("run model.tir --input x --input b=b.npy --output-dir out"), "expected NAME=PATH");
  expectError(ternc("run model.tir --input x=x.npy --input b=nothere.npy --output-dir out"), "nothere.npy");
  expectError(ternc("run model.tir --input x=x.npy --input b=bad.npy --output-dir out"), "bad.npy");
  expectError(ternc("run model.tir --input x=x.npy --input b=b.txt --output-dir out"), "unknown tensor file format");
  expectError(ternc("run model.tir --input x=x.npy --input b=b4.npy --output-dir out"), "b");
  expectError(ternc("run model.tir --input x=x.npy --input b=bi.npy --output-dir out"), "b");
  expectError(ternc("run model.tir --input x=x.npy --input b=b.npy --output-dir out --graph other"), "no graph 'other'");
  expectError(ternc("run model.tir --input x=x.npy --input b=b.npy"), "output-dir");
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST_F(CliTest, RunReadsTensorProtoInputs) {
  const std::string data = kNodeTests + "/test_add/test_data_set_0/";
  if (!fs::exists(data)) GTEST_SKIP() << "ONNX node test data not installed";
  Result r = ternc("run " + quote(kNodeTests + "/test_add/model.onnx") + " --input x=" + quote(data + "input_0.pb") +
                   " --input y=" + quote(data + "input_1.pb") + " --output-dir out");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  Tensor expected = readTensorProtoFile(data + "output_0.pb");
  Tensor got = readNpy((dir / "out/sum.npy").string());
  EXPECT_TRUE(got.identical(expected));
}

/// The bundled example: ternc's interpreter reproduces PyTorch's output,
/// with and without the cleanup passes.
TEST_F(CliTest, BitNetExampleMatchesPyTorch) {
  Tensor expected = readNpy(kExample + "/expected.npy");
  for (std::string passes : {"", " --passes=canonicalize,fold-constants,cse,dce --verify-each"}) {
    std::string out = "out" + std::to_string(passes.size());
    Result r = ternc("run " + quote(kExample + "/model.onnx") + " --input x=" + quote(kExample + "/input.npy") +
                     " --output-dir " + out + passes);
    ASSERT_EQ(r.exitCode, 0) << r.err;
    Tensor y = readNpy((dir / out / "y.npy").string());
    ASSERT_EQ(y.dtype(), expected.dtype());
    ASSERT_EQ(y.shape(), expected.shape());
    for (int64_t i = 0; i < y.numElements(); ++i) {
      double a = y.getDouble(i), b = expected.getDouble(i);
      ASSERT_LE(std::fabs(a - b), 1e-5 + 1e-4 * std::fabs(b)) << "element " << i << passes;
    }
  }
}

} // namespace
