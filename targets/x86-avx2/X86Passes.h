// X86Passes: the x86 targets' own passes (X86PackTernary.cpp).
#pragma once

#include "passes/Pass.h"

#include <string>

namespace ternc {

/// Registers the packing pass of every x86 BitLinear kernel (x86-pack-avx2, x86-pack-vnni256, x86-pack-vnni512).
void registerX86Passes(PassRegistry &r);
/// Why no x86 kernel takes this BitLinear weight, or "" if they do.
std::string x86UnsupportedWeight(const Value &w);

} // namespace ternc
