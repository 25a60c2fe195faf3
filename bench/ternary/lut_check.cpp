// lut_check: the lookup-table GEMV kernels (LutKernels.h) against a scalar sum, exactly, on the benchmark's
// decode shapes and some odd ones, with random and extreme data, on 1 and 2 threads. Exits 1 on a mismatch.
#include "LutKernels.h"
#include "ThreadPool.h"

#include <chrono>
#include <cstdio>

int main() {
  using namespace ternc::bench;
  struct Shape {
    int64_t n, k;
  };
  const Shape shapes[] = {
      // ternary_bench's decode shapes
      {2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}, {4096, 4096}, {16384, 4096}, {4096, 16384},
      // odd ones: rows not a multiple of the 64-row panel, K not a multiple of the 16-weight block, K odd
      {1, 1}, {1, 2}, {3, 15}, {17, 30}, {63, 16}, {65, 17}, {100, 1000}, {130, 2567}, {200, 4099}, {64, 32}};
  ThreadPool pool(2);
  auto t0 = std::chrono::steady_clock::now();
  int failures = 0;
  for (const LutKernel &kernel : lutKernels())
    std::printf("%s: %s\n", kernel.name, kernel.supported ? "checked" : "not supported by this CPU, skipped");
  uint64_t seed = 1;
  for (const Shape &s : shapes)
    for (int threads : {1, 2}) {
      std::string error = lutCheck(pool, threads, s.n, s.k, seed++);
      if (!error.empty()) {
        std::printf("MISMATCH: %s\n", error.c_str());
        ++failures;
      }
    }
  double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("%s: %zu shapes x 1 and 2 threads x 6 data sets, %.1f s\n", failures ? "FAILED" : "all exact",
              sizeof shapes / sizeof shapes[0], sec);
  return failures ? 1 : 0;
}
