// SentencePiece.h: the SentencePiece tokenizer of ternc_tokenizer_spm (Debian's libsentencepiece).
//
// ternc_tokenizer_spm is a separate static library because libsentencepiece
// only ships as a shared library: only executables that embed a .model file
// link it (and so need libsentencepiece.so.0 at run time).
//
// Tokenizer::load(SentencePiece, ...) finds this loader through
// registerTokenizerLoader. The library registers it from a static
// initializer in the object that defines everything below, so it suffices
// that the linker pulls that object in, either
//  - by a reference to one of these symbols (registerSentencePieceTokenizer()
//    from main is the explicit way), or
//  - with `-Wl,--undefined=ternc_tokenizer_spm_anchor` on the link line, which
//    the CMake target adds to everything that links it.
#pragma once

#include "tokenizer/Tokenizer.h"

extern "C" {
/// Referencing this (e.g. `-Wl,--undefined=ternc_tokenizer_spm_anchor`) links the SentencePiece loader in.
extern int ternc_tokenizer_spm_anchor;
}

namespace ternc::rt {

/// Installs the SentencePiece loader with Tokenizer::load (idempotent; it is
/// also done at static initialization).
void registerSentencePieceTokenizer();

/// Loads a serialized SentencePiece ModelProto (the tokenizer.model bytes).
std::unique_ptr<Tokenizer> loadSentencePieceTokenizer(std::string_view bytes, std::string_view origin);

} // namespace ternc::rt
