// AttentionKernelTest: tk_attention_f32 (compiled natively) against softmax(q k^T * scale + mask) v computed in
// double here, with rotate-half RoPE applied to q in double. Cases cross the kernel's blocking: caches of 1 to
// 300 positions (one, several and partial chunks of positions), head groups of 1, 12 and 20 query heads per
// key head (under, at and over one block of heads), f32, f16 and bf16 caches, masks with -inf and the lowest
// float (a fully masked chunk of positions; a fully masked row), a NaN reaching the output, and the items run
// in any order and split.
#include "codegen/kernels/Kernels.h"
#include "ir/Tensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

namespace {

struct Case {
  int64_t H = 24, KVH = 2, S = 1, T = 64, D = 64, cap = 0;
  int kind = 0;        // 0 f32, 1 f16, 2 bf16 cache
  int maskKind = 0;    // 0 none, 1 random -inf, 2 causal with -inf, 3 first 70 positions at the lowest float,
                       // 4 every position at -inf for head 0 (the kernel gives NaN: 0/0, as softmax does)
  bool rope = false;
  int mode = 2;        // 0 none, 1 divide, 2 multiply
};

uint16_t bf16Of(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return uint16_t((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

float bf16ToF32(uint16_t h) {
  uint32_t b = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &b, 4);
  return f;
}

struct Result {
  std::vector<float> out, ref;
};

Result run(const Case &c, uint32_t seed, bool shuffled) {
  int64_t cap = c.cap ? c.cap : c.T + 5;
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> q(size_t(c.H * c.S * c.D)), kf(size_t(c.KVH * cap * c.D)), vf(kf.size());
  // Queries scaled so that every scale mode gives scores of the same spread (a few units): f32 rounding of a
  // sharper softmax would need a looser bound than this test's.
  float qs = c.mode == 2 ? 1.0f : c.mode == 1 ? 1.0f / 64.0f : 1.0f / 8.0f;
  for (float &x : q) x = nd(rng) * qs;
  for (float &x : kf) x = nd(rng) * 2.0f;  // scores of several units: the running maximum moves
  for (float &x : vf) x = nd(rng);
  // The cache as stored, and the values the kernel sees after conversion.
  std::vector<uint16_t> kh(kf.size()), vh(vf.size());
  for (size_t i = 0; i < kf.size(); ++i) {
    if (c.kind == 1) {
      kh[i] = ternc::floatToHalf(kf[i]);
      vh[i] = ternc::floatToHalf(vf[i]);
      kf[i] = ternc::halfToFloat(kh[i]);
      vf[i] = ternc::halfToFloat(vh[i]);
    } else if (c.kind == 2) {
      kh[i] = bf16Of(kf[i]);
      vh[i] = bf16Of(vf[i]);
      kf[i] = bf16ToF32(kh[i]);
      vf[i] = bf16ToF32(vh[i]);
    }
  }
  // Mask [H, S, T]; RoPE tables [S, D] shared by the heads (stride 0 over heads).
  const float ninf = -std::numeric_limits<float>::infinity(), lowest = std::numeric_limits<float>::lowest();
  std::vector<float> mask;
  if (c.maskKind) {
    mask.assign(size_t(c.H * c.S * c.T), 0.0f);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int64_t h = 0; h < c.H; ++h)
      for (int64_t s = 0; s < c.S; ++s)
        for (int64_t t = 0; t < c.T; ++t) {
          float &m = mask[size_t((h * c.S + s) * c.T + t)];
          if (c.maskKind == 1) m = u(rng) < 0.3f ? ninf : 0.0f;
          if (c.maskKind == 2) m = t > c.T - c.S + s ? ninf : 0.0f;
          if (c.maskKind == 3) m = t < 70 ? lowest : 0.0f;
          if (c.maskKind == 4) m = h == 0 ? ninf : 0.0f;
        }
  }
  std::vector<float> cosT, sinT;
  if (c.rope) {
    for (int64_t s = 0; s < c.S; ++s)
      for (int64_t d = 0; d < c.D; ++d) {
        double a = double(s + 3) / std::pow(10000.0, double(2 * (d % (c.D / 2))) / double(c.D));
        cosT.push_back(float(std::cos(a)));
        sinT.push_back(float(std::sin(a)));
      }
  }
  float scale = 0.125f;
  Result r;
  r.out.assign(q.size(), -7.0f);
  const void *K = c.kind ? static_cast<const void *>(kh.data()) : kf.data();
  const void *V = c.kind ? static_cast<const void *>(vh.data()) : vf.data();
  const float *mp = c.maskKind ? mask.data() : nullptr;
  const float *cp = c.rope ? cosT.data() : nullptr, *sp = c.rope ? sinT.data() : nullptr;
  auto args = [&](auto fn, auto... extra) {
    return fn(q.data(), K, V, c.kind, mp, c.S * c.T, c.T, 1, cp, sp, 0, c.D, 0, c.D, r.out.data(), c.H, c.KVH, c.S,
              c.T, c.D, cap, scale, c.mode, extra...);
  };
  int64_t items = args(tk_attention_f32_items);
  EXPECT_EQ(items, c.KVH * c.S);
  EXPECT_GE(args(tk_attention_f32_grain), 1);
  if (shuffled) {
    std::vector<int64_t> order(static_cast<size_t>(items));
    for (int64_t i = 0; i < items; ++i) order[size_t(i)] = i;
    std::shuffle(order.begin(), order.end(), rng);
    for (int64_t i : order) args(tk_attention_f32, i, i + 1);
  } else {
    args(tk_attention_f32, int64_t(0), items);
  }

  // Reference in double.
  r.ref.assign(q.size(), 0.0f);
  int64_t G = c.H / c.KVH;
  for (int64_t h = 0; h < c.H; ++h)
    for (int64_t s = 0; s < c.S; ++s) {
      const float *qr = &q[size_t((h * c.S + s) * c.D)];
      std::vector<double> qd(size_t(c.D));
      for (int64_t d = 0; d < c.D; ++d) {
        if (!c.rope) {
          qd[size_t(d)] = qr[d];
          continue;
        }
        int64_t half = c.D / 2;
        double rot = d < half ? -double(qr[d + half]) : double(qr[d - half]);
        qd[size_t(d)] = double(qr[d]) * cosT[size_t(s * c.D + d)] + rot * sinT[size_t(s * c.D + d)];
      }
      int64_t g = h / G;
      std::vector<double> sc(size_t(c.T));
      double mx = -INFINITY;
      for (int64_t t = 0; t < c.T; ++t) {
        double dot = 0;
        for (int64_t d = 0; d < c.D; ++d) dot += qd[size_t(d)] * kf[size_t((g * cap + t) * c.D + d)];
        if (c.mode == 1) dot /= scale;
        if (c.mode == 2) dot *= scale;
        if (c.maskKind) dot += mask[size_t((h * c.S + s) * c.T + t)];
        sc[size_t(t)] = dot;
        mx = std::max(mx, dot);
      }
      double sum = 0;
      for (double &x : sc) sum += (x = std::exp(x - mx));
      for (int64_t d = 0; d < c.D; ++d) {
        double o = 0;
        for (int64_t t = 0; t < c.T; ++t) o += sc[size_t(t)] * vf[size_t((g * cap + t) * c.D + d)];
        r.ref[size_t((h * c.S + s) * c.D + d)] = float(o / sum);
      }
    }
  return r;
}

void expectClose(const Case &c, const Result &r) {
  for (size_t i = 0; i < r.ref.size(); ++i) {
    if (std::isnan(r.ref[i])) {
      EXPECT_TRUE(std::isnan(r.out[i])) << "element " << i;
      continue;
    }
    ASSERT_NEAR(r.out[i], r.ref[i], 2e-5f * (1.0f + std::fabs(r.ref[i])))
        << "element " << i << " (H " << c.H << " KVH " << c.KVH << " S " << c.S << " T " << c.T << " kind " << c.kind
        << " mask " << c.maskKind << ")";
  }
}

TEST(AttentionKernel, MatchesSoftmaxInDoubleAcrossChunksAndHeadBlocks) {
  uint32_t seed = 1;
  for (int64_t T : {1, 2, 63, 64, 65, 130, 300})
    for (auto [H, KVH] : {std::pair<int64_t, int64_t>{24, 2}, {4, 4}, {40, 2}, {20, 5}}) {
      Case c;
      c.H = H;
      c.KVH = KVH;
      c.T = T;
      expectClose(c, run(c, seed++, false));
    }
}

TEST(AttentionKernel, CacheDtypesRopeAndScaleModes) {
  uint32_t seed = 100;
  for (int kind : {0, 1, 2})
    for (bool rope : {false, true})
      for (int mode : {0, 1, 2}) {
        Case c;
        c.T = 97;
        c.D = 128;
        c.kind = kind;
        c.rope = rope;
        c.mode = mode;
        expectClose(c, run(c, seed++, true));
      }
}

TEST(AttentionKernel, MasksPrefillRowsAndFullyMaskedChunks) {
  uint32_t seed = 200;
  for (int maskKind : {1, 2, 3})
    for (int64_t S : {1, 5}) {
      Case c;
      c.S = S;
      c.T = 150;
      c.maskKind = maskKind;
      c.rope = true;
      expectClose(c, run(c, seed++, true));
    }
}

TEST(AttentionKernel, FullyMaskedRowAndNaNReachTheOutput) {
  Case c;
  c.T = 80;
  c.maskKind = 4;  // head 0 sees only -inf: 0 / 0
  Result r = run(c, 300, false);
  for (int64_t d = 0; d < c.D; ++d) EXPECT_TRUE(std::isnan(r.out[size_t(d)])) << d;
  expectClose(c, r);

  // A NaN query element makes its head's scores NaN, and its output NaN.
  Case n;
  n.T = 70;
  Result base = run(n, 301, false);
  for (float v : base.out) ASSERT_FALSE(std::isnan(v));
  // Rerun with a NaN in head 3's query row through the kernel directly.
  std::vector<float> q(size_t(n.H * n.D), 0.5f), k(size_t(n.KVH * n.T * n.D), 0.25f), v(k.size(), 1.0f);
  q[size_t(3 * n.D + 5)] = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> out(q.size(), 0.0f);
  tk_attention_f32(q.data(), k.data(), v.data(), 0, nullptr, 0, 0, 0, nullptr, nullptr, 0, 0, 0, 0, out.data(), n.H,
                   n.KVH, 1, n.T, n.D, n.T, 0.125f, 2, 0, n.KVH);
  for (int64_t h = 0; h < n.H; ++h)
    for (int64_t d = 0; d < n.D; ++d) {
      float o = out[size_t(h * n.D + d)];
      if (h == 3) EXPECT_TRUE(std::isnan(o)) << d;
      else EXPECT_FLOAT_EQ(o, 1.0f) << h << " " << d;
    }
}

} // namespace
