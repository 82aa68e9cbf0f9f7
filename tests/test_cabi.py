"""The C ABI of libsegpickle.so, called directly through ctypes: handles,
borrowed and copied writes, segment access, copy-out, writev, errors."""
import ctypes
import json
import os
import pickle
import subprocess
import sys
import threading
import time
import unittest

from segpickle import _lib


class CABI(unittest.TestCase):
    def setUp(self):
        self.lib = _lib.lib()
        self.h = ctypes.c_int64()
        self.assertEqual(self.lib.segpickle_buf_new(1024, ctypes.byref(self.h)), 0)
        self.addCleanup(lambda: self.assertEqual(self.lib.segpickle_buf_free(self.h.value), 0))

    def length(self):
        n = ctypes.c_int64()
        self.assertEqual(self.lib.segpickle_buf_len(self.h.value, ctypes.byref(n)), 0)
        return n.value

    def contents(self):
        n = self.length()
        out = ctypes.create_string_buffer(n)
        self.assertEqual(self.lib.segpickle_buf_copy(self.h.value, out, n), 0)
        return out.raw

    def test_borrow_and_copy_writes(self):
        small = ctypes.create_string_buffer(b"head", 4)
        big = ctypes.create_string_buffer(b"B" * 5000, 5000)
        self.assertEqual(self.lib.segpickle_buf_write(self.h.value, small, 4, 0), 0)
        self.assertEqual(self.lib.segpickle_buf_write(self.h.value, big, 5000, 1), 0)  # borrowed
        self.assertEqual(self.lib.segpickle_buf_write(self.h.value, small, 4, 0), 0)
        self.assertEqual(self.length(), 5008)
        nseg = ctypes.c_int64()
        self.assertEqual(self.lib.segpickle_buf_nsegments(self.h.value, ctypes.byref(nseg)), 0)
        self.assertEqual(nseg.value, 3)
        # A borrowed segment shows later changes to the caller's memory: it was not copied.
        big[0] = b"Z"
        seglen = ctypes.c_int64()
        self.assertEqual(self.lib.segpickle_buf_segment_len(self.h.value, 1, ctypes.byref(seglen)), 0)
        self.assertEqual(seglen.value, 5000)
        seg = ctypes.create_string_buffer(5000)
        self.assertEqual(self.lib.segpickle_buf_copy_segment(self.h.value, 1, seg, 5000), 0)
        self.assertEqual(seg.raw[:2], b"ZB")
        self.assertEqual(self.contents(), b"head" + b"Z" + b"B" * 4999 + b"head")

    def test_bad_arguments_are_codes_not_crashes(self):
        self.assertEqual(self.lib.segpickle_buf_write(self.h.value, None, 10, 0), -20)
        self.assertEqual(self.lib.segpickle_buf_write(self.h.value, None, -1, 0), -20)
        self.assertEqual(self.lib.segpickle_buf_copy(self.h.value, None, 0), 0)  # empty: nothing to copy
        self.assertEqual(self.lib.segpickle_buf_write(self.h.value, ctypes.create_string_buffer(b"abc", 3), 3, 0), 0)
        self.assertEqual(self.lib.segpickle_buf_copy(self.h.value, ctypes.create_string_buffer(2), 2), -20)
        seglen = ctypes.c_int64()
        self.assertEqual(self.lib.segpickle_buf_segment_len(self.h.value, 7, ctypes.byref(seglen)), -20)
        self.assertEqual(self.lib.segpickle_buf_len(987654321, ctypes.byref(seglen)), -50)
        self.assertEqual(self.lib.segpickle_buf_free(987654321), -50)
        err = ctypes.c_void_p()
        self.assertEqual(self.lib.segpickle_writev(-1, None, None, 0, None, ctypes.byref(err)), -20)
        with self.assertRaises(ValueError):
            _lib.check(-20, err)

    def test_free_twice_is_an_error_code(self):
        h = ctypes.c_int64()
        self.assertEqual(self.lib.segpickle_buf_new(0, ctypes.byref(h)), 0)
        self.assertEqual(self.lib.segpickle_buf_free(h.value), 0)
        self.assertEqual(self.lib.segpickle_buf_free(h.value), -50)

    def test_free_while_other_threads_use_the_handle(self):
        # Writers and readers racing with segpickle_buf_free get 0 before the
        # free and the documented bad-handle status (-50) after it: never a
        # recovered panic (-40), never a write into a released buffer.
        data = ctypes.create_string_buffer(b"x" * 64, 64)
        seen = set()
        for _ in range(100):
            h = ctypes.c_int64()
            self.assertEqual(self.lib.segpickle_buf_new(16, ctypes.byref(h)), 0)
            go = threading.Event()
            codes = []

            def use(kind):
                n = ctypes.c_int64()
                go.wait()
                while True:
                    if kind:
                        c = self.lib.segpickle_buf_write(h.value, data, 64, kind - 1)
                    else:
                        c = self.lib.segpickle_buf_len(h.value, ctypes.byref(n))
                    codes.append(c)
                    if c != 0:
                        return

            threads = [threading.Thread(target=use, args=(k % 3,)) for k in range(6)]
            for t in threads:
                t.start()
            go.set()
            while len(codes) < 200:  # free while they are busy
                time.sleep(0.0005)
            frees = [self.lib.segpickle_buf_free(h.value) for _ in range(2)]
            for t in threads:
                t.join(30)
                self.assertFalse(t.is_alive(), "a thread still running after the free")
            self.assertEqual(frees, [0, -50])
            seen.update(codes)
            self.assertLessEqual(set(codes), {0, -50}, "status codes seen: %s" % sorted(set(codes)))
        self.assertIn(-50, seen)

    def test_writev_buffer_to_pipe(self):
        data = pickle.dumps(list(range(5000)), 5)
        self.assertEqual(self.lib.segpickle_buf_write(self.h.value, data, len(data), 1), 0)
        r, w = os.pipe()
        got = []
        t = threading.Thread(target=lambda: got.append(b"".join(iter(lambda: os.read(r, 1 << 16), b""))))
        t.start()
        written = ctypes.c_int64()
        err = ctypes.c_void_p()
        code = self.lib.segpickle_buf_writev(self.h.value, w, ctypes.byref(written), ctypes.byref(err))
        os.close(w)
        t.join(120)  # generous: a loaded 2-core machine; a hang still fails below
        self.assertFalse(t.is_alive(), "the reader never saw the end of the pipe")
        os.close(r)
        _lib.check(code, err)
        self.assertEqual(written.value, len(data))
        self.assertEqual(got[0], data)

    def test_writev_to_closed_fd_is_oserror(self):
        r, w = os.pipe()
        os.close(r)
        os.close(w)
        segs = (ctypes.c_void_p * 1)(ctypes.cast(ctypes.c_char_p(b"x"), ctypes.c_void_p).value)
        lens = (ctypes.c_int64 * 1)(1)
        err = ctypes.c_void_p()
        code = self.lib.segpickle_writev(w, segs, lens, 1, None, ctypes.byref(err))
        self.assertEqual(code, -30)
        with self.assertRaises(OSError):
            _lib.check(code, err)

    def test_reencode_a_go_buffer(self):
        data = pickle.dumps({"k": [1, 2, (3, b"x" * 5000)]}, 4)
        for i in range(0, len(data), 7):  # many small segments
            chunk = data[i:i + 7]
            self.assertEqual(self.lib.segpickle_buf_write(self.h.value, chunk, len(chunk), 0), 0)
        out = ctypes.c_int64()
        err = ctypes.c_void_p()
        code = self.lib.segpickle_buf_reencode(self.h.value, 5, ctypes.byref(out), ctypes.byref(err))
        _lib.check(code, err)
        try:
            n = ctypes.c_int64()
            self.assertEqual(self.lib.segpickle_buf_len(out.value, ctypes.byref(n)), 0)
            res = ctypes.create_string_buffer(n.value)
            self.assertEqual(self.lib.segpickle_buf_copy(out.value, res, n.value), 0)
            self.assertEqual(pickle.loads(res.raw), pickle.loads(data))
        finally:
            self.assertEqual(self.lib.segpickle_buf_free(out.value), 0)
        code = self.lib.segpickle_buf_reencode(self.h.value, 9, ctypes.byref(out), ctypes.byref(err))
        self.assertEqual(code, -20)
        with self.assertRaises(ValueError):
            _lib.check(code, err)

    def test_check_reports_go_errors_with_offsets(self):
        data = b"\x80\x05\x8e" + (1 << 62).to_bytes(8, "little")
        segs = (ctypes.c_void_p * 1)(ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value)
        lens = (ctypes.c_int64 * 1)(len(data))
        err = ctypes.c_void_p()
        code = self.lib.segpickle_check(segs, lens, 1, ctypes.byref(err))
        self.assertEqual(code, -1)
        with self.assertRaises(pickle.UnpicklingError) as cm:
            _lib.check(code, err)
        self.assertIn("offset 2", str(cm.exception))
        self.assertIn("BINBYTES8", str(cm.exception))


