// PassFlags: the pass-manager flags shared by `import`, `opt` and `run`.
#include "tools/ternc/Commands.h"

#include <iostream>

namespace ternc {

void addPassOptions(CLI::App &cmd, PassOptions &opts) {
  // allow_extra_args(false): `--passes cse IN.tir` must not take IN.tir as a
  // second pass name; lists are comma-separated or the flag is repeated.
  cmd.add_option("--passes", opts.passes, "Comma-separated passes to run in order (see `ternc passes`)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd.add_option("--print-after", opts.printAfter, "Print the IR to stderr after pass NAME (repeatable)")
      ->delimiter(',')
      ->allow_extra_args(false);
  cmd.add_flag("--print-after-all", opts.printAfterAll, "Print the IR to stderr after every pass");
  cmd.add_option("--stop-after", opts.stopAfter, "Stop the pipeline after pass NAME");
  cmd.add_flag("--verify-each", opts.verifyEach, "Verify the module after every pass");
  cmd.add_flag("--pass-timing", opts.timing, "Print the wall time of each pass to stderr");
}

void runPasses(Module &m, const PassOptions &opts) {
  PassManager pm(opts, std::cerr);
  pm.run(m);
}

} // namespace ternc
