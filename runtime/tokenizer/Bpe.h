// Bpe.h: the byte-level BPE model of a tokenizer.json (vocabulary, ranked merges, the merge loop).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ternc::rt::tok {

/// std::hash over string_view, so that maps keyed by std::string can be searched without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <typename T> using StringMap = std::unordered_map<std::string, T, StringHash, std::equal_to<>>;

/// Byte-level BPE with Hugging Face's semantics: a word (the raw bytes of one
/// pre-token) starts as one symbol per byte-level character; the adjacent pair
/// with the lowest merge rank (the leftmost on ties) is merged until no pair
/// has a merge. With ignoreMerges a word that is itself in the vocabulary is
/// that one token.
class BpeModel {
public:
  struct Merge {
    int32_t rank;
    int32_t result;
  };

  void reserve(size_t tokens, size_t merges) {
    vocab_.reserve(tokens);
    merges_.reserve(merges);
  }
  /// The vocabulary keyed by the bytes each token stands for.
  void addToken(std::string bytes, int32_t id) { vocab_.insert_or_assign(std::move(bytes), id); }
  /// A later merge of the same pair replaces an earlier one (as in HF).
  void addMerge(int32_t left, int32_t right, int32_t rank, int32_t result) {
    merges_.insert_or_assign(pairKey(left, right), Merge{rank, result});
  }
  void setIgnoreMerges(bool on) { ignoreMerges_ = on; }
  void setUnknown(std::optional<int32_t> unkId, bool fuse) {
    unkId_ = unkId;
    fuseUnk_ = fuse;
  }
  /// For bytes whose character is missing from the vocabulary: the ids of the
  /// <0xXX> tokens of the character's UTF-8 bytes (empty: no fallback).
  void setByteFallback(uint8_t byte, std::vector<int32_t> ids) { byteFallback_[byte] = std::move(ids); }
  /// Call once the vocabulary is complete.
  void finalize();

  std::optional<int32_t> lookup(std::string_view bytes) const;
  std::optional<Merge> merge(int32_t left, int32_t right) const {
    auto it = merges_.find(pairKey(left, right));
    return it == merges_.end() ? std::nullopt : std::optional<Merge>(it->second);
  }
  /// Appends the ids of one pre-token (its raw bytes).
  void encodeWord(std::string_view word, std::vector<int32_t> &out) const;

private:
  static uint64_t pairKey(int32_t a, int32_t b) {
    return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  }
  void mergeWord(std::string_view word, std::vector<int32_t> &out) const;

  StringMap<int32_t> vocab_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<int32_t, 256> byteIds_{};
  std::array<std::vector<int32_t>, 256> byteFallback_;
  std::optional<int32_t> unkId_;
  bool fuseUnk_ = false;
  bool ignoreMerges_ = false;

  // Words seen before; merging is deterministic, so this only saves time.
  static constexpr size_t kCacheMaxWordBytes = 256;
  static constexpr size_t kCacheMaxEntries = 1 << 16;
  mutable std::mutex cacheMutex_;
  mutable StringMap<std::vector<int32_t>> cache_;
};

} // namespace ternc::rt::tok
