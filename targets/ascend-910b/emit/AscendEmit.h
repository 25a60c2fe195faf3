// AscendEmit: `ternc compile --target ascend-910b --emit=ascendc -o DIR`. Writes an AscendC project for the CANN
// toolchain: kernels (BitLinear per phase and tiling, ActQuant, attention, AIV kernels for every other op), an
// AscendCL host program that runs the graph in order, the weights in the layouts the kernels read, a CMake file
// and a README (docs/ascend-emit.md). Emitted only: nothing here compiles or runs it against CANN.
#pragma once

#include "targets/ascend-910b/AscendSchedule.h"

#include <string>

namespace ternc {
class Module;
}

namespace ternc::ascend {

/// Writes the AscendC project for a module legalized by the ascend-910b target to outDir (created whole or not
/// at all: written to a temp dir next to it, then renamed). Throws Error naming every op it cannot emit, a
/// malformed packed weight, or an output directory it cannot create.
void emitAscendC(const Module &m, const std::string &outDir);

/// The AscendMatmulTiling fields the emitter prints as each kernel tiling's constants, in struct order:
/// X(C type, field). Tests compare the printed constants with the packed headers through the same list.
#define TERNC_ASCEND_TILING_FIELDS(X)                                                                          \
  X(int32_t, storage) X(int32_t, phase) X(int64_t, m) X(int64_t, n) X(int64_t, k) X(int32_t, blockDim)          \
  X(int32_t, splitM) X(int32_t, splitN) X(int64_t, singleCoreM) X(int64_t, singleCoreN) X(int64_t, singleCoreK) \
  X(int32_t, baseM) X(int32_t, baseN) X(int32_t, baseK) X(int32_t, depthA1) X(int32_t, depthB1)                \
  X(int32_t, stepM) X(int32_t, stepN) X(int32_t, stepKa) X(int32_t, stepKb) X(int32_t, dbL0A)                  \
  X(int32_t, dbL0B) X(int32_t, dbL0C) X(int32_t, kGroup) X(int32_t, ringSlots) X(int64_t, ringSlotBytes)       \
  X(int64_t, weightOffset) X(int64_t, weightBytes) X(int32_t, gated)

} // namespace ternc::ascend
