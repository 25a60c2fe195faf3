// Library: the C header of a model compiled with --emit=lib.
#include "codegen/Codegen.h"

#include <fmt/format.h>

namespace ternc {

std::string libraryHeader(const Module &m, const std::string &prefix) {
  std::string guard;
  for (char c : prefix) guard += char(std::toupper(static_cast<unsigned char>(c)));
  std::string h = fmt::format("/* {}.h: the model '{}' compiled by ternc. Link lib{}.a with -lstdc++ -lm -lpthread. */\n"
                              "#ifndef {}_H\n#define {}_H\n\n#include <stddef.h>\n#include <stdint.h>\n\n",
                              prefix, m.name(), prefix, guard, guard);
  h += "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  for (const auto &g : m.graphs()) h += fmt::format("/* Graph '{}'. */\n", g->name());
  h += "\n#ifdef __cplusplus\n}\n#endif\n\n#endif\n";
  return h;
}

} // namespace ternc
