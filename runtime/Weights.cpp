// Weights.cpp: ternc_weights_attach, which loads the weights an executable carries after its ELF image
// (codegen's ExternalWeights, appended by linkExecutable) from /proc/self/exe.
//
// The blob's dense part (what every token reads whole: ternary matrices, heads) is read into anonymous memory
// backed by transparent huge pages and made read-only. Decode streams every weight once per token, and with
// 4 KiB pages each new page of a matrix costs a TLB miss the hardware prefetcher does not run ahead of
// (bench/ternary, 2 threads, weights from memory: GEMV at 2B4T's q/o shape 82% -> 90% of the streaming read
// bandwidth, k/v 66% -> 77%; BitCPM-CANN-1B tg128 49 -> 53 t/s; docs/runtime.md). The sparse part (embedding
// tables only gathered from) is mapped from the file, shared with the page cache: only the rows a prompt
// uses load, so it costs no memory beyond them. TERNC_WEIGHTS=mmap maps the dense part from the file too
// (pages load on first touch), and so does a failed allocation or read.
//
// The file ends with a 32-byte trailer: "TERNCWT1", the blob's offset (page aligned), its size and the
// build id the model's main() was compiled with.
#include "ternc/runtime.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <exception>
#include <thread>
#include <vector>

namespace {

constexpr uint64_t kMagic = 0x315457434e524554ull;  // "TERNCWT1"

int attachFailed(const char *path, const char *what) {
  std::fprintf(stderr,
               "error: %s: %s; the executable's weights follow its ELF image, so it must not be stripped or "
               "modified after `ternc compile` wrote it\n",
               path, what);
  return 1;
}

constexpr size_t kHugePage = size_t(2) << 20;

/// The blob read into anonymous memory that asks for transparent huge pages (2 MiB aligned, MADV_HUGEPAGE),
/// then made read-only; null if that fails (no memory, a short read), and then the caller maps the file.
void *readIntoHugePages(int fd, off_t offset, uint64_t bytes) {
  size_t len = (size_t(bytes) + kHugePage - 1) / kHugePage * kHugePage;
  void *raw = ::mmap(nullptr, len + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  // Trim to a 2 MiB aligned start, so every 2 MiB of the blob can be one huge page.
  uintptr_t start = (uintptr_t(raw) + kHugePage - 1) / kHugePage * kHugePage;
  size_t head = start - uintptr_t(raw), tail = kHugePage - head;
  if (head) ::munmap(raw, head);
  if (tail) ::munmap(reinterpret_cast<void *>(start + len), tail);
  auto *p = reinterpret_cast<char *>(start);
#ifdef MADV_HUGEPAGE
  ::madvise(p, len, MADV_HUGEPAGE);
#endif
  // The whole range is asked for up front, so that the disk reads ahead of the copies; the copies (and the
  // zeroing of each new huge page) are split over a few threads, each reading its contiguous share.
  (void)::posix_fadvise(fd, offset, off_t(bytes), POSIX_FADV_SEQUENTIAL);
  (void)::posix_fadvise(fd, offset, off_t(bytes), POSIX_FADV_WILLNEED);
  unsigned hw = std::thread::hardware_concurrency();
  uint64_t shares = std::min<uint64_t>(std::max(1u, std::min(hw, 4u)), std::max<uint64_t>(1, bytes >> 26));
  std::atomic<bool> failed{false};
  auto readShare = [&](uint64_t i) {
    uint64_t begin = bytes * i / shares, end = bytes * (i + 1) / shares;
    for (uint64_t done = begin; done < end && !failed.load(std::memory_order_relaxed);) {
      size_t chunk = size_t(std::min<uint64_t>(end - done, uint64_t(8) << 20));
      ssize_t got = ::pread(fd, p + done, chunk, offset + off_t(done));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        failed = true;
        return;
      }
      done += uint64_t(got);
    }
  };
  std::vector<std::thread> helpers;
  try {
    for (uint64_t i = 1; i < shares; ++i) helpers.emplace_back(readShare, i);
  } catch (const std::exception &) {  // no threads: the caller's thread reads the rest
    for (uint64_t i = helpers.size() + 1; i < shares; ++i) readShare(i);
  }
  readShare(0);
  for (std::thread &t : helpers) t.join();
  if (failed) {
    ::munmap(p, len);
    return nullptr;
  }
  ::mprotect(p, len, PROT_READ);
  return p;
}

} // namespace

extern "C" int ternc_weights_attach(const void **dense, const void **sparse, uint64_t id, uint64_t bytes,
                                    uint64_t sparseOffset) {
  const char *path = "/proc/self/exe";
  char exe[4096];
  ssize_t len = ::readlink(path, exe, sizeof exe - 1);
  if (len > 0) {
    exe[len] = 0;
  } else {
    std::snprintf(exe, sizeof exe, "%s", path);
  }
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return attachFailed(exe, std::strerror(errno));
  struct stat st;
  uint64_t trailer[4];
  const char *problem = nullptr;
  uint64_t page = uint64_t(::sysconf(_SC_PAGESIZE));
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof trailer)) {
    problem = "cannot read its size";
  } else if (::pread(fd, trailer, sizeof trailer, st.st_size - off_t(sizeof trailer)) != ssize_t(sizeof trailer)) {
    problem = "cannot read its weights' trailer";
  } else if (trailer[0] != kMagic) {
    problem = "its weights are missing (no ternc weights trailer at the end of the file)";
  } else if (trailer[3] != id || trailer[2] != bytes || sparseOffset > bytes) {
    problem = "the weights at its end belong to another compiled model";
  } else if (trailer[1] % page != 0 || (sparseOffset < bytes && sparseOffset % page != 0) ||
             trailer[1] + trailer[2] + sizeof trailer != uint64_t(st.st_size)) {
    problem = "its weights' trailer does not match the file's size";
  }
  if (problem) {
    ::close(fd);
    return attachFailed(exe, problem);
  }
  off_t at = off_t(trailer[1]);
  const char *mode = std::getenv("TERNC_WEIGHTS");
  bool mapAll = (mode && std::strcmp(mode, "mmap") == 0) || sparseOffset == 0;
  void *d = mapAll ? nullptr : readIntoHugePages(fd, at, sparseOffset);
  if (!d) {  // the whole blob mapped from the file
    void *p = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, at);
    int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) return attachFailed(exe, std::strerror(err));
    *dense = p;
    *sparse = static_cast<const char *>(p) + sparseOffset;
    return 0;
  }
  void *sp = nullptr;
  if (sparseOffset < bytes) {
    sp = ::mmap(nullptr, bytes - sparseOffset, PROT_READ, MAP_PRIVATE, fd, at + off_t(sparseOffset));
    if (sp == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return attachFailed(exe, std::strerror(err));
    }
  }
  ::close(fd);
  *dense = d;
  *sparse = sp;
  return 0;
}
