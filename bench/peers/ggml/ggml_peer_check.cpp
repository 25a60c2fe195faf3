// ggml_peer_check: checks llama.cpp's TQ2_0/TQ1_0 kernels against a float reference and times them on decode shapes.
#include "GgmlPeer.h"

#include "ir/Error.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

using ternc::bench::GgmlPacked;
using ternc::bench::GgmlPeer;
using ternc::bench::GgmlTernaryFormat;
using ternc::bench::ggmlFormatName;

namespace {

struct Shape {
  const char *model;
  const char *name;
  int64_t n; // weight rows (outputs)
  int64_t k; // reduction
};

const Shape kDecodeShapes[] = {
    {"BitNet-2B4T", "q/o", 2560, 2560},      {"BitNet-2B4T", "k/v", 640, 2560},
    {"BitNet-2B4T", "gate/up", 6912, 2560},  {"BitNet-2B4T", "down", 2560, 6912},
    {"BitCPM-8B", "attn", 4096, 4096},       {"BitCPM-8B", "gate/up", 16384, 4096},
    {"BitCPM-8B", "down", 4096, 16384},
};

constexpr int64_t kQ8KBlockBytes = 292;

/// Ternary weights {-1, 0, 1} times `scale`, with at least one nonzero per 256
/// block so the block's absmax scale is exactly `scale`.
std::vector<float> randomTernary(std::mt19937 &rng, int64_t n, int64_t k, float scale) {
  std::uniform_int_distribution<int> tern(-1, 1);
  std::vector<float> w(static_cast<size_t>(n * k));
  for (auto &v : w)
    v = static_cast<float>(tern(rng)) * scale;
  for (size_t b = 0; b < w.size(); b += 256)
    w[b] = scale;
  return w;
}

std::vector<float> randomActivations(std::mt19937 &rng, int64_t count) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(count));
  for (auto &v : x)
    v = normal(rng);
  return x;
}

/// The activations as the kernel sees them: d * q per Q8_K block (float d at
/// offset 0, 256 int8 at offset 4; the peer checked the 292-byte block size).
std::vector<float> dequantizeQ8K(const GgmlPacked &act) {
  std::vector<float> x(static_cast<size_t>(act.rows * act.cols));
  for (int64_t r = 0; r < act.rows; ++r)
    for (int64_t b = 0; b < act.cols / 256; ++b) {
      const uint8_t *block = act.row(r) + b * kQ8KBlockBytes;
      float d;
      std::memcpy(&d, block, sizeof d);
      const auto *q = reinterpret_cast<const int8_t *>(block + 4);
      for (int i = 0; i < 256; ++i)
        x[static_cast<size_t>(r * act.cols + b * 256 + i)] = d * static_cast<float>(q[i]);
    }
  return x;
}

std::vector<double> referenceGemv(const std::vector<float> &w, const float *x, int64_t n,
                                  int64_t k) {
  std::vector<double> y(static_cast<size_t>(n));
  for (int64_t r = 0; r < n; ++r) {
    double acc = 0;
    for (int64_t i = 0; i < k; ++i)
      acc += static_cast<double>(w[static_cast<size_t>(r * k + i)]) * x[i];
    y[static_cast<size_t>(r)] = acc;
  }
  return y;
}

/// Max |got - want| relative to max |want| (rows whose dot is near zero make a
/// per-element ratio meaningless).
double maxRelError(const float *got, const std::vector<double> &want) {
  double maxErr = 0, maxRef = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    maxErr = std::max(maxErr, std::abs(static_cast<double>(got[i]) - want[i]));
    maxRef = std::max(maxRef, std::abs(want[i]));
  }
  return maxErr / maxRef;
}

