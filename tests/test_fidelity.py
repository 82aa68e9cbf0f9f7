"""Fidelity through the Go decoder and encoder (issue 8, item 5).

Each case: CPython pickles an object, `segpickle reencode` rebuilds the
pickle in Go, and CPython must load an object equal to pickle.loads of the
original (or, where CPython refuses the original, segpickle refuses it too).
"""
import datetime as dt
import json
import os
import pickle
import shutil
import subprocess
import sys
import textwrap
import unittest

from support import CLITestCase, cli_path


def reencode(case, data, proto=None):
    args = ["reencode"] + ([] if proto is None else ["--protocol", str(proto)])
    return case.cli(args, data)[1]


class TimeKeysTest(CLITestCase):
    def test_datetime_and_timedelta_keys(self):
        tz = dt.timezone(dt.timedelta(hours=-5))
        naive = dt.datetime(2020, 1, 2, 3, 4, 5, 6)
        aware = naive.replace(tzinfo=tz)
        obj = [{naive: "naive", aware: "aware", dt.timedelta(days=1, microseconds=5): "td",
                (naive, dt.timedelta(0)): "tuple", dt.timezone.utc: "tz"},
               {aware, dt.timedelta(seconds=-1)}, frozenset({naive})]
        for proto in range(6):
            with self.subTest(proto=proto):
                out = pickle.loads(reencode(self, pickle.dumps(obj, proto)))
                self.assertEqual(out, obj)
                # Python's equality, kept: the same instant in another zone is the same key.
                self.assertEqual(out[0][aware.astimezone(dt.timezone.utc)], "aware")


class SurrogatesTest(CLITestCase):
    STRS = ["caf\udce9.csv", "\ud83d\ude00x\U0001f600", "\udc80" * 3, "plain", ""]

    def test_kept_byte_for_byte(self):
        for proto in range(6):
            with self.subTest(proto=proto):
                data = pickle.dumps(self.STRS, proto)
                out = reencode(self, data)
                self.assertEqual(pickle.loads(out), self.STRS)
                self.assertEqual(out, data)

    def test_as_dict_keys(self):
        obj = {s: i for i, s in enumerate(self.STRS)}
        for proto in range(6):
            with self.subTest(proto=proto):
                self.assertEqual(pickle.loads(reencode(self, pickle.dumps(obj, proto))), obj)

    def test_invalid_utf8_refused_as_cpython(self):
        for hexdata in ["8c01932e", "5803000000ed41412e"]:
            data = bytes.fromhex(hexdata)
            with self.assertRaises(UnicodeDecodeError):
                pickle.loads(data)
            code, _, err = self.cli(["reencode"], data, check=False)
            self.assertEqual(code, 1)
            self.assertIn(b"'utf-8' codec can't decode", err)
            # Through the C ABI: an UnpicklingError that is also a ValueError,
            # as UnicodeDecodeError is.
            import segpickle
            with self.assertRaises(pickle.UnpicklingError) as cm:
                segpickle.reencode(data)
            self.assertIsInstance(cm.exception, ValueError)
            self.assertIn("'utf-8' codec can't decode", str(cm.exception))

    def test_encode_json_escapes_as_json_loads(self):
        doc = '{"caf\\udce9.csv": ["\\ud83d\\ude00", "\\ud83dx", "\\ude00\\ud83d", "\\udce9"]}'
        for proto in range(6):
            with self.subTest(proto=proto):
                out = self.cli(["encode", "--protocol", str(proto)], doc.encode())[1]
                self.assertEqual(out, pickle.dumps(json.loads(doc), proto))

    def test_json_writes_surrogate_escapes(self):
        data = pickle.dumps(self.STRS, 4)
        out = self.cli(["json"], data)[1]
        # As json.dumps: two surrogates in a row read back as one character
        # (JSON cannot tell them apart), a lone one as itself.
        self.assertEqual(json.loads(out), json.loads(json.dumps(self.STRS)))
        self.assertIn(b'"caf\\udce9.csv"', out)


class Python2Test(CLITestCase):
    CASES = [
        # bytearray(u'ab', 'latin-1'), as Python 2 writes a bytearray
        "635f5f6275696c74696e5f5f0a6279746561727261790a285661620a53276c6174696e2d31270a74522e",
        # _codecs.encode(u'\xe9', 'latin1') with the codec name a Python 2 str
        "635f636f646563730a656e636f64650a2856e90a53276c6174696e31270a74522e",
        # {'A': 1} with a Python 2 str key
        "2864532741270a49310a732e",
        # STACK_GLOBAL of Python 2 strs
        "53275f5f6275696c74696e5f5f270a532762797465617272617927" "0a93285661620a53276c6174696e2d31270a74522e",
    ]

    def test_reencoded_loads_equal(self):
        for h in self.CASES:
            data = bytes.fromhex(h)
            want = pickle.loads(data)
            for proto in range(6):
                with self.subTest(pickle=h, proto=proto):
                    self.assertEqual(pickle.loads(reencode(self, data, proto)), want)


CLOUDPICKLE_SCRIPT = r'''
import pickle, subprocess, sys
import cloudpickle

K = 3
def make():
    k = 4
    return lambda v, off=10: v * k + off + K

class Counter:
    """A class defined in __main__: pickled by value, its methods set by
    _class_setstate, another popped state setter."""
    start = 100
    def __init__(self):
        self.n = self.start
    def bump(self, by=1):
        self.n += by
        return self.n

def fib(n):  # recursive: the function is in its own globals
    return n if n < 2 else fib(n - 1) + fib(n - 2)

cli, pyext = sys.argv[1], sys.argv[2]
sys.path.insert(0, pyext)
import segpickle  # the ctypes package: segpickle.reencode goes through the C ABI

def via_cli(data):
    p = subprocess.run([cli, "reencode"], input=data, capture_output=True)
    assert p.returncode == 0, p.stderr
    return p.stdout

for proto in range(2, 6):
    for reencode in (via_cli, segpickle.reencode, lambda d: segpickle.reencode(d, protocol=0)):
        objs = [make(), fib, Counter()]
        data = cloudpickle.dumps(objs, protocol=proto)
        f, g, c = pickle.loads(reencode(data))
        assert (f(1), f(1, 0), f(2, off=1)) == (17, 7, 12), (proto, f(1), f(1, 0))
        assert f.__defaults__ == (10,), f.__defaults__
        assert g(10) == 55
        assert (c.n, c.bump(), c.bump(by=5)) == (100, 101, 106)
        assert type(c).start == 100
print("ok")
'''


def python_with(module):
    """An interpreter that can import module: this one, or Debian's."""
    candidates = [sys.executable, "/usr/bin/python3", shutil.which("python3")]
    for exe in candidates:
        if exe and os.path.exists(exe):
            r = subprocess.run([exe, "-c", "import " + module], capture_output=True)
            if r.returncode == 0:
                return exe
    return None


class CloudpickleTest(unittest.TestCase):
    def test_functions_keep_defaults_globals_closure(self):
        exe = python_with("cloudpickle")
        if exe is None:
            msg = "no interpreter here has cloudpickle (`make pytest-pydata` installs python3-cloudpickle)"
            if os.environ.get("SEGPICKLE_REQUIRE_PYDATA"):
                self.fail(msg)  # make pytest-pydata: it must run
            self.skipTest(msg)
        pyext = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "pyext")
        p = subprocess.run([exe, "-c", CLOUDPICKLE_SCRIPT, cli_path(), pyext], capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(p.stdout.strip(), b"ok")


if __name__ == "__main__":
    unittest.main()
