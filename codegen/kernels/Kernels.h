/* Kernels.h: the portable kernel library that codegen links into every
 * model for CPU targets, and the contract between it and codegen.
 *
 * The kernels are written once in C++ (codegen/kernels/, one .cpp per family) and compiled
 * twice: to LLVM bitcode for each CPU target when ternc is built (codegen
 * links that bitcode into the model's module, calls the kernels with the
 * model's shapes as constants, and LLVM inlines, unrolls and vectorizes them
 * for the chosen CPU), and natively for the unit tests.
 *
 * Conventions, shared by every kernel so codegen can call them uniformly:
 *  - Names are `tk_<kernel>_<dtype>` with ternc's dtype names (f32, f64,
 *    f16, bf16, i8, u8, i16, u16, i32, u32, i64, u64). f16/bf16 data are
 *    uint16_t bit patterns; they compute in f32 and round to nearest even
 *    on store, exactly as ternc's interpreter converts (ir/Tensor.cpp).
 *  - A kernel's work is split into independent items so codegen can spread
 *    them over the thread pool: `void tk_K_dt(args..., int64_t begin,
 *    int64_t end)` does items [begin, end), and `int64_t tk_K_dt_items(args...)`
 *    (the same arguments without begin/end) says how many items there are.
 *    Items must write disjoint outputs and should be large enough (a row, a
 *    tile) that scheduling does not dominate. `tk_K_dt_grain(args...)` gives
 *    the minimum items per task.
 *  - Pointers first, then int64_t sizes and strides (in elements), then
 *    float parameters, then begin/end. No allocation, no globals, no
 *    exceptions, no libc calls other than the math functions below: the
 *    code must inline and specialize when codegen passes constants.
 *  - Scratch memory, if any, is on the stack and bounded (tiles). */
#ifndef TERNC_CODEGEN_KERNELS_H
#define TERNC_CODEGEN_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Scalar math, inlinable and vectorizable (no errno, no tables). ------
 * Accurate to a few ulp over the whole f32 range, with IEEE special cases
 * (inf, nan, overflow to inf, underflow to 0) matching libm. Codegen calls
 * these for the elementwise ops on f32 (and on f16/bf16 via f32). */
float tk_exp_f32(float x);
float tk_log_f32(float x);
float tk_tanh_f32(float x);
float tk_sigmoid_f32(float x);
float tk_erf_f32(float x);
float tk_sin_f32(float x);
float tk_cos_f32(float x);
/* f16 / bf16 conversions used by codegen for every f16/bf16 load and store
 * (round to nearest even, nan stays nan). */
float tk_f16_to_f32(uint16_t h);
uint16_t tk_f32_to_f16(float f);
float tk_bf16_to_f32(uint16_t h);
uint16_t tk_f32_to_bf16(float f);

/* ---- Matrix multiply: C = alpha * A @ B + beta * C ----------------------
 * A(m, k) is A[m*sam + k*sak]; B(k, n) is B[k*sbk + n*sbn]; C(m, n) is
 * C[m*ldc + n]. beta is 0 (C is only written; its old contents may be NaN)
 * or 1 (accumulate onto C, which codegen pre-filled with the bias).
 * dtypes: f32, f64, i32, i64, u32, u64 (integers wrap, alpha/beta ignored
 * except beta's 0/1 meaning). Codegen batches by calling per matrix. */
#define TK_GEMM(dt, T)                                                                                       \
  int64_t tk_gemm_##dt##_items(const T *A, int64_t sam, int64_t sak, const T *B, int64_t sbk, int64_t sbn,   \
                               T *C, int64_t ldc, int64_t M, int64_t N, int64_t K, float alpha, float beta); \
  int64_t tk_gemm_##dt##_grain(const T *A, int64_t sam, int64_t sak, const T *B, int64_t sbk, int64_t sbn,   \
                               T *C, int64_t ldc, int64_t M, int64_t N, int64_t K, float alpha, float beta); \
  void tk_gemm_##dt(const T *A, int64_t sam, int64_t sak, const T *B, int64_t sbk, int64_t sbn, T *C,        \
                    int64_t ldc, int64_t M, int64_t N, int64_t K, float alpha, float beta, int64_t begin,    \
                    int64_t end);
