// MainTest.cpp: end-to-end tests of ternc_main through the hand-written test model built as a standalone executable.
#include "Host.h"
#include "TestSupport.h"

#include <cstring>
#include <regex>

extern "C" const ternc_model ternc_test_model;

namespace ternc::rt {
namespace {

using test::TempDir;

const std::string kModel = TERNC_RT_TEST_MODEL;
const std::string kProgram = "ternc_runtime_testmodel";

HostTensor floats(std::vector<int64_t> shape, std::vector<float> values) {
  HostTensor t = HostTensor::zeros(TERNC_F32, std::move(shape));
  std::memcpy(t.bytes.data(), values.data(), values.size() * 4);
  return t;
}

HostTensor int64s(std::vector<int64_t> values) {
  HostTensor t = HostTensor::zeros(TERNC_I64, {int64_t(values.size())});
  std::memcpy(t.bytes.data(), values.data(), values.size() * 8);
  return t;
}

std::vector<float> valuesOf(const HostTensor &t) {
  const float *p = reinterpret_cast<const float *>(t.bytes.data());
  return {p, p + t.numElements()};
}

/// A folder with valid inputs for batch = 3 and the command line using them.
struct Fixture {
  TempDir dir;
  std::string out = dir.file("out");
  Fixture() {
    writeNpy(floats({3, 4}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}), dir.file("x.npy"));
    writeNpy(floats({4}, {0.5f, -1, 0, 100}), dir.file("b.npy"));
    writeNpy(int64s({0, 10, 20}), dir.file("ids.npy"));
  }
  std::string inputs(const std::string &x = "x.npy", const std::string &ids = "ids.npy") const {
    return " --input x=" + dir.file(x) + " --input b=" + dir.file("b.npy") + " --input ids=" + dir.file(ids);
  }
  test::CommandResult run(const std::string &args) const { return test::runCommand(kModel + " " + args); }
  bool outputsAbsent() const {
    return !std::filesystem::exists(out) || std::filesystem::is_empty(out);
  }
};

TEST(Main, WritesCorrectOutputs) {
  Fixture f;
  for (int threads : {1, 2, 3}) {
    auto r = f.run(f.inputs() + " --output-dir " + f.out + " --threads " + std::to_string(threads));
    ASSERT_EQ(r.exitCode, 0) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, "");
    HostTensor y = readNpy(f.out + "/y.npy");
    EXPECT_EQ(y.shape, (std::vector<int64_t>{3, 4}));
    EXPECT_EQ(valuesOf(y), (std::vector<float>{0.5f, 1, 4, 106, 8.5f, 9, 12, 114, 16.5f, 17, 20, 122}));
    HostTensor sum = readNpy(f.out + "/row_sum_0.npy");  // "row/sum:0"
    EXPECT_EQ(valuesOf(sum), (std::vector<float>{111.5f, 153.5f, 195.5f}));
    HostTensor flat = readNpy(f.out + "/flat.npy");
    EXPECT_EQ(flat.shape, (std::vector<int64_t>{12}));
    EXPECT_EQ(valuesOf(flat), valuesOf(y));
    size_t files = std::distance(std::filesystem::directory_iterator(f.out), {});
    EXPECT_EQ(files, 3u) << "no temporary files are left";
  }
}

TEST(Main, ReadsTensorProtoInputsAndOtherBatchSizes) {
  Fixture f;
  auto py = test::runPython("import numpy as np\nfrom onnx import numpy_helper\n"
                            "open('" + f.dir.file("x1.pb") + "', 'wb').write(numpy_helper.from_array("
                            "np.array([[1, 2, 3, 4]], np.float32)).SerializeToString())\n");
  ASSERT_EQ(py.exitCode, 0) << py.err;
  writeNpy(int64s({7}), f.dir.file("ids1.npy"));
  auto r = f.run(f.inputs("x1.pb", "ids1.npy") + " --output-dir " + f.out);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(valuesOf(readNpy(f.out + "/y.npy")), (std::vector<float>{2.5f, 3, 6, 108}));
  EXPECT_EQ(valuesOf(readNpy(f.out + "/row_sum_0.npy")), (std::vector<float>{126.5f}));
  EXPECT_EQ(readNpy(f.out + "/flat.npy").shape, (std::vector<int64_t>{4}));
}

TEST(Main, Info) {
  Fixture f;
  auto r = f.run("--info");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "model: affine\n"
                   "symbols: batch\n"
                   "inputs:\n"
                   "  x: f32[batch, 4]\n"
                   "  b: f32[4]\n"
                   "  ids: i64[batch]\n"
                   "outputs:\n"
                   "  y: f32[batch, 4]\n"
                   "  row/sum:0: f32[batch]\n"
                   "  flat: f32[4*batch]\n");
}

TEST(Main, Bench) {
  Fixture f;
  auto r = f.run(f.inputs() + " --bench 5 --threads 2");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_TRUE(std::regex_match(r.out, std::regex("bench: 5 runs, 2 threads: median [0-9.]+ ms, min [0-9.]+ ms\n"))) << r.out;
  EXPECT_FALSE(std::filesystem::exists(f.out));
}

