// AscendTiling: the ascend-910b target's cost model. For one ternary matmul and one phase (decode, prefill) it
// chooses the weight storage (int8 NZ, int4 MSD, 2-bit + AIV unpack into a GM ring) and the schedule (base
// tiles, L1 depths and steps, double buffering, split over the 24 AICs) that the cycle model of the simulator
// (kernels/AscendSim.h) says is fastest, among those that respect every capacity and alignment of ASCEND.md;
// packs weights in the storages; and explains the choice for --explain-tiling.
#pragma once

#include "targets/ascend-910b/AscendSchedule.h"

#include <cstdint>
#include <string>
#include <vector>

namespace ternc::ascend {

/// One ternary matmul y[m, n] = q[m, k] . w[n, k]^T (with a gate weight of the same shape when gated), whose
/// scales come per group of kGroup weights along K (kGroup = k for per-tensor and per-row scales).
struct MatmulShape {
  int64_t m, n, k, kGroup;
  bool gated;
};

/// The storages the cost model chooses from, for error messages and explanations ("int8 NZ", ...).
const char *storageName(int storage);

/// One phase's schedule chosen by the cost model (every field but weightOffset/weightBytes).
AscendMatmulTiling chooseTiling(const MatmulShape &shape, AscendPhase phase);
/// The best schedule with the given storage (chooseTiling compares these); throws Error if none fits.
AscendMatmulTiling bestTilingFor(const MatmulShape &shape, AscendPhase phase, int storage);
/// Whether `storage` can hold a matmul of this shape at all ("" if so, else why not).
std::string storageUnsupported(const MatmulShape &shape, int storage);

/// Throws ternc::Error naming the violated capacity or alignment unless the tiling respects all of ASCEND.md's.
void validateTiling(const AscendMatmulTiling &t);

/// Bytes of a [n, k] ternary weight in `storage`, and the packing itself (t: int8 -1/0/1 row-major). The NZ
/// layouts are documented in AscendSchedule.h so the simulator, the emitted host program and kernels agree.
int64_t storageBytes(int storage, int64_t n, int64_t k);
void packStorage(int storage, const int8_t *t, int64_t n, int64_t k, uint8_t *dst);
/// The inverse of packStorage; false if the bytes hold a value that is not ternary (or an MSD correction that
/// disagrees with the weights).
bool unpackStorage(int storage, const uint8_t *src, int64_t n, int64_t k, int8_t *t);

/// The packed constant of layout "ascend910b": the AscendPackedWeight header with both phases' tilings (their
/// weightOffset / weightBytes filled in), then the storages they name (one copy when both chose the same).
std::vector<uint8_t> packWeight(const int8_t *t, int64_t n, int64_t k, AscendMatmulTiling decode,
                                AscendMatmulTiling prefill);
/// "" if `size` bytes at `p` are a well-formed packed [n, k] weight (header, tilings, storages), else what is
/// wrong; the tilings are validated too.
std::string checkPackedWeight(const uint8_t *p, size_t size, int64_t n, int64_t k);
/// The header of a packed weight that checkPackedWeight accepted.
AscendPackedWeight packedHeader(const uint8_t *p);

/// The cost model's numbers and the chosen tiling, for --explain-tiling (several lines).
std::string explainTiling(const AscendMatmulTiling &t);

/// Cycle model of the schedule (counts of what it issues, at ASCEND.md's rates), for the busiest core with m
/// activation rows; mte2Bytes is what all the cores read from GM (AICs and AIVs).
struct CycleEstimate {
  double cubeCycles, mte2Bytes, mte2Cycles, mte1Cycles, fixpipeCycles, vectorRepeats, vectorCycles, totalCycles;
};
CycleEstimate estimateCycles(const AscendMatmulTiling &t, int64_t m);

/// Seconds of `cycles` at the 910B2's clock.
inline double cyclesToSeconds(double cycles) { return cycles / (TERNC_ASCEND_GHZ * 1e9); }

} // namespace ternc::ascend