TK_GEMM(f32, float)
TK_GEMM(f64, double)
TK_GEMM(i32, int32_t)
TK_GEMM(i64, int64_t)
TK_GEMM(u32, uint32_t)
TK_GEMM(u64, uint64_t)
#undef TK_GEMM

/* MatMulInteger: C(m, n) = sum_k (A(m,k) - azp[m*sazp]) * (B(k,n) - bzp[n*sbzp])
 * as int32, A and B each u8 or i8 (dtype pair in the name: _u8u8, _u8i8,
 * _i8u8, _i8i8). Zero points: sazp/sbzp = 0 for per-tensor, 1 for per-row
 * (A) / per-column (B); a null zero point means 0. C is dense [M, N] with
 * leading dimension ldc. */
#define TK_MMI(an, at, bn, bt)                                                                              \
  int64_t tk_matmul_integer_##an##bn##_items(const at *A, int64_t sam, int64_t sak, const bt *B, int64_t sbk, \
                                             int64_t sbn, const at *azp, int64_t sazp, const bt *bzp,        \
                                             int64_t sbzp, int32_t *C, int64_t ldc, int64_t M, int64_t N,    \
                                             int64_t K);                                                     \
  int64_t tk_matmul_integer_##an##bn##_grain(const at *A, int64_t sam, int64_t sak, const bt *B, int64_t sbk, \
                                             int64_t sbn, const at *azp, int64_t sazp, const bt *bzp,        \
                                             int64_t sbzp, int32_t *C, int64_t ldc, int64_t M, int64_t N,    \
                                             int64_t K);                                                     \
  void tk_matmul_integer_##an##bn(const at *A, int64_t sam, int64_t sak, const bt *B, int64_t sbk,           \
                                  int64_t sbn, const at *azp, int64_t sazp, const bt *bzp, int64_t sbzp,     \
                                  int32_t *C, int64_t ldc, int64_t M, int64_t N, int64_t K, int64_t begin,   \
                                  int64_t end);
TK_MMI(u8, uint8_t, u8, uint8_t)
TK_MMI(u8, uint8_t, i8, int8_t)
TK_MMI(i8, int8_t, u8, uint8_t)
TK_MMI(i8, int8_t, i8, int8_t)
#undef TK_MMI

/* ---- Softmax / LogSoftmax over the middle axis of a dense [outer, n, inner]
 * tensor (ONNX opset 13 semantics: one axis). Numerically stable (subtract
 * the max). dtypes f32, f64, f16, bf16. x and y may not alias. */
#define TK_SOFTMAX(name, dt, T)                                                                     \
  int64_t tk_##name##_##dt##_items(const T *x, T *y, int64_t outer, int64_t n, int64_t inner);       \
  int64_t tk_##name##_##dt##_grain(const T *x, T *y, int64_t outer, int64_t n, int64_t inner);       \
  void tk_##name##_##dt(const T *x, T *y, int64_t outer, int64_t n, int64_t inner, int64_t begin, \
                        int64_t end);
#define TK_SOFTMAX_ALL(name)                                                                         \
  TK_SOFTMAX(name, f32, float) TK_SOFTMAX(name, f64, double) TK_SOFTMAX(name, f16, uint16_t)         \
  TK_SOFTMAX(name, bf16, uint16_t)
TK_SOFTMAX_ALL(softmax)
TK_SOFTMAX_ALL(logsoftmax)

/* ---- LayerNormalization over the last n elements of each of `outer` rows
 * of dense x: y = (x - mean) * invstd * scale + bias, invstd =
 * 1/sqrt(var + eps) with the population variance, computed in f32 (f64 for
 * f64). scale and bias are dense [n] (bias may be null). mean and invstd
 * (f32 [outer], f64 for f64; each may be null) receive the statistics.
 * For f16/bf16 the normalized value (x - mean) * invstd is rounded to the
 * dtype before scale and bias are applied, as ONNX's reference and ternc's
 * interpreter do. */
