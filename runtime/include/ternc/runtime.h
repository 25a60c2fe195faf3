/* runtime.h: the C ABI between a compiled ternc model and the ternc runtime.
 *
 * Code generation (codegen/) emits, for each entry graph, one `ternc_model`
 * descriptor and its `run` function; the runtime (runtime/) supplies the
 * context (thread pool, profiling, errors), tensor files, and main() for
 * executables. Everything here is plain C so that a model can be linked
 * into any C or C++ program (`--emit=lib`). */
#ifndef TERNC_RUNTIME_H
#define TERNC_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TERNC_ABI_VERSION 2

/* Element types, in the order of ternc::DType (ir/Type.h). The headers of
 * compiled libraries (--emit=lib) repeat this enum under the same guard, so
 * that they stand alone and can be included together with this file. */
#ifndef TERNC_DTYPE_DEFINED
#define TERNC_DTYPE_DEFINED
typedef enum ternc_dtype {
  TERNC_F64 = 0, TERNC_F32, TERNC_F16, TERNC_BF16, TERNC_I8, TERNC_I16, TERNC_I32, TERNC_I64,
  TERNC_U8, TERNC_U16, TERNC_U32, TERNC_U64, TERNC_BOOL, TERNC_TERN
} ternc_dtype;
#endif

/* One term of a polynomial dim: coeff * symbols[factors[0]] * ... */
typedef struct ternc_dim_term {
  int64_t coeff;
  int32_t num_factors; /* 0..4 */
  int32_t factors[4];  /* indices into ternc_model.symbols */
} ternc_dim_term;

/* A dimension: static (num_terms == 0, the size is `value`) or a polynomial
 * over the model's symbols (`past+seq`, `batch*seq`). */
typedef struct ternc_dim {
  int64_t value;
  int32_t num_terms;
  const ternc_dim_term *terms;
} ternc_dim;

typedef struct ternc_tensor_info {
  const char *name;
  int32_t dtype; /* ternc_dtype */
  int32_t rank;
  const ternc_dim *dims;
} ternc_tensor_info;

/* Runtime state for running models: thread pool, profile counters, the
 * last error. Created by the host; passed to every generated function. */
typedef struct ternc_context ternc_context;

/* One compiled entry graph. */
typedef struct ternc_model {
  uint32_t abi_version; /* TERNC_ABI_VERSION */
  const char *name;
  int32_t num_symbols;
  const char *const *symbols;
  int32_t num_inputs;
  const ternc_tensor_info *inputs;
  int32_t num_outputs;
  const ternc_tensor_info *outputs;
  /* Scratch bytes `run` needs for these symbol values (64-byte aligned). */
  uint64_t (*arena_bytes)(const int64_t *symbols);
  /* Runs the graph on inputs (one pointer per input, dense row-major) into
   * caller-allocated outputs, sized from the output dims. Returns 0, or
   * non-zero after ternc_set_error(). */
  int32_t (*run)(ternc_context *ctx, const int64_t *symbols, const void *const *inputs, void *const *outputs,
                 void *arena);
  /* Kernel names for --profile, indexed by the ids passed to
   * ternc_profile_begin/end. */
  int32_t num_kernels;
  const char *const *kernel_names;
  /* Module state (KV caches) the graph reads and writes, shared by the
   * module's entry graphs in this order; the host allocates each buffer
   * (dims evaluated with the capacity symbol bound) and passes them with
   * ternc_context_set_states. Symbols the host binds instead of the
   * inputs: `past_symbol`, the number of positions cached before the run,
   * and `capacity_symbol`, the positions each state holds (-1: none).
   * `cache_length` is the number cached after a successful run (NULL if
   * the graph does not append). */
  int32_t num_states;
  const ternc_tensor_info *states;
  int32_t past_symbol;
  int32_t capacity_symbol;
  const ternc_dim *cache_length;
} ternc_model;

/* A compiled language model: two entry graphs sharing weights and state
 * (`prefill` takes a prompt of n tokens, `decode` one token), with inputs
 * `input_ids`, `attention_mask`, optionally `position_ids`, and output
 * `logits`; plus the tokenizer embedded at compile time. */
typedef struct ternc_llm {
  uint32_t abi_version; /* TERNC_ABI_VERSION */
  const ternc_model *prefill;
  const ternc_model *decode;
  /* 0 none (ids only), 1 Hugging Face tokenizer.json, 2 SentencePiece model. */
  int32_t tokenizer_kind;
  const uint8_t *tokenizer_data;
  uint64_t tokenizer_size;
  /* End-of-sequence ids from the checkpoint's config; the tokenizer's own
   * are added at run time. bos_id < 0: none beyond the tokenizer's. */
  int32_t num_eos;
  const int64_t *eos_ids;
  int64_t bos_id;
  /* Context length when --ctx is not given. */
  int64_t default_ctx;
} ternc_llm;

/* ---- Used by generated code ---------------------------------------------- */

