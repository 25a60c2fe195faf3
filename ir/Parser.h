// Parser: reads the textual form of the ternc IR back into a Module.
#pragma once

#include "ir/IR.h"

#include <memory>
#include <string>

namespace ternc {

/// Parses IR text. `filename` is used in errors (`file:line:col: expected
/// ...`) and to resolve the weights file named in the module header
/// (relative to the file's folder, memory-mapped). Runs type inference and
/// checks that the types written in the text match it.
std::unique_ptr<Module> parseModule(const std::string &text, const std::string &filename);
/// Reads and parses a .tir file.
std::unique_ptr<Module> parseModuleFile(const std::string &path);

} // namespace ternc
