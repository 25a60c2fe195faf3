// HfTokenizer.cpp: tokenizer.json semantics: added tokens, pre-tokenizers, BPE, post-processors, ByteLevel decoder.
#include "tokenizer/HfTokenizer.h"

#include "tokenizer/AddedTokens.h"
#include "tokenizer/Bpe.h"
#include "tokenizer/ByteLevel.h"
#include "tokenizer/PreTokenizer.h"
#include "tokenizer/TokenizerJson.h"
#include "tokenizer/Utf8.h"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <unordered_map>

namespace ternc::rt::tok {
namespace {

using nlohmann::json;

/// Special tokens that end a text or a turn in common model families; the
/// default EOS set when the tokenizer.json itself does not say.
constexpr std::string_view kEosNames[] = {"<|end_of_text|>", "<|eot_id|>", "<|eom_id|>",    "</s>",  "<|endoftext|>",
                                          "<|im_end|>",      "<|end|>",    "<end_of_turn>", "<eos>", "<|end_of_turn|>"};

std::string typeName(const json &j) { return j.type_name(); }

const json &member(const json &obj, const char *key, const std::string &path) {
  if (!obj.is_object())
    throw FormatError(path, "expected an object, found " + typeName(obj));
  auto it = obj.find(key);
  if (it == obj.end())
    throw FormatError(path, std::string("missing \"") + key + "\"");
  return *it;
}

/// The member, or nullptr when it is absent or null.
const json *optionalMember(const json &obj, const char *key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

const std::string &asString(const json &j, const std::string &path) {
  if (!j.is_string())
    throw FormatError(path, "expected a string, found " + typeName(j));
  return j.get_ref<const std::string &>();
}

bool optionalBool(const json &obj, const char *key, bool fallback, const std::string &path) {
  const json *j = optionalMember(obj, key);
  if (!j)
    return fallback;
  if (!j->is_boolean())
    throw FormatError(path + "." + key, "expected a boolean, found " + typeName(*j));
  return j->get<bool>();
}

int32_t asId(const json &j, const std::string &path) {
  if (!j.is_number_integer())
    throw FormatError(path, "expected an integer id, found " + typeName(j));
  int64_t id = j.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(j.get<uint64_t>(), kMaxTokenId))
                                      : j.get<int64_t>();
  if (id < 0 || id >= kMaxTokenId)
    throw FormatError(path, "id " + j.dump() + " is out of range [0, " + std::to_string(kMaxTokenId) + ")");
  return static_cast<int32_t>(id);
}

std::string typeOf(const json &obj, const std::string &path) {
  return asString(member(obj, "type", path), path + ".type");
}

class HfTokenizer;

/// Streams ByteLevel output: bytes complete up to a trailing partial sequence.
class HfDecodeStream final : public DecodeStream {
public:
  explicit HfDecodeStream(const HfTokenizer &t) : tokenizer_(t) {}
  std::string push(int32_t id) override;
  std::string finish() override {
    std::string out;
    appendLossy(pending_, out);
    pending_.clear();
    return out;
  }

private:
  const HfTokenizer &tokenizer_;
  std::string pending_;
};

class HfTokenizer final : public Tokenizer {
public:
  explicit HfTokenizer(TokenizerJson &file);

  std::vector<int32_t> encode(std::string_view text, bool addSpecial) const override;
  std::string decode(std::span<const int32_t> ids) const override {
    std::string bytes, out;
    for (int32_t id : ids)
      appendBytes(id, bytes);
    appendLossy(bytes, out);
    return out;
  }
  int32_t vocabSize() const override { return static_cast<int32_t>(pieces_.size()); }
  std::optional<int32_t> bosId() const override { return bos_; }
  std::vector<int32_t> eosIds() const override { return eos_; }
  std::optional<std::string> idToPiece(int32_t id) const override {
    return known(id) ? std::optional<std::string>(pieces_[id]) : std::nullopt;
  }
  TokenizerKind kind() const override { return TokenizerKind::HfJson; }
  std::unique_ptr<DecodeStream> newDecodeStream() const override { return std::make_unique<HfDecodeStream>(*this); }

