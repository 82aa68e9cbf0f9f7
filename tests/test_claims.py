"""README claims about the Python package, each with a test that fails when
the claim is false: write_to releases the GIL, the os.writev fallback in a
forked child, loads reads a SegmentBuffer in place, Go errors are also the
builtin exceptions CPython raises."""
import os
import pickle
import select
import subprocess
import sys
import tracemalloc
import unittest

import segpickle

# Run in a child process: if write_to held the GIL while its writev blocks
# on a full pipe, the main thread could never run again and the child would
# hang (the parent's timeout turns that into a failure, not a hung suite).
_GIL_SCRIPT = r"""
import array, fcntl, os, sys, termios, threading, time, segpickle
payload = b"g" * (8 << 20)
buf = segpickle.dumps_segments(payload)
expected = buf.tobytes()
r, w = os.pipe()
capacity = fcntl.fcntl(w, 1032)  # F_GETPIPE_SZ
result = []
writer = threading.Thread(target=lambda: result.append(buf.write_to(w)))
writer.start()

def pending():
    n = array.array("i", [0])
    fcntl.ioctl(r, termios.FIONREAD, n, True)
    return n[0]

# Wait (by polling, from Python) until the pipe is full: the writer is
# then blocked inside Go's writev, with nobody reading.
deadline = time.monotonic() + 120
while pending() < capacity:
    if time.monotonic() > deadline:
        print("the pipe never filled"); sys.exit(3)
    time.sleep(0.001)
# Python code runs here while the writer is blocked: the GIL is free.
ran = sum(range(100000)) == 4999950000
blocked = writer.is_alive() and pending() == capacity
got = bytearray()
while len(got) < len(expected):
    got += os.read(r, 1 << 20)
writer.join()
print("ran=%s blocked=%s same=%s result=%s" % (ran, blocked, bytes(got) == expected, result == [len(expected)]))
"""


class GILReleased(unittest.TestCase):
    def test_other_threads_run_while_write_to_blocks(self):
        p = subprocess.run([sys.executable, "-c", _GIL_SCRIPT], capture_output=True, timeout=240,
                           env=dict(os.environ))
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(p.stdout.strip(), b"ran=True blocked=True same=True result=True", p.stderr)


class ForkFallback(unittest.TestCase):
    def test_forked_child_writes_through_os_writev(self):
        """A child forked after the library loaded cannot call Go; write_to
        falls back to os.writev, and the parent receives every byte."""
        segpickle.reencode(b"N.")  # the Go runtime is running in this process
        self.assertTrue(segpickle._lib.loaded_in_this_process())
        buf = segpickle.dumps_segments([b"a" * 300000, "mid", b"b" * 70000, list(range(1000))])
        expected = buf.tobytes()
        self.assertGreater(buf.nsegments, 2)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into the test runner
            code = 1
            try:
                os.close(r)
                go_usable = segpickle._lib.loaded_in_this_process()
                n = buf.write_to(w)
                os.close(w)
                code = 0 if (n == len(expected) and not go_usable) else 2
            finally:
                os._exit(code)
        os.close(w)
        got = bytearray()
        while True:
            ready, _, _ = select.select([r], [], [], 120)
            if not ready:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
                self.fail("the forked child hung in write_to")
            chunk = os.read(r, 1 << 20)
            if not chunk:
                break
            got += chunk
        os.close(r)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0, "child: 1 = exception, 2 = wrong count or Go usable")
        self.assertEqual(bytes(got), expected)


class LoadsInPlace(unittest.TestCase):
    def test_loads_reads_a_segment_buffer_without_joining(self):
        """loads(SegmentBuffer) reads the segments in place: the only large
        allocation is the result itself, where tobytes() first would add a
        second copy of the whole pickle."""
        payload = b"p" * (16 << 20)
        buf = segpickle.dumps_segments([payload, "x"])
        self.assertTrue(any(m.obj is payload for m in buf.segments()), "payload copied on write")
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            obj = segpickle.loads(buf)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertEqual(obj, [payload, "x"])
        self.assertLess(peak, len(payload) + (4 << 20), "peak %d bytes: the segments were joined" % peak)
        # Control: joining first does show up.
        tracemalloc.start()
        try:
            tracemalloc.reset_peak()
            pickle.loads(buf.tobytes())
            _, joined = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertGreater(joined, 2 * len(payload))


class ErrorsAreBuiltins(unittest.TestCase):
    # Malformed pickles, each refused by CPython with the class noted; Go's
    # refusal (through reencode) must be an UnpicklingError that is also
    # that class wherever it is EOFError, ValueError or TypeError.
    CASES = [
        b"",                              # EOFError
        b"\x80\x05K",                      # truncated argument: UnpicklingError
        b"\x80\x05N",                      # no STOP: EOFError
        b"\x80\x09N.",                     # unsupported protocol: ValueError
        b"I12x\n.",                        # bad INT literal: ValueError
        b"F1.5x\n.",                       # bad FLOAT literal: ValueError
        b"}]K\x01s.",                      # unhashable key: TypeError
        b"\x80\x04\x8c\x01a\x8c\x01b\x8f\x93.",  # STACK_GLOBAL of a set: UnpicklingError
        b"a.",                             # stack underflow
        b"\xff.",                          # unknown opcode
    ]

    def test_go_errors_are_the_builtins_cpython_raises(self):
        checked = set()
        for data in self.CASES:
            with self.subTest(data=data):
                try:
                    pickle.loads(data)
                    self.fail("CPython accepted %r" % data)
                except Exception as e:  # noqa: BLE001 - the class is what we compare
                    want = type(e)
                with self.assertRaises(pickle.UnpicklingError) as cm:
                    segpickle.reencode(data)
                for builtin in (EOFError, ValueError, TypeError):
                    if issubclass(want, builtin) and not issubclass(want, pickle.UnpicklingError):
                        self.assertIsInstance(cm.exception, builtin, "CPython raises %s for %r: %r" % (
                            want.__name__, data, cm.exception))
                        checked.add(builtin)
        self.assertEqual(checked, {EOFError, ValueError, TypeError}, "the cases exercise all three")


if __name__ == "__main__":
    unittest.main()
