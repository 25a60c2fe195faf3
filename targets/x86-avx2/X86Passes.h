// X86Passes: the x86 target's own passes (X86PackTernary.cpp).
#pragma once

#include "passes/Pass.h"

#include <string>

namespace ternc {

/// Registers x86-pack-avx2, x86-pack-vnni256 and x86-pack-vnni512.
void registerX86Passes(PassRegistry &r);
/// The packing pass for a CPU with (or without) AVX512-VNNI on zmm / ymm.
std::string x86PackPass(bool vnni512, bool vnni256);

} // namespace ternc
