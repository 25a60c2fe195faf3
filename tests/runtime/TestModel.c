/* TestModel.c: a hand-written "compiled model" for the runtime tests, in the shape codegen emits:
 * y = x * 2 + b, row_sum = sum_j y[:, j] + ids, flat = reshape(y, [4*batch]) over a symbolic batch. */
#include "ternc/runtime.h"

#include <stdint.h>

static const char *const kSymbols[] = {"batch"};
enum { kBatch = 0 };

static const ternc_dim_term kBatchTerm = {1, 1, {kBatch, 0, 0, 0}};
static const ternc_dim_term kFourBatchTerm = {4, 1, {kBatch, 0, 0, 0}};
static const ternc_dim kBatchBy4[] = {{0, 1, &kBatchTerm}, {4, 0, 0}};
static const ternc_dim kFour[] = {{4, 0, 0}};
static const ternc_dim kBatchOnly[] = {{0, 1, &kBatchTerm}};
static const ternc_dim kFourBatch[] = {{0, 1, &kFourBatchTerm}};

static const ternc_tensor_info kInputs[] = {
    {"x", TERNC_F32, 2, kBatchBy4},
    {"b", TERNC_F32, 1, kFour},
    {"ids", TERNC_I64, 1, kBatchOnly},
};
static const ternc_tensor_info kOutputs[] = {
    {"y", TERNC_F32, 2, kBatchBy4},
    {"row/sum:0", TERNC_F32, 1, kBatchOnly},
    {"flat", TERNC_F32, 1, kFourBatch},
};
static const char *const kKernels[] = {"scale", "add_bias", "row_sum"};
enum { kScale = 0, kAddBias = 1, kRowSum = 2 };

static uint64_t arenaBytes(const int64_t *symbols) { return (uint64_t)symbols[kBatch] * 4 * sizeof(float); }

typedef struct {
  const float *x;
  const float *b;
  float *scaled; /* in the arena */
  float *y;
} RowArgs;

static void scaleRows(void *arg, int64_t begin, int64_t end) {
  RowArgs *a = (RowArgs *)arg;
  for (int64_t i = begin * 4; i < end * 4; ++i) a->scaled[i] = a->x[i] * 2.0f;
}

static void addBiasRows(void *arg, int64_t begin, int64_t end) {
  RowArgs *a = (RowArgs *)arg;
  for (int64_t r = begin; r < end; ++r)
    for (int64_t j = 0; j < 4; ++j) a->y[r * 4 + j] = a->scaled[r * 4 + j] + a->b[j];
}

static int32_t run(ternc_context *ctx, const int64_t *symbols, const void *const *inputs, void *const *outputs,
                   void *arena) {
  int64_t batch = symbols[kBatch];
  if (((uintptr_t)arena % 64) != 0) {
    ternc_set_error(ctx, "arena is not 64-byte aligned");
    return 1;
  }
  const int64_t *ids = (const int64_t *)inputs[2];
  for (int64_t r = 0; r < batch; ++r)
    if (ids[r] < 0) {
      ternc_set_error(ctx, "ids must be non-negative");
      return 1;
    }
  RowArgs args = {(const float *)inputs[0], (const float *)inputs[1], (float *)arena, (float *)outputs[0]};

  ternc_profile_begin(ctx, kScale);
  ternc_parallel_for(ctx, batch, 1, scaleRows, &args);
  ternc_profile_end(ctx, kScale);

  ternc_profile_begin(ctx, kAddBias);
  ternc_parallel_for(ctx, batch, 1, addBiasRows, &args);
  ternc_profile_end(ctx, kAddBias);

  ternc_profile_begin(ctx, kRowSum);
  float *rowSum = (float *)outputs[1];
  float *flat = (float *)outputs[2];
  for (int64_t r = 0; r < batch; ++r) {
    float s = 0;
    for (int64_t j = 0; j < 4; ++j) {
      s += args.y[r * 4 + j];
      flat[r * 4 + j] = args.y[r * 4 + j];
    }
    rowSum[r] = s + (float)ids[r];
  }
  ternc_profile_end(ctx, kRowSum);
  return 0;
}

const ternc_model ternc_test_model = {
    TERNC_ABI_VERSION, "affine", 1, kSymbols, 3, kInputs, 3, kOutputs, arenaBytes, run, 3, kKernels,
    0, NULL, -1, -1, NULL, /* no state */
};