#define TK_LAYERNORM(dt, T, S)                                                                                  \
  int64_t tk_layernorm_##dt##_items(const T *x, const T *scale, const T *bias, T *y, S *mean, S *invstd,       \
                                    int64_t outer, int64_t n, float eps);                                      \
  int64_t tk_layernorm_##dt##_grain(const T *x, const T *scale, const T *bias, T *y, S *mean, S *invstd,       \
                                    int64_t outer, int64_t n, float eps);                                      \
  void tk_layernorm_##dt(const T *x, const T *scale, const T *bias, T *y, S *mean, S *invstd, int64_t outer,   \
                         int64_t n, float eps, int64_t begin, int64_t end);
TK_LAYERNORM(f32, float, float)
TK_LAYERNORM(f64, double, double)
TK_LAYERNORM(f16, uint16_t, float)
TK_LAYERNORM(bf16, uint16_t, float)
#undef TK_LAYERNORM

/* ---- Reductions over the middle axis of a dense [outer, r, inner] tensor
 * into dense y[outer, inner]: sum, mean, max, min. r may be 0 (sum/mean
 * give 0 and NaN as the interpreter does; max/min give the identity the
 * interpreter gives: -inf/+inf for floats, the type's lowest/highest for
 * integers). max/min propagate NaN. Floats accumulate in f32 (f64 for f64)
 * with several partial sums so the loop vectorizes; integers wrap.
 * dtypes: f32, f64, f16, bf16, i8, u8, i16, u16, i32, u32, i64, u64. */
#define TK_REDUCE(name, dt, T)                                                                      \
  int64_t tk_reduce_##name##_##dt##_items(const T *x, T *y, int64_t outer, int64_t r, int64_t inner); \
  int64_t tk_reduce_##name##_##dt##_grain(const T *x, T *y, int64_t outer, int64_t r, int64_t inner); \
  void tk_reduce_##name##_##dt(const T *x, T *y, int64_t outer, int64_t r, int64_t inner, int64_t begin, \
                               int64_t end);
#define TK_REDUCE_ALL(name)                                                                             \
  TK_REDUCE(name, f32, float) TK_REDUCE(name, f64, double) TK_REDUCE(name, f16, uint16_t)               \
  TK_REDUCE(name, bf16, uint16_t) TK_REDUCE(name, i8, int8_t) TK_REDUCE(name, u8, uint8_t)              \
  TK_REDUCE(name, i16, int16_t) TK_REDUCE(name, u16, uint16_t) TK_REDUCE(name, i32, int32_t)            \
  TK_REDUCE(name, u32, uint32_t) TK_REDUCE(name, i64, int64_t) TK_REDUCE(name, u64, uint64_t)
TK_REDUCE_ALL(sum)
TK_REDUCE_ALL(mean)
TK_REDUCE_ALL(max)
TK_REDUCE_ALL(min)


/* ---- Ternary core (docs/ternary.md) --------------------------------------
 * ActQuant: for each of `rows` rows of dense x[rows, K]: an optional norm,
 * then per-token absmax int8 quantization, with exactly the float steps of
 * ternc's interpreter (ir/ops/Ternary.cpp: sums of squares and means in
 * double, every other step a correctly rounded f32 operation; rint to
 * nearest even; NaN quantizes to 0; clamp to [-128, 127]).
 *   norm: 0 none, 1 "rms" (x * (1/sqrt(ms + normEps))), 2 "rms-div"
 *         (x / sqrt(ms + normEps)), 3 "layer" (LayerNorm, f32 stash);
 *         nscale [K] (may be null unless norm is 3), nbias [K] (layer only,
 *         may be null).
 *   scaleMode: 0 s = 127/m', 1 s = f32(1/m') * 127, 2 s = m'/127 (then
 *         q = x / s instead of x * s); m' = max(m, eps) or, when epsAdd,
 *         m + eps, m = max |x| of the (normalized) row.
 * Writes q[rows, K] and s[rows]. Items are rows. */
