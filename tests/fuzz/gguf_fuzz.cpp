// gguf_fuzz.cpp: libFuzzer target for the GGUF reader (frontend/gguf/): parse the input as a GGUF file, then read
// every metadata value, decode every tensor ternc decodes and convert the tokenizer. Any outcome other than
// success or a ternc::Error (a crash, a sanitizer report, another exception, a hang) is a bug. Built with clang-16
// when TERNC_FUZZ=ON (tests/fuzz/README.md).
#include "frontend/gguf/GgufFile.h"
#include "frontend/gguf/GgufTensors.h"
#include "frontend/gguf/GgufTokenizer.h"
#include "ir/Error.h"

#include <cstring>
#include <memory>
#include <vector>

using namespace ternc::gguf;

namespace {

/// Reads every typed view the getters offer of `key`'s value; errors are expected for the wrong types.
void touchValue(const GgufFile &f, const std::string &key, const Value &v) {
  (void)v.describe();
  (void)v.brief();
  auto tryGet = [](auto &&fn) {
    try {
      fn();
    } catch (const ternc::Error &) {
    }
  };
  tryGet([&] { (void)f.getString(key); });
  tryGet([&] { (void)f.getInt(key); });
  tryGet([&] { (void)f.getU32(key); });
  tryGet([&] { (void)f.getFloat(key); });
  tryGet([&] { (void)f.getBool(key); });
  tryGet([&] { (void)f.getStringArray(key); });
  tryGet([&] { (void)f.getFloatArray(key); });
  tryGet([&] { (void)f.getIntArray(key); });
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // An exact-size heap copy, so that AddressSanitizer sees any read past the end.
  auto owner = std::make_shared<std::vector<std::byte>>(size);
  if (size)
    std::memcpy(owner->data(), data, size);
  auto storage = ternc::Storage::borrow(owner, owner->data(), owner->size());
  std::unique_ptr<GgufFile> f;
  try {
    f = GgufFile::fromBytes("fuzz.gguf", storage);
  } catch (const ternc::Error &) {
    return 0;
  }
  for (const auto &[key, v] : f->metadata())
    touchValue(*f, key, v);
  for (const TensorInfo &t : f->tensors()) {
    if (f->findTensor(t.name) != &t)
      __builtin_trap();
    // The data lies inside the input, so decoding is bounded by it (at most 8 f32 values per input byte).
    try {
      if (canDecodeToF32(t.type))
        (void)toF32(*f, t);
      if (isTernaryType(t.type))
        (void)decodeTernary(*f, t);
    } catch (const ternc::Error &) {
    }
  }
  try {
    (void)tokenizerFromGguf(*f);
  } catch (const ternc::Error &) {
  }
  return 0;
}
