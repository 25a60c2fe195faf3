// NpyTest: reading and writing .npy files (ir/Npy.cpp) — round trips for
// every dtype, hand-built v1/v2/v3 files, NumPy interoperability, and the
// errors for files ternc cannot or must not read.
#include "ir/Error.h"
#include "ir/Npy.h"
#include "tests/unit/TensorTestUtil.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace ternc {
namespace {

using testutil::errorOf;

namespace fs = std::filesystem;

class NpyTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("ternc-npy-" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
            std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string &name) const { return (dir_ / name).string(); }

  /// Writes a file from a header dict and raw data, in format `major`.
  std::string writeRaw(const std::string &name, const std::string &dict, const std::string &data, int major = 1) {
    std::string header = dict + "\n";
    std::string bytes = "\x93NUMPY";
    bytes += char(major);
    bytes += char(0);
    if (major == 1) {
      bytes += char(header.size() & 0xff);
      bytes += char(header.size() >> 8);
    } else {
      for (int i = 0; i < 4; ++i) bytes += char((header.size() >> (8 * i)) & 0xff);
    }
    bytes += header + data;
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }

  fs::path dir_;
};

TEST_F(NpyTest, RoundTripsEveryNumpyDtype) {
  for (DType dt : {DType::F64, DType::F32, DType::F16, DType::I8, DType::I16, DType::I32, DType::I64, DType::U8,
                   DType::U16, DType::U32, DType::U64, DType::Bool}) {
    Tensor t(dt, {2, 3});
    bool hasNegatives = isSignedInt(dt) || isFloat(dt);
    for (int64_t i = 0; i < 6; ++i) t.setInt(i, dt == DType::Bool ? i % 2 : hasNegatives ? i * 3 - 5 : i * 3);
    std::string p = path(std::string(dtypeName(dt)) + ".npy");
    writeNpy(t, p);
    Tensor back = readNpy(p);
    EXPECT_TRUE(back.identical(t)) << dtypeName(dt);
    // NumPy aligns the data to 64 bytes; so does the writer.
    EXPECT_EQ((fs::file_size(p) - t.byteSize()) % 64, 0u) << dtypeName(dt);
  }
}

TEST_F(NpyTest, ScalarsAndEmptyTensors) {
  Tensor scalar = Tensor::scalarF32(2.5f);
  writeNpy(scalar, path("s.npy"));
  Tensor s = readNpy(path("s.npy"));
  EXPECT_EQ(s.rank(), 0u);
  EXPECT_EQ(s.values<float>()[0], 2.5f);

  Tensor empty(DType::I64, {0, 4});
  writeNpy(empty, path("e.npy"));
  Tensor e = readNpy(path("e.npy"));
  EXPECT_EQ(e.shape(), (std::vector<int64_t>{0, 4}));
  EXPECT_EQ(e.dtype(), DType::I64);
}