int64_t tk_actquant_f32_items(const float *x, const float *nscale, const float *nbias, int8_t *q, float *s,
                              int64_t rows, int64_t K, int64_t norm, int64_t scaleMode, int64_t epsAdd, float eps,
                              float normEps);
int64_t tk_actquant_f32_grain(const float *x, const float *nscale, const float *nbias, int8_t *q, float *s,
                              int64_t rows, int64_t K, int64_t norm, int64_t scaleMode, int64_t epsAdd, float eps,
                              float normEps);
void tk_actquant_f32(const float *x, const float *nscale, const float *nbias, int8_t *q, float *s, int64_t rows,
                     int64_t K, int64_t norm, int64_t scaleMode, int64_t epsAdd, float eps, float normEps,
                     int64_t begin, int64_t end);

/* TernaryMatMul with float activations: y[m, n] = sum_k x[m, k] * t[n, k] *
 * scale[n * sRow + k / group] for dense x[M, K], plain ternary t[N, K]
 * (int8 -1/0/+1), y[M, N]. Per tensor: sRow = 0, group = K; per row:
 * sRow = 1, group = K; per group of g: sRow = K / g, group = g. Sums in
 * f32 (order unspecified). Items are blocks of output columns n. */
int64_t tk_ternary_matmul_f32_items(const float *x, const int8_t *t, const float *scale, float *y, int64_t M,
                                    int64_t N, int64_t K, int64_t sRow, int64_t group);
int64_t tk_ternary_matmul_f32_grain(const float *x, const int8_t *t, const float *scale, float *y, int64_t M,
                                    int64_t N, int64_t K, int64_t sRow, int64_t group);
void tk_ternary_matmul_f32(const float *x, const int8_t *t, const float *scale, float *y, int64_t M, int64_t N,
                           int64_t K, int64_t sRow, int64_t group, int64_t begin, int64_t end);

/* The int8 LM head (quantize-head, passes/QuantizeHead.h): y[m, n] = scale[n] * sum_k x[m, k] * q[n, k] for
 * dense x[M, K] f32, q[N, K] int8 (any value; quantize-head writes -127..127), scale[N], y[M, N]. Sums in f32
 * (order unspecified), then one multiply by the column's scale. Items are blocks of 64 output columns. */
int64_t tk_head_int8_f32_items(const float *x, const int8_t *q, const float *scale, float *y, int64_t M, int64_t N,
                               int64_t K);
int64_t tk_head_int8_f32_grain(const float *x, const int8_t *q, const float *scale, float *y, int64_t M, int64_t N,
                               int64_t K);
void tk_head_int8_f32(const float *x, const int8_t *q, const float *scale, float *y, int64_t M, int64_t N, int64_t K,
                      int64_t begin, int64_t end);

/* KV-cache state (ir/ops/State.cpp). A cache is [outer, capacity, inner] of `kind` 0 f32, 1 f16, 2 bf16.
 * tk_cache_update writes src [outer, seq, inner] at rows [past, past+seq) and copies rows [0, past+seq) to
 * out [outer, past+seq, inner]; tk_cache_read copies rows [0, past) to out. Items are outer indices. */
int64_t tk_cache_update_items(const float *src, void *state, float *out, int64_t outer, int64_t seq, int64_t inner,
                              int64_t capacity, int64_t past, int64_t kind);
int64_t tk_cache_update_grain(const float *src, void *state, float *out, int64_t outer, int64_t seq, int64_t inner,
                              int64_t capacity, int64_t past, int64_t kind);
void tk_cache_update(const float *src, void *state, float *out, int64_t outer, int64_t seq, int64_t inner,
                     int64_t capacity, int64_t past, int64_t kind, int64_t begin, int64_t end);
int64_t tk_cache_read_items(const void *state, float *out, int64_t outer, int64_t inner, int64_t capacity,
                            int64_t past, int64_t kind);
int64_t tk_cache_read_grain(const void *state, float *out, int64_t outer, int64_t inner, int64_t capacity,
                            int64_t past, int64_t kind);
