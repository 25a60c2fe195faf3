// StreamRead: the machine's memory read bandwidth, measured by summing a large buffer with vector loads.
#pragma once

#include "ThreadPool.h"

#include <cstddef>
#include <cstdint>

namespace ternc::bench {

/// Sum of the 64-bit words of data[0, bytes) (bytes a multiple of 256, data 64-byte aligned), read with the
/// widest vector loads this build targets (AVX-512, else AVX2) and several accumulators, so the loop is bound
/// by memory, not by the additions; the sum is returned so the loads cannot be dropped.
uint64_t sumWords(const uint8_t *data, size_t bytes);

/// Name of the loads sumWords uses ("AVX-512" or "AVX2").
const char *sumWordsIsa();

/// Median over `reps` passes of bytes / time, in GB/s (1e9 bytes/s), for `threads` threads of `pool` each
/// reading a contiguous share of data[0, bytes).
double readBandwidth(ThreadPool &pool, int threads, const uint8_t *data, size_t bytes, int reps);

} // namespace ternc::bench
