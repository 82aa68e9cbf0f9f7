"""Builds libsegpickle.so from cbridge/ with `go build -buildmode=c-shared`
and installs it inside the segpickle package.

    python3 -m pip install --no-build-isolation .

(--no-build-isolation where no package index can be reached; building the
wheel needs the `wheel` package, which Debian's /usr/bin/python3 has.)
Needs Go 1.26 and a C compiler on PATH.
"""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # pragma: no cover
    _bdist_wheel = None

HERE = os.path.dirname(os.path.abspath(__file__))


class BuildWithGo(build_py):
    """Runs go build for the shared library, then the usual build_py."""

    def run(self):
        go = shutil.which("go") or "/usr/local/go/bin/go"
        target_dir = os.path.join(self.build_lib, "segpickle")
        os.makedirs(target_dir, exist_ok=True)
        out = os.path.join(target_dir, "libsegpickle.so")
        env = dict(os.environ, CGO_ENABLED="1")
        subprocess.check_call([go, "build", "-buildmode=c-shared", "-o", out, "./cbridge"], cwd=HERE, env=env)
        header = os.path.join(target_dir, "libsegpickle.h")
        if os.path.exists(header):
            os.remove(header)
        super().run()


cmdclass = {"build_py": BuildWithGo}

if _bdist_wheel is not None:

    class PlatformWheel(_bdist_wheel):
        """The wheel carries a native library: it is not pure Python."""

        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            _, _, plat = super().get_tag()
            return "py3", "none", plat

    cmdclass["bdist_wheel"] = PlatformWheel

setup(
    name="segpickle",
    version="0.1.0",
    description="Pickle into segments with no copy of large payloads; Go's pickle codec from Python",
    package_dir={"": "pyext"},
    packages=["segpickle"],
    package_data={"segpickle": ["py.typed"]},
    python_requires=">=3.8",
    cmdclass=cmdclass,
    zip_safe=False,
)
