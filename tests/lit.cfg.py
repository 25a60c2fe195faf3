# lit configuration shared by tests/ir, tests/passes and tests/onnx-import.
import os
import lit.formats

config.name = "ternc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".tir", ".test"]
config.excludes = ["Inputs", "lit.cfg.py", "lit.local.cfg"]

site = lit_config.params.get("ternc_site")
if not site:
    lit_config.fatal("run through ctest, or pass --param ternc_site=BUILD/tests/lit.site.cfg.py")
lit_config.load_config(config, site)

config.test_source_root = config.suite_dir
config.test_exec_root = os.path.join(os.path.dirname(site), "lit-out", os.path.basename(config.suite_dir))
config.environment["PATH"] = os.pathsep.join([config.llvm_bin, os.path.dirname(config.ternc), config.environment.get("PATH", "/usr/bin:/bin")])
config.substitutions.append(("%ternc", config.ternc))
config.substitutions.append(("%python", config.python))
config.substitutions.append(("%srcroot", config.source_root))
