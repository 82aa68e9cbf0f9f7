"""Hostile and careless uses of the Go pickler through what wraps it: the
Python package's reencode and the CLI, each in a child process, so that a
fatal Go error (which no Python code can catch) fails the test instead of
killing the suite."""
import os
import pickle
import subprocess
import sys
import tempfile
import unittest

from support import run_cli

# 3,000,000 nested persistent IDs in 3 MB: decoded without recursion into a
# py.PersistentID chain, whose re-encoding recursed uncounted until Go's
# stack overflowed (fatal error: stack overflow, the whole process gone).
NESTED_PERSIDS = b"\x80\x05K\x01" + b"Q" * 3_000_000 + b"."


class Audit(unittest.TestCase):
    def test_reencode_nested_persistent_ids_is_an_error(self):
        code = ("import sys, segpickle\n"
                "data = sys.stdin.buffer.read()\n"
                "try:\n"
                "    segpickle.reencode(data)\n"
                "except segpickle.PicklingError as e:\n"
                "    print('refused:', str(e)[:60])\n")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        p = subprocess.run([sys.executable, "-c", code], input=NESTED_PERSIDS, capture_output=True, env=env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode()[-500:])
        self.assertIn(b"refused: pickler: nesting deeper than", p.stdout)

    def test_cli_reencode_nested_persistent_ids_is_an_error(self):
        rc, out, err = run_cli(["reencode"], NESTED_PERSIDS, check=False)
        self.assertEqual(rc, 1, err.decode()[-500:])
        self.assertIn(b"nesting deeper than", err)

    def test_cli_output_is_not_the_input(self):
        data = pickle.dumps({"k": [1, "x"]}, 2)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "f.pkl")
            with open(path, "wb") as f:
                f.write(data)
            rc, _, err = run_cli(["reencode", "-o", path, path], b"", check=False)
            self.assertEqual(rc, 2, err)
            with open(path, "rb") as f:
                self.assertEqual(f.read(), data, "the input file was changed")

    def test_cli_reencode_keeps_a_shared_str_shared(self):
        s = "é" * 1024
        data = pickle.dumps((s,) * 1_000_000, 5)
        _, out, _ = run_cli(["reencode"], data)
        self.assertEqual(len(out), len(data))
        back = pickle.loads(out)
        self.assertTrue(all(x is back[0] for x in back))


if __name__ == "__main__":
    unittest.main()
