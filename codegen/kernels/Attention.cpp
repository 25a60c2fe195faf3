// Attention.cpp: tk_attention_f32, the fused attention over the KV cache (ir/ops/State.cpp, Attention). Each
// item is one key/value head and one query row: the g = H / KVH query heads that share the key/value head read
// each cached key and value row once (at decode, one pass over the cache per head group), with an online
// softmax by chunks of positions (a chunk's scores, their maximum, the accumulator rescaled when the maximum
// grows, then the chunk's weights in one vector pass), so no more than a chunk of scores is stored.
#include "KernelMath.h"
#include "Kernels.h"

namespace {
using namespace tk;

constexpr int64_t kHeadBlock = 16;    // query heads per pass over the cache (MiniCPM4's 12 share one key head)
constexpr int64_t kChunk = 64;        // cached positions whose scores are computed before their softmax step
constexpr int64_t kMaxHeadDim = 512;  // fuse-attention fuses head_dim <= this

/// A cache row as f32: the row itself for an f32 cache, else converted into `buf`. The dtype is tested outside
/// the loops so that each conversion loop vectorizes (with the test inside, LLVM kept the f16 conversion scalar,
/// and it took about 60% of the kernel's time at decode with an f16 cache: perf annotate on BitNet-2B4T).
TK_INLINE const float *cacheRow(const void *p, int64_t kind, int64_t at, int64_t D, float *buf) {
  if (kind == 0) return static_cast<const float *>(p) + at;
  const uint16_t *h = static_cast<const uint16_t *>(p) + at;
  if (kind == 1)
    for (int64_t d = 0; d < D; ++d) buf[d] = halfToFloat(h[d]);
  else
    for (int64_t d = 0; d < D; ++d) buf[d] = bf16ToFloat(h[d]);
  return buf;
}

TK_INLINE float dot(const float *a, const float *b, int64_t n) {
  TK_REASSOCIATE
  float s = 0;
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

/// The largest of x[0, n), or NaN if one is NaN (so that a NaN score reaches the output, as in the reference);
/// -inf if all are -inf.
TK_INLINE float chunkMax(const float *x, int64_t n) {
  float m = -__builtin_inff();
  for (int64_t i = 0; i < n; ++i) m = (x[i] > m || x[i] != x[i]) ? x[i] : m;
  return m;
}

/// x[i] = e^(x[i] - m) for i < n; returns their sum.
TK_INLINE float expInPlace(float *x, int64_t n, float m) {
  TK_REASSOCIATE
  float s = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = expF32(x[i] - m);
    s += x[i];
  }
  return s;
}

} // namespace

extern "C" {

int64_t tk_attention_f32_items(const float *, const void *, const void *, int64_t, const float *, int64_t, int64_t,
                               int64_t, const float *, const float *, int64_t, int64_t, int64_t, int64_t, float *,
                               int64_t, int64_t KVH, int64_t S, int64_t, int64_t, int64_t, float, int64_t) {
  return KVH * S;
}

int64_t tk_attention_f32_grain(const float *, const void *, const void *, int64_t, const float *, int64_t, int64_t,
                               int64_t, const float *, const float *, int64_t, int64_t, int64_t, int64_t, float *,
                               int64_t H, int64_t KVH, int64_t, int64_t T, int64_t D, int64_t, float, int64_t) {
  return maxI(1, 32768 / maxI(1, T * D * maxI(1, H / maxI(1, KVH))));
}

void tk_attention_f32(const float *q, const void *K, const void *V, int64_t kind, const float *mask, int64_t msh,
                      int64_t mss, int64_t mst, const float *cos, const float *sin, int64_t csh, int64_t css,
                      int64_t ssh, int64_t sss, float *out, int64_t H, int64_t KVH, int64_t S, int64_t T, int64_t D,
                      int64_t cap, float scale, int64_t mode, int64_t begin, int64_t end) {
  int64_t G = H / KVH;
  float kbuf[kMaxHeadDim], vbuf[kMaxHeadDim];
  float acc[kHeadBlock][kMaxHeadDim];
  float qrot[kHeadBlock][kMaxHeadDim];  // the block's query rows after RoPE
  float sc[kHeadBlock][kChunk];         // a chunk's scores, then their e^(score - max)
  const float *qrow[kHeadBlock];
  float mx[kHeadBlock], sum[kHeadBlock];
  bool live[kHeadBlock];  // the chunk has a score above -inf for this head
  for (int64_t item = begin; item < end; ++item) {
    int64_t g = item / S, s = item % S;
    for (int64_t j0 = 0; j0 < G; j0 += kHeadBlock) {
      int64_t nb = minI(kHeadBlock, G - j0);
      for (int64_t j = 0; j < nb; ++j) {
        mx[j] = -__builtin_inff();
        sum[j] = 0;
        for (int64_t d = 0; d < D; ++d) acc[j][d] = 0;
        int64_t h = g * G + j0 + j;
        qrow[j] = q + (h * S + s) * D;
        if (cos) {
          ropeRow(qrow[j], cos + h * csh + s * css, sin + h * ssh + s * sss, qrot[j], D);
          qrow[j] = qrot[j];
        }
      }
      for (int64_t t0 = 0; t0 < T; t0 += kChunk) {
        int64_t n = minI(kChunk, T - t0);
        // Scores: each cached key row is read (and converted) once for the block's heads.
        for (int64_t t = 0; t < n; ++t) {
          const float *k = cacheRow(K, kind, (g * cap + t0 + t) * D, D, kbuf);
          for (int64_t j = 0; j < nb; ++j) {
            int64_t h = g * G + j0 + j;
            float v = dot(qrow[j], k, D);
            if (mode == 1) v = v / scale;
            else if (mode == 2) v = v * scale;
            if (mask) v = v + mask[h * msh + s * mss + (t0 + t) * mst];
            sc[j][t] = v;
          }
        }
        // Online softmax by chunks: rescale what is accumulated when the chunk raises the maximum, then turn
        // the scores into weights in one vectorizable pass (expF32 of -inf, or of anything below -104, is 0).
        for (int64_t j = 0; j < nb; ++j) {
          float m = chunkMax(sc[j], n);
          live[j] = m != -__builtin_inff();  // a fully masked chunk adds nothing
          if (!live[j]) continue;
          if (m > mx[j]) {
            float corr = mx[j] == -__builtin_inff() ? 0.0f : expF32(mx[j] - m);
            sum[j] *= corr;
            for (int64_t d = 0; d < D; ++d) acc[j][d] *= corr;
            mx[j] = m;
          }
          sum[j] += expInPlace(sc[j], n, mx[j]);
        }
        for (int64_t t = 0; t < n; ++t) {
          const float *v = cacheRow(V, kind, (g * cap + t0 + t) * D, D, vbuf);
          for (int64_t j = 0; j < nb; ++j) {
            float pj = sc[j][t];
            if (!live[j] || pj == 0) continue;
            for (int64_t d = 0; d < D; ++d) acc[j][d] += pj * v[d];
          }
        }
      }
      for (int64_t j = 0; j < nb; ++j) {
        int64_t h = g * G + j0 + j;
        float inv = 1.0f / sum[j];
        float *o = out + (h * S + s) * D;
        for (int64_t d = 0; d < D; ++d) o[d] = acc[j][d] * inv;
      }
    }
  }
}

} // extern "C"
