// TargetSupport: helpers that several targets share (host CPU detection,
// feature checks, linking with the host's clang and lld).
#pragma once

#include "targets/Target.h"

#include <functional>
#include <initializer_list>
#include <string>
#include <vector>

namespace ternc {

class Value;

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

/// Why a CPU target's BitLinear kernels cannot take ternary weight `w` ("" if they can): a constant static
/// tern [N, K] matrix, scales per tensor, per row or per group of a multiple of `groupMultiple` dividing K.
std::string unsupportedTernaryWeight(const Value &w, int64_t groupMultiple);

/// --explain-tiling helpers the targets share: byte and time figures ("1.25 MB", "0.31 ms"), and the activation
/// row counts to explain for a BitLinear reading activations `q` (the static count, else 1 for decode and 128 for a
/// prompt; *symbolic tells which).
std::string bytesText(double bytes);
std::string secondsText(double seconds);
std::vector<int64_t> explainedRows(const Value &q, bool *symbolic);
/// The thread split line of a CPU BitLinear kernel (targets/BitLinearKernel.h items of `rowsPerItem` output
/// columns, about 2^20 multiply-adds per task, and at least `leastGrainPrefill` items when M > 1) for M rows of
/// an [N, K] weight.
std::string threadSplitText(int64_t m, bool symbolic, int64_t n, int64_t k, int64_t rowsPerItem,
                            int64_t leastGrainPrefill = 1);

/// The legalization a CPU target's packing pass does: every BitLinear without a kernel yet whose weight (and
/// gate weight) `unsupported` accepts (returns "") gets them packed in the registered ternary layout `layout`
/// (one packed constant per weight, shared by every graph that reads it) and `target.kernel` = `kernel`.
/// Others are left for codegen to report. With `tileGroupScales`, the constant scales of weights with several
/// scale groups per row are tiled by 16 rows (ir/TernaryPacking.h: binary16 times an f32 factor when every scale
/// of the op is exactly that, else f32), for kernels that take TK_SCALES_TILED16_* (targets/BitLinearKernel.h). Returns true if the
/// module changed; throws Error naming `pass` if a weight is already packed in another layout, or a scale is
/// tiled and the target's kernels do not read tiled scales.
bool packBitLinearWeights(Module &m, std::string_view pass, std::string_view layout, std::string_view kernel,
                          const std::function<std::string(const Value &)> &unsupported,
                          bool tileGroupScales = false);

} // namespace ternc