# Run with SEGPICKLE_TEST_PANIC=1: every guarded export panics on entry (see
# cbridge/testpanic.go). Calls each with well-formed arguments and prints
# {name: [code, message]}.
_PANIC_SCRIPT = r"""
import ctypes, json, os
from segpickle import _lib
lib = _lib.lib()
i64 = ctypes.c_int64
r, w = os.pipe()
data = b"N."
ptrs = (ctypes.c_void_p * 1)(ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value)
lens = (i64 * 1)(len(data))
dst = ctypes.create_string_buffer(16)
calls = {
    "segpickle_buf_new": lambda e: lib.segpickle_buf_new(0, ctypes.byref(i64())),
    "segpickle_buf_free": lambda e: lib.segpickle_buf_free(1),
    "segpickle_buf_write": lambda e: lib.segpickle_buf_write(1, dst, 2, 0),
    "segpickle_buf_len": lambda e: lib.segpickle_buf_len(1, ctypes.byref(i64())),
    "segpickle_buf_nsegments": lambda e: lib.segpickle_buf_nsegments(1, ctypes.byref(i64())),
    "segpickle_buf_segment_len": lambda e: lib.segpickle_buf_segment_len(1, 0, ctypes.byref(i64())),
    "segpickle_buf_copy_segment": lambda e: lib.segpickle_buf_copy_segment(1, 0, dst, 16),
    "segpickle_buf_copy": lambda e: lib.segpickle_buf_copy(1, dst, 16),
    "segpickle_buf_writev": lambda e: lib.segpickle_buf_writev(1, w, ctypes.byref(i64()), ctypes.byref(e)),
    "segpickle_writev": lambda e: lib.segpickle_writev(w, ptrs, lens, 1, ctypes.byref(i64()), ctypes.byref(e)),
    "segpickle_buf_reencode": lambda e: lib.segpickle_buf_reencode(1, 5, ctypes.byref(i64()), ctypes.byref(e)),
    "segpickle_reencode": lambda e: lib.segpickle_reencode(ptrs, lens, 1, 5, None, None, -1, ctypes.byref(i64()),
                                                           ctypes.byref(e)),
    "segpickle_read_full": lambda e: lib.segpickle_read_full(r, dst, 1, ctypes.byref(i64()), ctypes.byref(e)),
    "segpickle_check": lambda e: lib.segpickle_check(ptrs, lens, 1, ctypes.byref(e)),
}
out = {}
for name, call in calls.items():
    err = ctypes.c_void_p()
    code = call(err)
    msg = None
    if err.value:
        msg = ctypes.string_at(err.value).decode()
        lib.segpickle_free_string(err.value)
    out[name] = [code, msg]
try:
    _lib.check(-40, None)
except RuntimeError as e:
    out["check(-40)"] = ["RuntimeError", str(e)]
print(json.dumps(out))
"""

