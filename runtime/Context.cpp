// Context.cpp: ternc_context — the persistent thread pool behind ternc_parallel_for, profile counters, errors, dims.
#include "ternc/runtime.h"

#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace {

/// Spins (pause) for up to this long, then yields this many times, before
/// sleeping in the kernel. The spin must outlast the gaps between the
/// parallel_fors of a decode step (the caller's serial ops, an unbalanced
/// last chunk) or every gap costs a futex sleep and wake-up: with a spin of
/// 512 pauses (a few to a few tens of µs depending on the CPU's pause
/// latency) a 2-thread BitNet-2B4T decode made 172 context switches per token,
/// used 1.65 of 2 cores and ran tg128 at 17.9 t/s; spinning up to 1 ms brought
/// that to 2-3 per token, 1.9 cores and 22 t/s (docs/runtime.md). Yielding
/// then lets a thread with real work run when there are more threads than
/// free cores; the spin itself yields every ~1000 pauses for the same reason.
/// Timed with steady_clock (vDSO, no syscall), read every 64
/// pauses, so the spin lasts the same on every CPU.
constexpr int64_t kSpinNanos = 1000000;
constexpr int kPausesPerClockRead = 64;
constexpr int kClockReadsPerYield = 16;  // a yield every ~1000 pauses, some 10-100 µs
constexpr int kYieldIterations = 64;

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

/// Waits until `word` differs from `seen`: spin first, then futex-sleep
/// (std::atomic::wait is a futex on Linux for 32-bit words).
uint32_t waitChange(const std::atomic<uint32_t> &word, uint32_t seen) {
  auto start = std::chrono::steady_clock::now();
  for (int reads = 1;; ++reads) {
    for (int i = 0; i < kPausesPerClockRead; ++i) {
      uint32_t now = word.load(std::memory_order_acquire);
      if (now != seen) return now;
      cpuRelax();
    }
    if (std::chrono::steady_clock::now() - start > std::chrono::nanoseconds(kSpinNanos)) break;
    // Now and then give the core away: with more runnable threads than cores (several programs, or tests
    // run in parallel) the thread that holds the work may be waiting for this one's time slice.
    if (reads % kClockReadsPerYield == 0) std::this_thread::yield();
  }
  for (int i = 0; i < kYieldIterations; ++i) {
    uint32_t now = word.load(std::memory_order_acquire);
    if (now != seen) return now;
    std::this_thread::yield();
  }
  for (;;) {
    word.wait(seen, std::memory_order_acquire);
    uint32_t now = word.load(std::memory_order_acquire);
    if (now != seen) return now;
  }
}

int availableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
  unsigned n = std::thread::hardware_concurrency();
  return n > 0 ? int(n) : 1;
}

/// True on pool workers and inside a running parallel_for: a nested
/// parallel_for then runs inline instead of deadlocking on the busy pool.
thread_local bool tInParallelRegion = false;

/// One worker's mailbox, alone on its cache line(s) so that posting work to
/// one worker never invalidates another's line (no false sharing).
struct alignas(64) WorkerSlot {
  std::atomic<uint32_t> sequence{0};  ///< bumped by the caller to post a chunk
  int64_t begin = 0;
  int64_t end = 0;
};

/// The job all chunks of one parallel_for share, written before any slot's
/// sequence is bumped (release) and read after it is seen (acquire).
struct Job {
  ternc_task_fn fn = nullptr;
  void *arg = nullptr;
};

class ThreadPool {
public:
  explicit ThreadPool(int threads) : slots_(size_t(std::max(threads - 1, 0))) {
    workers_.reserve(slots_.size());
    for (size_t i = 0; i < slots_.size(); ++i) workers_.emplace_back([this, i] { workerLoop(i); });
  }

  ~ThreadPool() {
    stop_.store(true, std::memory_order_release);
    for (auto &s : slots_) {
      s.sequence.fetch_add(1, std::memory_order_release);
      s.sequence.notify_one();
    }
    for (auto &w : workers_) w.join();
  }

  int threads() const { return int(slots_.size()) + 1; }