TEST(Main, Profile) {
  Fixture f;
  auto r = f.run(f.inputs() + " --output-dir " + f.out + " --profile --bench 3");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  for (const char *kernel : {"scale", "add_bias", "row_sum"})
    EXPECT_TRUE(std::regex_search(r.out, std::regex(std::string("\n  ") + kernel + " +3 +[0-9.]+ +[0-9.]+%\n"))) << r.out;
  EXPECT_NE(r.out.find("profile (3 runs, "), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(f.out + "/y.npy"));
}

/// Runs a failing command line: exit 1, the error on stderr, nothing written.
void expectFailure(const Fixture &f, const std::string &args, const std::string &message) {
  auto r = f.run(args);
  EXPECT_EQ(r.exitCode, 1) << args;
  EXPECT_EQ(r.err, kProgram + ": error: " + message + "\n") << args;
  EXPECT_TRUE(f.outputsAbsent()) << args;
}

TEST(Main, Errors) {
  Fixture f;
  std::string out = " --output-dir " + f.out;
  expectFailure(f, "--input x=" + f.dir.file("x.npy") + out,
                "missing --input for b, ids of model 'affine' (its inputs: x, b, ids)");
  expectFailure(f, f.inputs() + " --input z=" + f.dir.file("x.npy") + out,
                "--input: model 'affine' has no input 'z' (its inputs: x, b, ids)");
  expectFailure(f, f.inputs(), "--output-dir is required (or --bench N, or --info)");

  writeNpy(HostTensor::zeros(TERNC_F64, {3, 4}), f.dir.file("x64.npy"));
  expectFailure(f, f.inputs("x64.npy") + out, "input 'x' has dtype f64, expected f32 (x: f32[batch, 4])");
  writeNpy(HostTensor::zeros(TERNC_F32, {3, 5}), f.dir.file("x35.npy"));
  expectFailure(f, f.inputs("x35.npy") + out, "input 'x' has shape [3, 5], but dim 1 must be 4 (x: f32[batch, 4])");
  writeNpy(HostTensor::zeros(TERNC_F32, {12}), f.dir.file("x12.npy"));
  expectFailure(f, f.inputs("x12.npy") + out, "input 'x' has rank 1 (shape [12]), expected 2 (x: f32[batch, 4])");
  expectFailure(f, f.inputs("nothere.npy") + out, f.dir.file("nothere.npy") + ": cannot open: No such file or directory");
  test::writeText(f.dir.file("bad.npy"), "garbage");
  expectFailure(f, f.inputs("bad.npy") + out, f.dir.file("bad.npy") + ": not a .npy file (bad magic)");
  writeNpy(int64s({1, 2}), f.dir.file("ids2.npy"));
  expectFailure(f, f.inputs("x.npy", "ids2.npy") + out,
                "input 'ids' has shape [2]: dim 0 sets symbol 'batch' to 2, but input 'x' set it to 3");
  writeNpy(int64s({1, -2, 3}), f.dir.file("neg.npy"));
  expectFailure(f, f.inputs("x.npy", "neg.npy") + out, "model 'affine' failed: ids must be non-negative");
  expectFailure(f, f.inputs() + out + " --threads two",
                "Could not convert: --threads = two");
}

TEST(Main, HelpExitsZero) {
  auto r = test::runCommand(kModel + " --help");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find("--bench"), std::string::npos) << r.out;
}

TEST(Main, ExecutableIsSelfContained) {
  auto r = test::runCommand("ldd " + kModel);
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  const std::regex allowed("(linux-vdso|libc|libstdc\\+\\+|libm|libgcc_s|libpthread|ld-linux-x86-64)[.-]");
  while (std::getline(lines, line)) {
    std::string lib = line.substr(line.find_first_not_of(" \t"));
    lib = lib.substr(0, lib.find(' '));
    lib = lib.substr(lib.rfind('/') == std::string::npos ? 0 : lib.rfind('/') + 1);
    EXPECT_TRUE(std::regex_search(lib, allowed)) << "unexpected shared library: " << line;
  }
  EXPECT_EQ(r.out.find("protobuf"), std::string::npos) << r.out;
}

TEST(Main, InProcessRunUsesTheArenaAndThreads) {
  ternc_context *ctx = ternc_context_create(2);
  int64_t symbols[] = {2};
  AlignedBuffer arena(ternc_test_model.arena_bytes(symbols));
  HostTensor x = floats({2, 4}, {1, 1, 1, 1, 2, 2, 2, 2}), b = floats({4}, {0, 0, 0, 1}), ids = int64s({0, 0});
  HostTensor y = HostTensor::zeros(TERNC_F32, {2, 4}), s = HostTensor::zeros(TERNC_F32, {2}),
             flat = HostTensor::zeros(TERNC_F32, {8});
  const void *in[] = {x.bytes.data(), b.bytes.data(), ids.bytes.data()};
  void *out[] = {y.bytes.data(), s.bytes.data(), flat.bytes.data()};
  ASSERT_EQ(ternc_test_model.run(ctx, symbols, in, out, arena.data()), 0) << ternc_last_error(ctx);
  EXPECT_EQ(valuesOf(s), (std::vector<float>{9, 17}));
  ternc_context_destroy(ctx);
}

} // namespace
} // namespace ternc::rt
