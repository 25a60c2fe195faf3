// Error: the one exception type ternc throws for bad input and failed invariants.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace ternc {

/// A user-facing error. The message already names the file and the node or
/// line where possible; the driver prints it as `ternc: error: <message>` and
/// exits non-zero.
class Error : public std::runtime_error {
public:
  explicit Error(const std::string &msg) : std::runtime_error(msg) {}
};

/// Throws an Error with a fmt-formatted message.
template <typename... Args>
[[noreturn]] void fail(fmt::format_string<Args...> f, Args &&...args) {
  throw Error(fmt::format(f, std::forward<Args>(args)...));
}

} // namespace ternc
