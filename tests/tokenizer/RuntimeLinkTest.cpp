// RuntimeLinkTest.cpp: a model executable's link of ternc_runtime (static protobuf-lite) with ternc_tokenizer_spm
// (libsentencepiece.so, which carries its own protobuf-lite) works: both parse their protos in one process.
//
//   ternc_tokenizer_runtime_link_test MODEL.model WORKDIR
#include "Host.h"
#include "tokenizer/Tokenizer.h"

#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

namespace {

/// An ONNX TensorProto: dims [2], data_type FLOAT (1), float_data [1.5, -2].
std::string tensorProtoBytes() {
  std::string b;
  b += "\x08\x02"; // dims: 2
  b += "\x10\x01"; // data_type: FLOAT
  b += "\x22\x08"; // float_data, packed, 8 bytes
  float values[2] = {1.5f, -2.0f};
  b.append(reinterpret_cast<const char *>(values), sizeof(values));
  return b;
}

int run(const std::string &modelPath, const std::string &dir) {
  std::string pbPath = dir + "/runtime_link_test.pb";
  std::ofstream(pbPath, std::ios::binary) << tensorProtoBytes();
  ternc::rt::HostTensor t = ternc::rt::readTensorProto(pbPath);
  float values[2];
  std::memcpy(values, t.bytes.data(), sizeof(values));
  if (t.shape != std::vector<int64_t>{2} || values[0] != 1.5f || values[1] != -2.0f) {
    std::cerr << "TensorProto read back wrong\n";
    return 1;
  }
  std::ifstream in(modelPath, std::ios::binary);
  std::ostringstream model;
  model << in.rdbuf();
  auto tok = ternc::rt::Tokenizer::load(ternc::rt::TokenizerKind::SentencePiece, model.str(), modelPath);
  std::string text = "the runtime and sentencepiece share a process";
  std::string back = tok->decode(tok->encode(text, true));
  if (back != text) {
    std::cerr << "round trip gave '" << back << "'\n";
    return 1;
  }
  // And the runtime's protobuf once more after sentencepiece's.
  if (ternc::rt::readTensorProto(pbPath).shape != std::vector<int64_t>{2})
    return 1;
  std::cout << "runtime + sentencepiece: ok\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 3) {
    std::cerr << "usage: ternc_tokenizer_runtime_link_test MODEL.model WORKDIR\n";
    return 2;
  }
  try {
    return run(argv[1], argv[2]);
  } catch (const std::exception &e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
