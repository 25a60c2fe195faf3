// ByteLevel.cpp: the byte-level BPE alphabet (256 code points standing for the 256 bytes).
#include "tokenizer/ByteLevel.h"

#include "tokenizer/Utf8.h"

#include <array>

namespace ternc::rt::tok {
namespace {

inline bool standsForItself(unsigned b) {
  return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

struct Tables {
  std::array<char32_t, 256> toChar{};
  std::array<int16_t, 324> toByte{}; // every mapped code point is below 0x100 + 68
  Tables() {
    toByte.fill(-1);
    char32_t next = 0x100;
    for (unsigned b = 0; b < 256; ++b) {
      toChar[b] = standsForItself(b) ? static_cast<char32_t>(b) : next++;
      toByte[toChar[b]] = static_cast<int16_t>(b);
    }
  }
};

const Tables &tables() {
  static const Tables t;
  return t;
}

} // namespace

char32_t byteToChar(uint8_t b) { return tables().toChar[b]; }

int charToByte(char32_t c) { return c < tables().toByte.size() ? tables().toByte[c] : -1; }

bool tokenToBytes(std::string_view token, std::string &bytes) {
  bytes.clear();
  size_t i = 0;
  while (i < token.size()) {
    size_t n = wellFormedLength(token, i);
    if (n == 0)
      return false;
    int b = charToByte(decodeAt(token, i, n));
    if (b < 0)
      return false;
    bytes += static_cast<char>(b);
    i += n;
  }
  return true;
}

std::string bytesToToken(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char b : bytes)
    appendUtf8(byteToChar(static_cast<uint8_t>(b)), out);
  return out;
}

} // namespace ternc::rt::tok
