// TargetSupport: helpers that several targets share (host CPU detection,
// feature checks, linking with the host's clang and lld).
#pragma once

#include "targets/Target.h"

#include <initializer_list>
#include <string>

namespace ternc {

/// This host's CPU: LLVM's name for it and every feature it reports. When
/// LLVM does not know the CPU (a newer generation), the name falls back to
/// the highest x86-64 level whose features are present.
CpuSelection hostCpu();
bool hostIsX86_64();
/// Throws Error unless `sel` (an LLVM CPU name plus features) is valid for
/// `triple` and has every feature in `required`.
void requireCpuFeatures(const std::string &triple, const CpuSelection &sel,
                        std::initializer_list<const char *> required, std::string_view targetName);
/// Linking with clang-16 and lld-16 against the runtime built for `triple`.
/// True if the selected CPU (already validated) has every one of `features`.
bool cpuHasFeatures(const std::string &triple, const CpuSelection &sel, std::initializer_list<const char *> features);
LinkInfo hostLinkInfo(const std::string &triple);

} // namespace ternc
