// MatMulInteger.cpp: tk_matmul_integer_{u8,i8}{u8,i8}, int32 C = (A - azp) @ (B - bzp) (GemmCore.h's tiling;
// the zero points are subtracted as A is broadcast and B is packed, products wrap in 32 bits).
#include "GemmCore.h"
#include "Kernels.h"

namespace {
template <typename TA, typename TB> using MmiOf = tk::Gemm<TA, TB, int32_t, uint32_t, true>;
} // namespace

#define TK_MMI_DEFINE(an, TA, bn, TB)                                                                          \
  int64_t tk_matmul_integer_##an##bn##_items(const TA *A, int64_t sam, int64_t sak, const TB *B, int64_t sbk,  \
                                             int64_t sbn, const TA *azp, int64_t sazp, const TB *bzp,         \
                                             int64_t sbzp, int32_t *C, int64_t ldc, int64_t M, int64_t N,     \
                                             int64_t K) {                                                     \
    return MmiOf<TA, TB>::items(M, N, K, sak, sbk, sbn);                                                       \
  }                                                                                                            \
  int64_t tk_matmul_integer_##an##bn##_grain(const TA *A, int64_t sam, int64_t sak, const TB *B, int64_t sbk,  \
                                             int64_t sbn, const TA *azp, int64_t sazp, const TB *bzp,         \
                                             int64_t sbzp, int32_t *C, int64_t ldc, int64_t M, int64_t N,     \
                                             int64_t K) {                                                     \
    return MmiOf<TA, TB>::grain(M, N, K, sak, sbk, sbn);                                                       \
  }                                                                                                            \
  void tk_matmul_integer_##an##bn(const TA *A, int64_t sam, int64_t sak, const TB *B, int64_t sbk, int64_t sbn, \
                                  const TA *azp, int64_t sazp, const TB *bzp, int64_t sbzp, int32_t *C,        \
                                  int64_t ldc, int64_t M, int64_t N, int64_t K, int64_t begin, int64_t end) {  \
    MmiOf<TA, TB>::run({A, sam, sak, azp, sazp}, {B, sbk, sbn, bzp, sbzp}, {C, ldc, 1u, 0.0f}, M, N, K, begin,  \
                       end);                                                                                   \
  }

extern "C" {
TK_MMI_DEFINE(u8, uint8_t, u8, uint8_t)
TK_MMI_DEFINE(u8, uint8_t, i8, int8_t)
TK_MMI_DEFINE(i8, int8_t, u8, uint8_t)
TK_MMI_DEFINE(i8, int8_t, i8, int8_t)
} // extern "C"
