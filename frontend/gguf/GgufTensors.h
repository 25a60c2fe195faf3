// GgufTensors: decoding GGUF tensor data (f32/f16/bf16, Q8_0, Q6_K, and the ternary TQ1_0, TQ2_0, I2_S) into
// ternc tensors, bit-exactly as llama.cpp's dequantize_row_* (docs/frontend-gguf.md, "Tensor types").
#pragma once

#include "frontend/gguf/GgufFile.h"

#include <cstdint>
#include <vector>

namespace ternc::gguf {

/// A ternary weight matrix: the value of element (r, c) is codes[r * cols + c] * its scale.
struct TernaryWeight {
  int64_t rows = 0;  ///< the product of ne[1..]
  int64_t cols = 0;  ///< ne[0]
  std::vector<int8_t> codes;  ///< rows * cols values in {-1, 0, +1}, row-major
  /// group > 0: [rows, cols / group] row-major, the scale of codes [c * group, (c + 1) * group) of each row;
  /// group == 0: one per-tensor scale.
  std::vector<float> scales;
  int64_t group = 0;
};

/// True for the types toF32 decodes.
bool canDecodeToF32(GgmlType t);
/// True for TQ1_0, TQ2_0 and I2_S.
bool isTernaryType(GgmlType t);

/// `t` (a tensor of `file`) as a new f32 tensor of shape [ne[n-1], ..., ne[0]], for F32, F16, BF16, Q8_0, Q6_K,
/// TQ1_0, TQ2_0 and I2_S: each value exactly llama.cpp's dequantized one (I2_S: (code - 1) * scale). An f32 tensor
/// whose data is 4-byte aligned is a view of the mapping, not a copy. Throws Error naming the file and tensor for
/// other types and for codes that are not ternary (3 in TQ2_0 or I2_S).
Tensor toF32(const GgufFile &file, const TensorInfo &t);

/// The codes and scales of a TQ1_0 / TQ2_0 (group 256, one scale per block: its f16 d) or I2_S (group 0, the f32
/// per-tensor scale) tensor. codes * scale equals toF32 bit for bit. Throws Error naming the file and tensor for
/// other types, for a code 3, and for an I2_S tensor whose element count is not a multiple of 128.
TernaryWeight decodeTernary(const GgufFile &file, const TensorInfo &t);

} // namespace ternc::gguf