  /// The bytes the ByteLevel decoder makes of `id` (nothing for unknown ids).
  void appendBytes(int32_t id, std::string &bytes) const {
    if (known(id))
      bytes += decodeBytes_[id];
  }

private:
  bool known(int32_t id) const { return id >= 0 && static_cast<size_t>(id) < pieces_.size() && known_[id]; }
  void loadModel(TokenizerJson &file);
  void loadAddedTokens(const json &root);
  void loadNormalizer(const json &root);
  void loadPreTokenizer(const json &pre, const std::string &path, bool &sawByteLevel);
  void loadPostProcessor(const json &post, const std::string &path, std::vector<int32_t> &prefix,
                         std::vector<int32_t> &suffix);
  void loadDecoder(const json &root);
  void setPiece(int32_t id, const std::string &token);
  void encodePlain(std::string_view text, std::vector<int32_t> &ids) const;

  BpeModel model_;
  AddedVocabulary added_;
  PreTokenizer pre_;
  std::vector<int32_t> prefix_, suffix_; // what addSpecial puts around the ids
  std::vector<std::string> pieces_;      // by id: the token as the file spells it
  std::vector<std::string> decodeBytes_; // by id: what the ByteLevel decoder makes of it
  std::vector<uint8_t> known_;
  std::optional<int32_t> bos_;
  std::vector<int32_t> eos_;
};

std::string HfDecodeStream::push(int32_t id) {
  tokenizer_.appendBytes(id, pending_);
  size_t cut = incompleteTailStart(pending_);
  std::string out;
  appendLossy(std::string_view(pending_).substr(0, cut), out);
  pending_.erase(0, cut);
  return out;
}

HfTokenizer::HfTokenizer(TokenizerJson &file) {
  const json &root = file.root;
  if (!root.is_object())
    throw FormatError("(root)", "expected an object, found " + typeName(root));
  loadModel(file);
  loadAddedTokens(root);
  loadNormalizer(root);

  const json *pre = optionalMember(root, "pre_tokenizer");
  bool sawByteLevel = false;
  if (pre)
    loadPreTokenizer(*pre, "pre_tokenizer", sawByteLevel);
  if (!sawByteLevel)
    throw FormatError("pre_tokenizer", "not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer); only byte-level "
                                       "BPE is supported");
  if (const json *post = optionalMember(root, "post_processor"))
    loadPostProcessor(*post, "post_processor", prefix_, suffix_);
  loadDecoder(root);

  if (!prefix_.empty())
    bos_ = prefix_.front();
  eos_ = suffix_;
  for (const AddedToken &t : added_.tokens()) {
    bool eosName = std::find(std::begin(kEosNames), std::end(kEosNames), t.content) != std::end(kEosNames);
    if (t.special && eosName)
      eos_.push_back(t.id);
  }
  std::sort(eos_.begin(), eos_.end());
  eos_.erase(std::unique(eos_.begin(), eos_.end()), eos_.end());
}

void HfTokenizer::setPiece(int32_t id, const std::string &token) {
  if (static_cast<size_t>(id) >= pieces_.size()) {
    pieces_.resize(id + 1);
    decodeBytes_.resize(id + 1);
    known_.resize(id + 1, 0);
  }
  pieces_[id] = token;
  // HF's ByteLevel decoder: the bytes a token stands for, or its own UTF-8
  // when one of its characters is not a byte-level one.
  if (!tokenToBytes(token, decodeBytes_[id]))
    decodeBytes_[id] = token;
  known_[id] = 1;
}

void HfTokenizer::loadModel(TokenizerJson &file) {
  const std::string path = "model";
  const json &model = member(file.root, "model", "(root)");
  if (!model.is_object())
    throw FormatError(path, "expected an object, found " + typeName(model));
  if (const json *type = optionalMember(model, "type")) {
    const std::string &t = asString(*type, path + ".type");
    if (t != "BPE")
      throw FormatError(path + ".type", "unsupported model type " + quote(t) + " (only \"BPE\" is supported)");
  }
  if (const json *dropout = optionalMember(model, "dropout")) {
    if (!dropout->is_number() || dropout->get<double>() != 0.0)
      throw FormatError(path + ".dropout", "BPE dropout " + dropout->dump() + " is not supported");
  }
  for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const json *affix = optionalMember(model, key); affix && !asString(*affix, path + "." + key).empty())
      throw FormatError(path + "." + key, "non-empty " + std::string(key) + " is not supported with byte-level BPE");
  }