bool checkCorrectness(GgmlPeer &peer) {
  constexpr int64_t n = 2560, k = 2560;
  std::mt19937 rng(42);
  // 0.046875 = 3/64 is exact in fp16, so weight quantization is lossless and
  // the kernel-vs-dequantized comparison isolates the kernel arithmetic.
  std::vector<float> w = randomTernary(rng, n, k, 0.046875f);
  std::vector<float> x = randomActivations(rng, k);
  std::vector<double> ref = referenceGemv(w, x.data(), n, k);
  GgmlPacked act = peer.quantizeActivations(x.data(), 1, k);
  std::vector<double> refQ = referenceGemv(w, dequantizeQ8K(act).data(), n, k);

  bool ok = true;
  fmt::print("correctness, N=K=2560, ternary x 0.046875, x ~ N(0,1):\n");
  for (auto format : {GgmlTernaryFormat::TQ2_0, GgmlTernaryFormat::TQ1_0}) {
    GgmlPacked packed = peer.quantizeWeights(format, w.data(), n, k);
    for (int threads : {1, 2}) {
      std::vector<float> y(static_cast<size_t>(n));
      peer.gemv(format, packed, act, y.data(), threads);
      double errFloat = maxRelError(y.data(), ref);
      double errQ = maxRelError(y.data(), refQ);
      // Q8_K rounds x to 8 bits per 256-block: ~0.4% of the block absmax per
      // value, averaging out over K; the kernel itself must match refQ to
      // float rounding.
      bool pass = errFloat < 2e-2 && errQ < 1e-5;
      ok &= pass;
      fmt::print("  {} gemv {}t: max rel err vs float ref {:.3e}, vs Q8_K-dequantized ref {:.3e}"
                 "  {}\n",
                 ggmlFormatName(format), threads, errFloat, errQ, pass ? "ok" : "FAIL");
    }
    // ggml_mul_mat graph, M = 4: each column must equal the gemv of that row.
    constexpr int64_t m = 4;
    std::vector<float> xs = randomActivations(rng, m * k);
    std::copy(x.begin(), x.end(), xs.begin());
    std::vector<float> ys(static_cast<size_t>(m * n));
    peer.matmul(format, packed, xs.data(), m, ys.data(), 2);
    GgmlPacked acts = peer.quantizeActivations(xs.data(), m, k);
    double worst = 0;
    for (int64_t j = 0; j < m; ++j) {
      GgmlPacked one = peer.quantizeActivations(xs.data() + j * k, 1, k);
      std::vector<float> y(static_cast<size_t>(n));
      peer.gemv(format, packed, one, y.data(), 1);
      for (int64_t r = 0; r < n; ++r)
        worst = std::max<double>(worst, std::abs(y[r] - ys[static_cast<size_t>(j * n + r)]));
    }
    double refScale = 0;
    for (double v : ref)
      refScale = std::max(refScale, std::abs(v));
    bool pass = worst / refScale < 1e-6;
    ok &= pass;
    fmt::print("  {} ggml_mul_mat M=4 vs per-row gemv: max rel diff {:.3e}  {}\n",
               ggmlFormatName(format), worst / refScale, pass ? "ok" : "FAIL");
  }
  return ok;
}

double seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Median over `rounds` passes of the per-call time of `call(i)` for i over
/// all matrices, after one warm-up pass.
template <typename Call> double medianPerCall(int64_t count, int rounds, const Call &call) {
  for (int64_t i = 0; i < count; ++i)
    call(i);
  std::vector<double> perCall;
  for (int r = 0; r < rounds; ++r) {
    double t0 = seconds();
    for (int64_t i = 0; i < count; ++i)
      call(i);
    perCall.push_back((seconds() - t0) / static_cast<double>(count));
  }
  std::sort(perCall.begin(), perCall.end());
  return perCall[perCall.size() / 2];
}

struct Options {
  std::string libDir;
  double minMiB = 256;
  int rounds = 5;
  int gemmM = 128;
  bool skipGemm = false;
  std::vector<std::string> formats{"tq2_0", "tq1_0"};
  std::vector<std::string> shapes; // "NxK"; empty = all decode shapes
};