/* fn(arg, begin, end) over [0, n) split into contiguous chunks of at least
 * `grain` items across the context's threads; returns when all are done. */
typedef void (*ternc_task_fn)(void *arg, int64_t begin, int64_t end);
void ternc_parallel_for(ternc_context *ctx, int64_t n, int64_t grain, ternc_task_fn fn, void *arg);
int32_t ternc_num_threads(const ternc_context *ctx);
/* Time attribution for --profile (no-ops unless profiling is on). */
void ternc_profile_begin(ternc_context *ctx, int32_t kernel);
void ternc_profile_end(ternc_context *ctx, int32_t kernel);
/* Records an error message for the host (e.g. an index out of bounds). */
void ternc_set_error(ternc_context *ctx, const char *message);
/* Buffer of state `index` (ternc_model.states) as set by the host. */
void *ternc_state(ternc_context *ctx, int32_t index);

/* ---- Used by hosts ---------------------------------------------------------- */

/* threads <= 0: the number of cores available to the process. */
ternc_context *ternc_context_create(int32_t threads);
void ternc_context_destroy(ternc_context *ctx);
const char *ternc_last_error(const ternc_context *ctx);
/* The state buffers generated code reads and writes (one per
 * ternc_model.states entry); the array must outlive the runs. */
void ternc_context_set_states(ternc_context *ctx, void *const *states, int32_t num_states);
void ternc_set_profiling(ternc_context *ctx, int32_t on);
/* Per-kernel accumulated nanoseconds and call counts since the last reset. */
void ternc_profile_read(const ternc_context *ctx, int32_t kernel, uint64_t *nanos, uint64_t *calls);
void ternc_profile_reset(ternc_context *ctx);

/* Evaluates a dim for given symbol values. */
int64_t ternc_dim_value(const ternc_dim *dim, const int64_t *symbols);
size_t ternc_dtype_size(int32_t dtype);

/* ---- Instances: what a library's `<prefix>_create/_run/...` call ------------
 * An instance is a model ready to run: its own context and an arena that is
 * allocated on the first run and grown when new symbol values need more.
 * One instance runs one call at a time; use one instance per host thread.
 * Inputs and outputs are dense row-major buffers, one pointer per input or
 * output in the model's order, aligned to their element type. */
typedef struct ternc_instance ternc_instance;

/* NULL if out of memory or if `model` was built for another ABI version.
 * threads <= 0: the number of cores available to the process. */
ternc_instance *ternc_instance_create(const ternc_model *model, int32_t threads);
void ternc_instance_destroy(ternc_instance *inst);
const ternc_model *ternc_instance_model(const ternc_instance *inst);
/* The instance's context, for ternc_set_profiling / ternc_profile_read. */
ternc_context *ternc_instance_context(ternc_instance *inst);
/* Runs the model. `input_shapes` holds one pointer per input to its `rank`
 * dims; they bind the model's symbols exactly as `ternc run` binds them from
 * input files, and are checked against every static and polynomial dim. It
 * may be NULL only for a model without symbols. Outputs must be large enough
 * for the shapes ternc_instance_output_shape gives. Returns 0, or non-zero
 * with the reason in ternc_instance_last_error. */
int32_t ternc_instance_run(ternc_instance *inst, const void *const *inputs, const int64_t *const *input_shapes,
                           void *const *outputs);
/* Writes the dims of output `output` (its `rank` of them) for these input
 * shapes (NULL only for a model without symbols) to `dims`. Returns 0, or
 * non-zero with the reason in ternc_instance_last_error. */
int32_t ternc_instance_output_shape(ternc_instance *inst, const int64_t *const *input_shapes, int32_t output,
                                    int64_t *dims);
/* The message of the last failing call on this instance ("" if none);
 * valid until the next call on it. */
const char *ternc_instance_last_error(const ternc_instance *inst);

/* The main() of a compiled executable: the `ternc run` contract
 * (--input NAME=PATH ... --output-dir DIR, --info, --bench N, --profile,
 * --threads N). Returns the process exit code. */
int ternc_main(const ternc_model *model, int argc, char **argv);

/* Loads the `bytes` of weights an executable carries after its ELF image (the trailer names their offset and
 * the build `id` they were written with): the dense part [0, sparse_offset) into huge pages (or mapped from the
 * file with TERNC_WEIGHTS=mmap), its address in *dense; the sparse part [sparse_offset, bytes), embedding tables
 * read a few rows at a time, mapped from the file, its address in *sparse. Called first by main() of
 * executables whose model has large constants; 0 on success, else prints why to stderr and returns 1. */
int ternc_weights_attach(const void **dense, const void **sparse, uint64_t id, uint64_t bytes,
                         uint64_t sparse_offset);

/* The main() of a compiled language model: generation from --prompt TEXT
 * or --tokens IDS, sampling, --bench, --perplexity (docs/runtime.md). */
int ternc_llm_main(const ternc_llm *llm, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* TERNC_RUNTIME_H */
