// HeaderCheck.cpp: a generated library header (kv.h) compiled as C++ with -pedantic -Werror, included before
// ternc/runtime.h: its macros in constant expressions, its functions called from C++, and its dtype enum
// compared with runtime.h's (HeaderCheckRuntimeFirst.cpp includes them the other way round).
#include "kv.h"
#include "ternc/runtime.h"

#include <cstdio>
#include <cstring>
#include <vector>

/// The enum as kv.h defined it (it came first, so runtime.h's copy was skipped).
extern const int kHeaderDtypes[] = {TERNC_F64, TERNC_F32, TERNC_F16, TERNC_BF16, TERNC_I8, TERNC_I16, TERNC_I32,
                                    TERNC_I64, TERNC_U8,  TERNC_U16, TERNC_U32, TERNC_U64, TERNC_BOOL, TERNC_TERN};
extern const int kRuntimeDtypes[];
int runtimeFirstCheck();

namespace {

constexpr int64_t kStepInputShape[] = KV_INPUT_0_SHAPE;
static_assert(kStepInputShape[0] == -1 && kStepInputShape[1] == 4, "x: f32[batch, 4]");
static_assert(KV_NUM_SYMBOLS == 2 && KV_DECODE_NUM_SYMBOLS == 2, "step: batch, n; decode: past, seq");
static_assert(KV_DECODE_OUTPUT_0_DTYPE == TERNC_F32 && KV_DECODE_OUTPUT_0_RANK == 2, "kv: f32[past+seq, 2]");

int fail(const char *what) {
  std::fprintf(stderr, "HeaderCheck: %s\n", what);
  return 1;
}

} // namespace

int main() {
  kv_decode_instance *m = kv_decode_create(1);
  if (!m) return fail("kv_decode_create returned NULL");
  std::vector<float> k = {1, 2, 3, 4}, fresh = {5, 6}, kv(6, -1.0f);
  const int64_t kShape[] = {2, 2}, freshShape[] = {1, 2};
  const int64_t *shapes[] = {kShape, freshShape};
  const void *inputs[] = {k.data(), fresh.data()};
  void *outputs[] = {kv.data()};
  int64_t dims[KV_DECODE_OUTPUT_0_RANK] = {};
  if (kv_decode_output_shape(m, shapes, 0, dims) != 0) return fail(kv_decode_last_error(m));
  if (dims[0] != 3 || dims[1] != 2) return fail("kv_decode_output_shape: expected [3, 2]");
  if (kv_decode_run_shaped(m, inputs, shapes, outputs) != 0) return fail(kv_decode_last_error(m));
  if (kv != std::vector<float>{1, 2, 3, 4, 5, 6}) return fail("kv_decode_run_shaped: wrong output");
  kv_decode_destroy(m);

  if (std::memcmp(kHeaderDtypes, kRuntimeDtypes, sizeof kHeaderDtypes) != 0)
    return fail("the header's ternc_dtype differs from runtime.h's");
  if (runtimeFirstCheck() != 0) return 1;
  std::printf("HeaderCheck: ok\n");
  return 0;
}
