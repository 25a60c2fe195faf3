// ThreadPoolTest.cpp: ternc_parallel_for — every index exactly once, chunking and grain, repetition, nesting, shutdown.
#include "ternc/runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace {

struct ContextDeleter {
  void operator()(ternc_context *c) const { ternc_context_destroy(c); }
};
using ContextPtr = std::unique_ptr<ternc_context, ContextDeleter>;

/// Counts how often each index is visited and records every chunk.
struct Coverage {
  std::vector<std::atomic<int>> hits;
  std::mutex mutex;
  std::vector<std::pair<int64_t, int64_t>> chunks;
  explicit Coverage(int64_t n) : hits(size_t(n)) {}

  static void visit(void *arg, int64_t begin, int64_t end) {
    auto *c = static_cast<Coverage *>(arg);
    for (int64_t i = begin; i < end; ++i) c->hits[size_t(i)].fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(c->mutex);
    c->chunks.emplace_back(begin, end);
  }
};

void expectCoveredOnce(ternc_context *ctx, int64_t n, int64_t grain) {
  Coverage c(n);
  ternc_parallel_for(ctx, n, grain, &Coverage::visit, &c);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(c.hits[size_t(i)].load(), 1) << "index " << i << " of n=" << n;
  int64_t threads = ternc_num_threads(ctx);
  ASSERT_LE(int64_t(c.chunks.size()), threads) << "more chunks than threads";
  std::sort(c.chunks.begin(), c.chunks.end());
  int64_t next = 0;
  for (auto [b, e] : c.chunks) {
    EXPECT_EQ(b, next) << "chunks are contiguous";
    if (c.chunks.size() > 1) {
      EXPECT_GE(e - b, std::max<int64_t>(grain, 1)) << "chunk below grain";
    }
    next = e;
  }
  if (n > 0) {
    EXPECT_EQ(next, n);
  }
}

TEST(ThreadPool, ThreadCount) {
  ContextPtr one(ternc_context_create(1));
  EXPECT_EQ(ternc_num_threads(one.get()), 1);
  ContextPtr four(ternc_context_create(4));
  EXPECT_EQ(ternc_num_threads(four.get()), 4);
  ContextPtr cores(ternc_context_create(0));
  EXPECT_GE(ternc_num_threads(cores.get()), 1);
  EXPECT_LE(unsigned(ternc_num_threads(cores.get())), std::max(1u, std::thread::hardware_concurrency()));
}

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 4, 8}) {
    ContextPtr ctx(ternc_context_create(threads));
    for (int64_t n : {0, 1, 2, 3, 5, 7, 8, 64, 1000, 100003})
      for (int64_t grain : {0, 1, 3, 16, 1000, 200000}) expectCoveredOnce(ctx.get(), n, grain);
  }
}

TEST(ThreadPool, GrainLimitsChunks) {
  ContextPtr ctx(ternc_context_create(4));
  Coverage c(100);
  ternc_parallel_for(ctx.get(), 100, 40, &Coverage::visit, &c);
  EXPECT_EQ(c.chunks.size(), 2u);  // 100/40 = 2 chunks of >= 40
  Coverage all(100);
  ternc_parallel_for(ctx.get(), 100, 1, &Coverage::visit, &all);
  EXPECT_EQ(all.chunks.size(), 4u);  // one per thread
  Coverage small(3);
  ternc_parallel_for(ctx.get(), 3, 1, &Coverage::visit, &small);
  EXPECT_EQ(small.chunks.size(), 3u);  // n smaller than threads
  Coverage whole(100);
  ternc_parallel_for(ctx.get(), 100, 1000, &Coverage::visit, &whole);
  ASSERT_EQ(whole.chunks.size(), 1u);
  EXPECT_EQ(whole.chunks[0], std::make_pair(int64_t(0), int64_t(100)));
}

/// Sums i over [0, n) into a per-chunk slot, like a decode-loop kernel.
struct Sum {
  std::atomic<int64_t> total{0};
  static void add(void *arg, int64_t begin, int64_t end) {
    int64_t s = 0;
    for (int64_t i = begin; i < end; ++i) s += i;
    static_cast<Sum *>(arg)->total.fetch_add(s, std::memory_order_relaxed);
  }
};

