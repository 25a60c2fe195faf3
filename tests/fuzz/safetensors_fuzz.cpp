// safetensors_fuzz.cpp: libFuzzer target for the safetensors header parser (frontend/hf/Safetensors.h). Every input
// must either parse into tensors that lie inside the buffer, or throw ternc::Error naming the file; anything else
// (a crash, an ASan/UBSan report, another exception, a hang) is a bug.
#include "frontend/hf/Safetensors.h"
#include "ir/Error.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

using namespace ternc;
using namespace ternc::hf;

namespace {

[[noreturn]] void bug(const char *what) {
  std::fprintf(stderr, "safetensors_fuzz: %s\n", what);
  __builtin_trap();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  // Borrow libFuzzer's exactly sized buffer: ASan then flags any read past its end.
  auto storage = Storage::borrow(nullptr, data, size);
  std::unique_ptr<SafetensorsFile> f;
  try {
    f = SafetensorsFile::fromBytes("fuzz.safetensors", storage);
  } catch (const Error &e) {
    if (std::strstr(e.what(), "fuzz.safetensors") == nullptr) bug("error message does not name the file");
    return 0;
  }
  const auto *base = reinterpret_cast<const uint8_t *>(storage->data());
  uint64_t previousEnd = 0;
  for (const StTensor &t : f->tensors()) {
    if (t.offset > size || t.nbytes > size - t.offset || t.data != base + t.offset) bug("tensor outside the buffer");
    if (t.offset < 8 + f->headerSize()) bug("tensor inside the header");
    if (t.nbytes != size_t(t.numElements()) * stDTypeSize(t.dtype)) bug("size mismatch");
    if (t.nbytes && t.offset < previousEnd) bug("overlap");
    if (t.nbytes) previousEnd = t.offset + t.nbytes;
    if (f->find(t.name) != &t) bug("find does not return the tensor");
    Tensor v = f->view(t);
    if (v.byteSize() != t.nbytes) bug("view size mismatch");
    // Touch every byte of the view.
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < v.byteSize(); ++i) sink = sink ^ uint8_t(v.rawData()[i]);
    if (t.dtype == StDType::F16 || t.dtype == StDType::BF16 || t.dtype == StDType::F32) {
      if (t.nbytes <= (1u << 20)) f->toF32(t);
    } else {
      try {
        f->toF32(t);
        bug("toF32 accepted a non-float tensor");
      } catch (const Error &) {
      }
    }
  }
  return 0;
}
