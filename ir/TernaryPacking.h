// TernaryPacking: the packed memory layouts of tern constants that targets
// choose (Constant::layout) and the code that packs and unpacks them. The
// layouts are data formats, shared by the passes that pack, the interpreter
// (which unpacks, so packed IR still runs) and the kernels that read them.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ternc {

/// The code of a layout a target defines itself (registerTernaryLayout), for layouts whose bytes are not a
/// function of [n, k] alone (e.g. a header with the target's schedule in front of the weights).
struct TernaryLayoutCodec {
  /// Bytes of pack(t, n, k).
  std::function<int64_t(int64_t n, int64_t k)> bytes;
  /// Packs t[n, k] (int8 -1/0/+1, row-major) with the layout's default choices.
  std::function<std::vector<uint8_t>(const int8_t *t, int64_t n, int64_t k)> pack;
  /// "" if `packed` (`size` bytes) is a well-formed packing of an [n, k] matrix, else what is wrong with it.
  std::function<std::string(const uint8_t *packed, size_t size, int64_t n, int64_t k)> check;
  /// Unpacks a well-formed packing into t[n, k]; false if it holds a value that is not ternary.
  std::function<bool(const uint8_t *packed, size_t size, int64_t n, int64_t k, int8_t *t)> unpack;
};

/// A packed layout of a ternary matrix t[N, K] (values -1, 0, +1).
struct TernaryLayout {
  std::string_view name;
  /// "tern2b<B>": 2-bit codes t + 1 of panels of P = B/4 rows. Rows are padded
  /// with zeros to a multiple of kRowPad (16), each row to a multiple of
  /// kBlockK (16) weights; panel p (rows pP .. pP + P - 1) takes Kp/16 blocks
  /// of B bytes, stored one after another, and the panels follow each other.
  /// In block b of a panel, byte 4l + j, bits 2s..2s+1, is the code of row
  /// pP + l, weight k = 16b + 4s + j: one vector is P rows by 4 weights per
  /// step s, as a vpdpbusd / vpmaddubsw against 4 broadcast activations
  /// wants it (targets/x86-avx2/kernels/BitLinear.h has the full description).
  int64_t blockBytes = 0;
  static constexpr int64_t kRowPad = 16;
  static constexpr int64_t kBlockK = 16;
  /// Set for a layout a target registered (registerTernaryLayout): the methods below call it.
  std::shared_ptr<const TernaryLayoutCodec> codec;

  /// Weights per row after padding.
  static int64_t paddedK(int64_t k) { return (k + kBlockK - 1) / kBlockK * kBlockK; }
  /// Rows after padding.
  static int64_t paddedN(int64_t n) { return (n + kRowPad - 1) / kRowPad * kRowPad; }
  /// Rows per panel.
  int64_t panelRows() const { return blockBytes / 4; }
  /// Bytes of a packed [n, k] matrix (a registered layout: of its default packing; check() says whether a
  /// given constant is well formed).
  int64_t bytes(int64_t n, int64_t k) const { return codec ? codec->bytes(n, k) : paddedN(n) * paddedK(k) / 4; }
  /// Byte offset of the byte holding weight (r, kk), and the shift of its code.
  int64_t byteOffset(int64_t r, int64_t kk, int64_t k, int *shift) const;
  /// Packs t[n, k] (int8 -1/0/+1, row-major).
  std::vector<uint8_t> pack(const int8_t *t, int64_t n, int64_t k) const;
  /// Unpacks into t[n, k]; false if a code is 3 (not a ternary value).
  bool unpack(const uint8_t *packed, int64_t n, int64_t k, int8_t *t) const;
  /// "" if `size` bytes at `packed` are a well-formed [n, k] matrix in this layout, else what is wrong.
  std::string check(const uint8_t *packed, size_t size, int64_t n, int64_t k) const;
  /// Unpacks a constant of `size` bytes that check() accepted.
  bool unpack(const uint8_t *packed, size_t size, int64_t n, int64_t k, int8_t *t) const;
};

/// The layout named `name`, or null.
const TernaryLayout *findTernaryLayout(std::string_view name);
/// Every layout, for error messages and tests: the tern2b<B> layouts, then the registered ones.
const std::deque<TernaryLayout> &ternaryLayouts();
/// Adds (or replaces) a layout with its own code, so that constants a target packed in it still interpret
/// (`ternc opt`, `ternc run`); called when the target registers its passes. Throws Error for a tern2b name.
void registerTernaryLayout(const std::string &name, TernaryLayoutCodec codec);

/// Tiled group scales: the layouts a target may give the f32 [N, G] scale constant of a ternary weight with G
/// scale groups per row, so that a kernel working on 16 rows at a time reads, for each group, their 16 scales
/// from one contiguous run, in the order it needs them (targets/BitLinearKernel.h, TK_SCALES_TILED16_*). Rows
/// are padded with zero scales to a multiple of 16; the scale of row n, group g is element
/// ((n / 16) * G + g) * 16 + n % 16 of the tiles. "scales16" stores f32. "scales16h" stores a 64-byte header
/// whose first 4 bytes are an f32 factor c (the rest zero), then the tiles as IEEE binary16 h, the scale being
/// the f32 product c * h (one rounding): half the bytes, for scales that factor so exactly — GGUF's TQ1_0/TQ2_0
/// block scales, binary16 in the file (c = 1), and those times one f32 constant a pass folded in (MiniCPM's
/// residual scale in o_proj and down_proj).
struct ScaleTiling {
  std::string_view name;
  bool half;
  static constexpr int64_t kRows = 16;
  /// Bytes of the binary16 layout's header.
  static constexpr int64_t kHeaderBytes = 64;
  /// Bytes of the tiled scales of n rows by `groups` groups.
  int64_t bytes(int64_t n, int64_t groups) const;
  /// Tiles s[n, groups] (row-major f32); the binary16 layout needs halfFactor(s) (throws Error without one).
  std::vector<uint8_t> tile(const float *s, int64_t n, int64_t groups) const;
  /// Untiles `size` bytes into s[n, groups]; "" or what is wrong (a size that does not fit, a padding scale that
  /// is not zero, a bad header).
  std::string untile(const uint8_t *tiled, size_t size, int64_t n, int64_t groups, float *s) const;
};

/// The tiling named `name` ("scales16", "scales16h"), or null.
const ScaleTiling *findScaleTiling(std::string_view name);
/// An f32 factor c such that every one of the `count` scales is the f32 product c * h of c and a binary16 h
/// (h = the scale / c rounded to binary16): 1 when they are all binary16 values themselves, else one found from
/// the largest scale's candidates (every binary16 significand; c rounded to f32, and its neighbours), checked
/// against every scale; none if no candidate holds them all.
std::optional<float> halfFactor(const float *s, int64_t count);

} // namespace ternc
