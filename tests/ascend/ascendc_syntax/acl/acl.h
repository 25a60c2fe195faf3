// acl/acl.h: A SYNTAX CHECK ONLY, NOT CANN. The AscendCL functions, types and enums that ternc's emitted host
// program uses (--emit=ascendc), with the signatures of the public AscendCL documentation, so that
// `g++ -std=c++17 -fsyntax-only` checks the host program. ACLRT_LAUNCH_KERNEL stands for the launch macro of the
// headers CANN's ascendc_library() generates; here it checks each launch's arguments against the kernel's
// declaration (g++ cannot parse the ASC language's <<<blocks, nullptr, stream>>>).
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#define __aicore__
#define __global__
#define __gm__

typedef int aclError;
constexpr aclError ACL_SUCCESS = 0;
typedef void *aclrtStream;

typedef enum aclrtMemMallocPolicy {
  ACL_MEM_MALLOC_HUGE_FIRST,
  ACL_MEM_MALLOC_HUGE_ONLY,
  ACL_MEM_MALLOC_NORMAL_ONLY
} aclrtMemMallocPolicy;

typedef enum aclrtMemcpyKind {
  ACL_MEMCPY_HOST_TO_HOST,
  ACL_MEMCPY_HOST_TO_DEVICE,
  ACL_MEMCPY_DEVICE_TO_HOST,
  ACL_MEMCPY_DEVICE_TO_DEVICE
} aclrtMemcpyKind;

aclError aclInit(const char *configPath);
aclError aclFinalize();
aclError aclrtSetDevice(int32_t deviceId);
aclError aclrtResetDevice(int32_t deviceId);
aclError aclrtCreateStream(aclrtStream *stream);
aclError aclrtDestroyStream(aclrtStream stream);
aclError aclrtSynchronizeStream(aclrtStream stream);
aclError aclrtMalloc(void **devPtr, size_t size, aclrtMemMallocPolicy policy);
aclError aclrtFree(void *devPtr);
aclError aclrtMemcpy(void *dst, size_t destMax, const void *src, size_t count, aclrtMemcpyKind kind);
aclError aclrtMemcpyAsync(void *dst, size_t destMax, const void *src, size_t count, aclrtMemcpyKind kind,
                          aclrtStream stream);
aclError aclrtMemset(void *devPtr, size_t maxCount, int32_t value, size_t count);

namespace ascendc_syntax {
/// ACLRT_LAUNCH_KERNEL(k)(blocks, stream, args...): the arguments must convert to k's parameters, one for one.
template <class... P> struct Launcher {
  void (*kernel)(P...);
  template <class... A> uint32_t operator()(uint32_t blockDim, aclrtStream stream, A &&...args) const {
    static_assert(sizeof...(A) == sizeof...(P), "kernel launched with the wrong number of arguments");
    static_assert((std::is_convertible_v<A, P> && ...), "kernel launched with an argument of the wrong type");
    return 0;
  }
};
template <class... P> Launcher<P...> launcher(void (*kernel)(P...)) { return {kernel}; }
} // namespace ascendc_syntax

#define ACLRT_LAUNCH_KERNEL(kernel) ::ascendc_syntax::launcher(kernel)
