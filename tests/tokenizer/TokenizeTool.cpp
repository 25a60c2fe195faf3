// TokenizeTool.cpp: ternc_tokenize_tool, the tokenizer library driven from JSON for the oracle test scripts.
//
//   ternc_tokenize_tool --kind hf|spm --tokenizer FILE --input IN.json
//
// IN.json: {"texts_hex": [...], "id_lists": [[...]...],
//           "random": {"count": N, "max_len": L, "seed": S, "exclude": [ids]}}
// (all optional). Texts travel as hex so that any bytes do. Prints one JSON
// object: vocab_size, bos, eos, and for each text its ids with and without
// special tokens, decode(ids) and the concatenated StreamDecoder output of the
// ids (hex, with whether every pushed chunk was complete UTF-8); the same for
// the given id lists and for N random id sequences; load and encode seconds.
// A tokenizer that fails to load prints the error to stderr and exits with 2.
// It does not reference ternc_tokenizer_spm: linking that library must be
// enough for Tokenizer::load to know SentencePiece.
#include "tokenizer/Tokenizer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string readFile(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string toHex(std::string_view bytes) {
  static const char *digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string fromHex(const std::string &hex) {
  if (hex.size() % 2)
    throw std::runtime_error("odd-length hex string");
  auto nibble = [](char c) {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    throw std::runtime_error("bad hex digit");
  };
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2)
    out += static_cast<char>(nibble(hex[i]) * 16 + nibble(hex[i + 1]));
  return out;
}

bool validUtf8(std::string_view s) {
  // Only a round trip through a strict decoder would do better; this is the
  // structural check (lead byte, continuation count, no overlong/surrogate).
  size_t i = 0;
  while (i < s.size()) {
    auto b = static_cast<unsigned char>(s[i]);
    int n = b < 0x80 ? 1 : b >= 0xC2 && b <= 0xDF ? 2 : b >= 0xE0 && b <= 0xEF ? 3 : b >= 0xF0 && b <= 0xF4 ? 4 : 0;
    if (n == 0 || i + n > s.size())
      return false;
    for (int k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
        return false;
    }
    auto b1 = static_cast<unsigned char>(s[i + 1 < s.size() ? i + 1 : i]);
    if ((b == 0xE0 && b1 < 0xA0) || (b == 0xED && b1 > 0x9F) || (b == 0xF0 && b1 < 0x90) || (b == 0xF4 && b1 > 0x8F))
      return false;
    i += n;
  }
  return true;
}

/// decode(ids) and the streamed text of `ids` into `out` under `key` names.
void decodeBoth(const ternc::rt::Tokenizer &t, const std::vector<int32_t> &ids, json &decoded, json &streamed,
                json &chunksValid) {
  decoded.push_back(toHex(t.decode(ids)));
  ternc::rt::StreamDecoder stream(t);
  std::string text;
  bool valid = true;
  for (int32_t id : ids) {
    std::string chunk = stream.push(id);
    valid = valid && validUtf8(chunk);
    text += chunk;
  }
  std::string rest = stream.finish();
  valid = valid && validUtf8(rest);
  text += rest;
  streamed.push_back(toHex(text));
  chunksValid.push_back(valid);
}

int run(int argc, char **argv) {
  std::string kindName, tokenizerPath, inputPath;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--kind")
      kindName = argv[i + 1];
    else if (flag == "--tokenizer")
      tokenizerPath = argv[i + 1];
    else if (flag == "--input")
      inputPath = argv[i + 1];
    else
      throw std::runtime_error("unknown flag " + flag);
  }
  if (kindName.empty() || tokenizerPath.empty())
    throw std::runtime_error("usage: ternc_tokenize_tool --kind hf|spm --tokenizer FILE [--input IN.json]");
  ternc::rt::TokenizerKind kind =
      kindName == "hf" ? ternc::rt::TokenizerKind::HfJson : ternc::rt::TokenizerKind::SentencePiece;

  std::string bytes = readFile(tokenizerPath);
  auto t0 = Clock::now();
  std::unique_ptr<ternc::rt::Tokenizer> tok;
  try {
    tok = ternc::rt::Tokenizer::load(kind, bytes, tokenizerPath);
  } catch (const std::runtime_error &e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
  auto t1 = Clock::now();

  json input = inputPath.empty() ? json::object() : json::parse(readFile(inputPath));
  json out;
  out["vocab_size"] = tok->vocabSize();
  out["bos"] = tok->bosId() ? json(*tok->bosId()) : json(nullptr);
  out["eos"] = tok->eosIds();

  std::vector<std::string> texts;
  for (const auto &h : input.value("texts_hex", json::array()))
    texts.push_back(fromHex(h.get<std::string>()));
  json encoded = json::array(), encodedSpecial = json::array();
  auto t2 = Clock::now();
  for (const std::string &text : texts) {
    encoded.push_back(tok->encode(text, false));
    encodedSpecial.push_back(tok->encode(text, true));
  }
  auto t3 = Clock::now();
  out["encode"] = encoded;
  out["encode_special"] = encodedSpecial;
  json decoded = json::array(), streamed = json::array(), valid = json::array();
  for (const auto &ids : encoded)
    decodeBoth(*tok, ids.get<std::vector<int32_t>>(), decoded, streamed, valid);
  out["decode_hex"] = decoded;
  out["stream_hex"] = streamed;
  out["stream_chunks_valid"] = valid;

  json listDecoded = json::array(), listStreamed = json::array(), listValid = json::array();
  for (const auto &ids : input.value("id_lists", json::array()))
    decodeBoth(*tok, ids.get<std::vector<int32_t>>(), listDecoded, listStreamed, listValid);
  out["id_lists_decode_hex"] = listDecoded;
  out["id_lists_stream_hex"] = listStreamed;
  out["id_lists_stream_chunks_valid"] = listValid;

  json randomIds = json::array(), randomDecoded = json::array(), randomStreamed = json::array(),
       randomValid = json::array();
  if (input.contains("random")) {
    const json &r = input["random"];
    std::mt19937 rng(r.value("seed", 1u));
    std::set<int32_t> exclude;
    for (const auto &id : r.value("exclude", json::array()))
      exclude.insert(id.get<int32_t>());
    int count = r.value("count", 100), maxLen = r.value("max_len", 32);
    std::uniform_int_distribution<int32_t> idDist(0, tok->vocabSize() - 1);
    std::uniform_int_distribution<int> lenDist(0, maxLen);
    for (int i = 0; i < count; ++i) {
      std::vector<int32_t> ids;
      int len = lenDist(rng);
      while (static_cast<int>(ids.size()) < len) {
        int32_t id = idDist(rng);
        if (!exclude.count(id))
          ids.push_back(id);
      }
      randomIds.push_back(ids);
      decodeBoth(*tok, ids, randomDecoded, randomStreamed, randomValid);
    }
  }
  out["random_ids"] = randomIds;
  out["random_decode_hex"] = randomDecoded;
  out["random_stream_hex"] = randomStreamed;
  out["random_stream_chunks_valid"] = randomValid;
  out["seconds"] = {{"load", std::chrono::duration<double>(t1 - t0).count()},
                    {"encode", std::chrono::duration<double>(t3 - t2).count()}};
  std::cout << out.dump() << "\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {
    std::cerr << "ternc_tokenize_tool: " << e.what() << "\n";
    return 1;
  }
}
