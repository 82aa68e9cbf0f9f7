"""pytest setup: the same environment `make pytest` gives unittest."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
for path in (os.path.join(ROOT, "pyext"), HERE):
    if path not in sys.path:
        sys.path.insert(0, path)
os.environ.setdefault("SEGPICKLE_BIN", os.path.join(ROOT, "bin", "segpickle"))