void tk_cache_read(const void *state, float *out, int64_t outer, int64_t inner, int64_t capacity, int64_t past,
                   int64_t kind, int64_t begin, int64_t end);
/* tk_cache_write: tk_cache_update's write alone (CacheWrite). */
int64_t tk_cache_write_items(const float *src, void *state, int64_t outer, int64_t seq, int64_t inner,
                             int64_t capacity, int64_t past, int64_t kind);
int64_t tk_cache_write_grain(const float *src, void *state, int64_t outer, int64_t seq, int64_t inner,
                             int64_t capacity, int64_t past, int64_t kind);
void tk_cache_write(const float *src, void *state, int64_t outer, int64_t seq, int64_t inner, int64_t capacity,
                    int64_t past, int64_t kind, int64_t begin, int64_t end);

/* tk_cache_write_rope: CacheWrite with RoPE (rotate-half) of src [heads, seq, D] rows into the cache [heads, cap,
 * D] at [past, past+seq); cos and sin are read at h * csh + s * css (+ d), h * ssh + s * sss. D <= 512. Items are
 * heads. */
int64_t tk_cache_write_rope_items(const float *src, void *state, const float *cos, const float *sin, int64_t csh,
                                  int64_t css, int64_t ssh, int64_t sss, int64_t heads, int64_t seq, int64_t D,
                                  int64_t capacity, int64_t past, int64_t kind);
int64_t tk_cache_write_rope_grain(const float *src, void *state, const float *cos, const float *sin, int64_t csh,
                                  int64_t css, int64_t ssh, int64_t sss, int64_t heads, int64_t seq, int64_t D,
                                  int64_t capacity, int64_t past, int64_t kind);
void tk_cache_write_rope(const float *src, void *state, const float *cos, const float *sin, int64_t csh, int64_t css,
                         int64_t ssh, int64_t sss, int64_t heads, int64_t seq, int64_t D, int64_t capacity,
                         int64_t past, int64_t kind, int64_t begin, int64_t end);

/* Attention (ir/ops/State.cpp): out[1, H, S, D] = softmax(q k^T (scaled) + mask) v over cache rows [0, T) of
 * K and V ([1, KVH, cap, D] of `kind` as above), query head h reading head h / (H / KVH). mode: 0 none, 1 divide
 * by scale, 2 multiply by scale. mask (may be null) is read at h * msh + s * mss + t * mst. cos and sin (null:
 * no RoPE) rotate each query row first (rotate-half), read at h * csh + s * css and h * ssh + s * sss. D <= 512.
 * Items are key/value heads times query rows; summation orders are unspecified (online softmax, in f32). */
int64_t tk_attention_f32_items(const float *q, const void *K, const void *V, int64_t kind, const float *mask,
                               int64_t msh, int64_t mss, int64_t mst, const float *cos, const float *sin, int64_t csh,
                               int64_t css, int64_t ssh, int64_t sss, float *out, int64_t H, int64_t KVH, int64_t S,
                               int64_t T, int64_t D, int64_t cap, float scale, int64_t mode);
int64_t tk_attention_f32_grain(const float *q, const void *K, const void *V, int64_t kind, const float *mask,
                               int64_t msh, int64_t mss, int64_t mst, const float *cos, const float *sin, int64_t csh,
                               int64_t css, int64_t ssh, int64_t sss, float *out, int64_t H, int64_t KVH, int64_t S,
                               int64_t T, int64_t D, int64_t cap, float scale, int64_t mode);
void tk_attention_f32(const float *q, const void *K, const void *V, int64_t kind, const float *mask, int64_t msh,
                      int64_t mss, int64_t mst, const float *cos, const float *sin, int64_t csh, int64_t css,
                      int64_t ssh, int64_t sss, float *out, int64_t H, int64_t KVH, int64_t S, int64_t T, int64_t D,
                      int64_t cap, float scale, int64_t mode, int64_t begin, int64_t end);

#ifdef __cplusplus
}
#endif

#endif /* TERNC_CODEGEN_KERNELS_H */
