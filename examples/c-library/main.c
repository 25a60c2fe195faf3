/* main.c: runs the classifier compiled by `ternc compile model.onnx --emit=lib -o libmodel.a` through its C API
 * (model.h): fills the input, runs the model once and prints the output. */
#include "model.h"

#include <stdio.h>

/* Static shapes: every buffer size is a constant of model.h. */
_Static_assert(MODEL_INPUT_0_DTYPE == TERNC_F32 && MODEL_OUTPUT_0_DTYPE == TERNC_F32, "the example expects f32");

static float x[MODEL_INPUT_0_ELEMENTS];
static float probs[MODEL_OUTPUT_0_ELEMENTS];

int main(void) {
  for (int i = 0; i < MODEL_INPUT_0_ELEMENTS; ++i) x[i] = (float)((7 * i) % 11 - 5) / 4.0f;

  model_instance *model = model_create(0); /* 0: all cores */
  if (!model) {
    fprintf(stderr, "model_create: out of memory\n");
    return 1;
  }
  const void *inputs[MODEL_NUM_INPUTS] = {x};
  void *outputs[MODEL_NUM_OUTPUTS] = {probs};
  if (model_run(model, inputs, outputs) != 0) {
    fprintf(stderr, "model_run: %s\n", model_last_error(model));
    model_destroy(model);
    return 1;
  }

  const int64_t shape[] = MODEL_OUTPUT_0_SHAPE;
  printf("%s: f32%s\n", MODEL_OUTPUT_0_NAME, MODEL_OUTPUT_0_DIMS);
  for (int64_t r = 0; r < shape[0]; ++r)
    for (int64_t c = 0; c < shape[1]; ++c) printf("%.6f%s", probs[r * shape[1] + c], c + 1 < shape[1] ? " " : "\n");
  model_destroy(model);
  return 0;
}
