"""Builds segpickle._speedups (pyext/segpickle/_speedups.c, dumps_segments's
common case in C) for the Python that runs this, into a directory:

    python3 pybuild/speedups.py pyext/segpickle

setup.py calls build() the same way. The accelerator is optional: without a
C compiler or Python's headers it is not built, this says why, and
segpickle uses the Python version of dumps_segments (the same results,
slower for small objects)."""
import os
import shlex
import subprocess
import sys
import sysconfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "pyext", "segpickle", "_speedups.c")


def target(out_dir: str) -> str:
    return os.path.join(out_dir, "_speedups" + (sysconfig.get_config_var("EXT_SUFFIX") or ".so"))


def build(out_dir: str) -> bool:
    """Compiles the module into out_dir; False (and a line on stderr saying
    why) when it cannot."""
    out = target(out_dir)
    if sys.version_info < (3, 9):
        print("segpickle: C accelerator not built: it needs Python 3.9 or later; dumps_segments uses its "
              "Python version", file=sys.stderr)
        return False
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        print("segpickle: C accelerator not built: no Python.h in %s (install your Python's headers, e.g. "
              "python3-dev); dumps_segments uses its Python version" % include, file=sys.stderr)
        return False
    cc = shlex.split(sysconfig.get_config_var("CC") or "cc")
    cmd = cc + ["-shared", "-fPIC", "-O2", "-Wall", "-I" + include, SOURCE, "-o", out + ".tmp"]
    try:
        subprocess.check_call(cmd)
    except (OSError, subprocess.CalledProcessError) as e:
        print("segpickle: C accelerator not built (%s: %s); dumps_segments uses its Python version"
              % (" ".join(cmd), e), file=sys.stderr)
        return False
    os.replace(out + ".tmp", out)
    return True


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 pybuild/speedups.py OUT_DIR")
    build(sys.argv[1])
