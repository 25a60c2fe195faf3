// bwprobe.c: memory read bandwidth for the head to head's decode bound (bench/h2h/run.py): T threads each sum a
// contiguous share of a buffer much larger than the caches with the widest vector loads of this build (AVX-512,
// else AVX2), four accumulators, so the loop is bound by memory (bench/ternary/StreamRead.cpp's loop, standalone),
// over transparent huge pages.
//
// Build: cc -O3 -march=native -pthread bench/h2h/bwprobe.c -o bwprobe
// Usage: bwprobe [--mib M (1024)] [--threads T (1)] [--reps R (7)]
// Output: one JSON line: {"threads": T, "mib": M, "gbps_median": ..., "gbps_max": ..., "isa": "..."}
// (GB/s = 1e9 bytes/s, the median and the best of R timed passes after one untimed pass).
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static uint8_t *buf;
static size_t share;
static volatile uint64_t sink;

static uint64_t sum_words(const uint8_t *p, size_t bytes) {
#if defined(__AVX512F__)
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < bytes; i += 256) {
    a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
    a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 64));
    a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 128));
    a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 192));
  }
  return (uint64_t)_mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
#else
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < bytes; i += 128) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *)(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *)(p + i + 96)));
  }
  __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  uint64_t lanes[4];
  _mm256_storeu_si256((__m256i *)lanes, s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
#endif
}

static void *worker(void *arg) {
  size_t i = (size_t)arg;
  sink += sum_words(buf + i * share, share);
  return NULL;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  long mib = 1024, threads = 1, reps = 7;
  for (int i = 1; i < argc; ++i) {
    long *dst = !strcmp(argv[i], "--mib") ? &mib : !strcmp(argv[i], "--threads") ? &threads
                : !strcmp(argv[i], "--reps") ? &reps : NULL;
    if (!dst || i + 1 >= argc || (*dst = strtol(argv[i + 1], NULL, 10)) < 1) {
      fprintf(stderr, "usage: bwprobe [--mib M] [--threads T] [--reps R] (positive integers)\n");
      return 2;
    }
    ++i;
  }
  if (threads > 64 || reps > 1000) {
    fprintf(stderr, "bwprobe: at most 64 threads and 1000 reps\n");
    return 2;
  }
  size_t bytes = (size_t)mib << 20;
  share = bytes / (size_t)threads / 256 * 256;
  if (posix_memalign((void **)&buf, (size_t)2 << 20, bytes) != 0) {
    fprintf(stderr, "bwprobe: cannot allocate %ld MiB\n", mib);
    return 1;
  }
  // Transparent huge pages, as ternc's executables read their weights into (runtime/Weights.cpp): the bound
  // is the read bandwidth without TLB misses.
  madvise(buf, bytes, MADV_HUGEPAGE);
  for (size_t i = 0; i < bytes; ++i) buf[i] = (uint8_t)(i * 2654435761u >> 13);
  double *gbps = calloc((size_t)reps, sizeof(double));
  pthread_t tid[64];
  for (long r = -1; r < reps; ++r) {  // pass -1: untimed warm-up
    double t0 = now();
    for (long t = 0; t < threads; ++t) pthread_create(&tid[t], NULL, worker, (void *)t);
    for (long t = 0; t < threads; ++t) pthread_join(tid[t], NULL);
    double sec = now() - t0;
    if (r >= 0) gbps[r] = (double)(share * (size_t)threads) / sec / 1e9;
  }
  qsort(gbps, (size_t)reps, sizeof(double), cmp);
#if defined(__AVX512F__)
  const char *isa = "AVX-512";
#else
  const char *isa = "AVX2";
#endif
  printf("{\"threads\": %ld, \"mib\": %ld, \"gbps_median\": %.2f, \"gbps_max\": %.2f, \"isa\": \"%s\", \"sink\": %llu}\n",
         threads, mib, gbps[reps / 2], gbps[reps - 1], isa, (unsigned long long)(sink & 1));
  free(gbps);
  free(buf);
  return 0;
}
