// ternary_bench: ternc's x86 ternary kernels against llama.cpp's TQ2_0/TQ1_0 kernels and the machine's memory
// read bandwidth, in one process and one run, on 1 and 2 threads (bench/README.md, "Ternary kernels").
#include "GgmlPeer.h"
#include "LutKernels.h"
#include "MatrixSets.h"
#include "StreamRead.h"
#include "TernaryData.h"
#include "TerncKernels.h"
#include "ThreadPool.h"

#include "ir/Error.h"
#include "ir/TernaryPacking.h"
#include "targets/BitLinearKernel.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace ternc::bench {

namespace {

/// 3/64: exact in fp16, so TQ2_0/TQ1_0 (one fp16 absmax per 256 weights) store the same values as ternc. With
/// --group, the base of the group scales (times 2^-1, 2^0 or 2^1; still exact in fp16).
constexpr float kWeightScale = 0.046875f;
/// TQ2_0/TQ1_0 weights per block, each block with one fp16 scale.
constexpr int64_t kGgmlBlock = 256;
constexpr size_t kStreamBytes = size_t(1) << 30;
constexpr int kStreamReps = 5;
constexpr int kPoolThreads = 2;
constexpr double kMiB = 1024.0 * 1024.0;

struct Shape {
  const char *model;
  const char *matrix;
  int64_t n; ///< outputs (weight rows)
  int64_t k; ///< reduction
};

/// Decode shapes of the issue: weights [N, K], y[N] = W . x.
const Shape kShapes[] = {
    {"BitNet-2B4T", "q/o", 2560, 2560},  {"BitNet-2B4T", "k/v", 640, 2560}, {"BitNet-2B4T", "gate/up", 6912, 2560},
    {"BitNet-2B4T", "down", 2560, 6912}, {"BitCPM-8B", "attn", 4096, 4096}, {"BitCPM-8B", "gate/up", 16384, 4096},
    {"BitCPM-8B", "down", 4096, 16384},
};

struct Options {
  std::string libDir;
  double minMiB = 256;
  int gemvReps = 7;
  int gemmReps = 5;
  int gemmMats = 3;
  int64_t gemmM = 128;
  std::vector<int> threads{1, 2};
  std::vector<std::string> shapes;
  bool skipGgml = false;
  bool skipGemm = false;
  bool hot = false;
  bool lut = false;
  std::string tsv;
  /// --group: weight scales per row and group of this many weights (0: one per-tensor scale).
  int64_t group = 0;
  /// --scales: how the group scales are stored: "plain" (row-major f32 [N, K/G]), "tiled" (f32 tiled by 16
  /// rows) or "tiled-f16" (binary16 tiled by 16 rows), targets/BitLinearKernel.h.
  std::string scales = "plain";
  /// The ggml peer was skipped because --group is not a multiple of its 256-weight blocks.
  bool ggmlSkippedForGroup = false;
};

double seconds() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// Waits until no thread of this process burns CPU. Idle workers of all three pools (this bench's, GgmlPeer's
/// GEMV pool and ggml's own threadpool) poll for a while after their last job; with two cores, one library's
/// spinning workers would otherwise share a core with the next library's timed threads.
double quiescedSeconds = 0; ///< total time quiesce() waited, reported on stderr

void quiesce() {
  double t0 = seconds();
  struct Account {
    double t0;
    ~Account() { quiescedSeconds += seconds() - t0; }
  } account{t0};
  for (int i = 0; i < 400; ++i) {
    double c0 = cpuSeconds();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (cpuSeconds() - c0 < 0.5e-3)
      return;
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

/// One timed thing: a call on matrix i, and where its median seconds per call go.
struct Contestant {
  std::function<void(int64_t)> call;
  double *result;
};

/// Untimed calls before each timed round, at least this long.
constexpr double kWakeSeconds = 5e-3;

/// Times the contestants in rounds, each round running every contestant in turn (after quiesce() and untimed
/// calls that wake its threads), so a change in the machine's load during the run hits them all alike.
/// With `passes`, a round is a pass over all `count` matrices (each call reads weights no cache holds; time per
/// call = pass time / count); otherwise it is one call on matrix round % count. One untimed pass over all
/// matrices comes first (ggml builds a graph per matrix on first use). Stores the median over `reps` rounds.
void timeRounds(const std::vector<Contestant> &contestants, int64_t count, int reps, bool passes) {
  std::vector<std::vector<double>> times(contestants.size());
  for (int r = -1; r < reps; ++r)
    for (size_t c = 0; c < contestants.size(); ++c) {
      quiesce();
      const auto &call = contestants[c].call;
      if (r < 0) {
        for (int64_t i = 0; i < count; ++i)
          call(i);
        continue;
      }
      int64_t first = passes ? 0 : r % count, last = passes ? count : first + 1;
      // Wakes the contestant's sleeping threads (a futex wake-up costs milliseconds on this kind of VM), and
      // gives the scheduler a few milliseconds to move a woken thread off its waker's core, with untimed calls
      // on a matrix the timed calls reach last or not at all.
      for (double w0 = seconds(); seconds() - w0 < kWakeSeconds;)
        call(passes ? count - 1 : (first + 1) % count);
      double t0 = seconds();
      for (int64_t i = first; i < last; ++i)
        call(i);
      times[c].push_back((seconds() - t0) / static_cast<double>(last - first));
    }
  for (size_t c = 0; c < contestants.size(); ++c)
    *contestants[c].result = median(times[c]);
}

/// max |got - want| / max |want| (outputs near zero make per-element ratios meaningless).
template <typename A, typename B> double maxRelDiff(const A *got, const B *want, size_t count) {
  double err = 0, ref = 0;
  for (size_t i = 0; i < count; ++i) {
    err = std::max(err, std::abs(static_cast<double>(got[i]) - static_cast<double>(want[i])));
    ref = std::max(ref, std::abs(static_cast<double>(want[i])));
  }
  return err / ref;
}

double geomean(const std::vector<double> &v) {
  double s = 0;
  for (double x : v)
    s += std::log(x);
  return std::exp(s / static_cast<double>(v.size()));
}

/// The 1-minute load average: other processes' demand for the two cores while the bench ran.
double loadAverage() {
  std::ifstream in("/proc/loadavg");
  double load = -1;
  in >> load;
  return load;
}

std::string cpuName() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0)
      return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

struct GemvRow {
  const Shape *shape;
  int threads;
  int64_t mats;
  double matBytes;           ///< bytes one call reads: packed ternc weights (+ scales with --group)
  double ternc[2];           ///< primary, reference kernel (seconds per call; 0 = not run)
  double hot = 0;            ///< primary kernel on one matrix over and over (in cache), with --hot
  double perTensor = 0;      ///< --group: primary kernel on the same weights with one per-tensor scale
  double vecDot[2] = {0, 0}; ///< ggml TQ2_0, TQ1_0 via GgmlPeer::gemv (row-by-row vec_dot)
  double matmul[2] = {0, 0}; ///< ... via GgmlPeer::matmul (ggml_mul_mat graph, M = 1)
};

struct GemmRow {
  const Shape *shape;
  int threads;
  double ternc[2];      ///< primary, reference kernel
  double terncActQuant; ///< primary kernel after ActQuant of the f32 activations, timed together
  double ggml[2] = {0, 0};
};

/// --lut: the lookup-table GEMVs (LutKernels.h) against ternc's primary kernel's integer-only dot, same run.
struct LutRow {
  const Shape *shape;
  int threads;
  double terncBytes;                ///< packed tern2b64 bytes of one matrix
  int64_t terncMats;                ///< matrices the from-memory calls rotate through
  double terncMem = 0, terncHot = 0; ///< ternaryDot seconds per call, from memory / one matrix in cache
  std::vector<double> bytes;        ///< per LUT kernel: packed bytes of one matrix
  std::vector<int64_t> mats;        ///< ... matrices rotated through
  std::vector<double> mem, hot;     ///< ... seconds per call
  std::vector<double> build;        ///< ... building its tables alone, 1 thread, seconds per call (1-thread row)
};

struct CheckRow {
  const Shape *shape;
  int dotKernels = 0;      ///< kernels whose integer dots matched the scalar reference exactly
  double bitLinearUlp = 0; ///< worst BitLinear float output vs the exact integer result, in f32 ulps
  double terncVsFloat = 0; ///< primary GEMV vs the f32 x . (t * scale) in double
  double ggmlVsFloat[2] = {0, 0};
  double gemmVsGgml = 0; ///< primary GEMM (M rows) vs ggml TQ2_0 GEMM on the same weights and x
};

class Bench {
public:
  explicit Bench(const Options &opt) : opt_(opt) {}
  void run(const std::string &command);

private:
  void allocate(const std::vector<const Shape *> &shapes);
  void runShape(const Shape &s);
  void runLut(const Shape &s, const std::vector<int8_t> &t, const std::vector<int8_t> &q);
  int64_t lutCopiesFor(const LutFormat &f, const Shape &s) const;
  void check(const Shape &s, const std::vector<int8_t> &t, const std::vector<float> &x, const std::vector<int8_t> &q,
             const std::vector<float> &sq, const std::vector<uint8_t *> &w64, const std::vector<uint8_t *> &w32,
             const std::vector<GgmlPacked> *tq);
  void streamBandwidth(double (&out)[kPoolThreads]);
  double poolOverhead();
  void report(const std::string &command, double elapsed) const;
  void reportLut(const double (&stream)[kPoolThreads]) const;

  int64_t copiesFor(const Shape &s) const;
  const std::vector<uint8_t *> &weightsFor(const TerncKernel &k) const { return k.layout[6] == '6' ? w64_ : w32_; }
  /// Scale groups per weight row (1 per tensor).
  int64_t groupsFor(const Shape &s) const { return opt_.group ? s.k / opt_.group : 1; }
  /// Bytes of one copy's scales: N x K/G f32 with --group; the per-tensor scale is one float that stays in cache.
  size_t scaleBytesFor(const Shape &s) const {
    if (!opt_.group)
      return 0;
    if (opt_.scales != "plain") // tiles pad N to whole 16-row items; binary16 adds a 64-byte header
      return static_cast<size_t>(findScaleTiling(opt_.scales == "tiled-f16" ? "scales16h" : "scales16")
                                     ->bytes(s.n, groupsFor(s)));
    return static_cast<size_t>(s.n * groupsFor(s)) * sizeof(float);
  }
  /// The kernels' sRow code for --scales (0: row-major, K / G).
  int64_t tiledCode() const {
    return opt_.scales == "tiled" ? TK_SCALES_TILED16_F32 : opt_.scales == "tiled-f16" ? TK_SCALES_TILED16_F16 : 0;
  }
  /// The scales that go with weight copy j (of either layout: the values do not depend on the packing).
  const float *scalesFor(int64_t j) const { return opt_.group ? scales_[static_cast<size_t>(j)] : &kWeightScale; }

  Options opt_;
  ThreadPool pool_{kPoolThreads};
  std::unique_ptr<GgmlPeer> peer_;
  const TerncKernel *primary_ = nullptr;
  const TerncKernel *reference_ = nullptr;
  std::shared_ptr<Arena> stream_, tern64_, tern32_, tqArena_[2], scaleArena_;
  std::vector<uint8_t *> w64_, w32_;
  /// --group: copy j's scales [N, K/G], one array per copy (in scaleArena_), so each call streams its own
  /// scales from memory as it does its weights; a scale array shared by all copies would sit in cache.
  std::vector<float *> scales_;
  /// --group: copy 0's scales row-major [N, K/G] (the checks' reference, whatever --scales stores).
  std::vector<float> scales0_;
  double streamStart_[kPoolThreads] = {0, 0}, streamEnd_[kPoolThreads] = {0, 0};
  double poolUs_ = 0;
  double loadStart_ = 0, loadEnd_ = 0;
  std::vector<GemvRow> gemv_;
  std::vector<GemmRow> gemm_;
  std::vector<CheckRow> checks_;
  std::vector<const LutKernel *> lutKernels_; ///< supported LUT kernels (--lut)
  std::vector<const LutFormat *> lutFormats_; ///< their distinct formats, each with an arena
  std::vector<std::shared_ptr<Arena>> lutArenas_;
  LutWorkspace lutWs_;
  std::vector<LutRow> lut_;
  std::deque<Shape> otherShapes_;        ///< --shapes not among kShapes (stable addresses)
  std::vector<std::string> lutChecked_; ///< shapes whose LUT outputs were checked exactly
};

int64_t Bench::lutCopiesFor(const LutFormat &f, const Shape &s) const {
  auto bytes = static_cast<double>(f.bytes(s.n, s.k));
  return std::max<int64_t>(2, static_cast<int64_t>(std::ceil(opt_.minMiB * kMiB / bytes)));
}

int64_t Bench::copiesFor(const Shape &s) const {
  auto bytes = static_cast<double>(findTernaryLayout("tern2b64")->bytes(s.n, s.k));
  return std::max<int64_t>(2, static_cast<int64_t>(std::ceil(opt_.minMiB * kMiB / bytes)));
}

void Bench::allocate(const std::vector<const Shape *> &shapes) {
  size_t t64 = 0, t32 = 0, tq[2] = {0, 0}, sc = 0;
  for (const Shape *s : shapes) {
    int64_t count = copiesFor(*s);
    t64 = std::max(t64, replicatedBytes(findTernaryLayout("tern2b64")->bytes(s->n, s->k), count));
    t32 = std::max(t32, replicatedBytes(findTernaryLayout("tern2b32")->bytes(s->n, s->k), count));
    if (opt_.group)
      sc = std::max(sc, replicatedBytes(scaleBytesFor(*s), count));
    if (peer_)
      for (int f = 0; f < 2; ++f)
        tq[f] = std::max(tq[f], replicatedBytes(s->n * s->k / 256 * peer_->blockBytes(GgmlTernaryFormat(f)), count));
  }
  if (opt_.lut) {
    for (const LutKernel &kernel : lutKernels())
      if (kernel.supported) {
        lutKernels_.push_back(&kernel);
        if (std::find(lutFormats_.begin(), lutFormats_.end(), kernel.format) == lutFormats_.end())
          lutFormats_.push_back(kernel.format);
      }
    for (const LutFormat *f : lutFormats_) {
      size_t bytes = 0;
      for (const Shape *s : shapes)
        bytes = std::max(bytes, replicatedBytes(static_cast<size_t>(f->bytes(s->n, s->k)), lutCopiesFor(*f, *s)));
      lutArenas_.push_back(std::make_shared<Arena>(bytes));
    }
  }
  tern64_ = std::make_shared<Arena>(t64);
  tern32_ = std::make_shared<Arena>(t32);
  if (sc)
    scaleArena_ = std::make_shared<Arena>(sc);
  for (int f = 0; f < 2; ++f)
    if (tq[f])
      tqArena_[f] = std::make_shared<Arena>(tq[f]);
}

void Bench::streamBandwidth(double (&out)[kPoolThreads]) {
  for (int t = 1; t <= kPoolThreads; ++t) {
    quiesce();
    out[t - 1] = readBandwidth(pool_, t, stream_->data(), kStreamBytes, kStreamReps);
  }
}

double Bench::poolOverhead() {
  quiesce();
  for (int i = 0; i < 1000; ++i)
    pool_.run(kPoolThreads, [](int) {});
  std::vector<double> times;
  for (int i = 0; i < 5000; ++i) {
    double t0 = seconds();
    pool_.run(kPoolThreads, [](int) {});
    times.push_back(seconds() - t0);
  }
  return median(times) * 1e6;
}

void Bench::check(const Shape &s, const std::vector<int8_t> &t, const std::vector<float> &x,
                  const std::vector<int8_t> &q, const std::vector<float> &sq, const std::vector<uint8_t *> &w64,
                  const std::vector<uint8_t *> &w32, const std::vector<GgmlPacked> *tq) {
  const int64_t n = s.n, k = s.k, m = opt_.gemmM;
  CheckRow row{&s};
  // Columns checked at M rows: the first and last item (16 columns) and a stride through the rest; at M = 1
  // every column.
  std::vector<int64_t> cols;
  for (int64_t c = 0; c < n; ++c)
    if (c < 16 || c >= n - 16 || c % 61 == 0)
      cols.push_back(c);
  // Copy 0's scales (the checks use copy 0): weight row c, scale group g.
  const int64_t groups = groupsFor(s), span = k / groups;
  const float *scale0 = scalesFor(0);
  auto scaleAt = [&](int64_t c, int64_t g) { return opt_.group ? scales0_[c * groups + g] : kWeightScale; };
  // The exact integer dot of q row r and weight row c, and D = the sum over scale groups of the group's exact
  // dot times its scale, in double: exact, as each product is (a dot below 2^22 times a 24-bit scale) and so is
  // their sum (scales at most 4x apart). Per tensor, D = dot * scale.
  struct Reference {
    int32_t dot = 0;
    double d = 0;
  };
  auto reference = [&](int64_t r, int64_t c) {
    Reference ref;
    for (int64_t g = 0; g < groups; ++g) {
      int32_t part = referenceDot(q.data() + r * k + g * span, t.data() + c * k + g * span, span);
      ref.dot += part;
      ref.d += static_cast<double>(part) * static_cast<double>(scaleAt(c, g));
    }
    return ref;
  };
  std::vector<Reference> ref1(static_cast<size_t>(n)), refM(static_cast<size_t>(m) * cols.size());
  for (int64_t c = 0; c < n; ++c)
    ref1[c] = reference(0, c);
  for (int64_t r = 0; r < m; ++r)
    for (size_t j = 0; j < cols.size(); ++j)
      refM[r * cols.size() + j] = reference(r, cols[j]);
  auto exact = [&](const Reference &ref, int64_t r) {
    return static_cast<float>(ref.d / static_cast<double>(sq[r]));
  };

  std::vector<int32_t> dots(static_cast<size_t>(m * n));
  std::vector<float> y(static_cast<size_t>(m * n)), yPrimary1(static_cast<size_t>(n)), yPrimaryM;
  for (const TerncKernel &kernel : terncKernels()) {
    if (!kernel.supported)
      continue;
    const uint8_t *w = (kernel.layout[6] == '6' ? w64 : w32)[0];
    for (int64_t rows : {int64_t(1), m}) {
      std::fill(dots.begin(), dots.end(), INT32_MIN);
      ternaryDot(kernel, pool_, kPoolThreads, q.data(), w, dots.data(), rows, n, k);
      std::fill(y.begin(), y.end(), std::nanf(""));
      bitLinear(kernel, pool_, kPoolThreads, q.data(), sq.data(), w, scale0, y.data(), rows, n, k, opt_.group, tiledCode());
      for (int64_t r = 0; r < rows; ++r)
        for (size_t j = 0; j < (rows == 1 ? static_cast<size_t>(n) : cols.size()); ++j) {
          int64_t c = rows == 1 ? static_cast<int64_t>(j) : cols[j];
          const Reference &want = rows == 1 ? ref1[c] : refM[r * cols.size() + j];
          int32_t got = dots[r * n + c];
          if (got != want.dot)
            fail("{} {}x{}: tk_ternary_dot_{} M={} row {} column {} is {}, the scalar reference says {}", s.model, n, k,
                 kernel.name, rows, r, c, got, want.dot);
          float e = exact(want, r), g = y[r * n + c];
          double ulp = std::abs(static_cast<double>(g) - e) /
                       std::max(static_cast<double>(std::nextafter(std::abs(e), INFINITY) - std::abs(e)), 1e-45);
          if (!(ulp <= 1.0))
            fail("{} {}x{}: tk_bitlinear_{} M={} y[{}, {}] = {}, the exact dot {} (scaled: {}) gives {} ({} ulp)",
                 s.model, n, k, kernel.name, rows, r, c, g, want.dot, want.d, e, ulp);
          row.bitLinearUlp = std::max(row.bitLinearUlp, ulp);
        }
      if (&kernel == primary_ && rows == 1)
        std::copy(y.begin(), y.begin() + n, yPrimary1.begin());
      if (&kernel == primary_ && rows == m)
        yPrimaryM = y;
    }
    ++row.dotKernels;
  }

  // Against the float computation both libraries approximate: y[c] = sum_k x[k] * t[c, k] * scale[c, k / span]
  // (the same grouped scales the ggml copies were quantized from).
  std::vector<double> yFloat(static_cast<size_t>(n));
  for (int64_t c = 0; c < n; ++c) {
    double sum = 0;
    for (int64_t g = 0; g < groups; ++g) {
      double acc = 0;
      for (int64_t i = g * span; i < (g + 1) * span; ++i)
        acc += static_cast<double>(x[i]) * t[c * k + i];
      sum += acc * scaleAt(c, g);
    }
    yFloat[c] = sum;
  }
  // ternc rounds x to 8 bits per row (absmax), llama.cpp per 256 values (Q8_K): about 1% of a typical output.
  constexpr double kTolerance = 2e-2;
  row.terncVsFloat = maxRelDiff(yPrimary1.data(), yFloat.data(), yFloat.size());
  if (!(row.terncVsFloat < kTolerance))
    fail("{} {}x{}: ternc GEMV differs from the float result by {:.3e} of its range", s.model, n, k, row.terncVsFloat);
  if (tq) {
    GgmlPacked act = peer_->quantizeActivations(x.data(), 1, k);
    for (int f = 0; f < 2; ++f) {
      auto format = GgmlTernaryFormat(f);
      peer_->gemv(format, tq[f][0], act, y.data(), kPoolThreads);
      row.ggmlVsFloat[f] = maxRelDiff(y.data(), yFloat.data(), yFloat.size());
      if (!(row.ggmlVsFloat[f] < kTolerance))
        fail("{} {}x{}: ggml {} GEMV differs from the float result by {:.3e} of its range", s.model, n, k,
             ggmlFormatName(format), row.ggmlVsFloat[f]);
    }
    peer_->matmul(GgmlTernaryFormat::TQ2_0, tq[0][0], x.data(), m, y.data(), kPoolThreads);
    row.gemmVsGgml = maxRelDiff(yPrimaryM.data(), y.data(), y.size());
    if (!(row.gemmVsGgml < 1.5 * kTolerance))
      fail("{} {}x{}: ternc and ggml TQ2_0 GEMM (M={}) differ by {:.3e} of the range", s.model, n, k, m,
           row.gemmVsGgml);
  }
  checks_.push_back(row);
}

void Bench::runShape(const Shape &s) {
  const int64_t n = s.n, k = s.k, m = opt_.gemmM;
  double t0 = seconds();
  std::vector<int8_t> t = randomTernary(0x7e57ull * 1000003 + static_cast<uint64_t>(n * 7919 + k), n, k);
  std::vector<float> x = randomNormal(static_cast<uint64_t>(n ^ (k << 20)), m * k);
  // The activations are quantized once; row 0 is the GEMV's x, all m rows the GEMM's.
  std::vector<int8_t> q(static_cast<size_t>(m * k));
  std::vector<float> sq(static_cast<size_t>(m));
  actQuant(x.data(), m, k, q.data(), sq.data());

  int64_t count = copiesFor(s);
  {
    std::vector<uint8_t> p64 = findTernaryLayout("tern2b64")->pack(t.data(), n, k);
    w64_ = replicate(*tern64_, p64.data(), p64.size(), count, {64, 64});
    std::vector<uint8_t> p32 = findTernaryLayout("tern2b32")->pack(t.data(), n, k);
    w32_ = replicate(*tern32_, p32.data(), p32.size(), count, {32, 32});
  }
  scales_.clear();
  if (opt_.group) {
    // Every copy draws its own scales (so no two copies' pages are equal either); copy 0's are checked.
    const size_t bytes = scaleBytesFor(s), stride = replicatedBytes(bytes, 1);
    const int64_t groups = groupsFor(s);
    for (int64_t j = 0; j < count; ++j) {
      std::vector<float> v = randomGroupScales(0x5ca1eull * 1000003 + static_cast<uint64_t>((n * 7919 + k) * 65537 + j),
                                               n, groups, kWeightScale);
      uint8_t *dst = scaleArena_->data() + static_cast<size_t>(j) * stride;
      if (opt_.scales == "plain") {
        std::memcpy(dst, v.data(), bytes);
      } else {
        // Tiled by 16 rows as ternc's x86 legalization stores them (ir/TernaryPacking.h), f32 or binary16 (the
        // scales, powers of two times 3/64, are exact in both).
        std::vector<uint8_t> tiled =
            findScaleTiling(opt_.scales == "tiled-f16" ? "scales16h" : "scales16")->tile(v.data(), n, groups);
        std::memcpy(dst, tiled.data(), tiled.size());
      }
      scales_.push_back(reinterpret_cast<float *>(dst));
      if (j == 0)
        scales0_ = std::move(v);
    }
  }
  std::vector<GgmlPacked> tq[2];
  if (peer_) {
    // Weight row c's values times copy 0's scales: with groups a multiple of 256 (the peer is skipped otherwise)
    // every TQ block lies in one group, its absmax is that group's scale (weight 0 of each block is +1), exact in
    // fp16, so TQ2_0/TQ1_0 hold exactly ternc's weights and scales. Their copies share these block scales.
    const int64_t span = k / groupsFor(s);
    std::vector<float> wf(t.size());
    for (int64_t c = 0; c < n; ++c)
      for (int64_t i = 0; i < k; ++i)
        wf[c * k + i] = static_cast<float>(t[c * k + i]) *
                        (opt_.group ? scales0_[c * groupsFor(s) + i / span] : kWeightScale);
    const CodeRegion regions[2] = {{66, 64}, {54, 48}}; // block_tq2_0: qs[64], d; block_tq1_0: qs[48], qh[4], d
    for (int f = 0; f < 2; ++f) {
      GgmlPacked base = peer_->quantizeWeights(GgmlTernaryFormat(f), wf.data(), n, k);
      for (uint8_t *p : replicate(*tqArena_[f], base.data(), base.bytes(), count, regions[f])) {
        GgmlPacked view = base;
        view.storage = std::shared_ptr<uint8_t>(tqArena_[f], p); // shares the arena's lifetime
        tq[f].push_back(view);
      }
    }
  }
  double setup = seconds() - t0;
  check(s, t, x, q, sq, w64_, w32_, peer_ ? tq : nullptr);
  // What one call reads: the packed weights and, with --group, the N x K/G scales.
  const auto matBytes =
      static_cast<double>(findTernaryLayout("tern2b64")->bytes(n, k)) + static_cast<double>(scaleBytesFor(s));
  fmt::print(stderr, "{} {} {}x{}: {} matrices of {:.2f} MiB{}, setup {:.1f} s, checks {:.1f} s\n", s.model, s.matrix,
             n, k, count, matBytes / kMiB, opt_.group ? " (with scales)" : "", setup, seconds() - t0 - setup);

  std::vector<float> y(static_cast<size_t>(m * n));
  std::vector<int8_t> qAq(q.size());
  std::vector<float> sAq(sq.size());
  GgmlPacked act1;
  if (peer_)
    act1 = peer_->quantizeActivations(x.data(), 1, k);
  const TerncKernel *kernels[2] = {primary_, reference_};
  std::vector<Contestant> contestants;
  gemv_.reserve(gemv_.size() + opt_.threads.size()); // rows stay put: contestants point into them
  for (int th : opt_.threads) {
    GemvRow &row = gemv_.emplace_back(GemvRow{&s, th, count, matBytes, {0, 0}});
    for (int i = 0; i < 2; ++i)
      if (const TerncKernel *kernel = kernels[i]) {
        const auto &w = weightsFor(*kernel);
        contestants.push_back({[&, kernel, th](int64_t j) {
                                 bitLinear(*kernel, pool_, th, q.data(), sq.data(), w[j], scalesFor(j), y.data(), 1, n,
                                           k, opt_.group, tiledCode());
                               },
                               &row.ternc[i]});
      }
    if (opt_.group) {
      // The same weights with one scale: the cost of the groups (their epilogue and scale bytes), same rounds.
      const auto &w = weightsFor(*primary_);
      contestants.push_back({[&, th](int64_t j) {
                               bitLinear(*primary_, pool_, th, q.data(), sq.data(), w[j], &kWeightScale, y.data(), 1,
                                         n, k, 0);
                             },
                             &row.perTensor});
    }
    if (opt_.hot) {
      const uint8_t *w0 = weightsFor(*primary_)[0];
      contestants.push_back({[&, w0, th](int64_t) {
                               bitLinear(*primary_, pool_, th, q.data(), sq.data(), w0, scalesFor(0), y.data(), 1, n,
                                         k, opt_.group, tiledCode());
                             },
                             &row.hot});
    }
    if (peer_)
      for (int f = 0; f < 2; ++f) {
        auto format = GgmlTernaryFormat(f);
        contestants.push_back(
            {[&, format, f, th](int64_t j) { peer_->gemv(format, tq[f][j], act1, y.data(), th); }, &row.vecDot[f]});
        contestants.push_back(
            {[&, format, f, th](int64_t j) { peer_->matmul(format, tq[f][j], x.data(), 1, y.data(), th); },
             &row.matmul[f]});
      }
  }
  timeRounds(contestants, count, opt_.gemvReps, true);

  if (!opt_.skipGemm) {
    contestants.clear();
    int64_t mats = std::min<int64_t>(count, opt_.gemmMats);
    gemm_.reserve(gemm_.size() + opt_.threads.size());
    for (int th : opt_.threads) {
      GemmRow &row = gemm_.emplace_back(GemmRow{&s, th, {0, 0}, 0});
      for (int i = 0; i < 2; ++i)
        if (const TerncKernel *kernel = kernels[i]) {
          const auto &w = weightsFor(*kernel);
          contestants.push_back({[&, kernel, th](int64_t j) {
                                   bitLinear(*kernel, pool_, th, q.data(), sq.data(), w[j], scalesFor(j), y.data(), m,
                                             n, k, opt_.group, tiledCode());
                                 },
                                 &row.ternc[i]});
        }
      const auto &w = weightsFor(*primary_);
      contestants.push_back({[&, th](int64_t j) {
                               pool_.split(th, m, [&](int64_t r0, int64_t r1) {
                                 actQuant(x.data() + r0 * k, r1 - r0, k, qAq.data() + r0 * k, sAq.data() + r0);
                               });
                               bitLinear(*primary_, pool_, th, qAq.data(), sAq.data(), w[j], scalesFor(j), y.data(),
                                         m, n, k, opt_.group, tiledCode());
                             },
                             &row.terncActQuant});
      if (peer_)
        for (int f = 0; f < 2; ++f)
          contestants.push_back(
              {[&, f, th](int64_t j) { peer_->matmul(GgmlTernaryFormat(f), tq[f][j], x.data(), m, y.data(), th); },
               &row.ggml[f]});
    }
    timeRounds(contestants, mats, opt_.gemmReps, false);
  }
  if (peer_)
    peer_->releaseMatmulPlans(); // the next shape reuses the arenas, hence the weight addresses the plans key on
  if (opt_.lut)
    runLut(s, t, q);
  fmt::print(stderr, "  timed in {:.1f} s (waiting for idle threads: {:.1f} s so far)\n", seconds() - t0,
             quiescedSeconds);
}

/// --lut: checks the LUT kernels exactly on this shape, then times them against ternc's primary kernel's
/// integer-only dot (ternaryDot), all in one round robin: from memory (rotating through >= --min-mib MiB of
/// copies of each format, as the GEMV timing does) and in cache (matrix 0 over and over).
void Bench::runLut(const Shape &s, const std::vector<int8_t> &t, const std::vector<int8_t> &q) {
  const int64_t n = s.n, k = s.k;
  double t0 = seconds();
  for (int th = 1; th <= kPoolThreads; ++th) {
    std::string error = lutCheck(pool_, th, n, k, static_cast<uint64_t>(n * 7919 + k * 31 + th), t.data(), q.data());
    if (!error.empty())
      fail("ternary bench --lut: {}", error);
  }
  std::vector<std::vector<uint8_t *>> copies(lutFormats_.size());
  std::vector<int64_t> counts(lutFormats_.size());
  for (size_t f = 0; f < lutFormats_.size(); ++f) {
    std::vector<uint8_t> packed = lutFormats_[f]->pack(t.data(), n, k);
    counts[f] = lutCopiesFor(*lutFormats_[f], s);
    // Copies past the first get ternc-style tags (replicate), which are not always valid LUT codes: the
    // kernels still read every byte, and only copy 0 is checked.
    copies[f] = replicate(*lutArenas_[f], packed.data(), packed.size(), counts[f], {64, 64});
  }
  // The timed copy 0 of every format against ternc's integer dot on its timed copy 0, exactly.
  const auto &w = weightsFor(*primary_);
  std::vector<int32_t> out(static_cast<size_t>(n)), dot(static_cast<size_t>(n));
  ternaryDot(*primary_, pool_, kPoolThreads, q.data(), w[0], dot.data(), 1, n, k);
  for (const LutKernel *kernel : lutKernels_) {
    size_t f = static_cast<size_t>(std::find(lutFormats_.begin(), lutFormats_.end(), kernel->format) -
                                   lutFormats_.begin());
    std::fill(out.begin(), out.end(), INT32_MIN);
    lutGemv(*kernel, pool_, kPoolThreads, lutWs_, q.data(), copies[f][0], out.data(), n, k);
    for (int64_t c = 0; c < n; ++c)
      if (out[c] != dot[c])
        fail("ternary bench --lut: {} {}x{} row {} is {}, ternc's tk_ternary_dot_{} says {}", kernel->name, n, k, c,
             out[c], primary_->name, dot[c]);
  }
  lutChecked_.push_back(fmt::format("{}x{}", n, k));
  double checks = seconds() - t0;

  const int64_t terncCount = copiesFor(s);
  int64_t count = terncCount;
  for (int64_t c : counts)
    count = std::max(count, c);
  const auto terncBytes = static_cast<double>(findTernaryLayout(primary_->layout)->bytes(n, k));
  std::vector<Contestant> contestants;
  lut_.reserve(lut_.size() + opt_.threads.size()); // rows stay put: contestants point into them
  for (int th : opt_.threads) {
    LutRow &row = lut_.emplace_back(LutRow{&s, th, terncBytes, terncCount});
    row.mem.assign(lutKernels_.size(), 0);
    row.hot.assign(lutKernels_.size(), 0);
    row.build.assign(lutKernels_.size(), 0);
    contestants.push_back({[&, th](int64_t j) {
                             ternaryDot(*primary_, pool_, th, q.data(), w[j % terncCount], out.data(), 1, n, k);
                           },
                           &row.terncMem});
    contestants.push_back(
        {[&, th](int64_t) { ternaryDot(*primary_, pool_, th, q.data(), w[0], out.data(), 1, n, k); }, &row.terncHot});
    for (size_t i = 0; i < lutKernels_.size(); ++i) {
      const LutKernel *kernel = lutKernels_[i];
      size_t f = static_cast<size_t>(std::find(lutFormats_.begin(), lutFormats_.end(), kernel->format) -
                                     lutFormats_.begin());
      row.bytes.push_back(static_cast<double>(kernel->format->bytes(n, k)));
      row.mats.push_back(counts[f]);
      const std::vector<uint8_t *> &mine = copies[f];
      const int64_t mineCount = counts[f];
      contestants.push_back({[&, kernel, th, mineCount](int64_t j) {
                               lutGemv(*kernel, pool_, th, lutWs_, q.data(), mine[j % mineCount], out.data(), n, k);
                             },
                             &row.mem[i]});
      contestants.push_back({[&, kernel, th](int64_t) {
                               lutGemv(*kernel, pool_, th, lutWs_, q.data(), mine[0], out.data(), n, k);
                             },
                             &row.hot[i]});
    }
    if (th == 1) {
      size_t tableBytes = 0;
      for (const LutKernel *kernel : lutKernels_)
        tableBytes = std::max(tableBytes, static_cast<size_t>(kernel->format->tableBytes(k)));
      uint8_t *tables = lutWs_.tables(tableBytes); // sized once here, so the timed calls never reallocate it
      for (size_t i = 0; i < lutKernels_.size(); ++i) {
        const LutKernel *kernel = lutKernels_[i];
        contestants.push_back({[&, kernel, tables](int64_t) {
                                 kernel->build(q.data(), k, 0, kernel->tableBlocks(k), tables);
                               },
                               &row.build[i]});
      }
    }
  }
  timeRounds(contestants, count, opt_.gemvReps, true);
  fmt::print(stderr, "  --lut: checks {:.1f} s, timed in {:.1f} s\n", checks, seconds() - t0 - checks);
}

void Bench::run(const std::string &command) {
  double t0 = seconds();
  loadStart_ = loadAverage();
  primary_ = findTerncKernel("tern2b64_vnni512");
  reference_ = findTerncKernel("tern2b32_avx2");
  if (!reference_->supported)
    fail("ternary bench: this CPU lacks AVX2 + FMA, which every ternc x86 kernel needs");
  if (!primary_->supported) {
    primary_ = reference_;
    reference_ = nullptr;
  }
  std::vector<const Shape *> shapes;
  for (const Shape &s : kShapes)
    if (opt_.shapes.empty() ||
        std::find(opt_.shapes.begin(), opt_.shapes.end(), fmt::format("{}x{}", s.n, s.k)) != opt_.shapes.end())
      shapes.push_back(&s);
  // Shapes of other models (e.g. BitCPM-CANN-1B's 4096x1536) run as "other".
  for (const std::string &text : opt_.shapes) {
    long long n = 0, k = 0;
    char x = 0, extra = 0;
    if (std::sscanf(text.c_str(), "%lld%c%lld%c", &n, &x, &k, &extra) != 3 || x != 'x' || n < 1 || k < 1 ||
        n > (1 << 20) || k > 32768)
      fail("ternary bench: --shapes '{}' is not NxK (N up to 2^20, K up to 32768)", text);
    bool known = std::any_of(shapes.begin(), shapes.end(), [&](const Shape *s) { return s->n == n && s->k == k; });
    if (!known) {
      otherShapes_.push_back(Shape{"other", "-", n, k});
      shapes.push_back(&otherShapes_.back());
    }
  }
  for (int th : opt_.threads)
    if (th < 1 || th > kPoolThreads)
      fail("ternary bench: --threads takes 1 or 2, not {}", th);
  // Scale groups are multiples of 32 weights dividing K (the contract in targets/x86-avx2/kernels/BitLinear.h;
  // group = K is one scale per row). The kernel's problem() (BitLinearCore.inc) does not report a group that
  // breaks it: for one that does not divide K it silently uses one group per row (each row's first scale), so it
  // would time and check something else than asked for. Hence the bench refuses such groups up front.
  if (opt_.group)
    for (const Shape *s : shapes)
      if (opt_.group % 32 != 0 || s->k % opt_.group != 0)
        fail("ternary bench: --group {} does not fit shape {}x{}: a scale group must be a multiple of 32 weights "
             "that divides K = {}",
             opt_.group, s->n, s->k, s->k);
  if (opt_.ggmlSkippedForGroup)
    fmt::print(stderr, "ternary_bench: note: --group {} is not a multiple of {} (TQ2_0 / TQ1_0 hold one scale per {} "
                       "weights): the llama.cpp peer is skipped\n",
               opt_.group, kGgmlBlock, kGgmlBlock);

  if (!opt_.skipGgml)
    peer_ = std::make_unique<GgmlPeer>(opt_.libDir);
  allocate(shapes);
  stream_ = std::make_shared<Arena>(kStreamBytes);
  for (size_t i = 0; i < kStreamBytes; i += 8) { // touch every page, and give the sum something to add
    uint64_t v = i * 0x9e3779b97f4a7c15ull;
    std::memcpy(stream_->data() + i, &v, sizeof v);
  }
  streamBandwidth(streamStart_);
  poolUs_ = poolOverhead();
  fmt::print(stderr, "stream read {:.1f} GB/s (1 thread), {:.1f} GB/s (2 threads); pool dispatch {:.2f} us\n",
             streamStart_[0], streamStart_[1], poolUs_);
  for (const Shape *s : shapes)
    runShape(*s);
  streamBandwidth(streamEnd_);
  loadEnd_ = loadAverage();
  report(command, seconds() - t0);

  if (!opt_.tsv.empty()) {
    std::ofstream out(opt_.tsv);
    out << "n\tk\tthreads\tternc_us\tternc_hot_us\n";
    for (const GemvRow &r : gemv_)
      out << r.shape->n << '\t' << r.shape->k << '\t' << r.threads << '\t' << r.ternc[0] * 1e6 << '\t' << r.hot * 1e6
          << '\n';
    if (!out)
      fail("ternary bench: cannot write {}", opt_.tsv);
  }
}

std::string ratio(double num, double den) { return num > 0 && den > 0 ? fmt::format("{:.2f}x", num / den) : "-"; }
std::string us(double sec) { return sec > 0 ? fmt::format("{:.1f}", sec * 1e6) : "-"; }
std::string ms(double sec) { return sec > 0 ? fmt::format("{:.2f}", sec * 1e3) : "-"; }

void Bench::report(const std::string &command, double elapsed) const {
  double stream[kPoolThreads];
  for (int t = 0; t < kPoolThreads; ++t) // the higher of the two measurements: the fraction errs low, not high
    stream[t] = std::max(streamStart_[t], streamEnd_[t]);
  const char *pName = primary_->name, *rName = reference_ ? reference_->name : "-";
  fmt::print("# ternc ternary kernels vs llama.cpp TQ2_0 / TQ1_0 (bench/ternary){}\n\n",
             opt_.group ? fmt::format(", weight scales per group of {}", opt_.group) : "");
  fmt::print("- CPU: {}, {} hardware threads; ternc kernels `{}` and `{}` (BitLinear.cpp, -O3 -march=native)\n",
             cpuName(), std::thread::hardware_concurrency(), pName, rName);
  if (peer_)
    fmt::print("- llama.cpp: ggml {}, `{}` (dlopen'ed from @node-llama-cpp/linux-x64@3.22.1)\n", peer_->version(),
               peer_->cpuVariant());
  else if (opt_.ggmlSkippedForGroup)
    fmt::print("- llama.cpp: not run (--group {} is not a multiple of {}: TQ2_0 / TQ1_0 hold one scale per {} "
               "weights)\n",
               opt_.group, kGgmlBlock, kGgmlBlock);
  fmt::print("- memory read bandwidth ({} GiB, {} loads, median of {}): {:.1f} / {:.1f} GB/s on 1 / 2 threads at the "
             "start, {:.1f} / {:.1f} at the end; the higher is used\n",
             kStreamBytes >> 30, sumWordsIsa(), kStreamReps, streamStart_[0], streamStart_[1], streamEnd_[0],
             streamEnd_[1]);
  fmt::print("- weights: per shape, copies of one random ternary matrix ({}) adding up to >= {:.0f} MiB of "
             "packed ternc weights (and as many TQ2_0 / TQ1_0 copies), each page made distinct; calls rotate "
             "through them, so weights come from memory; every buffer (and the stream read's) asks for "
             "transparent huge pages, as compiled executables' weights do\n",
             opt_.group ? fmt::format("scales per row and group of {} weights: {} times 2^-1, 2^0 or 2^1 at random, "
                                      "each copy its own",
                                      opt_.group, kWeightScale)
                        : fmt::format("scale {}", kWeightScale),
             opt_.minMiB);
  if (opt_.group)
    fmt::print("- scale groups: {} weights, stored {} (targets/BitLinearKernel.h); each matrix copy has its own "
               "N x K/{} scales, streamed from memory like its weights, and **the bytes per call (MiB, GB/s, % of "
               "stream) count the scale bytes** as well as the packed weights\n",
               opt_.group,
               opt_.scales == "plain"   ? fmt::format("row-major in f32 (sRow = K/{})", opt_.group)
               : opt_.scales == "tiled" ? std::string("in f32 tiled by 16 rows (TK_SCALES_TILED16_F32)")
                                        : std::string("in binary16 tiled by 16 rows (TK_SCALES_TILED16_F16)"),
               opt_.group);
  double fastest2 = 0;
  for (const GemvRow &r : gemv_)
    if (r.threads == 2 && (fastest2 == 0 || r.ternc[0] < fastest2))
      fastest2 = r.ternc[0];
  fmt::print("- thread pool: persistent workers; an empty 2-thread dispatch takes {:.2f} us (median){}\n\n", poolUs_,
             fastest2 > 0
                 ? fmt::format(", {:.1f}% of the fastest 2-thread ternc GEMV call", 100 * poolUs_ * 1e-6 / fastest2)
                 : std::string());

  fmt::print("## GEMV (M = 1), time per call, median of {} passes over all matrices\n\n", opt_.gemvReps);
  fmt::print("ternc: BitLinear on int8 activations quantized once (ActQuant not timed). ggml: the faster of "
             "row-by-row `vec_dot` on Q8_K activations quantized once (vd; quantization not timed) and "
             "`ggml_mul_mat` (mm; quantizes x to Q8_K inside, about 1 us for one row). GB/s = {} / time.\n\n",
             opt_.group ? "(packed ternc bytes + scale bytes)" : "packed ternc bytes");
  if (opt_.group)
    fmt::print("Per-tensor: the same weights and kernel with one scale, in the same rounds (its own bytes exclude "
               "the scales); grouped / per-tensor is the cost of the groups.\n\n");
  fmt::print("| model | matrix | N x K | thr | mats | ternc {} us | GB/s | % of stream |{}{} ternc {} us | TQ2_0 us "
             "| TQ1_0 us | TQ2_0 / ternc | TQ1_0 / ternc |\n",
             pName, opt_.hot ? " in cache us |" : "", opt_.group ? " per-tensor us | grouped / per-tensor |" : "",
             rName);
  fmt::print("|---|---|---|---|---|---|---|---|{}{}---|---|---|---|---|\n", opt_.hot ? "---|" : "",
             opt_.group ? "---|---|" : "");
  auto best = [](double vd, double mm, std::string &label) {
    if (vd <= 0 && mm <= 0)
      return 0.0;
    bool useVd = mm <= 0 || (vd > 0 && vd <= mm);
    label = fmt::format("{} ({})", us(useVd ? vd : mm), useVd ? "vd" : "mm");
    return useVd ? vd : mm;
  };
  std::vector<double> fraction2, gemvRatio1;
  for (const GemvRow &r : gemv_) {
    double gbps = r.matBytes / r.ternc[0] / 1e9, frac = gbps / stream[r.threads - 1];
    std::string l2 = "-", l1 = "-";
    double tq2 = best(r.vecDot[0], r.matmul[0], l2), tq1 = best(r.vecDot[1], r.matmul[1], l1);
    if (r.threads == 2)
      fraction2.push_back(frac);
    if (r.threads == 1 && tq2 > 0)
      gemvRatio1.push_back(tq2 / r.ternc[0]);
    fmt::print("| {} | {} | {}x{} | {} | {} x {:.2f} MiB | {} | {:.1f} | {:.0f}% |{}{} {} | {} | {} | {} | {} |\n",
               r.shape->model, r.shape->matrix, r.shape->n, r.shape->k, r.threads, r.mats, r.matBytes / kMiB,
               us(r.ternc[0]), gbps, 100 * frac, opt_.hot ? fmt::format(" {} |", us(r.hot)) : "",
               opt_.group ? fmt::format(" {} | {} |", us(r.perTensor), ratio(r.ternc[0], r.perTensor)) : "",
               us(r.ternc[1]), l2, l1, ratio(tq2, r.ternc[0]), ratio(tq1, r.ternc[0]));
  }

  std::vector<double> gemmRatio[kPoolThreads];
  if (!gemm_.empty()) {
    fmt::print("\n## GEMM (M = {}), time per call, median of {} calls rotating over {} matrices\n\n", opt_.gemmM,
               opt_.gemmReps, opt_.gemmMats);
    fmt::print("ggml: `ggml_mul_mat` with f32 X, which it quantizes to Q8_K inside the op (GgmlPeer also copies X "
               "in and Y out, under 1% here). For a like-for-like ratio the ternc time it is divided by includes an "
               "ActQuant of the same f32 X (per-row absmax to int8, on the same threads). GOP/s = 2 M N K / "
               "time.\n\n");
    fmt::print("| model | matrix | N x K | thr | ternc {} ms | GOP/s | + ActQuant ms | ternc {} ms | TQ2_0 ms | TQ1_0 "
               "ms | TQ2_0 / ternc | TQ1_0 / ternc |\n",
               pName, rName);
    fmt::print("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (const GemmRow &r : gemm_) {
      double ops = 2.0 * static_cast<double>(opt_.gemmM * r.shape->n * r.shape->k);
      if (r.ggml[0] > 0)
        gemmRatio[r.threads - 1].push_back(r.ggml[0] / r.terncActQuant);
      fmt::print("| {} | {} | {}x{} | {} | {} | {:.0f} | {} | {} | {} | {} | {} | {} |\n", r.shape->model,
                 r.shape->matrix, r.shape->n, r.shape->k, r.threads, ms(r.ternc[0]), ops / r.ternc[0] / 1e9,
                 ms(r.terncActQuant), ms(r.ternc[1]), ms(r.ggml[0]), ms(r.ggml[1]), ratio(r.ggml[0], r.terncActQuant),
                 ratio(r.ggml[1], r.terncActQuant));
    }
  }

  if (!lut_.empty())
    reportLut(stream);

  fmt::print("\n## Targets\n\n| metric | target | measured |\n|---|---|---|\n");
  auto spread = [](std::vector<double> v, bool percent) {
    if (v.empty())
      return std::string("-");
    std::sort(v.begin(), v.end());
    auto f = [&](double x) { return percent ? fmt::format("{:.0f}%", 100 * x) : fmt::format("{:.2f}x", x); };
    return fmt::format("{} (min {}, max {}, {} shapes)",
                       percent ? f(v[v.size() / 2]) + " median" : fmt::format("{:.2f}x geomean", geomean(v)),
                       f(v.front()), f(v.back()), v.size());
  };
  fmt::print("| ternc GEMV GB/s / stream GB/s, 2 threads | 85% | {} |\n", spread(fraction2, true));
  fmt::print("| TQ2_0 time / ternc time, GEMV, 1 thread | 1.5x | {} |\n", spread(gemvRatio1, false));
  for (int t = 0; t < kPoolThreads; ++t)
    if (!gemmRatio[t].empty())
      fmt::print("| TQ2_0 time / ternc time (+ ActQuant), GEMM M={}, {} thread{} | 2x | {} |\n", opt_.gemmM, t + 1,
                 t ? "s" : "", spread(gemmRatio[t], false));

  fmt::print("\n## Correctness (checked before timing; any failure aborts the run)\n\n");
  fmt::print("Integer dots of every kernel vs a scalar reference, exact (M = 1: all columns; M = {}: every 61st "
             "column and the first and last 16); BitLinear floats vs the exact {} / s; ternc and ggml "
             "GEMV vs the f32 product in double, and ternc vs ggml TQ2_0 GEMM: max |diff| / max |reference| "
             "(limit 2e-2, 3e-2 for GEMM; activation rounding differs: per row for ternc, per 256 for Q8_K).\n\n",
             opt_.gemmM,
             opt_.group ? "sum over scale groups of the group's dot * its scale (in double)" : "dot * scale");
  fmt::print("| N x K | kernels exact | BitLinear max ulp | ternc vs f32 | TQ2_0 vs f32 | TQ1_0 vs f32 | GEMM ternc vs "
             "TQ2_0 |\n|---|---|---|---|---|---|---|\n");
  for (const CheckRow &c : checks_)
    fmt::print("| {}x{} | {} | {:.2f} | {:.2e} | {:.2e} | {:.2e} | {:.2e} |\n", c.shape->n, c.shape->k, c.dotKernels,
               c.bitLinearUlp, c.terncVsFloat, c.ggmlVsFloat[0], c.ggmlVsFloat[1], c.gemmVsGgml);

  fmt::print("\nThe machine may be shared (1-minute load average {:.2f} at the start, {:.2f} at the end, this run "
             "included): timings are medians but still noisy, 2-thread ones most.\n",
             loadStart_, loadEnd_);
  fmt::print("Total run time {:.0f} s.\n\nreproduce: `{}`\n", elapsed, command);
}

void Bench::reportLut(const double (&stream)[kPoolThreads]) const {
  fmt::print("\n## Lookup-table GEMV (M = 1) vs ternc's integer dot, --lut, median of {} passes\n\n", opt_.gemvReps);
  fmt::print("ternc: `tk_ternary_dot_{}` (exact int32 dot, ternaryDot), LUT: LutKernels.cpp (exact int32 too; each "
             "call builds its tables, on all its threads, and that time is included). From memory: calls rotate "
             "through >= {:.0f} MiB of distinct copies of the format's packed weights; in cache: copy 0 over and "
             "over. GB/s = the kernel's own packed bytes / time; weights/ns = N K / time; / ternc = time / ternc's "
             "time on the same threads (above 1: slower than ternc). tables = building the kernel's tables alone, "
             "1 thread, in cache (part of every call's time). Stream read: {:.1f} / {:.1f} GB/s on 1 / 2 threads.\n\n",
             primary_->name, opt_.minMiB, stream[0], stream[1]);
  fmt::print("| N x K | thr | kernel | bits/weight | mats x MiB | mem us | GB/s | % stream | weights/ns | / ternc | "
             "cache us | weights/ns | / ternc | tables us |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  // per kernel and thread count: ratios from memory and in cache
  std::vector<std::vector<double>> memRatio(lutKernels_.size() * kPoolThreads), hotRatio(memRatio.size());
  for (const LutRow &r : lut_) {
    const double nk = static_cast<double>(r.shape->n * r.shape->k);
    auto line = [&](const std::string &name, double bits, int64_t mats, double bytes, double mem, double hot,
                    const std::string &tables) {
      double gbps = bytes / mem / 1e9;
      fmt::print("| {}x{} | {} | {} | {:.2f} | {} x {:.2f} | {} | {:.1f} | {:.0f}% | {:.1f} | {} | {} | {:.1f} | {} | {} "
                 "|\n",
                 r.shape->n, r.shape->k, r.threads, name, bits, mats, bytes / kMiB, us(mem), gbps,
                 100 * gbps / stream[r.threads - 1], nk / mem / 1e9, ratio(mem, r.terncMem), us(hot), nk / hot / 1e9,
                 ratio(hot, r.terncHot), tables);
    };
    line(fmt::format("ternc {}", primary_->name), r.terncBytes * 8 / nk, r.terncMats, r.terncBytes, r.terncMem,
         r.terncHot, "-");
    for (size_t i = 0; i < lutKernels_.size(); ++i) {
      line(lutKernels_[i]->name, r.bytes[i] * 8 / nk, r.mats[i], r.bytes[i], r.mem[i], r.hot[i],
           r.threads == 1 ? us(r.build[i]) : "-");
      memRatio[i * kPoolThreads + r.threads - 1].push_back(r.mem[i] / r.terncMem);
      hotRatio[i * kPoolThreads + r.threads - 1].push_back(r.hot[i] / r.terncHot);
    }
  }
  fmt::print("\nLUT time / ternc integer-dot time over the shapes (geomean, min, max; above 1: LUT slower):\n\n"
             "| kernel | thr | from memory | in cache |\n|---|---|---|---|\n");
  auto summary = [](std::vector<double> v) {
    if (v.empty())
      return std::string("-");
    std::sort(v.begin(), v.end());
    return fmt::format("{:.2f}x (min {:.2f}x, max {:.2f}x, {} shapes)", geomean(v), v.front(), v.back(), v.size());
  };
  for (size_t i = 0; i < lutKernels_.size(); ++i)
    for (int t = 0; t < kPoolThreads; ++t)
      if (!memRatio[i * kPoolThreads + t].empty())
        fmt::print("| {} | {} | {} | {} |\n", lutKernels_[i]->name, t + 1, summary(memRatio[i * kPoolThreads + t]),
                   summary(hotRatio[i * kPoolThreads + t]));
  std::string checked;
  for (const std::string &c : lutChecked_)
    checked += (checked.empty() ? "" : ", ") + c;
  fmt::print("\nLUT exactness (checked before timing; a mismatch aborts the run): every LUT kernel's int32 outputs "
             "equal a scalar sum on 1 and 2 threads for {} with the timed weights and activations, random weights "
             "with random int8 and with -128/127 activations, and all weights +1 / -1 with all activations -128 / "
             "127; and equal ternc's integer dot on the timed copy 0.\n",
             checked);
}

std::string defaultLibDir() {
  if (const char *env = std::getenv("TERNC_GGML_DIR"); env && *env)
    return env;
  for (const char *dir : {TERNC_GGML_DIR_PEER, TERNC_GGML_DIR_PEERS})
    if (std::filesystem::exists(std::filesystem::path(dir) / "libggml-base.so"))
      return dir;
  fail("ternary bench: llama.cpp's libraries are not installed; run `npm install --no-save --prefix "
       "bench/peers/ggml @node-llama-cpp/linux-x64@3.22.1`, or pass --lib-dir, or --skip-ggml");
}

} // namespace

} // namespace ternc::bench

int main(int argc, char **argv) {
  using namespace ternc::bench;
  Options opt;
  CLI::App app{"ternc's x86 ternary kernels vs llama.cpp's TQ2_0/TQ1_0 and the memory bandwidth"};
  app.add_option("--lib-dir", opt.libDir,
                 "folder with libggml-base.so and libggml-cpu-*.so (default: "
                 "$TERNC_GGML_DIR, else the npm install under bench/peers)");
  app.add_option("--min-mib", opt.minMiB, "packed ternc weight MiB per shape that calls rotate through");
  app.add_option("--gemv-reps", opt.gemvReps, "timed GEMV passes over all matrices (median reported)");
  app.add_option("--gemm-reps", opt.gemmReps, "timed GEMM calls (median reported)");
  app.add_option("--gemm-mats", opt.gemmMats, "matrices the GEMM calls rotate through");
  app.add_option("--gemm-m", opt.gemmM, "activation rows of the GEMM");
  app.add_option("--threads", opt.threads, "thread counts to time (1, 2)");
  app.add_option("--shapes", opt.shapes, "decode shapes NxK to run, e.g. 2560x6912 (default: all seven)");
  app.add_flag("--skip-ggml", opt.skipGgml, "time ternc only (no llama.cpp peer)");
  app.add_flag("--skip-gemm", opt.skipGemm, "time GEMV only");
  app.add_flag("--hot", opt.hot, "also time ternc's GEMV on one matrix over and over (weights in cache)");
  app.add_flag("--lut", opt.lut,
               "also time the lookup-table GEMVs (LutKernels.h) against ternc's integer dot, from memory and in "
               "cache, after checking them exactly");
  app.add_option("--tsv", opt.tsv, "also write ternc's GEMV times (n, k, threads, us, in-cache us) to this file");
  CLI::Option *groupOption =
      app.add_option("--group", opt.group,
                     "weight scales per row and group of G weights (G a multiple of 32 dividing every K; BitCPM / "
                     "TQ2_0 checkpoints: 256), each copy its own N x K/G f32 array, counted in the bytes per call "
                     "(default: one per-tensor scale). G not a multiple of 256 skips the ggml peer");
  app.add_option("--scales", opt.scales,
                 "with --group, how the scales are stored: plain (row-major f32), tiled (f32 tiled by 16 rows) or "
                 "tiled-f16 (binary16 tiled by 16 rows), targets/BitLinearKernel.h")
      ->check(CLI::IsMember({"plain", "tiled", "tiled-f16"}));
  CLI11_PARSE(app, argc, argv);

  std::string command = argv[0];
  for (int i = 1; i < argc; ++i)
    command += std::string(" ") + argv[i];
  try {
    if (groupOption->count() && opt.group < 1)
      ternc::fail("ternary bench: --group takes a positive number of weights (a multiple of 32), not {}", opt.group);
    // TQ2_0 / TQ1_0 keep one fp16 scale per 256-weight block: they can hold per-group scales only when every
    // block lies inside one group. Other groups leave ternc alone on the table (with a note, once the group is
    // validated) rather than failing the run.
    if (opt.group % kGgmlBlock != 0 && !opt.skipGgml) {
      opt.skipGgml = true;
      opt.ggmlSkippedForGroup = true;
    }
    if (!opt.skipGgml && opt.libDir.empty())
      opt.libDir = defaultLibDir();
    Bench(opt).run(command);
  } catch (const ternc::Error &e) {
    fmt::print(stderr, "ternary_bench: error: {}\n", e.what());
    return 1;
  }
  return 0;
}
