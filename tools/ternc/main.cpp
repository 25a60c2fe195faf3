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
  try {
    // Targets register their own passes (e.g. x86-pack-vnni512), which
    // `ternc opt --passes` and `ternc passes` list with the built-in ones.
    ternc::TargetRegistry::global();
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
