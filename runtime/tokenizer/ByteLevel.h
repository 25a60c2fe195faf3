// ByteLevel.h: GPT-2's byte <-> printable code point mapping that byte-level BPE vocabularies are written in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ternc::rt::tok {

/// The code point byte `b` is written as in a byte-level vocabulary: printable
/// Latin-1 bytes ('!'..'~', '¡'..'¬', '®'..'ÿ') stand for themselves, the other
/// 68 bytes take U+0100, U+0101, ... in byte order (so ' ' is 'Ġ', '\n' is 'Ċ').
char32_t byteToChar(uint8_t b);
/// The byte that code point `c` stands for, or -1 if `c` is not one of the 256.
int charToByte(char32_t c);
/// The bytes a vocabulary token stands for, or false if one of its code points
/// is not a byte-level character (or it is not valid UTF-8).
bool tokenToBytes(std::string_view token, std::string &bytes);
/// The vocabulary spelling of raw bytes (the inverse of tokenToBytes).
std::string bytesToToken(std::string_view bytes);

} // namespace ternc::rt::tok