  void parallelFor(int64_t n, int64_t grain, ternc_task_fn fn, void *arg) {
    if (n <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    // At most one chunk per thread, each at least `grain` items.
    int64_t chunks = std::min<int64_t>(threads(), std::max<int64_t>(n / grain, 1));
    std::unique_lock<std::mutex> lock(busy_, std::try_to_lock);
    if (chunks == 1 || tInParallelRegion || !lock.owns_lock()) {
      fn(arg, 0, n);
      return;
    }
    job_.fn = fn;
    job_.arg = arg;
    pending_.store(uint32_t(chunks - 1), std::memory_order_relaxed);
    // Balanced contiguous chunks: chunk c is [n*c/chunks, n*(c+1)/chunks),
    // each >= n/chunks >= grain items. Chunk 0 is the caller's.
    for (int64_t c = 1; c < chunks; ++c) {
      WorkerSlot &s = slots_[size_t(c - 1)];
      s.begin = n * c / chunks;
      s.end = n * (c + 1) / chunks;
      s.sequence.fetch_add(1, std::memory_order_release);
      s.sequence.notify_one();
    }
    tInParallelRegion = true;
    fn(arg, 0, n / chunks);
    tInParallelRegion = false;
    uint32_t left = pending_.load(std::memory_order_acquire);
    while (left != 0) left = waitChangeDown(left);
  }

private:
  /// Waits for pending_ to drop below `seen`; returns the new value.
  uint32_t waitChangeDown(uint32_t seen) { return waitChange(pending_, seen); }

  void workerLoop(size_t index) {
    tInParallelRegion = true;
    WorkerSlot &slot = slots_[index];
    uint32_t seen = 0;
    for (;;) {
      seen = waitChange(slot.sequence, seen);
      if (stop_.load(std::memory_order_acquire)) return;
      job_.fn(job_.arg, slot.begin, slot.end);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  std::vector<WorkerSlot> slots_;
  std::vector<std::thread> workers_;
  std::mutex busy_;  ///< held by the thread driving the pool
  Job job_;
  alignas(64) std::atomic<uint32_t> pending_{0};  ///< chunks still running on workers
  alignas(64) std::atomic<bool> stop_{false};
};

using Clock = std::chrono::steady_clock;

} // namespace

struct ternc_context {
  explicit ternc_context(int threads) : pool(threads) {}

  ThreadPool pool;
  bool profiling = false;
  /// Per kernel id: accumulated nanoseconds, calls, and the open begin time.
  std::vector<uint64_t> nanos, calls;
  std::vector<Clock::time_point> started;
  std::mutex errorMutex;  ///< kernels may report errors from worker threads
  std::string error;
  void *const *states = nullptr;  ///< ternc_context_set_states
  int32_t numStates = 0;
};

extern "C" {

ternc_context *ternc_context_create(int32_t threads) {
  try {
    return new ternc_context(threads > 0 ? threads : availableCores());
  } catch (...) {
    return nullptr;
  }
}

void ternc_context_destroy(ternc_context *ctx) { delete ctx; }

int32_t ternc_num_threads(const ternc_context *ctx) { return ctx->pool.threads(); }

void ternc_parallel_for(ternc_context *ctx, int64_t n, int64_t grain, ternc_task_fn fn, void *arg) {
  ctx->pool.parallelFor(n, grain, fn, arg);
}

void ternc_set_profiling(ternc_context *ctx, int32_t on) { ctx->profiling = on != 0; }

void ternc_profile_begin(ternc_context *ctx, int32_t kernel) {
  if (!ctx->profiling || kernel < 0) return;
  size_t k = size_t(kernel);
  if (k >= ctx->nanos.size()) {
    ctx->nanos.resize(k + 1, 0);
    ctx->calls.resize(k + 1, 0);
    ctx->started.resize(k + 1);
  }
  ctx->started[k] = Clock::now();
}

void ternc_profile_end(ternc_context *ctx, int32_t kernel) {
  if (!ctx->profiling || kernel < 0 || size_t(kernel) >= ctx->nanos.size()) return;
  size_t k = size_t(kernel);
  auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - ctx->started[k]).count();
  ctx->nanos[k] += uint64_t(std::max<int64_t>(elapsed, 0));
  ctx->calls[k] += 1;
}

void ternc_profile_read(const ternc_context *ctx, int32_t kernel, uint64_t *nanos, uint64_t *calls) {
  bool known = kernel >= 0 && size_t(kernel) < ctx->nanos.size();
  if (nanos) *nanos = known ? ctx->nanos[size_t(kernel)] : 0;
  if (calls) *calls = known ? ctx->calls[size_t(kernel)] : 0;
}

void ternc_profile_reset(ternc_context *ctx) {
  std::fill(ctx->nanos.begin(), ctx->nanos.end(), 0);
  std::fill(ctx->calls.begin(), ctx->calls.end(), 0);
}

void ternc_set_error(ternc_context *ctx, const char *message) {
  std::lock_guard<std::mutex> lock(ctx->errorMutex);
  ctx->error = message ? message : "";
}

const char *ternc_last_error(const ternc_context *ctx) { return ctx->error.c_str(); }

void ternc_context_set_states(ternc_context *ctx, void *const *states, int32_t num_states) {
  ctx->states = states;
  ctx->numStates = num_states;
}

void *ternc_state(ternc_context *ctx, int32_t index) {
  return index >= 0 && index < ctx->numStates ? ctx->states[index] : nullptr;
}

int64_t ternc_dim_value(const ternc_dim *dim, const int64_t *symbols) {
  if (dim->num_terms == 0) return dim->value;
  int64_t sum = 0;
  for (int32_t t = 0; t < dim->num_terms; ++t) {
    const ternc_dim_term &term = dim->terms[t];
    int64_t product = term.coeff;
    for (int32_t f = 0; f < term.num_factors; ++f) product *= symbols[term.factors[f]];
    sum += product;
  }
  return sum;
}

size_t ternc_dtype_size(int32_t dtype) {
  switch (dtype) {
  case TERNC_F64: case TERNC_I64: case TERNC_U64: return 8;
  case TERNC_F32: case TERNC_I32: case TERNC_U32: return 4;
  case TERNC_F16: case TERNC_BF16: case TERNC_I16: case TERNC_U16: return 2;
  case TERNC_I8: case TERNC_U8: case TERNC_BOOL: case TERNC_TERN: return 1;
  default: return 0;
  }
}

} // extern "C"
