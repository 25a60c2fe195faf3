// GgufTokenizer: tokenizer.ggml.* metadata -> tokenizer.json (byte-level BPE) or a SentencePiece ModelProto
// written in protobuf wire format by hand (docs/frontend-gguf.md, "Tokenizers").
#include "frontend/gguf/GgufTokenizer.h"

#include "ir/Error.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <set>

namespace ternc::gguf {

namespace {

using nlohmann::json;

// llama.cpp's token types (llama_token_type), equal to SentencePiece's ModelProto.SentencePiece.Type for 1..6.
constexpr int64_t kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6;

// The split patterns of the two byte-level pre-tokenizers ternc supports, as Hugging Face's tokenizer.json files
// spell them (Oniguruma syntax, which the runtime's Regex.cpp translates).
constexpr const char *kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
    "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/// The tokenizer.ggml.* arrays and ids shared by both conversions, checked for consistency.
struct Vocab {
  std::vector<std::string> tokens;
  std::vector<int64_t> types;  // one per token (kNormal when the file has none)
  std::vector<float> scores;   // one per token (0 when the file has none)
  std::optional<int64_t> bos, eos, unk, pad;
};

std::optional<int64_t> optionalId(const GgufFile &f, const std::string &key, size_t n) {
  if (!f.has(key))
    return std::nullopt;
  int64_t id = f.getInt(key);
  if (id < 0 || uint64_t(id) >= n)
    fail("{}: metadata '{}': token id {} is outside the vocabulary of {} tokens", f.path(), key, id, n);
  return id;
}

Vocab readVocab(const GgufFile &f) {
  Vocab v;
  v.tokens = f.getStringArray("tokenizer.ggml.tokens");
  const size_t n = v.tokens.size();
  if (n == 0)
    fail("{}: metadata 'tokenizer.ggml.tokens': the vocabulary is empty", f.path());
  if (f.has("tokenizer.ggml.token_type")) {
    v.types = f.getIntArray("tokenizer.ggml.token_type");
    if (v.types.size() != n)
      fail("{}: metadata 'tokenizer.ggml.token_type': {} types for {} tokens", f.path(), v.types.size(), n);
    for (size_t i = 0; i < n; ++i) {
      if (v.types[i] == 0)  // LLAMA_TOKEN_TYPE_UNDEFINED
        v.types[i] = kNormal;
      if (v.types[i] < kNormal || v.types[i] > kByte)
        fail("{}: metadata 'tokenizer.ggml.token_type': token {} has type {} (0 to 6 are defined)", f.path(), i,
             v.types[i]);
    }
  } else {
    v.types.assign(n, kNormal);
  }
  if (f.has("tokenizer.ggml.scores")) {
    v.scores = f.getFloatArray("tokenizer.ggml.scores");
    if (v.scores.size() != n)
      fail("{}: metadata 'tokenizer.ggml.scores': {} scores for {} tokens", f.path(), v.scores.size(), n);
  } else {
    v.scores.assign(n, 0.0f);
  }
  v.bos = optionalId(f, "tokenizer.ggml.bos_token_id", n);
  v.eos = optionalId(f, "tokenizer.ggml.eos_token_id", n);
  v.unk = optionalId(f, "tokenizer.ggml.unknown_token_id", n);
  v.pad = optionalId(f, "tokenizer.ggml.padding_token_id", n);
  return v;
}

// ---- gpt2: tokenizer.json ----

std::string buildHfJson(const GgufFile &f, const Vocab &v) {
  std::string pre = f.getString("tokenizer.ggml.pre", "default");
  bool llama3;
  if (pre == "llama-bpe" || pre == "llama3")
    llama3 = true;
  else if (pre == "gpt-2" || pre == "default")
    llama3 = false;
  else
    fail("{}: metadata 'tokenizer.ggml.pre': pre-tokenizer \"{}\" is not supported (\"llama-bpe\", \"llama3\", "
         "\"gpt-2\" and \"default\" are)",
         f.path(), pre);

  json vocab = json::object();
  json added = json::array();
  std::set<std::string> seen;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    const std::string &tok = v.tokens[i];
    int64_t type = v.types[i];
    if (type == kControl || type == kUserDefined) {
      added.push_back({{"id", i}, {"content", tok}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", false}, {"special", type == kControl}});
      continue;
    }
    // Unused slots (llama.cpp's "[PAD<i>]" fillers) are not part of the model; a repeated text keeps its first id.
    if (type == kUnused || !seen.insert(tok).second)
      continue;
    vocab[tok] = i;
  }
  json merges = json::array();
  if (!f.has("tokenizer.ggml.merges"))
    fail("{}: metadata 'tokenizer.ggml.merges' is missing (a \"gpt2\" tokenizer needs its BPE merges)", f.path());
  std::vector<std::string> mergeList = f.getStringArray("tokenizer.ggml.merges");
  for (size_t i = 0; i < mergeList.size(); ++i) {
    const std::string &m = mergeList[i];
    size_t sp = m.find(' ');
    if (sp == std::string::npos || sp == 0 || sp + 1 == m.size() || m.find(' ', sp + 1) != std::string::npos)
      fail("{}: metadata 'tokenizer.ggml.merges': merge {} (\"{}\") is not two tokens separated by one space",
           f.path(), i, m.substr(0, 80));
    merges.push_back(m);
  }

  json byteLevel = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                    {"use_regex", !llama3}};
  json preTokenizer = llama3 ? json{{"type", "Sequence"},
                                    {"pretokenizers",
                                     json::array({json{{"type", "Split"},
                                                       {"pattern", {{"Regex", kLlama3Pattern}}},
                                                       {"behavior", "Isolated"},
                                                       {"invert", false}},
                                                  byteLevel})}}
                             : byteLevel;

  // BOS/EOS as llama.cpp adds them: tokenizer.ggml.add_bos_token / add_eos_token, BOS by default for LLaMA-3.
  bool addBos = f.getBool("tokenizer.ggml.add_bos_token", llama3) && v.bos;
  bool addEos = f.getBool("tokenizer.ggml.add_eos_token", false) && v.eos;
  json postProcessor = nullptr;
  if (addBos || addEos) {
    json single = json::array(), pair = json::array(), specials = json::object();
    auto special = [&](int64_t id, int typeId) {
      const std::string &tok = v.tokens[size_t(id)];
      specials[tok] = {{"id", tok}, {"ids", json::array({id})}, {"tokens", json::array({tok})}};
      return json{{"SpecialToken", {{"id", tok}, {"type_id", typeId}}}};
    };
    if (addBos) {
      single.push_back(special(*v.bos, 0));
      pair.push_back(special(*v.bos, 0));
    }
    single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    pair.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
    if (addEos) {
      single.push_back(special(*v.eos, 0));
      pair.push_back(special(*v.eos, 0));
    }
    if (addBos)
      pair.push_back(special(*v.bos, 1));
    pair.push_back({{"Sequence", {{"id", "B"}, {"type_id", 1}}}});
    if (addEos)
      pair.push_back(special(*v.eos, 1));
    postProcessor = {{"type", "TemplateProcessing"}, {"single", single}, {"pair", pair}, {"special_tokens", specials}};
  }
  // A special token the template names must be an added token (HF resolves it there).
  for (std::optional<int64_t> id : {addBos ? v.bos : std::nullopt, addEos ? v.eos : std::nullopt}) {
    if (id && v.types[size_t(*id)] != kControl && v.types[size_t(*id)] != kUserDefined)
      added.push_back({{"id", *id}, {"content", v.tokens[size_t(*id)]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", false}, {"special", true}});
  }

  json root = {{"version", "1.0"},
               {"truncation", nullptr},
               {"padding", nullptr},
               {"added_tokens", added},
               {"normalizer", nullptr},
               {"pre_tokenizer", preTokenizer},
               {"post_processor", postProcessor},
               {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true},
                            {"use_regex", true}}},
               {"model",
                {{"type", "BPE"},
                 {"dropout", nullptr},
                 {"unk_token", nullptr},
                 {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr},
                 {"fuse_unk", false},
                 {"byte_fallback", false},
                 {"ignore_merges", llama3},
                 {"vocab", vocab},
                 {"merges", merges}}}};
  try {
    return root.dump();
  } catch (const json::exception &e) {
    // The only failure of dump(): a token that is not valid UTF-8.
    fail("{}: metadata 'tokenizer.ggml.tokens': {}", f.path(), e.what());
  }
}

// ---- llama: SentencePiece ModelProto (sentencepiece_model.proto) ----

void putVarint(std::string &out, uint64_t x) {
  while (x >= 0x80) {
    out += char(uint8_t(x) | 0x80);
    x >>= 7;
  }
  out += char(uint8_t(x));
}

void putTag(std::string &out, uint32_t field, uint32_t wire) { putVarint(out, (uint64_t(field) << 3) | wire); }

/// int32 / int64 / bool / enum fields (negative values take ten bytes, as protobuf encodes int32).
void putInt(std::string &out, uint32_t field, int64_t v) {
  putTag(out, field, 0);
  putVarint(out, uint64_t(v));
}

void putBytes(std::string &out, uint32_t field, std::string_view bytes) {
  putTag(out, field, 2);
  putVarint(out, bytes.size());
  out += bytes;
}

void putFloat(std::string &out, uint32_t field, float v) {
  putTag(out, field, 5);
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

// Field numbers of sentencepiece_model.proto.
namespace spm {
constexpr uint32_t kModelPieces = 1, kModelTrainerSpec = 2, kModelNormalizerSpec = 3;
constexpr uint32_t kPiecePiece = 1, kPieceScore = 2, kPieceType = 3;
constexpr uint32_t kTrainerModelType = 3, kTrainerVocabSize = 4, kTrainerByteFallback = 35, kTrainerUnkId = 40,
                   kTrainerBosId = 41, kTrainerEosId = 42, kTrainerPadId = 43, kTrainerUnkPiece = 45,
                   kTrainerBosPiece = 46, kTrainerEosPiece = 47, kTrainerPadPiece = 48;
constexpr int64_t kModelTypeBpe = 2;
constexpr uint32_t kNormName = 1, kNormAddDummyPrefix = 3, kNormRemoveExtraWhitespaces = 4,
                   kNormEscapeWhitespaces = 5;
} // namespace spm

std::string buildSentencePiece(const GgufFile &f, const Vocab &v) {
  std::string out;
  bool hasByte = false, hasUnknown = false;
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    if (v.tokens[i].empty())
      fail("{}: metadata 'tokenizer.ggml.tokens': token {} is empty (SentencePiece pieces must not be)", f.path(),
           i);
    std::string piece;
    putBytes(piece, spm::kPiecePiece, v.tokens[i]);
    putFloat(piece, spm::kPieceScore, v.scores[i]);
    putInt(piece, spm::kPieceType, v.types[i]);
    putBytes(out, spm::kModelPieces, piece);
    hasByte = hasByte || v.types[i] == kByte;
    hasUnknown = hasUnknown || v.types[i] == kUnknown;
  }
  if (!hasUnknown)
    fail("{}: metadata 'tokenizer.ggml.token_type': no token has the unknown type (2), which a SentencePiece "
         "model needs",
         f.path());

  // SentencePiece finds its special tokens by their text (trainer_spec.*_piece), so both the ids and the pieces
  // are written. A model that must not add BOS (tokenizer.ggml.add_bos_token false) names a piece that does not
  // exist, which makes bos_id() -1.
  int64_t unk = v.unk.value_or(0);
  if (v.types[size_t(unk)] != kUnknown)
    fail("{}: metadata 'tokenizer.ggml.unknown_token_id': token {} (\"{}\") does not have the unknown type (2)",
         f.path(), unk, v.tokens[size_t(unk)].substr(0, 80));
  std::string trainer;
  putInt(trainer, spm::kTrainerModelType, spm::kModelTypeBpe);
  putInt(trainer, spm::kTrainerVocabSize, int64_t(v.tokens.size()));
  if (hasByte)
    putInt(trainer, spm::kTrainerByteFallback, 1);
  putInt(trainer, spm::kTrainerUnkId, unk);
  putBytes(trainer, spm::kTrainerUnkPiece, v.tokens[size_t(unk)]);
  bool addBos = f.getBool("tokenizer.ggml.add_bos_token", true);
  if (v.bos && addBos) {
    putInt(trainer, spm::kTrainerBosId, *v.bos);
    putBytes(trainer, spm::kTrainerBosPiece, v.tokens[size_t(*v.bos)]);
  } else {
    putInt(trainer, spm::kTrainerBosId, -1);
    putBytes(trainer, spm::kTrainerBosPiece, std::string("\xe2\x80\x8b<ternc: no BOS>"));
  }
  if (v.eos) {
    putInt(trainer, spm::kTrainerEosId, *v.eos);
    putBytes(trainer, spm::kTrainerEosPiece, v.tokens[size_t(*v.eos)]);
  } else {
    putInt(trainer, spm::kTrainerEosId, -1);
    putBytes(trainer, spm::kTrainerEosPiece, std::string("\xe2\x80\x8b<ternc: no EOS>"));
  }
  putInt(trainer, spm::kTrainerPadId, v.pad ? *v.pad : -1);
  if (v.pad)
    putBytes(trainer, spm::kTrainerPadPiece, v.tokens[size_t(*v.pad)]);
  putBytes(out, spm::kModelTrainerSpec, trainer);

  std::string norm;
  putBytes(norm, spm::kNormName, "identity");
  putInt(norm, spm::kNormAddDummyPrefix, f.getBool("tokenizer.ggml.add_space_prefix", true) ? 1 : 0);
  putInt(norm, spm::kNormRemoveExtraWhitespaces, 0);
  putInt(norm, spm::kNormEscapeWhitespaces, 1);
  putBytes(out, spm::kModelNormalizerSpec, norm);
  return out;
}

} // namespace

std::optional<TokenizerBlob> tokenizerFromGguf(const GgufFile &file) {
  if (!file.has("tokenizer.ggml.model"))
    return std::nullopt;
  std::string model = file.getString("tokenizer.ggml.model");
  if (model == "gpt2")
    return TokenizerBlob{TokenizerBlob::Kind::HfJson, buildHfJson(file, readVocab(file))};
  if (model == "llama")
    return TokenizerBlob{TokenizerBlob::Kind::SentencePiece, buildSentencePiece(file, readVocab(file))};
  fail("{}: metadata 'tokenizer.ggml.model': tokenizer model \"{}\" is not supported (\"gpt2\", byte-level BPE, and "
       "\"llama\", SentencePiece, are)",
       file.path(), model);
}

} // namespace ternc::gguf
