/* symbolic_main.c: drives kv.h (tests/library/kv.tir compiled with --emit=lib) through the shape API — output
 * shapes from input shapes, runs for several symbol values on one instance, a decode loop feeding its output
 * back, and the errors. Prints every output for run_library_test.py to compare with numpy. Written in C99. */
#include "kv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float *filled(int64_t n, int seed) {
  float *p = (float *)malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
  int64_t i;
  if (!p) exit(2);
  for (i = 0; i < n; ++i) p[i] = (float)(((5 * i + seed) % 13) - 6) / 8.0f;
  return p;
}

static int64_t elements(const int64_t *dims, int rank) {
  int64_t n = 1;
  int d;
  for (d = 0; d < rank; ++d) n *= dims[d];
  return n;
}

static void print_tensor(const char *name, const int64_t *dims, int rank, const float *data) {
  int64_t i, n = elements(dims, rank);
  int d;
  printf("%s [", name);
  for (d = 0; d < rank; ++d) printf(d ? " %lld" : "%lld", (long long)dims[d]);
  printf("]");
  for (i = 0; i < n; ++i) printf(" %.9g", data[i]);
  printf("\n");
}

/* One run of graph `step` through the functions API_* for these symbol values. Defined twice: for the
 * first-graph names kv_* and for the graph's own names kv_step_*. */
