// TensorProtoTest.cpp: TensorProto .pb reading against onnx.numpy_helper on the ONNX node-test data, the typed fields, errors.
#include "Host.h"
#include "TestSupport.h"

#include <cstring>
#include <sstream>

namespace ternc::rt {
namespace {

using test::TempDir;

void expectSameBytes(const HostTensor &got, const HostTensor &want, const std::string &what) {
  EXPECT_EQ(got.shape, want.shape) << what;
  ASSERT_EQ(got.byteSize(), want.byteSize()) << what;
  EXPECT_EQ(std::memcmp(got.bytes.data(), want.bytes.data(), got.byteSize()), 0) << what;
}

TEST(TensorProto, MatchesNumpyHelperOnNodeTestData) {
  TempDir dir;
  // Python converts every supported .pb with onnx.numpy_helper (the oracle)
  // and lists "pb<TAB>npy" pairs.
  auto r = test::runPython(
      "import glob, os, numpy as np, onnx\n"
      "from onnx import numpy_helper\n"
      "out = '" + dir.path().string() + "'\n"
      "ok = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13}\n"
      "n = 0\n"
      "with open(os.path.join(out, 'list.txt'), 'w') as f:\n"
      "  for pb in sorted(glob.glob('/usr/share/libonnx-testdata/data/node/*/test_data_set_0/*.pb')):\n"
      "    t = onnx.TensorProto()\n"
      "    try:\n"
      "      t.ParseFromString(open(pb, 'rb').read())\n"
      "      if t.data_type not in ok: continue\n"
      "      # reshape: numpy_helper gives scalars (dims []) shape (1,)\n"
      "      a = np.ascontiguousarray(numpy_helper.to_array(t)).reshape(tuple(t.dims))\n"
      "    except Exception:\n"
      "      continue  # a SequenceProto/OptionalProto, not a TensorProto\n"
      "    npy = os.path.join(out, '%d.npy' % n)\n"
      "    np.save(npy, a)\n"
      "    f.write(pb + '\\t' + npy + '\\n')\n"
      "    n += 1\n");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::istringstream list(test::readText(dir.file("list.txt")));
  std::string line;
  int compared = 0;
  while (std::getline(list, line)) {
    std::string pb = line.substr(0, line.find('\t')), npy = line.substr(line.find('\t') + 1);
    HostTensor got = readTensorProto(pb);
    HostTensor want = readNpy(npy);
    EXPECT_EQ(got.dtype, want.dtype) << pb;
    expectSameBytes(got, want, pb);
    ++compared;
  }
  EXPECT_GT(compared, 1000);
}

TEST(TensorProto, TypedFieldsFollowTheOnnxRules) {
  TempDir dir;
  // make_tensor(raw=False) stores narrow ints, bool, f16 and bf16 in int32_data.
  auto r = test::runPython(
      "import numpy as np, onnx\n"
      "from onnx import helper, TensorProto as T\n"
      "out = '" + dir.path().string() + "/'\n"
      "cases = [('i8', T.INT8, [-128, 5, 127], np.int8), ('u16', T.UINT16, [0, 65535, 7], np.uint16),\n"
      "         ('i16', T.INT16, [-32768, 1, 2], np.int16), ('b', T.BOOL, [True, False, True], np.bool_),\n"
      "         ('u8', T.UINT8, [255, 0, 1], np.uint8), ('f16', T.FLOAT16, [1.0, -2.5, 0.5], np.float16),\n"
      "         ('i32', T.INT32, [-7, 0, 1 << 30], np.int32), ('i64', T.INT64, [-1, 1 << 40, 3], np.int64),\n"
      "         ('u32', T.UINT32, [4000000000, 1, 2], np.uint32), ('u64', T.UINT64, [1 << 63, 1, 2], np.uint64),\n"
      "         ('f64', T.DOUBLE, [1.25, -3.0, 1e300], np.float64), ('f32', T.FLOAT, [1.5, -2.0, 3.25], np.float32)]\n"
      "for name, dt, vals, npt in cases:\n"
      "  t = helper.make_tensor(name, dt, [3], vals, raw=False)\n"
      "  assert not t.HasField('raw_data')\n"
      "  open(out + name + '.pb', 'wb').write(t.SerializeToString())\n"
      "  np.save(out + name + '.npy', np.array(vals, dtype=npt))\n"
      "t = helper.make_tensor('bf', T.BFLOAT16, [3], [1.0, -2.0, 0.5], raw=False)\n"
      "open(out + 'bf.pb', 'wb').write(t.SerializeToString())\n"
      "np.save(out + 'bf.npy', (np.array([1.0, -2.0, 0.5], np.float32).view(np.uint32) >> 16).astype(np.uint16))\n"
      "t = helper.make_tensor('ext', T.FLOAT, [1], [1.0])\n"
      "t.data_location = T.EXTERNAL\n"
      "open(out + 'ext.pb', 'wb').write(t.SerializeToString())\n"
      "t = helper.make_tensor('few', T.FLOAT, [4], [1.0, 2.0, 3.0, 4.0])\n"
      "del t.float_data[3]\n"
      "open(out + 'few.pb', 'wb').write(t.SerializeToString())\n"
      "t = helper.make_tensor('s', T.STRING, [1], [b'x'])\n"
      "open(out + 's.pb', 'wb').write(t.SerializeToString())\n");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  for (const char *name : {"i8", "u16", "i16", "b", "u8", "f16", "i32", "i64", "u32", "u64", "f64", "f32"}) {
    HostTensor got = readTensorProto(dir.file(std::string(name) + ".pb"));
    HostTensor want = readNpy(dir.file(std::string(name) + ".npy"));
    EXPECT_EQ(got.dtype, want.dtype) << name;
    expectSameBytes(got, want, name);
  }
  HostTensor bf = readTensorProto(dir.file("bf.pb"));
  EXPECT_EQ(bf.dtype, TERNC_BF16);
  expectSameBytes(bf, readNpy(dir.file("bf.npy")), "bf16");

  auto errorOf = [](const std::string &path) -> std::string {
    try {
      readTensorFile(path);
    } catch (const Error &e) {
      return e.what();
    }
    return "";
  };
  EXPECT_EQ(errorOf(dir.file("ext.pb")), dir.file("ext.pb") + ": TensorProto with external data is not supported");
  EXPECT_EQ(errorOf(dir.file("few.pb")), dir.file("few.pb") + ": float_data holds 3 values, expected 4");
  EXPECT_EQ(errorOf(dir.file("s.pb")), dir.file("s.pb") + ": unsupported TensorProto data_type 8");
  test::writeText(dir.file("junk.pb"), "\xff\xff\xff garbage");
  EXPECT_EQ(errorOf(dir.file("junk.pb")), dir.file("junk.pb") + ": not a valid ONNX TensorProto");
  EXPECT_EQ(errorOf(dir.file("none.pb")), dir.file("none.pb") + ": cannot open: No such file or directory");
}

} // namespace
} // namespace ternc::rt
