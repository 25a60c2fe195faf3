# lit: this suite (tests/ascend) uses the shared configuration in tests/lit.cfg.py.
import os
config.suite_dir = os.path.dirname(os.path.abspath(__file__))
lit_config.load_config(config, os.path.join(os.path.dirname(config.suite_dir), "lit.cfg.py"))
