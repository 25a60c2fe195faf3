// NoSentencePieceTest.cpp: without ternc_tokenizer_spm linked, loading a .model is a clear error, not a crash.
#include "tokenizer/Tokenizer.h"

#include <gtest/gtest.h>

namespace {

TEST(NoSentencePiece, LoadSaysWhatToLink) {
  try {
    ternc::rt::Tokenizer::load(ternc::rt::TokenizerKind::SentencePiece, "\x0a\x00", "model/tokenizer.model");
    FAIL() << "expected a runtime_error";
  } catch (const std::runtime_error &e) {
    std::string m = e.what();
    EXPECT_NE(m.find("model/tokenizer.model"), std::string::npos) << m;
    EXPECT_NE(m.find("ternc_tokenizer_spm"), std::string::npos) << m;
  }
}

} // namespace
