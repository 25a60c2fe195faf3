// TerncKernels: the table of BitLinear variants and their threaded calls.
#include "TerncKernels.h"

#include "targets/x86-avx2/kernels/BitLinear.h"

#include <cstring>

namespace ternc::bench {

namespace {

bool hasVnni512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni");
}

bool hasVnni256() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
}

} // namespace

const std::vector<TerncKernel> &terncKernels() {
  static const std::vector<TerncKernel> kernels = {
      {"tern2b64_vnni512", "tern2b64", hasVnni512(), tk_bitlinear_tern2b64_vnni512_items, tk_bitlinear_tern2b64_vnni512,
       tk_ternary_dot_tern2b64_vnni512_items, tk_ternary_dot_tern2b64_vnni512},
      {"tern2b32_vnni256", "tern2b32", hasVnni256(), tk_bitlinear_tern2b32_vnni256_items, tk_bitlinear_tern2b32_vnni256,
       tk_ternary_dot_tern2b32_vnni256_items, tk_ternary_dot_tern2b32_vnni256},
      {"tern2b32_avx2", "tern2b32", __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"),
       tk_bitlinear_tern2b32_avx2_items, tk_bitlinear_tern2b32_avx2, tk_ternary_dot_tern2b32_avx2_items,
       tk_ternary_dot_tern2b32_avx2},
  };
  return kernels;
}

const TerncKernel *findTerncKernel(const char *name) {
  for (const TerncKernel &k : terncKernels())
    if (std::strcmp(k.name, name) == 0)
      return &k;
  return nullptr;
}

void bitLinear(const TerncKernel &kernel, ThreadPool &pool, int threads, const int8_t *q, const float *s,
               const uint8_t *w, const float *wscale, float *y, int64_t M, int64_t N, int64_t K, int64_t group,
               int64_t tiled) {
  // Per tensor: sRow 0, group K; per row and group: sRow K / group, or the tiled layout's negative sRow
  // (targets/BitLinearKernel.h). act 0 (none); dequantMul 0 (y = D / s, s = 127 / absmax).
  int64_t sRow = group > 0 ? (tiled ? tiled : K / group) : 0, g = group > 0 ? group : K;
  int64_t items = kernel.items(q, s, w, wscale, nullptr, nullptr, nullptr, nullptr, nullptr, y, M, N, K, sRow, g, 0, 0);
  pool.split(threads, items, [&](int64_t begin, int64_t end) {
    kernel.run(q, s, w, wscale, nullptr, nullptr, nullptr, nullptr, nullptr, y, M, N, K, sRow, g, 0, 0, begin, end);
  });
}

void ternaryDot(const TerncKernel &kernel, ThreadPool &pool, int threads, const int8_t *q, const uint8_t *w,
                int32_t *out, int64_t M, int64_t N, int64_t K) {
  int64_t items = kernel.dotItems(q, w, out, M, N, K);
  pool.split(threads, items, [&](int64_t begin, int64_t end) { kernel.dot(q, w, out, M, N, K, begin, end); });
}

} // namespace ternc::bench
