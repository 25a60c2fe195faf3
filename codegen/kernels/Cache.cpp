// Cache.cpp: the KV-cache state kernels (CacheUpdate, CacheRead; ir/ops/State.cpp). A cache is
// [outer, capacity, inner] (e.g. [1 * kv_heads, ctx, head_dim]) in f32, f16 or bf16; the graph's values are
// f32. Items are outer indices (heads), each a contiguous run of rows.
#include "KernelMath.h"
#include "Kernels.h"

namespace {
using namespace tk;

TK_INLINE float loadAs(const void *p, int64_t kind, int64_t i) {
  if (kind == 1) return halfToFloat(static_cast<const uint16_t *>(p)[i]);
  if (kind == 2) return bf16ToFloat(static_cast<const uint16_t *>(p)[i]);
  return static_cast<const float *>(p)[i];
}

TK_INLINE void storeAs(void *p, int64_t kind, int64_t i, float v) {
  if (kind == 1) static_cast<uint16_t *>(p)[i] = floatToHalf(v);
  else if (kind == 2) static_cast<uint16_t *>(p)[i] = floatToBF16(v);
  else static_cast<float *>(p)[i] = v;
}

/// rows x inner elements from src (row stride srcRows) at row srcAt to dst (row stride dstRows) at row dstAt,
/// for outer indices [begin, end).
TK_INLINE void copyRows(const void *src, int64_t srcKind, int64_t srcRows, int64_t srcAt, void *dst, int64_t dstKind,
                        int64_t dstRows, int64_t dstAt, int64_t rows, int64_t inner, int64_t begin, int64_t end) {
  for (int64_t o = begin; o < end; ++o) {
    int64_t s0 = (o * srcRows + srcAt) * inner, d0 = (o * dstRows + dstAt) * inner;
    if (srcKind == 0 && dstKind == 0) {
      const float *s = static_cast<const float *>(src) + s0;
      float *d = static_cast<float *>(dst) + d0;
      for (int64_t i = 0; i < rows * inner; ++i) d[i] = s[i];
      continue;
    }
    for (int64_t i = 0; i < rows * inner; ++i) storeAs(dst, dstKind, d0 + i, loadAs(src, srcKind, s0 + i));
  }
}

} // namespace

extern "C" {

int64_t tk_cache_update_items(const float *, void *, float *, int64_t outer, int64_t, int64_t, int64_t, int64_t,
                              int64_t) {
  return outer;
}
int64_t tk_cache_update_grain(const float *, void *, float *, int64_t, int64_t seq, int64_t inner, int64_t,
                              int64_t past, int64_t) {
  return maxI(1, 16384 / maxI(1, (past + 2 * seq) * inner));
}
void tk_cache_update(const float *src, void *state, float *out, int64_t outer, int64_t seq, int64_t inner,
                     int64_t capacity, int64_t past, int64_t kind, int64_t begin, int64_t end) {
  copyRows(src, 0, seq, 0, state, kind, capacity, past, seq, inner, begin, end);
  copyRows(state, kind, capacity, 0, out, 0, past + seq, 0, past + seq, inner, begin, end);
}

int64_t tk_cache_write_items(const float *, void *, int64_t outer, int64_t, int64_t, int64_t, int64_t, int64_t) {
  return outer;
}
int64_t tk_cache_write_grain(const float *, void *, int64_t, int64_t seq, int64_t inner, int64_t, int64_t, int64_t) {
  return maxI(1, 16384 / maxI(1, seq * inner));
}
void tk_cache_write(const float *src, void *state, int64_t outer, int64_t seq, int64_t inner, int64_t capacity,
                    int64_t past, int64_t kind, int64_t begin, int64_t end) {
  copyRows(src, 0, seq, 0, state, kind, capacity, past, seq, inner, begin, end);
}

int64_t tk_cache_write_rope_items(const float *, void *, const float *, const float *, int64_t, int64_t, int64_t,
                                  int64_t, int64_t heads, int64_t, int64_t, int64_t, int64_t, int64_t) {
  return heads;
}
int64_t tk_cache_write_rope_grain(const float *, void *, const float *, const float *, int64_t, int64_t, int64_t,
                                  int64_t, int64_t, int64_t seq, int64_t D, int64_t, int64_t, int64_t) {
  return maxI(1, 8192 / maxI(1, seq * D));
}
void tk_cache_write_rope(const float *src, void *state, const float *cos, const float *sin, int64_t csh, int64_t css,
                         int64_t ssh, int64_t sss, int64_t heads, int64_t seq, int64_t D, int64_t capacity,
                         int64_t past, int64_t kind, int64_t begin, int64_t end) {
  (void)heads;
  float row[512];
  for (int64_t h = begin; h < end; ++h)
    for (int64_t s = 0; s < seq; ++s) {
      float *dst = kind == 0 ? static_cast<float *>(state) + (h * capacity + past + s) * D : row;
      ropeRow(src + (h * seq + s) * D, cos + h * csh + s * css, sin + h * ssh + s * sss, dst, D);
      if (kind != 0)
        for (int64_t d = 0; d < D; ++d) storeAs(state, kind, (h * capacity + past + s) * D + d, row[d]);
    }
}

int64_t tk_cache_read_items(const void *, float *, int64_t outer, int64_t, int64_t, int64_t, int64_t) { return outer; }
int64_t tk_cache_read_grain(const void *, float *, int64_t, int64_t inner, int64_t, int64_t past, int64_t) {
  return maxI(1, 16384 / maxI(1, past * inner));
}
void tk_cache_read(const void *state, float *out, int64_t outer, int64_t inner, int64_t capacity, int64_t past,
                   int64_t kind, int64_t begin, int64_t end) {
  copyRows(state, kind, capacity, 0, out, 0, past, 0, past, inner, begin, end);
}

} // extern "C"
