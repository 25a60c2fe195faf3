// ListCommands: `ternc ops` (the op table) and `ternc passes` (registered passes).
#include "tools/ternc/Commands.h"

#include "ir/OpRegistry.h"

#include <fmt/format.h>

namespace ternc {

namespace {

/// "2", "1-3" or "1+" (variadic).
std::string countRange(int lo, int hi) {
  if (hi < 0) return fmt::format("{}+", lo);
  return lo == hi ? fmt::format("{}", lo) : fmt::format("{}-{}", lo, hi);
}

void listOps() {
  for (const OpDef *def : OpRegistry::global().all()) {
    std::vector<std::string> attrs;
    for (const auto &a : def->attrs)
      attrs.push_back(fmt::format("{}: {}{}", a.name, attrKindName(a.kind), a.required ? " (required)" : ""));
    fmt::print("{:<20} inputs {:<4} outputs {:<4} {}\n", def->name, countRange(def->minInputs, def->maxInputs),
               countRange(def->minOutputs, def->maxOutputs), def->summary);
    if (!attrs.empty()) fmt::print("{:<20} attributes: {}\n", "", fmt::join(attrs, ", "));
  }
}

void listPasses() {
  for (const auto &e : PassRegistry::global().entries()) fmt::print("{:<16} {}\n", e.name, e.summary);
}

} // namespace

void addListCommands(CLI::App &app) {
  addSubcommand(app, "ops", "List the ops of the IR: inputs, outputs, attributes, summary")->callback(listOps);
  addSubcommand(app, "passes", "List the registered passes")->callback(listPasses);
}

} // namespace ternc