  // An object model.vocab and an array model.merges arrive flat (TokenizerJson); anything else is an error.
  if (!file.flatVocab)
    throw FormatError(path + ".vocab",
                      "expected an object of token -> id, found " + typeName(member(model, "vocab", path)));
  int32_t maxId = -1;
  for (const auto &entry : file.vocab)
    maxId = std::max(maxId, entry.second);
  pieces_.resize(maxId + 1);
  decodeBytes_.resize(maxId + 1);
  known_.resize(maxId + 1, 0);
  std::unordered_map<std::string_view, int32_t> tokenIds; // views of file.vocab's strings
  tokenIds.reserve(file.vocab.size());
  model_.reserve(file.vocab.size(), file.merges.size());
  std::string bytes;
  for (const auto &[token, id] : file.vocab) {
    tokenIds.insert_or_assign(std::string_view(token), id);
    setPiece(id, token);
    if (tokenToBytes(token, bytes))
      model_.addToken(bytes, id);
  }

  if (!file.flatMerges)
    throw FormatError(path + ".merges", "expected an array, found " + typeName(member(model, "merges", path)));
  auto idOf = [&](std::string_view token, const auto &where, const char *what) {
    auto it = tokenIds.find(token);
    if (it == tokenIds.end())
      throw FormatError(where(), std::string(what) + " " + quote(token) + " is not in the vocabulary");
    return it->second;
  };
  std::string joined;
  for (size_t rank = 0; rank < file.merges.size(); ++rank) {
    const auto &[left, right] = file.merges[rank];
    auto where = [&] { return path + ".merges[" + std::to_string(rank) + "]"; };
    int32_t a = idOf(left, where, "token");
    int32_t b = idOf(right, where, "token");
    joined.assign(left).append(right);
    model_.addMerge(a, b, static_cast<int32_t>(rank), idOf(joined, where, "merged token"));
  }

  model_.setIgnoreMerges(optionalBool(model, "ignore_merges", false, path));
  std::optional<int32_t> unk;
  if (const json *u = optionalMember(model, "unk_token"))
    unk = idOf(
        asString(*u, path + ".unk_token"), [&] { return path + ".unk_token"; }, "unk_token");
  model_.setUnknown(unk, optionalBool(model, "fuse_unk", false, path));
  if (optionalBool(model, "byte_fallback", false, path)) {
    for (unsigned b = 0; b < 256; ++b) {
      std::string ch;
      appendUtf8(byteToChar(static_cast<uint8_t>(b)), ch);
      std::vector<int32_t> ids;
      for (char x : ch) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", static_cast<unsigned>(static_cast<uint8_t>(x)));
        auto it = tokenIds.find(std::string_view(name));
        if (it == tokenIds.end()) {
          ids.clear();
          break;
        }
        ids.push_back(it->second);
      }
      model_.setByteFallback(static_cast<uint8_t>(b), std::move(ids));
    }
  }
  model_.finalize();
}

void HfTokenizer::loadAddedTokens(const json &root) {
  const json *list = optionalMember(root, "added_tokens");
  if (list) {
    if (!list->is_array())
      throw FormatError("added_tokens", "expected an array, found " + typeName(*list));
    for (size_t i = 0; i < list->size(); ++i) {
      const json &e = (*list)[i];
      std::string path = "added_tokens[" + std::to_string(i) + "]";
      AddedToken t;
      t.id = asId(member(e, "id", path), path + ".id");
      t.content = asString(member(e, "content", path), path + ".content");
      t.special = optionalBool(e, "special", false, path);
      t.singleWord = optionalBool(e, "single_word", false, path);
      t.lstrip = optionalBool(e, "lstrip", false, path);
      t.rstrip = optionalBool(e, "rstrip", false, path);
      t.normalized = optionalBool(e, "normalized", !t.special, path);
      setPiece(t.id, t.content);
      added_.add(std::move(t));
    }
  }
  added_.finalize();
}

void HfTokenizer::loadNormalizer(const json &root) {
  const json *n = optionalMember(root, "normalizer");
  if (!n)
    return;
  std::string type = typeOf(*n, "normalizer");
  if (type == "Sequence") {
    const json &list = member(*n, "normalizers", "normalizer");
    if (list.is_array() && list.empty())
      return;
  }
  throw FormatError("normalizer", "normalizer " + quote(type) + " is not supported (only null)");
}

SplitBehavior parseBehavior(const json &j, const std::string &path) {
  const std::string &s = asString(j, path);
  if (s == "Removed")
    return SplitBehavior::Removed;
  if (s == "Isolated")
    return SplitBehavior::Isolated;
  if (s == "MergedWithPrevious")
    return SplitBehavior::MergedWithPrevious;
  if (s == "MergedWithNext")
    return SplitBehavior::MergedWithNext;
  if (s == "Contiguous")
    return SplitBehavior::Contiguous;
  throw FormatError(path, "unknown split behavior " + quote(s));
}

