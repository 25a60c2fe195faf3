// MatrixSets: the reusable arena and the tagged copies of a packed matrix.
#include "MatrixSets.h"

#include "ir/Error.h"

#include <sys/mman.h>

#include <cstring>

namespace ternc::bench {

namespace {

constexpr size_t kAlign = 64;
constexpr size_t kTagStride = 2048;

size_t roundUp(size_t v, size_t a) { return (v + a - 1) / a * a; }

/// The byte whose four 2-bit fields are the base-3 digits of v (< 81): codes 0, 1, 2, i.e. weights -1, 0, +1.
uint8_t codeByte(uint32_t v) {
  return static_cast<uint8_t>((v % 3) | (v / 3 % 3) << 2 | (v / 9 % 3) << 4 | (v / 27 % 3) << 6);
}

} // namespace

Arena::Arena(size_t bytes) : size_(roundUp(bytes, 4096)) {
  void *p = mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    fail("ternary bench: cannot map {} MiB", size_ >> 20);
  data_ = static_cast<uint8_t *>(p);
  // Transparent huge pages, as compiled executables read their weights into (runtime/Weights.cpp): with 4 KiB
  // pages every new page of a matrix is a TLB miss (2-thread GEMV at 2560x2560: 82% -> 90% of the streaming
  // read). The stream read's buffer is an Arena too, so the bound gets the same pages.
#ifdef MADV_HUGEPAGE
  madvise(data_, size_, MADV_HUGEPAGE);
#endif
  // Fault every page in now, in one call (much cheaper than one fault per page on a VM); without
  // MADV_POPULATE_WRITE (Linux < 5.14) the first copy into the arena faults the pages in instead.
#ifdef MADV_POPULATE_WRITE
  madvise(data_, size_, MADV_POPULATE_WRITE);
#endif
}

Arena::~Arena() { munmap(data_, size_); }

size_t replicatedBytes(size_t bytes, int64_t count) { return roundUp(bytes, kAlign) * static_cast<size_t>(count); }

std::vector<uint8_t *> replicate(Arena &arena, const uint8_t *matrix, size_t bytes, int64_t count, CodeRegion region) {
  if (replicatedBytes(bytes, count) > arena.size())
    fail("ternary bench: {} copies of {} bytes do not fit the {} MiB arena", count, bytes, arena.size() >> 20);
  if (count > 81 * 81)
    fail("ternary bench: {} copies of one matrix are more than the 6561 distinct tags", count);
  std::vector<uint8_t *> copies;
  size_t stride = roundUp(bytes, kAlign);
  for (int64_t i = 0; i < count; ++i) {
    uint8_t *dst = arena.data() + static_cast<size_t>(i) * stride;
    std::memcpy(dst, matrix, bytes);
    copies.push_back(dst);
    if (i == 0)
      continue;
    uint8_t lo = codeByte(static_cast<uint32_t>(i % 81)), hi = codeByte(static_cast<uint32_t>(i / 81));
    for (size_t p = 0; p < bytes; p += kTagStride) {
      size_t at = p;
      if (at % region.blockBytes + 2 > region.codeBytes) // not two code bytes left in this block: next block
        at = (at / region.blockBytes + 1) * region.blockBytes;
      if (at + 2 > bytes)
        break;
      dst[at] = lo;
      dst[at + 1] = hi;
    }
  }
  return copies;
}

} // namespace ternc::bench
