// Regex.h: the PCRE2 regexes of tokenizer.json pre-tokenizers (patterns written for Oniguruma).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ternc::rt::tok {

/// Rewrites the escapes whose meaning differs between Oniguruma (what the
/// Rust `tokenizers` crate compiles tokenizer.json patterns with) and PCRE2 in
/// UCP mode: \s and \S become \p{White_Space} (PCRE2's \s also takes U+180E),
/// \w is Oniguruma's word class, \h and \H are hex digits (not horizontal space).
std::string translateOnigurumaPattern(std::string_view pattern);

/// A compiled pattern (UTF + UCP, JIT when PCRE2 has it). Matching is bounded
/// by PCRE2's match limits, so a pathological pattern throws instead of hanging.
class Regex {
public:
  /// Throws std::runtime_error with PCRE2's message and the offset in `pattern`.
  explicit Regex(std::string_view pattern);
  ~Regex();
  Regex(const Regex &) = delete;
  Regex &operator=(const Regex &) = delete;

  /// The matches in `subject` (valid UTF-8) as [begin, end) byte ranges,
  /// left to right and non-overlapping; an empty match right where the
  /// previous match ended is skipped (the Rust onig crate's find_iter).
  void findAll(std::string_view subject, std::vector<std::pair<size_t, size_t>> &matches) const;
  /// Whether the pattern matches `subject` starting at offset 0 (anchored).
  bool matchesPrefix(std::string_view subject) const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

} // namespace ternc::rt::tok
