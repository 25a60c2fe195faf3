// gemm_bench: times tk_gemm_f32 on one thread for the decode (1x2048 @ 2048x2048) and prefill
// (128x2048 @ 2048x2048) shapes of bench/README.md, calling every item in turn as one pool thread would.
//
// "runtime" calls the compiled tk_gemm_f32 with shapes known only at run time; "constant" inlines the same
// kernel with the shapes as compile-time constants, as codegen does when it links the bitcode into a model.
#include "GemmCore.h"
#include "Kernels.h"

#include <benchmark/benchmark.h>

#include <random>
#include <vector>

namespace {

struct Operands {
  std::vector<float> a, b, c;
  Operands(int64_t m, int64_t n, int64_t k) : a(size_t(m * k)), b(size_t(k * n)), c(size_t(m * n)) {
    std::mt19937 rng(1);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    for (float &x : a) x = dist(rng);
    for (float &x : b) x = dist(rng) * 0.0221f; // N(0, 1/2048), as the benchmark models' weights
  }
};

/// A row-major [m,k] @ [k,n] product, all items on this thread. TransB reads B as [n,k] (Gemm transB=1).
void runtimeShapes(benchmark::State &state, int64_t m, int64_t n, int64_t k, bool transB) {
  Operands o(m, n, k);
  int64_t sbk = transB ? 1 : n, sbn = transB ? k : 1;
  int64_t items = tk_gemm_f32_items(o.a.data(), k, 1, o.b.data(), sbk, sbn, o.c.data(), n, m, n, k, 1, 0);
  for (auto _ : state) {
    tk_gemm_f32(o.a.data(), k, 1, o.b.data(), sbk, sbn, o.c.data(), n, m, n, k, 1.0f, 0.0f, 0, items);
    benchmark::ClobberMemory();
  }
  state.counters["items"] = double(items);
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(m * n * k), benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

template <int64_t M, int64_t N, int64_t K, bool TransB>
__attribute__((noinline)) void gemmConstant(const float *a, const float *b, float *c) {
  using G = tk::Gemm<float, float, float, float, false>;
  constexpr int64_t sbk = TransB ? 1 : N, sbn = TransB ? K : 1;
  G::run({a, K, 1, nullptr, 0}, {b, sbk, sbn, nullptr, 0}, {c, N, 1.0f, 0.0f}, M, N, K, 0,
         G::items(M, N, K, 1, sbk, sbn));
}

template <int64_t M, int64_t N, int64_t K, bool TransB> void constantShapes(benchmark::State &state) {
  Operands o(M, N, K);
  for (auto _ : state) {
    gemmConstant<M, N, K, TransB>(o.a.data(), o.b.data(), o.c.data());
    benchmark::ClobberMemory();
  }
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * double(M * N * K), benchmark::Counter::kIsIterationInvariantRate,
                                                 benchmark::Counter::kIs1000);
}

void BM_gemm_runtime_1x2048x2048(benchmark::State &s) { runtimeShapes(s, 1, 2048, 2048, false); }
void BM_gemm_runtime_128x2048x2048(benchmark::State &s) { runtimeShapes(s, 128, 2048, 2048, false); }
void BM_gemm_runtime_1x2048x2048_transB(benchmark::State &s) { runtimeShapes(s, 1, 2048, 2048, true); }
void BM_gemm_runtime_128x2048x2048_transB(benchmark::State &s) { runtimeShapes(s, 128, 2048, 2048, true); }
BENCHMARK(BM_gemm_runtime_1x2048x2048)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_gemm_runtime_128x2048x2048)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_gemm_runtime_1x2048x2048_transB)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_gemm_runtime_128x2048x2048_transB)->Unit(benchmark::kMillisecond);
BENCHMARK(constantShapes<1, 2048, 2048, false>)->Name("BM_gemm_constant_1x2048x2048")->Unit(benchmark::kMillisecond);
BENCHMARK(constantShapes<128, 2048, 2048, false>)->Name("BM_gemm_constant_128x2048x2048")->Unit(benchmark::kMillisecond);
BENCHMARK(constantShapes<1, 2048, 2048, true>)->Name("BM_gemm_constant_1x2048x2048_transB")->Unit(benchmark::kMillisecond);
BENCHMARK(constantShapes<128, 2048, 2048, true>)
    ->Name("BM_gemm_constant_128x2048x2048_transB")
    ->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
