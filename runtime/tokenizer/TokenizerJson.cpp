// TokenizerJson.cpp: a SAX handler that builds a DOM of a tokenizer.json except model.vocab / model.merges.
#include "tokenizer/TokenizerJson.h"

namespace ternc::rt::tok {
namespace {

using nlohmann::json;

class Handler {
public:
  explicit Handler(TokenizerJson &out) : out_(out) {}

  bool null() { return scalar(nullptr, "null"); }
  bool boolean(bool v) { return scalar(v, "a boolean"); }
  bool number_integer(json::number_integer_t v) {
    if (mode_ == Mode::Vocab)
      return vocabId(v, std::to_string(v));
    return scalar(v, "a number");
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (mode_ == Mode::Vocab)
      return vocabId(v >= static_cast<uint64_t>(kMaxTokenId) ? kMaxTokenId : static_cast<int64_t>(v),
                     std::to_string(v));
    return scalar(v, "a number");
  }
  bool number_float(json::number_float_t v, const std::string &) { return scalar(v, "a non-integer number"); }
  bool binary(json::binary_t &) { return scalar(nullptr, "binary data"); }

  bool string(std::string &s) {
    switch (mode_) {
    case Mode::Merges:
      splitMerge(s);
      return true;
    case Mode::MergePair:
      pairParts_.push_back(std::move(s));
      return true;
    default:
      return scalar(std::move(s), "a string");
    }
  }

  bool key(std::string &k) {
    if (mode_ == Mode::Vocab) {
      vocabKey_ = std::move(k);
      return true;
    }
    pending_ = Pending::None;
    if (isModel_.back())
      pending_ = k == "vocab" ? Pending::Vocab : k == "merges" ? Pending::Merges : Pending::None;
    keys_.back() = std::move(k);
    return true;
  }

  bool start_object(size_t) {
    if (mode_ != Mode::Dom)
      return scalar(nullptr, "an object");
    if (pending_ == Pending::Vocab) {
      insert(json::object()); // the key stays, empty
      mode_ = Mode::Vocab;
      out_.flatVocab = true;
      return true;
    }
    return open(json::object());
  }
  bool end_object() {
    if (mode_ == Mode::Vocab) {
      mode_ = Mode::Dom;
      return true;
    }
    return close();
  }

  bool start_array(size_t) {
    if (mode_ == Mode::Merges) {
      mode_ = Mode::MergePair;
      pairParts_.clear();
      return true;
    }
    if (mode_ != Mode::Dom)
      return scalar(nullptr, "an array");
    if (pending_ == Pending::Merges) {
      insert(json::array());
      mode_ = Mode::Merges;
      out_.flatMerges = true;
      return true;
    }
    return open(json::array());
  }
  bool end_array() {
    if (mode_ == Mode::MergePair) {
      if (pairParts_.size() != 2)
        throw FormatError(mergePath(), "expected [left, right], found an array of " +
                                           std::to_string(pairParts_.size()) + " strings");
      out_.merges.emplace_back(std::move(pairParts_[0]), std::move(pairParts_[1]));
      mode_ = Mode::Merges;
      return true;
    }
    if (mode_ == Mode::Merges) {
      mode_ = Mode::Dom;
      return true;
    }
    return close();
  }

  bool parse_error(size_t, const std::string &, const nlohmann::detail::exception &e) {
    throw JsonSyntaxError(e.what());
  }

private:
  enum class Mode { Dom, Vocab, Merges, MergePair };
  enum class Pending { None, Vocab, Merges };

  std::string mergePath() const { return "model.merges[" + std::to_string(out_.merges.size()) + "]"; }

  /// A value outside the flat members goes into the DOM; inside them it is an error.
  bool scalar(json v, const char *what) {
    if (mode_ == Mode::Vocab)
      throw FormatError("model.vocab[" + quote(vocabKey_) + "]", std::string("expected an integer id, found ") + what);
    if (mode_ == Mode::Merges || mode_ == Mode::MergePair)
      throw FormatError(mergePath(), std::string("expected \"left right\" or [left, right], found ") + what);
    insert(std::move(v));
    return true;
  }

  json *insert(json &&v) {
    pending_ = Pending::None;
    if (stack_.empty()) {
      out_.root = std::move(v);
      return &out_.root;
    }
    json &top = *stack_.back();
    if (top.is_object()) {
      json &slot = top[keys_.back()];
      slot = std::move(v);
      return &slot;
    }
    top.push_back(std::move(v));
    return &top.back();
  }

  bool open(json &&v) {
    bool model = stack_.size() == 1 && stack_.back()->is_object() && keys_.back() == "model" && v.is_object();
    stack_.push_back(insert(std::move(v)));
    keys_.emplace_back();
    isModel_.push_back(model);
    return true;
  }

  bool close() {
    stack_.pop_back();
    keys_.pop_back();
    isModel_.pop_back();
    return true;
  }

  bool vocabId(int64_t id, const std::string &text) {
    if (id < 0 || id >= kMaxTokenId)
      throw FormatError("model.vocab[" + quote(vocabKey_) + "]",
                        "id " + text + " is out of range [0, " + std::to_string(kMaxTokenId) + ")");
    out_.vocab.emplace_back(std::move(vocabKey_), static_cast<int32_t>(id));
    return true;
  }

  void splitMerge(const std::string &s) {
    size_t space = s.find(' ');
    if (space == std::string::npos || space == 0 || space + 1 == s.size() ||
        s.find(' ', space + 1) != std::string::npos)
      throw FormatError(mergePath(), quote(s) + " is not two tokens separated by one space");
    out_.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
  }

  TokenizerJson &out_;
  Mode mode_ = Mode::Dom;
  Pending pending_ = Pending::None;
  std::vector<json *> stack_;
  std::vector<std::string> keys_; // the current key of each open object
  std::vector<bool> isModel_;     // whether each open container is root.model
  std::string vocabKey_;
  std::vector<std::string> pairParts_;
};

} // namespace

std::string quote(std::string_view s) {
  return json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

TokenizerJson parseTokenizerJson(std::string_view bytes) {
  TokenizerJson out;
  Handler handler(out);
  json::sax_parse(bytes.begin(), bytes.end(), &handler);
  return out;
}

} // namespace ternc::rt::tok
