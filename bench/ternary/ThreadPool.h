// ThreadPool: the ternary benchmark's persistent worker threads, one contiguous share of a kernel's items each.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace ternc::bench {

/// `threads - 1` workers that live as long as the pool; the calling thread is thread 0. A dispatch publishes the
/// job by bumping a generation counter; idle workers spin on it for a while (the next kernel call of a timed
/// pass follows within microseconds), then sleep on it (futex), so a paused pool leaves the cores free for the
/// other libraries measured in the same process.
class ThreadPool {
public:
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }

  /// Calls fn(i) for every i in [0, n), n <= threads(): fn(0) on the calling thread, fn(i) on worker i.
  /// Returns when all calls have returned.
  template <typename Fn> void run(int n, const Fn &fn) {
    if (n <= 1) {
      fn(0);
      return;
    }
    dispatch(
        n, [](const void *ctx, int i) { (*static_cast<const Fn *>(ctx))(i); }, &fn);
  }

  /// Calls fn(begin, end) on `n` threads, thread i taking the i-th contiguous share of [0, items).
  template <typename Fn> void split(int n, int64_t items, const Fn &fn) {
    run(n, [&](int i) {
      int64_t begin = items * i / n, end = items * (i + 1) / n;
      if (begin < end)
        fn(begin, end);
    });
  }

private:
  using Call = void (*)(const void *ctx, int index);
  void dispatch(int n, Call call, const void *ctx);
  void workerLoop(int index);

  std::vector<std::thread> workers_;
  // Written by dispatch before the generation bump (release), read by workers after seeing it (acquire).
  Call call_ = nullptr;
  const void *ctx_ = nullptr;
  int active_ = 0;
  std::atomic<uint32_t> generation_{0};
  /// Workers that have not yet finished the current generation; every worker acknowledges every
  /// generation, so none can still be reading call_/active_ when the next dispatch writes them.
  std::atomic<int> pending_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

} // namespace ternc::bench
