// HeaderCheckRuntimeFirst.cpp: ternc/runtime.h included before a generated library header (kv.h), and the
// generic instance API of runtime.h driving the descriptor that the header's functions wrap.
#include "ternc/runtime.h"
#include "kv.h"

#include <cstdio>

/// The enum as runtime.h defined it (it came first, so kv.h's copy was skipped).
extern const int kRuntimeDtypes[] = {TERNC_F64, TERNC_F32, TERNC_F16, TERNC_BF16, TERNC_I8, TERNC_I16, TERNC_I32,
                                     TERNC_I64, TERNC_U8,  TERNC_U16, TERNC_U32, TERNC_U64, TERNC_BOOL, TERNC_TERN};

/// The descriptor of graph `step` (codegen names it <prefix>_<graph>_model).
extern "C" const ternc_model kv_step_model;

int runtimeFirstCheck() {
  if (ternc_dtype_size(KV_INPUT_0_DTYPE) != sizeof(float)) return std::fprintf(stderr, "dtype size\n"), 1;
  ternc_instance *inst = ternc_instance_create(&kv_step_model, 1);
  if (!inst) return std::fprintf(stderr, "ternc_instance_create returned NULL\n"), 1;
  const ternc_model *model = ternc_instance_model(inst);
  int bad = model->num_inputs != KV_NUM_INPUTS || model->num_outputs != KV_NUM_OUTPUTS ||
            model->num_symbols != KV_NUM_SYMBOLS;
  // Output 1 is xt: f32[4, batch].
  const int64_t xShape[] = {3, 4}, zShape[] = {1, 4};
  const int64_t *shapes[] = {xShape, zShape};
  int64_t dims[2] = {};
  if (ternc_instance_output_shape(inst, shapes, 1, dims) != 0 || dims[0] != 4 || dims[1] != 3) bad = 1;
  ternc_instance_destroy(inst);
  if (bad) std::fprintf(stderr, "the generic instance API disagrees with kv.h\n");
  return bad;
}
