// GgmlPeer: llama.cpp's ternary CPU kernels (TQ2_0 / TQ1_0), loaded with dlopen, as a benchmark peer.
//
// The libraries come from the npm package @node-llama-cpp/linux-x64@3.22.1
// (ggml 0.25.1, llama.cpp commit 0ad4a86). Nothing from llama.cpp is linked
// into ternc: this wrapper resolves the handful of C entry points it needs at
// run time and checks the block layouts against the library's own type traits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ternc::bench {

/// The weight formats the peer can run.
enum class GgmlTernaryFormat { TQ2_0, TQ1_0 };

/// Returns "tq2_0" or "tq1_0".
const char *ggmlFormatName(GgmlTernaryFormat format);

/// One quantized matrix (weights, [N, K] row-major) or activation block set,
/// stored 64-byte aligned so ggml can also use it as a tensor buffer in place.
struct GgmlPacked {
  int64_t rows = 0;        ///< N (weight rows) or M (activation rows).
  int64_t cols = 0;        ///< K, the reduction length (a multiple of 256).
  size_t rowBytes = 0;     ///< Packed bytes of one row.
  std::shared_ptr<uint8_t> storage; ///< rows * rowBytes bytes, 64-byte aligned.

  uint8_t *data() const { return storage.get(); }
  size_t bytes() const { return static_cast<size_t>(rows) * rowBytes; }
  const uint8_t *row(int64_t r) const { return data() + static_cast<size_t>(r) * rowBytes; }
};

/// The llama.cpp CPU kernels behind one dlopen'ed libggml-base.so plus the
/// best-scoring libggml-cpu-<isa>.so of the same folder.
class GgmlPeer {
public:
  /// Loads the libraries from `libDir`; when empty, from env TERNC_GGML_DIR.
  /// The CPU variant is the one whose ggml_backend_score() is highest on this
  /// machine, unless env TERNC_GGML_CPU_VARIANT names one (e.g. "haswell").
  /// Fails (ternc::Error) when a library or symbol is missing or when the
  /// library's type traits disagree with the block layouts assumed here.
  explicit GgmlPeer(const std::string &libDir = "");
  ~GgmlPeer();
  GgmlPeer(const GgmlPeer &) = delete;
  GgmlPeer &operator=(const GgmlPeer &) = delete;

  /// ggml's version and commit strings, e.g. "0.25.1 (0ad4a86)".
  std::string version() const;
  /// File name of the CPU variant library in use, e.g. "libggml-cpu-zen4.so".
  const std::string &cpuVariant() const;
  /// Scores of every CPU variant found (name, ggml_backend_score), 0 = unusable.
  const std::vector<std::pair<std::string, int>> &variantScores() const;

  /// Bytes per 256-weight block as reported by the library.
  size_t blockBytes(GgmlTernaryFormat format) const;

  /// Quantizes a float [rows, cols] matrix with quantize_row_tq{1,2}_0_ref.
  /// Values should already be ternary times a per-block scale: the format
  /// keeps one fp16 scale per 256 weights (absmax of the block).
  GgmlPacked quantizeWeights(GgmlTernaryFormat format, const float *src, int64_t rows,
                             int64_t cols) const;
  /// Quantizes float activations [rows, cols] to Q8_K with the CPU library's
  /// quantize_row_q8_K (the path ggml's matmul uses).
  GgmlPacked quantizeActivations(const float *src, int64_t rows, int64_t cols) const;

  /// y[N] = W[N,K] . x[K] by calling ggml_vec_dot_tq*_q8_K once per weight row,
  /// rows split into `threads` contiguous chunks on a persistent worker pool.
  void gemv(GgmlTernaryFormat format, const GgmlPacked &weights, const GgmlPacked &act,
            float *y, int threads);

  /// A ggml_mul_mat graph on the CPU backend: Y[M,N] = X[M,K] . W[N,K]^T, with
  /// X in f32 (ggml quantizes it to Q8_K inside the op, as in inference).
  /// The weights are used in place (no copy); plans are cached per shape.
  void matmul(GgmlTernaryFormat format, const GgmlPacked &weights, const float *x, int64_t m,
              float *y, int threads);

  /// Frees the cached matmul graphs and the references they hold on weights.
  void releaseMatmulPlans();

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace ternc::bench
