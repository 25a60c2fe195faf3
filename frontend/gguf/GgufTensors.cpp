// GgufTensors: the block layouts of the GGUF tensor types ternc decodes, following llama.cpp's ggml-quants.c
// (dequantize_row_q8_0, _q6_K, _tq1_0, _tq2_0) and bitnet.cpp's x86 I2_S packing (docs/frontend-gguf.md).
#include "frontend/gguf/GgufTensors.h"

#include "ir/Error.h"

#include <cstring>

namespace ternc::gguf {

namespace {

constexpr int64_t kQK = 256;         // elements per K-quant / TQ block
constexpr int64_t kTq1Bytes = 54;    // qs[48], qh[4], d
constexpr int64_t kTq2Bytes = 66;    // qs[64], d
constexpr int64_t kQ6Bytes = 210;    // ql[128], qh[64], scales[16], d
constexpr int64_t kQ8Bytes = 34;     // d, qs[32]
constexpr int64_t kI2Block = 128;    // I2_S: 128 elements in 32 bytes

uint16_t loadU16(const std::byte *p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

float loadF32(const std::byte *p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}

uint8_t byteAt(const std::byte *p, int64_t i) { return static_cast<uint8_t>(p[i]); }

[[noreturn]] void failTensor(const GgufFile &file, const TensorInfo &t, const std::string &what) {
  fail("{}: tensor '{}': {}", file.path(), t.name, what);
}

/// TQ1_0 block: the 256 trits (0..2) in element order. Bytes hold trit groups as ceil(v * 256 / 243), v being the
/// base-3 number of the group, first element most significant; multiplying by 3^n in uint8 arithmetic moves trit n
/// to the top and (q * 3) >> 8 reads it (dequantize_row_tq1_0).
void tq1Trits(const std::byte *block, uint8_t *out) {
  static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
  const std::byte *qs = block, *qh = block + 48;
  int64_t k = 0;
  // qs[0..32): elements n * 32 + m of the first 160; qs[32..48): 160 + n * 16 + m.
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 32; ++m)
      out[k++] = uint8_t((uint16_t(uint8_t(byteAt(qs, m) * kPow3[n])) * 3) >> 8);
  for (int n = 0; n < 5; ++n)
    for (int m = 0; m < 16; ++m)
      out[k++] = uint8_t((uint16_t(uint8_t(byteAt(qs, 32 + m) * kPow3[n])) * 3) >> 8);
  // qh[0..4): elements 240 + n * 4 + j (4 trits per byte, the fifth trit position unused).
  for (int n = 0; n < 4; ++n)
    for (int j = 0; j < 4; ++j)
      out[k++] = uint8_t((uint16_t(uint8_t(byteAt(qh, j) * kPow3[n])) * 3) >> 8);
}

/// TQ2_0 block: the 256 two-bit codes in element order; byte j * 32 + m holds elements j * 128 + l * 32 + m at bits
/// 2l (dequantize_row_tq2_0). Returns the index of the first code 3, or -1.
int64_t tq2Codes(const std::byte *block, uint8_t *out) {
  int64_t bad = -1;
  int64_t k = 0;
  for (int j = 0; j < 64; j += 32)
    for (int l = 0; l < 4; ++l)
      for (int m = 0; m < 32; ++m) {
        uint8_t q = (byteAt(block, j + m) >> (2 * l)) & 3;
        if (q == 3 && bad < 0)
          bad = k;
        out[k++] = q;
      }
  return bad;
}

/// I2_S (x86): element i of the tensor lies in block i / 128, byte i % 32 of its 32 bytes, bits 7:6, 5:4, 3:2, 1:0
/// for (i % 128) / 32 = 0, 1, 2, 3; code 0, 1, 2 = -1, 0, +1.
uint8_t i2Code(const std::byte *data, int64_t i) {
  int64_t b = i / kI2Block, j = i % kI2Block;
  return (byteAt(data, b * 32 + j % 32) >> (6 - 2 * (j / 32))) & 3;
}

void checkI2(const GgufFile &file, const TensorInfo &t) {
  if (t.numElements() % kI2Block != 0)
    failTensor(file, t,
               fmt::format("I2_S needs a multiple of {} elements, the tensor has {}", kI2Block, t.numElements()));
}

float i2Scale(const TensorInfo &t) { return loadF32(t.data + t.numElements() / 4); }

[[noreturn]] void failCode3(const GgufFile &file, const TensorInfo &t, int64_t element) {
  int64_t cols = t.rowLength();
  failTensor(file, t,
             fmt::format("element {} (row {}, column {}) has the 2-bit code 3, which is not a ternary value (0, 1, 2 "
                         "stand for -1, 0, +1)",
                         element, element / cols, element % cols));
}

} // namespace

bool canDecodeToF32(GgmlType t) {
  switch (t) {
  case GgmlType::F32:
  case GgmlType::F16:
  case GgmlType::BF16:
  case GgmlType::Q8_0:
  case GgmlType::Q6_K:
  case GgmlType::TQ1_0:
  case GgmlType::TQ2_0:
  case GgmlType::I2_S: return true;
  default: return false;
  }
}

bool isTernaryType(GgmlType t) { return t == GgmlType::TQ1_0 || t == GgmlType::TQ2_0 || t == GgmlType::I2_S; }

Tensor toF32(const GgufFile &file, const TensorInfo &t) {
  const int64_t n = t.numElements();
  const std::byte *src = t.data;
  if (t.type == GgmlType::F32 && reinterpret_cast<uintptr_t>(src) % alignof(float) == 0)
    return Tensor(DType::F32, t.shape(), file.storage(), size_t(t.fileOffset));
  if (!canDecodeToF32(t.type))
    failTensor(file, t, fmt::format("cannot decode type {} (f32, f16, bf16, q8_0, q6_K, tq1_0, tq2_0 and i2_s can be)",
                                    ggmlTypeName(t.type)));
  if (t.type == GgmlType::I2_S)
    checkI2(file, t);
  Tensor out(DType::F32, t.shape());
  float *y = out.mutableData<float>();
  switch (t.type) {
  case GgmlType::F32: std::memcpy(y, src, size_t(n) * 4); break;
  case GgmlType::F16:
    for (int64_t i = 0; i < n; ++i)
      y[i] = halfToFloat(loadU16(src + 2 * i));
    break;
  case GgmlType::BF16:
    for (int64_t i = 0; i < n; ++i)
      y[i] = bf16ToFloat(loadU16(src + 2 * i));
    break;
  case GgmlType::Q8_0:
    for (int64_t b = 0; b < n / 32; ++b) {
      const std::byte *blk = src + b * kQ8Bytes;
      const float d = halfToFloat(loadU16(blk));
      for (int j = 0; j < 32; ++j)
        y[b * 32 + j] = float(static_cast<int8_t>(blk[2 + j])) * d;
    }
    break;
  case GgmlType::Q6_K:
    for (int64_t b = 0; b < n / kQK; ++b) {
      const std::byte *blk = src + b * kQ6Bytes;
      const std::byte *ql = blk, *qh = blk + 128, *sc = blk + 192;
      const float d = halfToFloat(loadU16(blk + 208));
      float *yb = y + b * kQK;
      for (int half = 0; half < 2; ++half) {
        for (int l = 0; l < 32; ++l) {
          int is = l / 16;
          auto s = [&](int k) { return float(static_cast<int8_t>(sc[is + k])); };
          int q1 = int((byteAt(ql, l) & 0xF) | (((byteAt(qh, l) >> 0) & 3) << 4)) - 32;
          int q2 = int((byteAt(ql, l + 32) & 0xF) | (((byteAt(qh, l) >> 2) & 3) << 4)) - 32;
          int q3 = int((byteAt(ql, l) >> 4) | (((byteAt(qh, l) >> 4) & 3) << 4)) - 32;
          int q4 = int((byteAt(ql, l + 32) >> 4) | (((byteAt(qh, l) >> 6) & 3) << 4)) - 32;
          yb[l + 0] = d * s(0) * float(q1);
          yb[l + 32] = d * s(2) * float(q2);
          yb[l + 64] = d * s(4) * float(q3);
          yb[l + 96] = d * s(6) * float(q4);
        }
        yb += 128;
        ql += 64;
        qh += 32;
        sc += 8;
      }
    }
    break;
  case GgmlType::TQ1_0:
  case GgmlType::TQ2_0: {
    const bool tq1 = t.type == GgmlType::TQ1_0;
    const int64_t blockBytes = tq1 ? kTq1Bytes : kTq2Bytes;
    uint8_t codes[kQK];
    for (int64_t b = 0; b < n / kQK; ++b) {
      const std::byte *blk = src + b * blockBytes;
      if (tq1) {
        tq1Trits(blk, codes);
      } else if (int64_t bad = tq2Codes(blk, codes); bad >= 0) {
        failCode3(file, t, b * kQK + bad);
      }
      const float d = halfToFloat(loadU16(blk + blockBytes - 2));
      for (int64_t k = 0; k < kQK; ++k)
        y[b * kQK + k] = float(int(codes[k]) - 1) * d;
    }
    break;
  }
  case GgmlType::I2_S: {
    const float scale = i2Scale(t);
    for (int64_t i = 0; i < n; ++i) {
      uint8_t q = i2Code(src, i);
      if (q == 3)
        failCode3(file, t, i);
      y[i] = float(int(q) - 1) * scale;
    }
    break;
  }
  default: break;
  }
  return out;
}

TernaryWeight decodeTernary(const GgufFile &file, const TensorInfo &t) {
  if (!isTernaryType(t.type))
    failTensor(file, t,
               fmt::format("type {} is not a ternary type (tq1_0, tq2_0 or i2_s)", ggmlTypeName(t.type)));
  TernaryWeight w;
  w.rows = t.numRows();
  w.cols = t.rowLength();
  const int64_t n = t.numElements();
  w.codes.resize(size_t(n));
  if (t.type == GgmlType::I2_S) {
    checkI2(file, t);
    for (int64_t i = 0; i < n; ++i) {
      uint8_t q = i2Code(t.data, i);
      if (q == 3)
        failCode3(file, t, i);
      w.codes[size_t(i)] = int8_t(int(q) - 1);
    }
    w.scales = {i2Scale(t)};
    w.group = 0;
    return w;
  }
  const bool tq1 = t.type == GgmlType::TQ1_0;
  const int64_t blockBytes = tq1 ? kTq1Bytes : kTq2Bytes;
  w.group = kQK;
  w.scales.resize(size_t(n / kQK));
  uint8_t codes[kQK];
  // Rows are whole blocks (ne[0] % 256 == 0 is checked when the file is opened), so block b is scale b of the
  // [rows, cols / 256] grid.
  for (int64_t b = 0; b < n / kQK; ++b) {
    const std::byte *blk = t.data + b * blockBytes;
    if (tq1) {
      tq1Trits(blk, codes);
    } else if (int64_t bad = tq2Codes(blk, codes); bad >= 0) {
      failCode3(file, t, b * kQK + bad);
    }
    for (int64_t k = 0; k < kQK; ++k)
      w.codes[size_t(b * kQK + k)] = int8_t(int(codes[k]) - 1);
    w.scales[size_t(b)] = halfToFloat(loadU16(blk + blockBytes - 2));
  }
  return w;
}

} // namespace ternc::gguf
