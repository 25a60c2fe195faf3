// TokenizerJson.h: one-pass tokenizer.json parsing — model.vocab and model.merges straight into flat vectors.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ternc::rt::tok {

/// A malformed or unsupported part of a tokenizer.json; `path` is its JSON path (model.merges[3]).
struct FormatError : std::runtime_error {
  FormatError(const std::string &path, const std::string &what) : std::runtime_error(path + ": " + what) {}
};

/// The file is not JSON (nlohmann's message says where).
struct JsonSyntaxError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Ids from here on are taken for a malformed file (the largest vocabularies
/// have ~2^18 entries); it bounds what a bad id can make the loader allocate.
inline constexpr int64_t kMaxTokenId = int64_t{1} << 21;

/// A tokenizer.json with its two big members taken out: they make up nearly
/// all of the file, and a DOM of them (a std::map node per token) costs
/// several times what the flat vectors do.
struct TokenizerJson {
  /// The document; model.vocab and model.merges are empty here when they were
  /// an object and an array (and so are in the vectors below).
  nlohmann::json root;
  bool flatVocab = false;
  bool flatMerges = false;
  std::vector<std::pair<std::string, int32_t>> vocab; // file order
  std::vector<std::pair<std::string, std::string>> merges;
};

/// Throws JsonSyntaxError for bad JSON and FormatError for a vocab entry that
/// is not an id or a merge that is not two tokens.
TokenizerJson parseTokenizerJson(std::string_view bytes);

/// JSON string quoting for messages (invalid UTF-8 replaced).
std::string quote(std::string_view s);

} // namespace ternc::rt::tok