void HfTokenizer::loadPreTokenizer(const json &pre, const std::string &path, bool &sawByteLevel) {
  std::string type = typeOf(pre, path);
  if (type == "Sequence") {
    const json &list = member(pre, "pretokenizers", path);
    if (!list.is_array())
      throw FormatError(path + ".pretokenizers", "expected an array, found " + typeName(list));
    for (size_t i = 0; i < list.size(); ++i)
      loadPreTokenizer(list[i], path + ".pretokenizers[" + std::to_string(i) + "]", sawByteLevel);
  } else if (type == "Split") {
    const json &pattern = member(pre, "pattern", path);
    SplitBehavior behavior = parseBehavior(member(pre, "behavior", path), path + ".behavior");
    bool invert = optionalBool(pre, "invert", false, path);
    if (const json *r = optionalMember(pattern, "Regex")) {
      const std::string &source = asString(*r, path + ".pattern.Regex");
      std::shared_ptr<const Regex> regex;
      try {
        regex = std::make_shared<Regex>(translateOnigurumaPattern(source));
      } catch (const std::runtime_error &e) {
        throw FormatError(path + ".pattern.Regex", e.what());
      }
      pre_.addSplit(std::move(regex), behavior, invert);
    } else if (const json *s = optionalMember(pattern, "String")) {
      pre_.addSplitLiteral(asString(*s, path + ".pattern.String"), behavior, invert);
    } else {
      throw FormatError(path + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}, found " + pattern.dump());
    }
  } else if (type == "ByteLevel") {
    pre_.addByteLevel(optionalBool(pre, "add_prefix_space", true, path), optionalBool(pre, "use_regex", true, path));
    sawByteLevel = true;
  } else if (type == "Digits") {
    pre_.addDigits(optionalBool(pre, "individual_digits", false, path));
  } else {
    throw FormatError(path, "pre-tokenizer " + quote(type) + " is not supported");
  }
}

void HfTokenizer::loadPostProcessor(const json &post, const std::string &path, std::vector<int32_t> &prefix,
                                    std::vector<int32_t> &suffix) {
  std::string type = typeOf(post, path);
  auto idOfPair = [&](const char *key) {
    const json &pair = member(post, key, path);
    if (!pair.is_array() || pair.size() != 2)
      throw FormatError(path + "." + key, "expected [token, id], found " + pair.dump());
    return asId(pair[1], path + "." + key + "[1]");
  };
  if (type == "ByteLevel")
    return;
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    prefix.insert(prefix.begin(), idOfPair("cls"));
    suffix.push_back(idOfPair("sep"));
  } else if (type == "TemplateProcessing") {
    const json &single = member(post, "single", path);
    if (!single.is_array())
      throw FormatError(path + ".single", "expected an array of template pieces, found " + typeName(single));
    const json &specials = member(post, "special_tokens", path);
    std::vector<int32_t> before, after;
    bool sawSequence = false;
    for (size_t i = 0; i < single.size(); ++i) {
      std::string where = path + ".single[" + std::to_string(i) + "]";
      const json &item = single[i];
      if (const json *seq = item.is_object() ? optionalMember(item, "Sequence") : nullptr) {
        if (asString(member(*seq, "id", where + ".Sequence"), where + ".Sequence.id") == "A")
          sawSequence = true;
        continue;
      }
      const json *special = item.is_object() ? optionalMember(item, "SpecialToken") : nullptr;
      if (!special)
        throw FormatError(where, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}, found " + item.dump());
      const std::string &name = asString(member(*special, "id", where + ".SpecialToken"), where + ".SpecialToken.id");
      const json *entry = specials.is_object() ? optionalMember(specials, name.c_str()) : nullptr;
      if (!entry)
        throw FormatError(where, "special token " + quote(name) + " is not in " + path + ".special_tokens");
      const json &ids = member(*entry, "ids", path + ".special_tokens." + name);
      if (!ids.is_array())
        throw FormatError(path + ".special_tokens." + name + ".ids", "expected an array of ids");
      for (size_t k = 0; k < ids.size(); ++k)
        (sawSequence ? after : before).push_back(asId(ids[k], path + ".special_tokens." + name + ".ids"));
    }
    prefix.insert(prefix.begin(), before.begin(), before.end());
    suffix.insert(suffix.end(), after.begin(), after.end());
  } else if (type == "Sequence") {
    const json &list = member(post, "processors", path);
    if (!list.is_array())
      throw FormatError(path + ".processors", "expected an array, found " + typeName(list));
    for (size_t i = 0; i < list.size(); ++i)
      loadPostProcessor(list[i], path + ".processors[" + std::to_string(i) + "]", prefix, suffix);
  } else {
    throw FormatError(path, "post-processor " + quote(type) + " is not supported");
  }
}

