"""Builds libsegpickle.so (from cbridge/, `go build -buildmode=c-shared`) and
the segpickle CLI (from cmd/segpickle) into the segpickle package, so that a
pip-installed package has the library, the echo server and the `segpickle`
command without a checkout. Metadata is in pyproject.toml.

    python3 -m pip install --no-build-isolation .

Needs Go 1.26 and a C compiler on PATH.
"""
import os
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # built by pybuild/segpickle_build.py instead
    _bdist_wheel = None

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "pybuild"))
import speedups  # noqa: E402 (pybuild/speedups.py: the optional C accelerator)

# Built into the package directory; pyext/segpickle/_paths.py finds them there.
GO_TARGETS = [
    (["-buildmode=c-shared"], "libsegpickle.so", "./cbridge"),
    ([], os.path.join("bin", "segpickle"), "./cmd/segpickle"),
]


def go_build(target_dir):
    go = shutil.which("go") or "/usr/local/go/bin/go"
    env = dict(os.environ, CGO_ENABLED="1")
    for flags, name, pkg in GO_TARGETS:
        out = os.path.join(target_dir, name)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.check_call([go, "build", "-trimpath"] + flags + ["-o", out, pkg], cwd=HERE, env=env)
    header = os.path.join(target_dir, "libsegpickle.h")
    if os.path.exists(header):
        os.remove(header)


class BuildWithGo(build_py):
    """The usual build_py, then go build for the library and the CLI, and
    the C accelerator for this Python when it can be built."""

    def run(self):
        super().run()
        go_build(os.path.join(self.build_lib, "segpickle"))
        speedups.build(os.path.join(self.build_lib, "segpickle"))


cmdclass = {"build_py": BuildWithGo}

if _bdist_wheel is not None:

    class PlatformWheel(_bdist_wheel):
        """The wheel carries native code: it is not pure Python."""

        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = PlatformWheel

setup(cmdclass=cmdclass)
