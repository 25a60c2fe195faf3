// Npy: reading and writing NumPy .npy tensor files.
#pragma once

#include "ir/Tensor.h"

#include <string>

namespace ternc {

/// Reads a .npy file (format 1.0-3.0, little-endian, C order, the dtypes of
/// ir/Type.h). Throws Error naming the file on anything else.
Tensor readNpy(const std::string &path);
/// Writes a .npy file atomically (temporary file, then rename).
void writeNpy(const Tensor &t, const std::string &path);

} // namespace ternc
