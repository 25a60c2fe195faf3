// safetensors_test_util.h: building .safetensors bytes and temporary checkpoint folders for the safetensors tests.
#pragma once

#include "frontend/hf/Safetensors.h"
#include "ir/Error.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

namespace ternc::hf::test {

/// The bytes of a safetensors file: 8-byte little-endian `header.size()`, `header`, `data`.
inline std::string stBytes(const std::string &header, const std::string &data = "") {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = char(n >> (8 * i) & 0xFF);
  return out + header + data;
}

/// `header` padded with spaces so that the data after it starts 8-byte aligned, as the reference writer does.
inline std::string padHeader(std::string header) {
  header.append((8 - header.size() % 8) % 8, ' ');
  return header;
}

/// `bytes` as a SafetensorsFile named `name`, parsed from memory.
inline std::unique_ptr<SafetensorsFile> fromString(const std::string &bytes, const std::string &name = "mem.safetensors") {
  // An exactly sized heap block, so that ASan reports any read past the end.
  std::shared_ptr<char[]> block(new char[bytes.size()]);
  if (!bytes.empty()) std::memcpy(block.get(), bytes.data(), bytes.size());
  const char *data = block.get();
  return SafetensorsFile::fromBytes(name, Storage::borrow(std::move(block), data, bytes.size()));
}

/// The Error message parsing `bytes` gives, or "" if it parses.
inline std::string parseError(const std::string &bytes, const std::string &name = "mem.safetensors") {
  try {
    fromString(bytes, name);
  } catch (const Error &e) {
    return e.what();
  }
  return "";
}

/// A fresh folder under the test temp dir, removed on destruction.
class TempDir {
public:
  TempDir() {
    std::string tmpl = (std::filesystem::path(::testing::TempDir()) / "ternc-st-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string &path() const { return path_; }
  /// Writes `bytes` to `name` in the folder; returns the full path.
  std::string write(const std::string &name, const std::string &bytes) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary).write(bytes.data(), std::streamsize(bytes.size()));
    return p;
  }

private:
  std::string path_;
};

/// `count` little-endian floats as bytes.
inline std::string floatBytes(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) out.append(reinterpret_cast<const char *>(&v), 4);
  return out;
}

/// Whether `message` contains each of `parts`.
inline testing::AssertionResult contains(const std::string &message, std::initializer_list<std::string> parts) {
  if (message.empty()) return testing::AssertionFailure() << "no error";
  for (const std::string &part : parts)
    if (message.find(part) == std::string::npos)
      return testing::AssertionFailure() << "\"" << part << "\" missing in: \"" << message << "\"";
  return testing::AssertionSuccess();
}

} // namespace ternc::hf::test
