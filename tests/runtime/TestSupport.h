// TestSupport.h: helpers shared by the runtime tests — temporary folders, running commands, whole-file reads.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <sys/wait.h>

namespace ternc::rt::test {

/// A fresh folder under the system temp dir, removed with everything in it.
class TempDir {
public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ternc-rt-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path &path() const { return path_; }
  std::string file(const std::string &name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

inline std::string readText(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void writeText(const std::string &path, const std::string &text) {
  std::ofstream(path, std::ios::binary) << text;
}

/// The exit code, stdout and stderr of a shell command.
struct CommandResult {
  int exitCode = -1;
  std::string out;
  std::string err;
};

inline CommandResult runCommand(const std::string &command) {
  TempDir dir;
  std::string full = command + " >" + dir.file("out") + " 2>" + dir.file("err");
  int status = std::system(full.c_str());
  CommandResult r;
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = readText(dir.file("out"));
  r.err = readText(dir.file("err"));
  return r;
}

/// Runs a Python snippet with Debian's python3 (numpy, onnx); its stdout.
inline CommandResult runPython(const std::string &script) {
  TempDir dir;
  writeText(dir.file("script.py"), script);
  return runCommand("/usr/bin/python3 " + dir.file("script.py"));
}

} // namespace ternc::rt::test
