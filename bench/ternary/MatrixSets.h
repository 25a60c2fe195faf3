// MatrixSets: many distinct copies of one packed weight matrix, so the kernels stream weights from memory as
// they do in inference (a model's layers never fit in cache) rather than from a warm cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace ternc::bench {

/// Page-aligned anonymous memory (4 KiB pages, as a model's weights usually are) that lives for the whole run and
/// is reused for every shape, so its page faults (about 10 us each on the VMs we use) are paid once, up front.
class Arena {
public:
  explicit Arena(size_t bytes);
  ~Arena();
  Arena(const Arena &) = delete;
  Arena &operator=(const Arena &) = delete;

  uint8_t *data() const { return data_; }
  size_t size() const { return size_; }

private:
  uint8_t *data_ = nullptr;
  size_t size_ = 0;
};

/// Where a packed format keeps its weight codes: bytes [0, codeBytes) of each blockBytes-byte block
/// (tern2b: every byte; TQ2_0: 64 of 66, the rest an fp16 scale; TQ1_0: 48 of 54).
struct CodeRegion {
  size_t blockBytes;
  size_t codeBytes;
};

/// Lays `count` copies of the packed matrix [matrix, matrix + bytes) end to end in `arena`, each 64-byte
/// aligned, and returns where each starts. Copy 0 is exact (the correctness checks use it); copy i > 0 has two
/// code bytes in every 2 KiB overwritten with valid ternary codes that spell i, so no two copies share a page's
/// contents and no layer of memory deduplication (such as a hypervisor merging equal pages) can turn the set
/// back into one matrix. The timings do not depend on the values.
std::vector<uint8_t *> replicate(Arena &arena, const uint8_t *matrix, size_t bytes, int64_t count, CodeRegion region);

/// Arena bytes that replicate() needs for `count` copies of `bytes`.
size_t replicatedBytes(size_t bytes, int64_t count);

} // namespace ternc::bench
