// ternc: the command-line driver. Every failure ends here as one line,
// `ternc: error: <message>`, and exit code 1.
#include "tools/ternc/Commands.h"

#include "ir/Error.h"
#include "targets/Target.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace ternc {

CLI::App *addSubcommand(CLI::App &app, const std::string &name, const std::string &description) {
  CLI::App *cmd = app.add_subcommand(name, description);
  cmd->set_version_flag("--version", "ternc " TERNC_VERSION);
  return cmd;
}

} // namespace ternc

namespace {

/// The `--load-target PATH` / `--load-target=PATH` arguments of the command line. They are loaded before the
/// command line is parsed, so that `--target` and `--passes` know the plugins' targets and passes.
std::vector<std::string> loadTargetArgs(int argc, char **argv) {
  std::vector<std::string> paths;
  const std::string flag = "--load-target";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") break;
    if (a == flag) {
      if (i + 1 >= argc) ternc::fail("--load-target needs the path of a target plugin");
      paths.push_back(argv[++i]);
    } else if (a.rfind(flag + "=", 0) == 0) {
      paths.push_back(a.substr(flag.size() + 1));
    }
  }
  return paths;
}

int reportError(const char *message) {
  std::fflush(stdout);
  fmt::print(stderr, "ternc: error: {}\n", message);
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"ternc: an ahead-of-time compiler for ternary (1.58-bit) neural networks", "ternc"};
  app.set_version_flag("--version", "ternc " TERNC_VERSION);
  app.require_subcommand(1);
  ternc::addImportCommand(app);
  ternc::addOptCommand(app);
  ternc::addRunCommand(app);
  ternc::addCompileCommand(app);
  ternc::addListCommands(app);
  ternc::addTargetsCommand(app);
  // Out-of-tree targets: accepted wherever a target or a target's pass can be named (loaded below).
  std::vector<std::string> plugins;
  for (CLI::App *cmd : app.get_subcommands({}))
    if (cmd->get_name() == "compile" || cmd->get_name() == "targets" || cmd->get_name() == "opt" ||
        cmd->get_name() == "passes")
      cmd->add_option("--load-target", plugins, "Load an out-of-tree target from this shared library (repeatable)");
  try {
    // Targets register their own passes, which `ternc opt --passes` and
    // `ternc passes` list with the built-in ones.
    ternc::TargetRegistry &targets = ternc::TargetRegistry::global();
    for (const std::string &path : loadTargetArgs(argc, argv)) targets.load(path);
    // CLI11 would report a mistyped command as "A subcommand is required".
    if (argc > 1 && argv[1][0] != '-') {
      std::vector<std::string> names;
      for (const CLI::App *cmd : app.get_subcommands({})) names.push_back(cmd->get_name());
      if (std::find(names.begin(), names.end(), argv[1]) == names.end())
        ternc::fail("unknown command '{}' (commands: {})", argv[1], fmt::join(names, ", "));
    }
    app.parse(argc, argv);
  } catch (const CLI::Success &e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError &e) {
    return reportError(fmt::format("{} (see `ternc --help`)", e.what()).c_str());
  } catch (const ternc::Error &e) {
    return reportError(e.what());
  } catch (const std::exception &e) {
    return reportError(e.what());
  } catch (...) {
    return reportError("unexpected internal failure");
  }
  return 0;
}