# Exports that take an error-string pointer: their message must name the panic.
_WITH_MESSAGE = {"segpickle_buf_writev", "segpickle_writev", "segpickle_buf_reencode", "segpickle_reencode",
                 "segpickle_read_full", "segpickle_check"}


class PanicsAreStatusCodes(unittest.TestCase):
    def test_every_export_recovers_a_panic_as_minus_40(self):
        env = dict(os.environ, SEGPICKLE_TEST_PANIC="1")
        p = subprocess.run([sys.executable, "-c", _PANIC_SCRIPT], capture_output=True, timeout=120, env=env)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-3000:])
        out = json.loads(p.stdout)
        guarded = set(_lib._SIGNATURES) - {"segpickle_free_string", "segpickle_version"}
        self.assertEqual(set(out) - {"check(-40)"}, guarded, "every guarded export is called")
        for name in sorted(guarded):
            code, msg = out[name]
            self.assertEqual(code, -40, "%s returned %d under an injected panic" % (name, code))
            if name in _WITH_MESSAGE:
                self.assertIn("injected panic in " + name, msg or "", name)
        self.assertEqual(out["check(-40)"][0], "RuntimeError")

    def test_without_the_variable_nothing_panics(self):
        # Control: the same calls without SEGPICKLE_TEST_PANIC return no -40.
        env = dict(os.environ)
        env.pop("SEGPICKLE_TEST_PANIC", None)
        p = subprocess.run([sys.executable, "-c", _PANIC_SCRIPT], capture_output=True, timeout=120, env=env)
        self.assertEqual(p.returncode, 0, p.stderr.decode(errors="replace")[-3000:])
        out = json.loads(p.stdout)
        out.pop("check(-40)")
        self.assertEqual(len(out), 14)
        self.assertEqual([n for n, (code, _) in out.items() if code == -40], [])


if __name__ == "__main__":
    unittest.main()
