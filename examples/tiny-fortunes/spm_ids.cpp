// spm_ids.cpp: prints the SentencePiece ids of a whole file, one Encode call on all of its bytes, as ternc's
// runtime tokenizes a --perplexity file or a --prompt (without BOS). spm_encode cannot stand in for it: it
// encodes line by line, and a unigram model's segmentation of a line can differ from that of the same line
// inside a longer text. Built and run by train.py: spm_ids MODEL FILE.
#include <sentencepiece_processor.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 3) {
    std::cerr << "usage: spm_ids MODEL FILE\n";
    return 2;
  }
  sentencepiece::SentencePieceProcessor sp;
  if (auto status = sp.Load(argv[1]); !status.ok()) {
    std::cerr << argv[1] << ": " << status.ToString() << "\n";
    return 1;
  }
  std::ifstream in(argv[2], std::ios::binary);
  if (!in) {
    std::cerr << argv[2] << ": cannot open\n";
    return 1;
  }
  std::stringstream text;
  text << in.rdbuf();
  std::vector<int> ids;
  if (auto status = sp.Encode(text.str(), &ids); !status.ok()) {
    std::cerr << "encode: " << status.ToString() << "\n";
    return 1;
  }
  for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
  std::cout << "\n";
  return 0;
}
