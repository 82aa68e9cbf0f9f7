"""Helpers shared by the cross-language tests: find or build the Go CLI."""
import os
import subprocess
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
