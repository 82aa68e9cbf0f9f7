"""Helpers shared by the cross-language tests: find or build the Go CLI."""
import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cli_path():
    path = os.environ.get("SEGPICKLE_BIN") or os.path.join(ROOT, "bin", "segpickle")
    if not os.path.exists(path):
        subprocess.run(["go", "build", "-o", path, "./cmd/segpickle"], cwd=ROOT, check=True)
    return path


def run_cli(args, data, check=True):
    """Runs the CLI with data on stdin; returns (returncode, stdout, stderr)."""
    p = subprocess.run([cli_path()] + list(args), input=data, capture_output=True, timeout=120)
    if check and p.returncode != 0:
        raise AssertionError("segpickle %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr.decode()))
    return p.returncode, p.stdout, p.stderr


class CLITestCase(unittest.TestCase):
    def cli(self, args, data, check=True):
        return run_cli(args, data, check)


def import_pickletester():
    """CPython's test.pickletester, or None when this python3 lacks its test
    package (the suites are then skipped, saying so). With CI=true (or
    SEGPICKLE_REQUIRE_PYDATA) a missing package is an error instead, so that CPython's suites cannot silently
    shrink to skips (Debian's /usr/bin/python3 has it only with
    libpython3.11-testsuite installed)."""
    try:
        from test import pickletester
        return pickletester
    except ImportError as e:
        if os.environ.get("CI") == "true" or os.environ.get("SEGPICKLE_REQUIRE_PYDATA"):
            raise ImportError("%s lacks CPython's test package (test.pickletester); on Debian install "
                              "libpython3.11-testsuite. CI=true (or SEGPICKLE_REQUIRE_PYDATA, as make "
                              "pytest-pydata sets) makes this an error, not a skip." % sys.executable) from e
        return None


PICKLETESTER_MISSING = ("test.pickletester is not installed with this python3 (%s; on Debian: "
                        "libpython3.11-testsuite); CI=true turns this skip into an error" % sys.executable)