TEST_F(NpyTest, WritesTheHeaderNumpyWrites) {
  writeNpy(Tensor(DType::F32, {3}), path("v.npy"));
  std::ifstream in(path("v.npy"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_NE(bytes.find("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }"), std::string::npos);
  writeNpy(Tensor(DType::Bool, {2, 2}), path("b.npy"));
  std::ifstream in2(path("b.npy"), std::ios::binary);
  std::string b((std::istreambuf_iterator<char>(in2)), std::istreambuf_iterator<char>());
  EXPECT_NE(b.find("'descr': '|b1'"), std::string::npos);
  EXPECT_NE(b.find("'shape': (2, 2)"), std::string::npos);
}

TEST_F(NpyTest, ReadsFormatVersions2And3) {
  const std::string data("\x07\x00\x00\x00\xfe\xff\xff\xff", 8);  // 7, -2 as little-endian i32
  for (int major : {2, 3}) {
    std::string p = writeRaw("v" + std::to_string(major) + ".npy",
                             "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }", data, major);
    Tensor t = readNpy(p);
    ASSERT_EQ(t.dtype(), DType::I32);
    EXPECT_EQ(t.values<int32_t>()[0], 7);
    EXPECT_EQ(t.values<int32_t>()[1], -2);
  }
}

TEST_F(NpyTest, InteroperatesWithNumpy) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no /usr/bin/python3";
  // NumPy writes, ternc reads.
  std::string fromNumpy = path("np.npy");
  std::string cmd = "/usr/bin/python3 -c \"import numpy as np; np.save('" + fromNumpy +
                    "', np.arange(12, dtype=np.float16).reshape(3, 4) / 4)\"";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  Tensor t = readNpy(fromNumpy);
  ASSERT_EQ(t.dtype(), DType::F16);
  ASSERT_EQ(t.shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(t.getDouble(5), 1.25);
  // ternc writes, NumPy reads.
  Tensor u(DType::U16, {2, 2});
  for (int i = 0; i < 4; ++i) u.setInt(i, 60000 + i);
  writeNpy(u, path("u.npy"));
  cmd = "/usr/bin/python3 -c \"import numpy as np, sys; a = np.load('" + path("u.npy") +
        "'); sys.exit(0 if a.dtype == np.uint16 and a.shape == (2, 2) and a[1, 1] == 60003 else 1)\"";
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST_F(NpyTest, TruncatedDataNamesTheFile) {
  std::string p = writeRaw("short.npy", "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", "12345678");
  std::string msg = errorOf([&] { readNpy(p); });
  EXPECT_NE(msg.find(p), std::string::npos) << msg;
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  // A header cut short is an error too.
  std::ofstream(path("hdr.npy"), std::ios::binary) << std::string("\x93NUMPY\x01\x00\x40\x00{'descr'", 18);
  EXPECT_NE(errorOf([&] { readNpy(path("hdr.npy")); }).find("truncated .npy header"), std::string::npos);
}

TEST_F(NpyTest, RejectsWhatItCannotRead) {
  auto err = [&](const std::string &dict, const std::string &data = std::string(4, '\0')) {
    return errorOf([&] { readNpy(writeRaw("x.npy", dict, data)); });
  };
  EXPECT_NE(err("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", std::string(16, '\0'))
                .find("Fortran-order"),
            std::string::npos);
  EXPECT_NE(err("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }").find("big-endian"), std::string::npos);
  EXPECT_NE(err("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }").find("unsupported .npy dtype '<c8'"),
            std::string::npos);
  EXPECT_NE(err("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }").find("structured"),
            std::string::npos);
  EXPECT_NE(err("{'descr': '<f4', 'shape': (1,), }").find("lacks"), std::string::npos);
  EXPECT_NE(err("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", std::string(8, '\0')).find("after"),
            std::string::npos);
  EXPECT_NE(err("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }", std::string(1, '\x07')).find("not 0 or 1"),
            std::string::npos);
  std::ofstream(path("junk.npy"), std::ios::binary) << "PK\x03\x04 not numpy";
  EXPECT_NE(errorOf([&] { readNpy(path("junk.npy")); }).find("not a .npy file"), std::string::npos);
  EXPECT_NE(errorOf([&] { readNpy(path("missing.npy")); }).find("cannot open"), std::string::npos);
}

TEST_F(NpyTest, RefusesToWriteDtypesNumpyLacks) {
  std::string msg = errorOf([&] { writeNpy(Tensor(DType::BF16, {2}), path("bf.npy")); });
  EXPECT_NE(msg.find("bf16"), std::string::npos) << msg;
  EXPECT_NE(msg.find(path("bf.npy")), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(path("bf.npy")));
  EXPECT_NE(errorOf([&] { writeNpy(Tensor(DType::Tern, {2}), path("t.npy")); }).find("tern"), std::string::npos);
}

TEST_F(NpyTest, FailedWriteLeavesNoFile) {
  std::string p = path("no-such-dir/x.npy");
  EXPECT_NE(errorOf([&] { writeNpy(Tensor(DType::F32, {2}), p); }).find(p), std::string::npos);
  // Replacing an existing file is atomic: the old content stays until the rename.
  writeNpy(Tensor::scalarF32(1.0f), path("r.npy"));
  writeNpy(Tensor::scalarF32(2.0f), path("r.npy"));
  EXPECT_EQ(readNpy(path("r.npy")).values<float>()[0], 2.0f);
  int files = 0;
  for (const auto &e : fs::directory_iterator(dir_)) files += e.path().filename().string().find(".tmp") != std::string::npos;
  EXPECT_EQ(files, 0);
}

} // namespace
} // namespace ternc