void HfTokenizer::loadDecoder(const json &root) {
  const json *d = optionalMember(root, "decoder");
  if (!d)
    throw FormatError("decoder", "missing; a byte-level BPE tokenizer needs the ByteLevel decoder");
  std::string type = typeOf(*d, "decoder");
  if (type == "ByteLevel")
    return;
  if (type == "Sequence") {
    const json &list = member(*d, "decoders", "decoder");
    bool allByteLevel = list.is_array() && list.size() == 1;
    for (size_t i = 0; allByteLevel && i < list.size(); ++i)
      allByteLevel = typeOf(list[i], "decoder.decoders[" + std::to_string(i) + "]") == "ByteLevel";
    if (allByteLevel)
      return;
  }
  throw FormatError("decoder", "decoder " + quote(type) + " is not supported (only ByteLevel)");
}

std::vector<int32_t> HfTokenizer::encode(std::string_view text, bool addSpecial) const {
  std::vector<int32_t> ids;
  if (addSpecial)
    ids = prefix_;
  std::vector<Segment> segments;
  added_.split(text, segments);
  for (const Segment &s : segments) {
    if (s.id >= 0)
      ids.push_back(s.id);
    else
      encodePlain(text.substr(s.begin, s.end - s.begin), ids);
  }
  if (addSpecial)
    ids.insert(ids.end(), suffix_.begin(), suffix_.end());
  return ids;
}

void HfTokenizer::encodePlain(std::string_view text, std::vector<int32_t> &ids) const {
  std::vector<Piece> pieces;
  std::string word;
  if (isValidUtf8(text)) {
    pre_.run(text, pieces);
    for (const Piece &p : pieces) {
      std::string_view bytes = text.substr(p.begin, p.end - p.begin);
      if (!p.space) {
        model_.encodeWord(bytes, ids);
        continue;
      }
      word.assign(1, ' ');
      word.append(bytes);
      model_.encodeWord(word, ids);
    }
    return;
  }
  // Bytes that are not UTF-8: split as if each were U+FFFD, then encode the
  // original bytes of each piece (so decode gives them back).
  std::string clean;
  std::vector<uint32_t> originalAt; // offset in `clean` -> offset in `text` (at character boundaries)
  clean.reserve(text.size() + 16);
  originalAt.reserve(text.size() + 16);
  for (size_t i = 0; i < text.size();) {
    size_t n = wellFormedLength(text, i);
    if (n == 0) {
      clean.append(kReplacementChar);
      originalAt.insert(originalAt.end(), kReplacementChar.size(), static_cast<uint32_t>(i));
      ++i;
    } else {
      clean.append(text.substr(i, n));
      for (size_t k = 0; k < n; ++k)
        originalAt.push_back(static_cast<uint32_t>(i + k));
      i += n;
    }
  }
  originalAt.push_back(static_cast<uint32_t>(text.size()));
  pre_.run(clean, pieces);
  for (const Piece &p : pieces) {
    word.assign(p.space ? 1 : 0, ' ');
    word.append(text.substr(originalAt[p.begin], originalAt[p.end] - originalAt[p.begin]));
    model_.encodeWord(word, ids);
  }
}

} // namespace

std::unique_ptr<Tokenizer> loadHfJsonTokenizer(std::string_view bytes, std::string_view origin) {
  std::string prefix = "tokenizer '" + std::string(origin) + "': ";
  try {
    TokenizerJson file = parseTokenizerJson(bytes);
    return std::make_unique<HfTokenizer>(file);
  } catch (const JsonSyntaxError &e) {
    throw std::runtime_error(prefix + "not valid JSON (" + e.what() + ")");
  } catch (const FormatError &e) {
    throw std::runtime_error(prefix + e.what());
  } catch (const nlohmann::json::exception &e) {
    throw std::runtime_error(prefix + "malformed tokenizer.json (" + e.what() + ")");
  }
}

} // namespace ternc::rt::tok
