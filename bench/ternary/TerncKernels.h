// TerncKernels: ternc's x86 ternary kernels (targets/x86-avx2/kernels/BitLinear.h) as the benchmark calls them,
// items split into contiguous shares over the bench's thread pool.
#pragma once

#include "ThreadPool.h"

#include <cstdint>
#include <vector>

namespace ternc::bench {

/// One instruction-set variant of BitLinear and of the integer-only dot, with the packed layout it reads.
struct TerncKernel {
  const char *name;   ///< e.g. "tern2b64_vnni512"
  const char *layout; ///< "tern2b32" or "tern2b64" (ir/TernaryPacking.h)
  bool supported;     ///< this CPU has the instructions
  int64_t (*items)(const int8_t *, const float *, const uint8_t *, const float *, const float *, const uint8_t *,
                   const float *, const float *, const float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t,
                   int64_t, int64_t);
  void (*run)(const int8_t *, const float *, const uint8_t *, const float *, const float *, const uint8_t *,
              const float *, const float *, const float *, float *, int64_t, int64_t, int64_t, int64_t, int64_t,
              int64_t, int64_t, int64_t, int64_t);
  int64_t (*dotItems)(const int8_t *, const uint8_t *, int32_t *, int64_t, int64_t, int64_t);
  void (*dot)(const int8_t *, const uint8_t *, int32_t *, int64_t, int64_t, int64_t, int64_t, int64_t);
};

/// Every variant: tern2b64_vnni512, tern2b32_vnni256, tern2b32_avx2.
const std::vector<TerncKernel> &terncKernels();
/// The variant named `name`, or null.
const TerncKernel *findTerncKernel(const char *name);

/// y[M, N] = (q[M, K] . t[N, K]^T) * scale / s[m]: BitLinear with no bias, no activation, no residual (the shape
/// of a BitNet projection), on `threads` threads of `pool`. group 0: one per-tensor scale, wscale[0]; otherwise
/// one per row and group of `group` weights (a multiple of 32 dividing K; group = K is per row): the scale of row
/// n, weights [G group, (G + 1) group), is wscale[n * (K / group) + G] (as BitCPM / TQ2_0 checkpoints with
/// group 256). `tiled` (with groups): 0 for that row-major layout, or TK_SCALES_TILED16_F32 / _F16 when wscale
/// holds the scales tiled by 16 rows (targets/BitLinearKernel.h), as ternc's x86 legalization stores them.
void bitLinear(const TerncKernel &kernel, ThreadPool &pool, int threads, const int8_t *q, const float *s,
               const uint8_t *w, const float *wscale, float *y, int64_t M, int64_t N, int64_t K, int64_t group,
               int64_t tiled = 0);

/// out[M, N] = q . t^T as exact int32, on `threads` threads of `pool`.
void ternaryDot(const TerncKernel &kernel, ThreadPool &pool, int threads, const int8_t *q, const uint8_t *w,
                int32_t *out, int64_t M, int64_t N, int64_t K);

} // namespace ternc::bench
