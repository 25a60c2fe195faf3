// Bpe.cpp: the BPE merge loop (a min-heap of candidate merges over a linked list of symbols) and its word cache.
#include "tokenizer/Bpe.h"

#include <queue>

namespace ternc::rt::tok {
namespace {

struct Symbol {
  int32_t id;
  int32_t prev; // -1: none
  int32_t next; // -1: none
  bool alive;
};

/// A merge of the symbol at `pos` with its successor into `result`.
struct Candidate {
  int32_t rank;
  int32_t pos;
  int32_t result;
  /// For std::priority_queue (a max-heap): the lowest rank, then the leftmost position, on top.
  bool operator<(const Candidate &o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

} // namespace

void BpeModel::finalize() {
  for (unsigned b = 0; b < 256; ++b) {
    auto id = lookup(std::string(1, static_cast<char>(b)));
    byteIds_[b] = id ? *id : -1;
  }
}

std::optional<int32_t> BpeModel::lookup(std::string_view bytes) const {
  auto it = vocab_.find(bytes);
  return it == vocab_.end() ? std::nullopt : std::optional<int32_t>(it->second);
}

void BpeModel::encodeWord(std::string_view word, std::vector<int32_t> &out) const {
  if (word.empty())
    return;
  if (ignoreMerges_) {
    if (auto id = lookup(word)) {
      out.push_back(*id);
      return;
    }
  }
  bool cacheable = word.size() <= kCacheMaxWordBytes;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cacheMutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) {
      out.insert(out.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> ids;
  mergeWord(word, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cacheMutex_);
    if (cache_.size() >= kCacheMaxEntries)
      cache_.clear();
    cache_.emplace(std::string(word), std::move(ids));
  }
}

void BpeModel::mergeWord(std::string_view word, std::vector<int32_t> &out) const {
  // The initial symbols: one per byte-level character, the unknown token for
  // characters the vocabulary lacks (fused if configured), or nothing.
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  auto add = [&](int32_t id) {
    int32_t index = static_cast<int32_t>(symbols.size());
    if (index > 0)
      symbols.back().next = index;
    symbols.push_back(Symbol{id, index - 1, -1, true});
  };
  bool unkPending = false;
  for (char ch : word) {
    auto b = static_cast<uint8_t>(ch);
    if (byteIds_[b] >= 0 || !byteFallback_[b].empty()) {
      if (unkPending)
        add(*unkId_);
      unkPending = false;
      if (byteIds_[b] >= 0) {
        add(byteIds_[b]);
      } else {
        for (int32_t id : byteFallback_[b])
          add(id);
      }
    } else if (unkId_) {
      if (unkPending && !fuseUnk_)
        add(*unkId_);
      unkPending = true;
    }
  }
  if (unkPending)
    add(*unkId_);

  std::priority_queue<Candidate> queue;
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (auto m = merge(symbols[i].id, symbols[i + 1].id))
      queue.push(Candidate{m->rank, static_cast<int32_t>(i), m->result});
  }
  while (!queue.empty()) {
    Candidate top = queue.top();
    queue.pop();
    Symbol &left = symbols[top.pos];
    if (!left.alive || left.next < 0)
      continue;
    Symbol &right = symbols[left.next];
    // Skip entries made stale by an earlier merge of either symbol.
    auto current = merge(left.id, right.id);
    if (!current || current->result != top.result)
      continue;
    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0)
      symbols[left.next].prev = top.pos;
    if (left.prev >= 0) {
      if (auto m = merge(symbols[left.prev].id, left.id))
        queue.push(Candidate{m->rank, left.prev, m->result});
    }
    if (left.next >= 0) {
      if (auto m = merge(left.id, symbols[left.next].id))
        queue.push(Candidate{m->rank, top.pos, m->result});
    }
  }
  for (const Symbol &s : symbols) {
    if (s.alive)
      out.push_back(s.id);
  }
}

} // namespace ternc::rt::tok
