// Regex.cpp: PCRE2 (8-bit, UTF + UCP, JIT) behind the pre-tokenizers' Split and ByteLevel regexes.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/Regex.h"

#include "tokenizer/Utf8.h"

#include <pcre2.h>

#include <stdexcept>

namespace ternc::rt::tok {
namespace {

constexpr std::string_view kWordClassBody = "\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}";
/// Bounds on backtracking: far above what tokenizer regexes need on any input,
/// low enough that a pathological pattern fails in well under a second.
constexpr uint32_t kMatchLimit = 50'000'000;
constexpr uint32_t kDepthLimit = 1'000'000;

std::string pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return n < 0 ? "PCRE2 error " + std::to_string(code) : std::string(reinterpret_cast<char *>(buffer), n);
}

} // namespace

std::string translateOnigurumaPattern(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 32);
  int classDepth = 0;
  size_t i = 0;
  while (i < p.size()) {
    char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      char d = p[i + 1];
      bool inClass = classDepth > 0;
      switch (d) {
      case 's':
        out += "\\p{White_Space}";
        break;
      case 'S':
        out += "\\P{White_Space}";
        break;
      case 'w':
        out += inClass ? std::string(kWordClassBody) : "[" + std::string(kWordClassBody) + "]";
        break;
      case 'W':
        out += inClass ? std::string("\\W") : "[^" + std::string(kWordClassBody) + "]";
        break;
      case 'h':
        out += inClass ? "0-9A-Fa-f" : "[0-9A-Fa-f]";
        break;
      case 'H':
        out += inClass ? "\\H" : "[^0-9A-Fa-f]";
        break;
      default:
        out += c;
        out += d;
        break;
      }
      i += 2;
      continue;
    }
    if (c == '[') {
      if (classDepth > 0 && i + 1 < p.size() && p[i + 1] == ':') {
        // A POSIX class such as [:alpha:] inside a bracket expression.
        size_t close = p.find(":]", i + 2);
        if (close != std::string_view::npos) {
          out.append(p.substr(i, close + 2 - i));
          i = close + 2;
          continue;
        }
      }
      ++classDepth;
      out += c;
      ++i;
      if (i < p.size() && p[i] == '^')
        out += p[i++];
      if (i < p.size() && p[i] == ']') // a leading ']' is literal
        out += p[i++];
      continue;
    }
    if (c == ']' && classDepth > 0)
      --classDepth;
    out += c;
    ++i;
  }
  return out;
}

struct Regex::Impl {
  pcre2_code *code = nullptr;
  pcre2_match_context *context = nullptr;
  bool jit = false;

  ~Impl() {
    pcre2_match_context_free(context);
    pcre2_code_free(code);
  }

  /// One match from `start`; false if none. Throws on match-limit errors.
  bool match(std::string_view subject, size_t start, uint32_t options, pcre2_match_data *data) const {
    auto *s = reinterpret_cast<PCRE2_SPTR>(subject.data());
    int rc = pcre2_match(code, s, subject.size(), start, options | PCRE2_NO_UTF_CHECK, data, context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
      rc = pcre2_match(code, s, subject.size(), start, options | PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, data, context);
    if (rc == PCRE2_ERROR_NOMATCH)
      return false;
    if (rc < 0)
      throw std::runtime_error("regex match failed: " + pcre2Message(rc));
    return true;
  }
};

Regex::Regex(std::string_view pattern) : impl_(std::make_unique<Impl>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  impl_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), PCRE2_UTF | PCRE2_UCP,
                              &error, &offset, nullptr);
  if (!impl_->code)
    throw std::runtime_error("bad regex at offset " + std::to_string(offset) + ": " + pcre2Message(error));
  uint32_t haveJit = 0;
  pcre2_config(PCRE2_CONFIG_JIT, &haveJit);
  impl_->jit = haveJit && pcre2_jit_compile(impl_->code, PCRE2_JIT_COMPLETE) == 0;
  impl_->context = pcre2_match_context_create(nullptr);
  if (!impl_->context)
    throw std::runtime_error("out of memory creating a regex match context");
  pcre2_set_match_limit(impl_->context, kMatchLimit);
  pcre2_set_depth_limit(impl_->context, kDepthLimit);
}

Regex::~Regex() = default;

void Regex::findAll(std::string_view subject, std::vector<std::pair<size_t, size_t>> &matches) const {
  matches.clear();
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(impl_->code, nullptr), &pcre2_match_data_free);
  if (!data)
    throw std::runtime_error("out of memory creating regex match data");
  size_t lastEnd = 0;
  size_t lastMatchEnd = std::string_view::npos;
  while (lastEnd <= subject.size()) {
    if (!impl_->match(subject, lastEnd, 0, data.get()))
      break;
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(data.get());
    size_t begin = ov[0], end = ov[1];
    if (begin == end && lastMatchEnd == end) {
      // No empty match right after the previous match: step one character on.
      size_t n = lastEnd < subject.size() ? wellFormedLength(subject, lastEnd) : 1;
      lastEnd += n == 0 ? 1 : n;
      continue;
    }
    matches.emplace_back(begin, end);
    lastEnd = end;
    lastMatchEnd = end;
  }
}

bool Regex::matchesPrefix(std::string_view subject) const {
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> data(
      pcre2_match_data_create_from_pattern(impl_->code, nullptr), &pcre2_match_data_free);
  if (!data)
    throw std::runtime_error("out of memory creating regex match data");
  return impl_->match(subject, 0, PCRE2_ANCHORED, data.get());
}

} // namespace ternc::rt::tok