#define DEFINE_RUN_STEP(NAME, API)                                                                           \
  static int NAME(API##_instance *m, int64_t batch, int64_t n) {                                             \
    static const int ranks[KV_NUM_OUTPUTS] = {KV_OUTPUT_0_RANK, KV_OUTPUT_1_RANK};                           \
    static const char *const names[KV_NUM_OUTPUTS] = {KV_OUTPUT_0_NAME, KV_OUTPUT_1_NAME};                   \
    int64_t xs[KV_INPUT_0_RANK], zs[KV_INPUT_1_RANK];                                                        \
    const int64_t *shapes[KV_NUM_INPUTS];                                                                    \
    int64_t dims[KV_NUM_OUTPUTS][4];                                                                         \
    float *x = filled(batch * 4, 1), *z = filled(n * 4, 2);                                                  \
    const void *inputs[KV_NUM_INPUTS];                                                                       \
    void *outputs[KV_NUM_OUTPUTS];                                                                           \
    int o, rc = 0;                                                                                           \
    xs[0] = batch, xs[1] = 4, zs[0] = n, zs[1] = 4;                                                          \
    shapes[0] = xs, shapes[1] = zs;                                                                          \
    inputs[0] = x, inputs[1] = z;                                                                            \
    for (o = 0; o < KV_NUM_OUTPUTS; ++o) {                                                                   \
      if (API##_output_shape(m, shapes, o, dims[o]) != 0) {                                                  \
        printf("error output_shape: %s\n", API##_last_error(m));                                             \
        return 1;                                                                                            \
      }                                                                                                      \
      outputs[o] = malloc((size_t)elements(dims[o], ranks[o]) * sizeof(float));                              \
    }                                                                                                        \
    printf("step batch=%lld n=%lld\n", (long long)batch, (long long)n);                                      \
    if (API##_run_shaped(m, inputs, shapes, outputs) != 0) {                                                 \
      printf("error run_shaped: %s\n", API##_last_error(m));                                                 \
      rc = 1;                                                                                                \
    } else {                                                                                                 \
      for (o = 0; o < KV_NUM_OUTPUTS; ++o) print_tensor(names[o], dims[o], ranks[o], (const float *)outputs[o]); \
    }                                                                                                        \
    for (o = 0; o < KV_NUM_OUTPUTS; ++o) free(outputs[o]);                                                   \
    free(x), free(z);                                                                                        \
    return rc;                                                                                               \
  }
DEFINE_RUN_STEP(run_step, kv)
DEFINE_RUN_STEP(run_step_alias, kv_step)

/* A decode loop on graph `decode`: each step appends `seq` rows to the cache it got back from the last. */
static int decode_loop(void) {
  static const int64_t seqs[] = {1, 1, 2, 1};
  kv_decode_instance *m = kv_decode_create(2);
  int64_t past = 3, s;
  float *cache = filled(past * 2, 3);
  if (!m) return 1;
  for (s = 0; s < (int64_t)(sizeof seqs / sizeof seqs[0]); ++s) {
    int64_t ks[2], ns[2], kvs[KV_DECODE_OUTPUT_0_RANK];
    const int64_t *shapes[KV_DECODE_NUM_INPUTS];
    const void *inputs[KV_DECODE_NUM_INPUTS];
    void *outputs[KV_DECODE_NUM_OUTPUTS];
    float *fresh = filled(seqs[s] * 2, (int)s), *next;
    ks[0] = past, ks[1] = 2, ns[0] = seqs[s], ns[1] = 2;
    shapes[0] = ks, shapes[1] = ns;
    if (kv_decode_output_shape(m, shapes, 0, kvs) != 0) {
      printf("error decode output_shape: %s\n", kv_decode_last_error(m));
      return 1;
    }
    next = (float *)malloc((size_t)elements(kvs, KV_DECODE_OUTPUT_0_RANK) * sizeof(float));
    inputs[0] = cache, inputs[1] = fresh, outputs[0] = next;
    printf("decode past=%lld seq=%lld\n", (long long)past, (long long)seqs[s]);
    if (kv_decode_run_shaped(m, inputs, shapes, outputs) != 0) {
      printf("error decode run_shaped: %s\n", kv_decode_last_error(m));
      return 1;
    }
    print_tensor(KV_DECODE_OUTPUT_0_NAME, kvs, KV_DECODE_OUTPUT_0_RANK, next);
    free(cache), free(fresh);
    cache = next;
    past = kvs[0];
  }
  free(cache);
  kv_decode_destroy(m);
  return 0;
}

/* Prints one misuse's result and message (read after the call: the call replaces the message). */
static void report(const char *label, int rc, kv_instance *m) {
  printf("error-case %s: rc=%d: %s\n", label, rc, kv_last_error(m));
}

/* Each misuse must fail with a message, and leave the instance usable. */
static void errors(kv_instance *m) {
  float x[8] = {0}, z[4] = {0}, out0[12], out1[8];
  const void *inputs[2];
  void *outputs[2];
  int64_t xs[2] = {2, 4}, zs[2] = {1, 4}, bad[2] = {1, 5}, dims[2];
  const int64_t *shapes[2];
  inputs[0] = x, inputs[1] = z, outputs[0] = out0, outputs[1] = out1;
  shapes[0] = xs, shapes[1] = zs;

  report("run without shapes", kv_run(m, inputs, outputs), m);
  shapes[1] = bad;
  report("static dim", kv_run_shaped(m, inputs, shapes, outputs), m);
  report("output_shape static dim", kv_output_shape(m, shapes, 0, dims), m);
  shapes[1] = zs;
  report("output index", kv_output_shape(m, shapes, KV_NUM_OUTPUTS, dims), m);
  inputs[1] = NULL;
  report("null input", kv_run_shaped(m, inputs, shapes, outputs), m);
}

int main(void) {
  /* kv_* is the first graph, `step`; kv_step_* names the same graph. */
  kv_instance *m = kv_create(0);
  kv_step_instance *same = kv_step_create(1);
  int rc = 0;
  if (!m || !same) return 1;
  printf("symbols %d: %s %s\n", KV_NUM_SYMBOLS, KV_SYMBOL_0_NAME, KV_SYMBOL_1_NAME);
  printf("inputs %s%s %s%s\n", KV_INPUT_0_NAME, KV_INPUT_0_DIMS, KV_INPUT_1_NAME, KV_INPUT_1_DIMS);
  printf("outputs %s%s %s%s\n", KV_OUTPUT_0_NAME, KV_OUTPUT_0_DIMS, KV_OUTPUT_1_NAME, KV_OUTPUT_1_DIMS);
  /* Growing, then shrinking, symbol values on one instance. */
  rc |= run_step(m, 1, 2);
  rc |= run_step(m, 5, 3);
  rc |= run_step(m, 2, 1);
  rc |= run_step_alias(same, 3, 4);
  errors(m);
  rc |= run_step(m, 4, 2);
  rc |= decode_loop();
  kv_destroy(m);
  kv_step_destroy(same);
  return rc;
}