void benchmark(GgmlPeer &peer, const Options &opt) {
  std::mt19937 rng(7);
  fmt::print("\nGEMV timings (>= {} MiB of distinct packed weights per shape, median of {} "
             "passes; GB/s = packed weight bytes / time):\n",
             opt.minMiB, opt.rounds);
  fmt::print("{:<12} {:<8} {:>6} {:>6} {:<6} {:>5} | {:>9} {:>7} {:>9} {:>7} | {:>9} {:>7} {:>9} "
             "{:>7}\n",
             "model", "matrix", "N", "K", "format", "mats", "vd 1t ms", "GB/s", "vd 2t ms", "GB/s",
             "mm 1t ms", "GB/s", "mm 2t ms", "GB/s");
  struct GemmRow {
    std::string label;
    double ms[2];
    double gops[2];
  };
  std::vector<GemmRow> gemmRows;
  for (const Shape &s : kDecodeShapes) {
    if (!opt.shapes.empty() &&
        std::find(opt.shapes.begin(), opt.shapes.end(), fmt::format("{}x{}", s.n, s.k)) ==
            opt.shapes.end())
      continue;
    std::vector<float> w = randomTernary(rng, s.n, s.k, 0.0371f);
    std::vector<float> x = randomActivations(rng, s.k * std::max(1, opt.gemmM));
    for (const std::string &fname : opt.formats) {
      GgmlTernaryFormat format =
          fname == "tq1_0" ? GgmlTernaryFormat::TQ1_0 : GgmlTernaryFormat::TQ2_0;
      GgmlPacked first = peer.quantizeWeights(format, w.data(), s.n, s.k);
      auto count = static_cast<int64_t>(
          std::ceil(opt.minMiB * 1024 * 1024 / static_cast<double>(first.bytes())));
      count = std::max<int64_t>(count, 2);
      // Copies of one quantized matrix: the kernels' speed does not depend on
      // the values, only on the bytes being distinct memory (out of cache).
      std::vector<GgmlPacked> mats{first};
      for (int64_t i = 1; i < count; ++i) {
        GgmlPacked copy = first;
        copy.storage = std::shared_ptr<uint8_t>(
            static_cast<uint8_t *>(std::aligned_alloc(64, (first.bytes() + 63) / 64 * 64)),
            [](uint8_t *p) { std::free(p); });
        std::memcpy(copy.data(), first.data(), first.bytes());
        mats.push_back(copy);
      }
      GgmlPacked act = peer.quantizeActivations(x.data(), 1, s.k);
      std::vector<float> y(static_cast<size_t>(s.n) * std::max(1, opt.gemmM));
      double gb = static_cast<double>(first.bytes()) / 1e9;
      double ms[4];
      for (int t = 1; t <= 2; ++t) {
        ms[t - 1] = 1e3 * medianPerCall(count, opt.rounds, [&](int64_t i) {
          peer.gemv(format, mats[static_cast<size_t>(i)], act, y.data(), t);
        });
        ms[t + 1] = 1e3 * medianPerCall(count, opt.rounds, [&](int64_t i) {
          peer.matmul(format, mats[static_cast<size_t>(i)], x.data(), 1, y.data(), t);
        });
      }
      fmt::print("{:<12} {:<8} {:>6} {:>6} {:<6} {:>5} | {:>9.4f} {:>7.2f} {:>9.4f} {:>7.2f} | "
                 "{:>9.4f} {:>7.2f} {:>9.4f} {:>7.2f}\n",
                 s.model, s.name, s.n, s.k, fname, count, ms[0], gb / (ms[0] / 1e3), ms[1],
                 gb / (ms[1] / 1e3), ms[2], gb / (ms[2] / 1e3), ms[3], gb / (ms[3] / 1e3));
      std::fflush(stdout);

      if (!opt.skipGemm && opt.gemmM > 1) {
        GemmRow row{fmt::format("{:<12} {:<8} {:>6} {:>6} {:<6}", s.model, s.name, s.n, s.k,
                                fname),
                    {0, 0},
                    {0, 0}};
        int64_t gemmMats = std::min<int64_t>(count, 3);
        double ops = 2.0 * static_cast<double>(opt.gemmM) * static_cast<double>(s.n * s.k);
        for (int t = 1; t <= 2; ++t) {
          double sec = medianPerCall(gemmMats, 3, [&](int64_t i) {
            peer.matmul(format, mats[static_cast<size_t>(i)], x.data(), opt.gemmM, y.data(), t);
          });
          row.ms[t - 1] = sec * 1e3;
          row.gops[t - 1] = ops / sec / 1e9;
        }
        gemmRows.push_back(row);
      }
      peer.releaseMatmulPlans();
    }
  }
  if (gemmRows.empty())
    return;
  fmt::print("\nGEMM via ggml_mul_mat, M = {} (X f32 -> Q8_K inside the op), median of 3 passes:\n",
             opt.gemmM);
  fmt::print("{:<12} {:<8} {:>6} {:>6} {:<6} | {:>9} {:>8} | {:>9} {:>8}\n", "model", "matrix", "N",
             "K", "format", "1t ms", "GOP/s", "2t ms", "GOP/s");
  for (const auto &row : gemmRows)
    fmt::print("{} | {:>9.3f} {:>8.1f} | {:>9.3f} {:>8.1f}\n", row.label, row.ms[0], row.gops[0],
               row.ms[1], row.gops[1]);
}

} // namespace

int main(int argc, char **argv) {
  Options opt;
  bool checkOnly = false;
  CLI::App app{"Checks and times llama.cpp's ternary kernels (TQ2_0 / TQ1_0) as a ternc peer"};
  app.add_option("--lib-dir", opt.libDir,
                 "folder with libggml-base.so and libggml-cpu-*.so (default: $TERNC_GGML_DIR, "
                 "else the npm install next to the sources)");
  app.add_option("--min-mib", opt.minMiB, "packed weight MiB per shape, to defeat the caches");
  app.add_option("--rounds", opt.rounds, "timed passes over all matrices (median is reported)");
  app.add_option("--gemm-m", opt.gemmM, "activation rows for the GEMM timing");
  app.add_option("--formats", opt.formats, "formats to time: tq2_0 tq1_0")
      ->check(CLI::IsMember({"tq2_0", "tq1_0"}));
  app.add_option("--shapes", opt.shapes, "shapes to time as NxK, e.g. 2560x6912 (default: all)");
  app.add_flag("--skip-gemm", opt.skipGemm, "time only GEMV");
  app.add_flag("--check-only", checkOnly, "run the correctness check and stop");
  CLI11_PARSE(app, argc, argv);

  try {
    if (opt.libDir.empty() && !std::getenv("TERNC_GGML_DIR"))
      opt.libDir = TERNC_GGML_DEFAULT_DIR;
    GgmlPeer peer(opt.libDir);
    fmt::print("ggml {}; CPU variant scores:", peer.version());
    for (const auto &[name, score] : peer.variantScores())
      fmt::print(" {}={}", name, score);
    fmt::print("\nusing {}; block bytes tq2_0={} tq1_0={}\n\n", peer.cpuVariant(),
               peer.blockBytes(GgmlTernaryFormat::TQ2_0), peer.blockBytes(GgmlTernaryFormat::TQ1_0));
    bool ok = checkCorrectness(peer);
    if (!ok) {
      fmt::print("correctness check FAILED\n");
      return 1;
    }
    if (!checkOnly)
      benchmark(peer, opt);
  } catch (const ternc::Error &e) {
    fmt::print(stderr, "ggml_peer_check: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
