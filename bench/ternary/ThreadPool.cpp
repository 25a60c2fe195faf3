// ThreadPool: generation-counter dispatch with a spin-then-futex wait on the workers' side.
#include "ThreadPool.h"

#include <chrono>
#include <thread>

#include <immintrin.h>

namespace ternc::bench {

namespace {

/// How long an idle worker polls before it sleeps: longer than the gap between two kernel calls of a timed
/// pass, short enough that a finished phase frees the core quickly.
constexpr auto kSpinTime = std::chrono::microseconds(2000);

} // namespace

ThreadPool::ThreadPool(int threads) {
  for (int i = 1; i < threads; ++i)
    workers_.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool() {
  pending_.store(threads() - 1);
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto &t : workers_)
    t.join();
}

void ThreadPool::dispatch(int n, Call call, const void *ctx) {
  call_ = call;
  ctx_ = ctx;
  active_ = n;
  pending_.store(threads() - 1, std::memory_order_relaxed);
  // seq_cst on both sides (here and the workers' sleepers_ increment before they re-check the generation):
  // either this thread sees a sleeper and wakes it, or the sleeper sees the new generation.
  generation_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0)
    generation_.notify_all();
  call(ctx, 0);
  for (int spins = 1; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    _mm_pause();
    // When the scheduler has put a worker on this thread's core (it sometimes wakes a thread on its waker's
    // core), spinning here would starve it for a whole time slice (about 4 ms); yielding hands it the core.
    if (spins % 1024 == 0)
      std::this_thread::yield();
  }
}

void ThreadPool::workerLoop(int index) {
  uint32_t seen = 0; // workers start before the first dispatch
  for (;;) {
    uint32_t now = generation_.load(std::memory_order_acquire);
    if (now == seen) {
      auto deadline = std::chrono::steady_clock::now() + kSpinTime;
      for (int spins = 0; (now = generation_.load(std::memory_order_acquire)) == seen; ++spins) {
        _mm_pause();
        if ((spins & 1023) == 1023) {
          if (std::chrono::steady_clock::now() > deadline)
            break;
          std::this_thread::yield(); // as in dispatch(): never starve a thread sharing this core
        }
      }
      if (now == seen) {
        sleepers_.fetch_add(1, std::memory_order_seq_cst);
        while ((now = generation_.load(std::memory_order_seq_cst)) == seen)
          generation_.wait(seen, std::memory_order_seq_cst);
        sleepers_.fetch_sub(1, std::memory_order_relaxed);
      }
    }
    seen = now;
    if (stop_.load(std::memory_order_acquire))
      return;
    if (index < active_)
      call_(ctx_, index);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

} // namespace ternc::bench
