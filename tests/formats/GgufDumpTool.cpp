// GgufDumpTool.cpp: ternc_gguf_dump, the GGUF reader driven from the command line for the format tests.
//
//   ternc_gguf_dump FILE.gguf [--npy-dir DIR] [--tokenizer-out PATH]
//
// Prints one JSON object: version, alignment, data_offset, metadata (key -> {"type", "value"}; arrays as
// {"type": "array", "elem", "value": [...]}, strings that are not UTF-8 as {"hex": ...}), tensors (name, ne,
// type, offset, nbytes) and, with --tokenizer-out, the converted tokenizer's kind (written to PATH; "none" when
// the file has no tokenizer). With --npy-dir, writes for every tensor that toF32 decodes DIR/<name>.f32.npy, and
// for ternary ones DIR/<name>.codes.npy (int8 [rows, cols]) and DIR/<name>.scales.npy (f32 [rows, cols / 256], or
// [1] for I2_S). A ternc::Error exits with 2 and the message on stderr.
#include "frontend/gguf/GgufFile.h"
#include "frontend/gguf/GgufTensors.h"
#include "frontend/gguf/GgufTokenizer.h"
#include "ir/Error.h"
#include "ir/Npy.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <fstream>
#include <iostream>

namespace {

using nlohmann::json;
using namespace ternc::gguf;

json stringJson(std::string_view s) {
  json j = std::string(s);
  try {
    (void)j.dump();
    return j;
  } catch (const json::exception &) {
    static const char *digits = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : s) {
      hex += digits[c >> 4];
      hex += digits[c & 15];
    }
    return json{{"hex", hex}};
  }
}

json valueJson(const Value &v) {
  json out = {{"type", std::string(valueTypeName(v.type))}};
  switch (v.type) {
  case ValueType::String: out["value"] = stringJson(v.str); break;
  case ValueType::Bool: out["value"] = v.u != 0; break;
  case ValueType::F32:
  case ValueType::F64: out["value"] = v.f; break;
  case ValueType::I8:
  case ValueType::I16:
  case ValueType::I32:
  case ValueType::I64: out["value"] = v.i; break;
  case ValueType::Array: {
    out["elem"] = std::string(valueTypeName(v.elemType));
    json items = json::array();
    if (v.elemType == ValueType::String) {
      for (std::string_view s : v.strings)
        items.push_back(stringJson(s));
    } else if (v.elemType == ValueType::Array) {
      for (const Value &a : v.arrays)
        items.push_back(valueJson(a));
    } else {
      for (uint64_t k = 0; k < v.count; ++k)
        items.push_back(valueJson(v.element(k))["value"]);
    }
    out["value"] = items;
    break;
  }
  default: out["value"] = v.u; break;
  }
  return out;
}

std::string fileName(std::string name) {
  for (char &c : name) {
    if (c == '/')
      c = '_';
  }
  return name;
}

int run(int argc, char **argv) {
  if (argc < 2)
    throw std::runtime_error("usage: ternc_gguf_dump FILE.gguf [--npy-dir DIR] [--tokenizer-out PATH]");
  std::string path = argv[1], npyDir, tokenizerOut;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--npy-dir")
      npyDir = argv[i + 1];
    else if (flag == "--tokenizer-out")
      tokenizerOut = argv[i + 1];
    else
      throw std::runtime_error("unknown flag " + flag);
  }
  std::unique_ptr<GgufFile> f = GgufFile::open(path);
  json out = {{"version", f->version()}, {"alignment", f->alignment()}, {"data_offset", f->dataOffset()}};
  json meta = json::object();
  for (const auto &[key, value] : f->metadata())
    meta[key] = valueJson(value);
  out["metadata"] = meta;
  json tensors = json::array();
  for (const TensorInfo &t : f->tensors()) {
    tensors.push_back({{"name", t.name},
                       {"ne", t.ne},
                       {"type", std::string(ggmlTypeName(t.type))},
                       {"offset", t.offset},
                       {"nbytes", t.nbytes}});
    if (npyDir.empty() || !canDecodeToF32(t.type))
      continue;
    std::string base = npyDir + "/" + fileName(t.name);
    ternc::writeNpy(toF32(*f, t), base + ".f32.npy");
    if (isTernaryType(t.type)) {
      TernaryWeight w = decodeTernary(*f, t);
      ternc::Tensor codes(ternc::DType::I8, {w.rows, w.cols});
      std::memcpy(codes.mutableRawData(), w.codes.data(), w.codes.size());
      ternc::writeNpy(codes, base + ".codes.npy");
      std::vector<int64_t> shape = w.group ? std::vector<int64_t>{w.rows, w.cols / w.group} : std::vector<int64_t>{1};
      ternc::Tensor scales(ternc::DType::F32, shape);
      std::memcpy(scales.mutableRawData(), w.scales.data(), w.scales.size() * sizeof(float));
      ternc::writeNpy(scales, base + ".scales.npy");
    }
  }
  out["tensors"] = tensors;
  if (!tokenizerOut.empty()) {
    std::optional<TokenizerBlob> blob = tokenizerFromGguf(*f);
    out["tokenizer"] = !blob ? "none" : blob->kind == TokenizerBlob::Kind::HfJson ? "hf-json" : "sentencepiece";
    if (blob) {
      std::ofstream o(tokenizerOut, std::ios::binary);
      o.write(blob->bytes.data(), std::streamsize(blob->bytes.size()));
      if (!o)
        throw std::runtime_error("cannot write " + tokenizerOut);
    }
  }
  std::cout << out.dump() << "\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const ternc::Error &e) {
    std::cerr << e.what() << "\n";
    return 2;
  } catch (const std::exception &e) {
    std::cerr << "ternc_gguf_dump: " << e.what() << "\n";
    return 1;
  }
}