TEST(ThreadPool, ManyRepeatedCalls) {
  for (int threads : {2, 4}) {
    ContextPtr ctx(ternc_context_create(threads));
    for (int rep = 0; rep < 20000; ++rep) {
      int64_t n = 1 + rep % 97;
      Sum s;
      ternc_parallel_for(ctx.get(), n, 1, &Sum::add, &s);
      ASSERT_EQ(s.total.load(), n * (n - 1) / 2) << "repetition " << rep;
    }
  }
}

TEST(ThreadPool, NestedCallRunsInline) {
  ContextPtr ctx(ternc_context_create(3));
  struct Outer {
    ternc_context *ctx;
    std::atomic<int64_t> inner{0};
  } outer{ctx.get()};
  ternc_parallel_for(ctx.get(), 9, 1, [](void *arg, int64_t begin, int64_t end) {
    auto *o = static_cast<Outer *>(arg);
    for (int64_t i = begin; i < end; ++i) {
      Sum s;
      ternc_parallel_for(o->ctx, 10, 1, &Sum::add, &s);
      o->inner.fetch_add(s.total.load());
    }
  }, &outer);
  EXPECT_EQ(outer.inner.load(), 9 * 45);
}

TEST(ThreadPool, ConcurrentHostsShareOneContext) {
  ContextPtr ctx(ternc_context_create(2));
  std::atomic<bool> wrong{false};
  auto host = [&] {
    for (int rep = 0; rep < 2000; ++rep) {
      Sum s;
      ternc_parallel_for(ctx.get(), 50, 1, &Sum::add, &s);
      if (s.total.load() != 50 * 49 / 2) wrong = true;
    }
  };
  std::thread a(host), b(host);
  a.join();
  b.join();
  EXPECT_FALSE(wrong.load());
}

TEST(ThreadPool, CreateAndDestroyRepeatedly) {
  for (int i = 0; i < 200; ++i) {
    ContextPtr ctx(ternc_context_create(1 + i % 4));
    if (i % 2) expectCoveredOnce(ctx.get(), 17, 1);
  }
}

TEST(Context, ProfileCounters) {
  ContextPtr ctx(ternc_context_create(1));
  ternc_profile_begin(ctx.get(), 2);
  ternc_profile_end(ctx.get(), 2);
  uint64_t nanos = 7, calls = 7;
  ternc_profile_read(ctx.get(), 2, &nanos, &calls);
  EXPECT_EQ(calls, 0u) << "profiling is off by default";
  ternc_set_profiling(ctx.get(), 1);
  for (int i = 0; i < 3; ++i) {
    ternc_profile_begin(ctx.get(), 2);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ternc_profile_end(ctx.get(), 2);
  }
  ternc_profile_read(ctx.get(), 2, &nanos, &calls);
  EXPECT_EQ(calls, 3u);
  EXPECT_GE(nanos, 6'000'000u);
  ternc_profile_read(ctx.get(), 0, &nanos, &calls);
  EXPECT_EQ(calls, 0u);
  ternc_profile_read(ctx.get(), 99, &nanos, &calls);
  EXPECT_EQ(calls, 0u);
  ternc_profile_reset(ctx.get());
  ternc_profile_read(ctx.get(), 2, &nanos, &calls);
  EXPECT_EQ(calls, 0u);
  EXPECT_EQ(nanos, 0u);
}

TEST(Context, Errors) {
  ContextPtr ctx(ternc_context_create(1));
  EXPECT_STREQ(ternc_last_error(ctx.get()), "");
  ternc_set_error(ctx.get(), "index 9 out of bounds");
  EXPECT_STREQ(ternc_last_error(ctx.get()), "index 9 out of bounds");
}

TEST(Context, DtypeSizes) {
  EXPECT_EQ(ternc_dtype_size(TERNC_F64), 8u);
  EXPECT_EQ(ternc_dtype_size(TERNC_F32), 4u);
  EXPECT_EQ(ternc_dtype_size(TERNC_BF16), 2u);
  EXPECT_EQ(ternc_dtype_size(TERNC_U16), 2u);
  EXPECT_EQ(ternc_dtype_size(TERNC_BOOL), 1u);
  EXPECT_EQ(ternc_dtype_size(TERNC_TERN), 1u);
  EXPECT_EQ(ternc_dtype_size(99), 0u);
}

} // namespace
