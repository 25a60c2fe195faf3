// Printer: the textual form of the ternc IR.
#pragma once

#include "ir/IR.h"

#include <cstdio>
#include <functional>
#include <ostream>
#include <string>

namespace ternc {

/// How large constants (more than `inlineLimit` elements) are printed.
enum class WeightMode {
  Hex,       ///< `hex<"...">`: raw little-endian bytes inline; self-contained
  External,  ///< `blob<OFFSET, SIZE>` into the weights file named by the module header
  Elide,     ///< `elided<SIZE>`: for reading only; the parser rejects it
};

struct PrintOptions {
  WeightMode weights = WeightMode::Elide;
  /// Constants with at most this many elements print as `dense<[...]>`.
  int64_t inlineLimit = 16;
  /// With WeightMode::External: the weights file's name as written in the
  /// module header (relative to the .tir file's folder), and where to write it.
  std::string weightsFileName;
  std::string weightsFilePath;
};

/// Prints the module. With WeightMode::External, writes the weights file
/// (each blob 64-byte aligned) as a side effect.
void printModule(const Module &m, std::ostream &os, const PrintOptions &opts = {});
std::string printModule(const Module &m, const PrintOptions &opts = {});

/// Writes `m` as text to `path` atomically. Constants larger than the
/// inline limit go to `path + ".bin"` (also written atomically) unless
/// `hexWeights`, which keeps everything in one file.
void writeModuleFile(const Module &m, const std::string &path, bool hexWeights = false);

/// Writes a file through a temporary file in the same folder, fsync and a
/// rename: readers never see a partial file, and on failure (including an
/// exception from `write`) nothing is left behind and an existing file is
/// untouched. Throws Error naming `path`.
void writeFileAtomically(const std::string &path, const std::function<void(std::FILE *)> &write);

/// Printing of pieces, shared with diagnostics.
std::string printAttrValue(const AttrValue &v);
std::string quoteIdentifierIfNeeded(const std::string &name);

} // namespace ternc
