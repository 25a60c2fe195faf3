// Weights.cpp: ternc_weights_attach, which maps the weights an executable carries after its ELF image
// (codegen's ExternalWeights, appended by linkExecutable) from /proc/self/exe, read-only and shared with the
// page cache like a read-only segment: pages load on first touch, nothing is copied.
//
// The file ends with a 32-byte trailer: "TERNCWT1", the blob's offset (page aligned), its size and the
// build id the model's main() was compiled with.
#include "ternc/runtime.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

constexpr uint64_t kMagic = 0x315457434e524554ull;  // "TERNCWT1"

int attachFailed(const char *path, const char *what) {
  std::fprintf(stderr,
               "error: %s: %s; the executable's weights follow its ELF image, so it must not be stripped or "
               "modified after `ternc compile` wrote it\n",
               path, what);
  return 1;
}

} // namespace

extern "C" int ternc_weights_attach(const void **base, uint64_t id, uint64_t bytes) {
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
  if (::fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(sizeof trailer)) {
    problem = "cannot read its size";
  } else if (::pread(fd, trailer, sizeof trailer, st.st_size - off_t(sizeof trailer)) != ssize_t(sizeof trailer)) {
    problem = "cannot read its weights' trailer";
  } else if (trailer[0] != kMagic) {
    problem = "its weights are missing (no ternc weights trailer at the end of the file)";
  } else if (trailer[3] != id || trailer[2] != bytes) {
    problem = "the weights at its end belong to another compiled model";
  } else if (trailer[1] % uint64_t(::sysconf(_SC_PAGESIZE)) != 0 ||
             trailer[1] + trailer[2] + sizeof trailer != uint64_t(st.st_size)) {
    problem = "its weights' trailer does not match the file's size";
  }
  if (problem) {
    ::close(fd);
    return attachFailed(exe, problem);
  }
  void *p = ::mmap(nullptr, bytes, PROT_READ, MAP_PRIVATE, fd, off_t(trailer[1]));
  int err = errno;
  ::close(fd);
  if (p == MAP_FAILED) return attachFailed(exe, std::strerror(err));
  *base = p;
  return 0;
}
