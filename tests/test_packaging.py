"""pip install . into a fresh venv, then, from outside the checkout and with
nothing pointing back at it: import, the demo (which starts the Go echo
server shipped in the package), the `segpickle` command and a Channel peer.
Once with the default python3 (no `wheel` package: the wheel is assembled by
pybuild/segpickle_build.py) and once with Debian's /usr/bin/python3 (which
has `wheel`: setuptools builds it)."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHANNEL_PEER = r"""
import subprocess, sys, segpickle, os
exe = os.path.join(os.path.dirname(sys.executable), "segpickle")
srv = subprocess.Popen([exe, "echo-server", "--listen", "127.0.0.1:0", "--mode", "decode", "--quiet"],
                       stdout=subprocess.PIPE)
try:
    addr = srv.stdout.readline().split()[2].decode()
    with segpickle.Channel(addr) as ch:
        obj = {"k": (1, b"x" * 100000), "s": "é"}
        assert ch.call(obj) == obj
    print("channel ok", segpickle.__version__, segpickle.__file__)
finally:
    srv.terminate()
    srv.wait()
"""


def _clean_env():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SEGPICKLE_BIN", "SEGPICKLE_LIB")}
    return env


class PipInstall(unittest.TestCase):
    def install_and_run(self, python, demo):
        with tempfile.TemporaryDirectory() as tmp:
            venv = os.path.join(tmp, "v")
            subprocess.run([python, "-m", "venv", "--system-site-packages", venv], check=True, env=_clean_env())
            vpy = os.path.join(venv, "bin", "python")
            src = os.path.join(tmp, "src")  # a clean copy: pip builds in the tree it is given
            files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, check=True,
                                   capture_output=True, text=True).stdout.split()
            for f in files:
                if os.path.isfile(os.path.join(ROOT, f)):
                    os.makedirs(os.path.dirname(os.path.join(src, f)), exist_ok=True)
                    shutil.copy2(os.path.join(ROOT, f), os.path.join(src, f))
            r = subprocess.run([vpy, "-m", "pip", "install", "-q", "--no-build-isolation", "--no-index", src],
                               capture_output=True, text=True, env=_clean_env(), timeout=600)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            outside = os.path.join(tmp, "elsewhere")
            os.mkdir(outside)

            def run(*args, **kw):
                r = subprocess.run(list(args), cwd=outside, capture_output=True, text=True, env=_clean_env(),
                                   timeout=300, **kw)
                self.assertEqual(r.returncode, 0, "%s\n%s%s" % (args, r.stdout, r.stderr))
                return r.stdout

            out = run(vpy, "-c", "import segpickle, pickle; print(segpickle.__file__); "
                                 "assert segpickle.loads(segpickle.reencode(pickle.dumps([1, 'x']))) == [1, 'x']")
            self.assertTrue(out.startswith(venv), out)
            # The C accelerator is built wherever this Python's headers are.
            headers = subprocess.run([python, "-c", "import os, sysconfig; print(os.path.exists(os.path.join("
                                      "sysconfig.get_paths()['include'], 'Python.h')))"],
                                     capture_output=True, text=True, check=True).stdout.strip()
            self.assertEqual(run(vpy, "-c", "import segpickle; print(segpickle._speedups is not None)").strip(),
                             headers)
            if demo:  # once is enough: it takes a while on a busy machine
                self.assertIn('"round_trip_us"', run(vpy, "-m", "segpickle.demo", "--quick", "--json"))
            self.assertIn("channel ok", run(vpy, "-c", CHANNEL_PEER))
            enc = subprocess.run([os.path.join(venv, "bin", "segpickle"), "encode"], input=b'{"a": [1, 2]}',
                                 capture_output=True, cwd=outside, env=_clean_env(), timeout=60)
            self.assertEqual(enc.returncode, 0, enc.stderr)
            import pickle
            self.assertEqual(pickle.loads(enc.stdout), {"a": [1, 2]})

    @unittest.skipUnless(shutil.which("go") and shutil.which("git"), "needs Go and git to build the package")
    def test_default_python_without_wheel(self):
        self.install_and_run(sys.executable, demo=False)

    @unittest.skipUnless(os.path.exists("/usr/bin/python3") and shutil.which("go"),
                         "needs Debian's /usr/bin/python3 and Go")
    def test_debian_python_with_wheel(self):
        self.install_and_run("/usr/bin/python3", demo=True)


if __name__ == "__main__":
    unittest.main()
