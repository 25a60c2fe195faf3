// NpyTest.cpp: .npy round trips for every dtype, interop with numpy in both directions, and the errors.
#include "Host.h"
#include "TestSupport.h"

#include <cstring>

namespace ternc::rt {
namespace {

using test::TempDir;

HostTensor pattern(int32_t dtype, std::vector<int64_t> shape) {
  HostTensor t = HostTensor::zeros(dtype, std::move(shape));
  for (size_t i = 0; i < t.byteSize(); ++i) t.bytes.data()[i] = std::byte((i * 37 + 11) & (dtype == TERNC_BOOL ? 1 : 0xff));
  return t;
}

void expectSame(const HostTensor &a, const HostTensor &b) {
  EXPECT_EQ(a.dtype, b.dtype);
  EXPECT_EQ(a.shape, b.shape);
  ASSERT_EQ(a.byteSize(), b.byteSize());
  EXPECT_EQ(std::memcmp(a.bytes.data(), b.bytes.data(), a.byteSize()), 0);
}

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

TEST(Npy, RoundTripEveryDtype) {
  TempDir dir;
  for (int32_t dtype = 0; dtype <= TERNC_TERN; ++dtype) {
    if (dtype == TERNC_BF16) continue;
    for (auto shape : {std::vector<int64_t>{}, {5}, {2, 3}, {2, 0, 4}, {1, 2, 3, 4}}) {
      HostTensor t = pattern(dtype, shape);
      std::string path = dir.file("t.npy");
      writeNpy(t, path);
      HostTensor back = readNpy(path);
      if (dtype == TERNC_TERN) back.dtype = TERNC_TERN;  // stored as int8
      expectSame(t, back);
      EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()), {}), 1) << "temp file left behind";
    }
  }
}

TEST(Npy, Bf16IsAnErrorOnWrite) {
  TempDir dir;
  std::string path = dir.file("x.npy");
  EXPECT_EQ(errorOf([&] { writeNpy(HostTensor::zeros(TERNC_BF16, {2}), path); }),
            path + ": cannot write dtype bf16 as .npy (numpy has no such dtype)");
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(Npy, NumpyReadsWhatWeWrite) {
  TempDir dir;
  HostTensor f = HostTensor::zeros(TERNC_F32, {2, 3});
  for (int i = 0; i < 6; ++i) reinterpret_cast<float *>(f.bytes.data())[i] = float(i) * 1.5f;
  writeNpy(f, dir.file("f.npy"));
  HostTensor b = HostTensor::zeros(TERNC_BOOL, {3});
  b.bytes.data()[1] = std::byte(1);
  writeNpy(b, dir.file("b.npy"));
  writeNpy(HostTensor::zeros(TERNC_I64, {}), dir.file("s.npy"));
  auto r = test::runPython("import numpy as np\n"
                           "f = np.load('" + dir.file("f.npy") + "')\n"
                           "assert f.dtype == np.float32 and f.shape == (2, 3), (f.dtype, f.shape)\n"
                           "assert (f == np.arange(6, dtype=np.float32).reshape(2, 3) * 1.5).all()\n"
                           "b = np.load('" + dir.file("b.npy") + "')\n"
                           "assert b.dtype == np.bool_ and b.tolist() == [False, True, False]\n"
                           "s = np.load('" + dir.file("s.npy") + "')\n"
                           "assert s.dtype == np.int64 and s.shape == ()\n"
                           "print('ok')\n");
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(r.out, "ok\n");
}

TEST(Npy, WeReadWhatNumpyWrites) {
  TempDir dir;
  auto r = test::runPython("import numpy as np\n"
                           "np.save('" + dir.file("a.npy") + "', np.arange(12, dtype=np.float16).reshape(3, 4))\n"
                           "np.save('" + dir.file("u.npy") + "', np.array([1, 65535], dtype=np.uint16))\n"
                           "np.lib.format.write_array(open('" + dir.file("v2.npy") +
                           "', 'wb'), np.arange(4, dtype=np.int32), version=(2, 0))\n"
                           "np.lib.format.write_array(open('" + dir.file("v3.npy") +
                           "', 'wb'), np.arange(4, dtype=np.int32), version=(3, 0))\n"
                           "np.save('" + dir.file("f.npy") + "', np.asfortranarray(np.ones((2, 3))))\n"
                           "np.save('" + dir.file("be.npy") + "', np.arange(3, dtype='>i4'))\n"
                           "np.save('" + dir.file("c.npy") + "', np.zeros(2, dtype=np.complex64))\n");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  HostTensor a = readNpy(dir.file("a.npy"));
  EXPECT_EQ(a.dtype, TERNC_F16);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(reinterpret_cast<const uint16_t *>(a.bytes.data())[1], 0x3c00);  // 1.0 in f16
  HostTensor u = readNpy(dir.file("u.npy"));
  EXPECT_EQ(reinterpret_cast<const uint16_t *>(u.bytes.data())[1], 65535);
  for (const char *v : {"v2.npy", "v3.npy"}) {
    HostTensor t = readNpy(dir.file(v));
    EXPECT_EQ(t.dtype, TERNC_I32);
    EXPECT_EQ(reinterpret_cast<const int32_t *>(t.bytes.data())[3], 3) << v;
  }
  EXPECT_EQ(errorOf([&] { readNpy(dir.file("f.npy")); }), dir.file("f.npy") + ": Fortran-order npy arrays are not supported");
  EXPECT_EQ(errorOf([&] { readNpy(dir.file("be.npy")); }), dir.file("be.npy") + ": unsupported npy dtype '>i4'");
  EXPECT_EQ(errorOf([&] { readNpy(dir.file("c.npy")); }), dir.file("c.npy") + ": unsupported npy dtype '<c8'");
}

TEST(Npy, ReadErrorsNameTheFile) {
  TempDir dir;
  std::string missing = dir.file("missing.npy");
  EXPECT_EQ(errorOf([&] { readNpy(missing); }), missing + ": cannot open: No such file or directory");
  std::string junk = dir.file("junk.npy");
  test::writeText(junk, "this is not numpy");
  EXPECT_EQ(errorOf([&] { readNpy(junk); }), junk + ": not a .npy file (bad magic)");
  // A valid header with one float missing from the data.
  std::string cut = dir.file("cut.npy");
  writeNpy(HostTensor::zeros(TERNC_F32, {4}), cut);
  std::string bytes = test::readText(cut);
  test::writeText(cut, bytes.substr(0, bytes.size() - 4));
  EXPECT_EQ(errorOf([&] { readNpy(cut); }),
            cut + ": holds 12 data bytes, but its header ('<f4', shape (4,)) needs 16");
}

} // namespace
} // namespace ternc::rt
