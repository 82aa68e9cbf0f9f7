"""The CLI as a user meets it, through the real binary: help, version, exit
statuses, file arguments, and binary output refused on a real terminal."""
import os
import pickle
import pty
import subprocess
import tempfile
import unittest

from support import cli_path


def run(args, data=b"", stdout=subprocess.PIPE):
    return subprocess.run([cli_path()] + args, input=data, stdout=stdout, stderr=subprocess.PIPE, timeout=60)


class CLI(unittest.TestCase):
    def test_help_and_version(self):
        for cmd in ["encode", "reencode", "dis", "json", "echo-server"]:
            for flag in ["-h", "--help"]:
                p = run([cmd, flag])
                self.assertEqual(p.returncode, 0, (cmd, flag, p.stderr))
                self.assertIn(b"usage: segpickle " + cmd.encode(), p.stdout)
        p = run(["--version"])
        self.assertEqual(p.returncode, 0)
        self.assertRegex(p.stdout.decode(), r"^segpickle \d+\.\d+\.\d+\n$")

    def test_exit_statuses(self):
        good = pickle.dumps({"k": (1, b"x")}, 2)
        self.assertEqual(run(["json"], good).returncode, 0)
        self.assertEqual(run(["json"], good[:-1]).returncode, 1)  # bad data
        self.assertEqual(run(["json", "--nope"], good).returncode, 2)  # bad usage
        self.assertEqual(run(["nope"]).returncode, 2)
        self.assertEqual(run(["dis", "a", "b"]).returncode, 2)

    def test_file_argument(self):
        data = pickle.dumps([1, "two"], 4)
        with tempfile.NamedTemporaryFile(suffix=".pkl") as f:
            f.write(data)
            f.flush()
            for cmd in ["dis", "json", "reencode"]:
                from_file = run([cmd, f.name], b"ignored")
                from_stdin = run([cmd, "-"], data)
                self.assertEqual(from_file.returncode, 0, from_file.stderr)
                self.assertEqual(from_file.stdout, from_stdin.stdout)
            self.assertEqual(pickle.loads(run(["reencode", f.name]).stdout), [1, "two"])

    def test_binary_output_refused_on_a_terminal(self):
        primary, secondary = pty.openpty()
        try:
            p = run(["encode"], b"[1, 2]", stdout=secondary)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(b"terminal", p.stderr)
            p = run(["dis"], pickle.dumps(1), stdout=secondary)  # text is fine
            self.assertEqual(p.returncode, 0, p.stderr)
        finally:
            os.close(primary)
            os.close(secondary)
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "o.pkl")
            p = run(["encode", "-o", out], b"[1, 2]")
            self.assertEqual(p.returncode, 0, p.stderr)
            with open(out, "rb") as f:
                self.assertEqual(pickle.load(f), [1, 2])


if __name__ == "__main__":
    unittest.main()
