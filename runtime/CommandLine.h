// CommandLine: what the mains of compiled executables (Main.cpp, Generate.cpp) share — the program name for
// messages, parsing with CLI11, and the one-line `<program>: error: <message>` report with exit code 1.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <optional>
#include <string>

namespace ternc::rt {

inline std::string programName(int argc, char **argv) {
  return argc > 0 && argv[0] ? std::filesystem::path(argv[0]).filename().string() : "model";
}

/// Parses the command line; returns the exit code to return at once (after --help, or a parse error reported
/// as `<program>: error: ...`), or nullopt to go on.
inline std::optional<int> parseCommandLine(CLI::App &app, int argc, char **argv, const std::string &program) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp &e) {
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    std::fprintf(stderr, "%s: error: %s\n", program.c_str(), e.what());
    return 1;
  }
  return std::nullopt;
}

/// Runs `body`, turning any exception into `<program>: error: <message>` on stderr and exit code 1.
template <typename Body> int runReportingErrors(const std::string &program, Body &&body) {
  try {
    return body();
  } catch (const std::exception &e) {
    std::fflush(stdout);
    std::fprintf(stderr, "%s: error: %s\n", program.c_str(), e.what());
    return 1;
  }
}

} // namespace ternc::rt
