// Gemm.cpp: tk_gemm_{f32,f64,i32,i64,u32,u64}, C = alpha * A @ B + beta * C (see GemmCore.h for the tiling).
#include "GemmCore.h"
#include "Kernels.h"

namespace {
template <typename T, typename Cp> using GemmOf = tk::Gemm<T, T, T, Cp, false>;
} // namespace

#define TK_GEMM_DEFINE(dt, T, Cp)                                                                              \
  int64_t tk_gemm_##dt##_items(const T *A, int64_t sam, int64_t sak, const T *B, int64_t sbk, int64_t sbn, T *C, \
                               int64_t ldc, int64_t M, int64_t N, int64_t K, float alpha, float beta) {          \
    return GemmOf<T, Cp>::items(M, N, K, sak, sbk, sbn);                                                         \
  }                                                                                                              \
  int64_t tk_gemm_##dt##_grain(const T *A, int64_t sam, int64_t sak, const T *B, int64_t sbk, int64_t sbn, T *C, \
                               int64_t ldc, int64_t M, int64_t N, int64_t K, float alpha, float beta) {          \
    return GemmOf<T, Cp>::grain(M, N, K, sak, sbk, sbn);                                                         \
  }                                                                                                              \
  void tk_gemm_##dt(const T *A, int64_t sam, int64_t sak, const T *B, int64_t sbk, int64_t sbn, T *C,            \
                    int64_t ldc, int64_t M, int64_t N, int64_t K, float alpha, float beta, int64_t begin,        \
                    int64_t end) {                                                                               \
    using G = GemmOf<T, Cp>;                                                                                     \
    G::run({A, sam, sak, nullptr, 0}, {B, sbk, sbn, nullptr, 0}, {C, ldc, Cp(alpha), beta}, M, N, K, begin, end); \
  }

extern "C" {
TK_GEMM_DEFINE(f32, float, float)
TK_GEMM_DEFINE(f64, double, double)
TK_GEMM_DEFINE(i32, int32_t, uint32_t)
TK_GEMM_DEFINE(i64, int64_t, uint64_t)
TK_GEMM_DEFINE(u32, uint32_t, uint32_t)
TK_GEMM_DEFINE(u64, uint64_t, uint64_t)
} // extern "C"
