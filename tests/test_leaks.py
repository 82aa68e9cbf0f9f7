"""Leak tests through the C ABI: each path that crosses into Go runs many
times after a warm-up, in rounds, and must not grow memory round after round.

Two measures. The C heap (glibc's mallinfo2: bytes malloc has handed out)
is exact and quiet here (0-4 KiB of noise a round): what crosses the C ABI
as C memory (error strings, segment tables, copies) is counted to the
byte, so a leak of 16 bytes a call (156 KiB a round of 10,000) fails. The
Go heap is not in it (Go maps its own memory); for that the process's RSS
is read, which Go's collector and scavenger swing by up to ±20 MiB between
rounds even with no leak at all: a Go-side leak fails only when it grows
RSS by over 4 MiB in every one of five rounds (about 400 bytes a call,
less than one leaked handle with its buffer)."""
import ctypes
import gc
import os
import pickle
import unittest

import segpickle
from segpickle import _lib
from segpickle._buffer import segment_table

BOUND_KIB = 2 * 1024
C_ROUND_KIB = 128  # C heap growth allowed in any round
RSS_ROUND_KIB = 4 * 1024  # RSS growth that every round must pass for a Go-side leak


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


try:
    _mallinfo2 = ctypes.CDLL(None).mallinfo2
    _mallinfo2.restype = _MallInfo2
except (OSError, AttributeError):  # not glibc 2.33+
    _mallinfo2 = None


def c_heap_kib():
    """Bytes that malloc has handed out and not had back, in KiB."""
    m = _mallinfo2()
    return (m.uordblks + m.hblkhd) // 1024


class CABILeaks(unittest.TestCase):
    def assert_flat(self, body, warm, count, what):
        # Five rounds of count/5 calls after the warm-up. The C heap is
        # exact: no round may grow it by more than C_ROUND_KIB. RSS swings
        # with Go's collector, so only growth in every round counts there.
        for _ in range(warm):
            body()
        gc.collect()
        c_deltas, rss_deltas = [], []
        for _ in range(5):
            c_before, rss_before = (c_heap_kib() if _mallinfo2 else 0), rss_kib()
            for _ in range(count // 5):
                body()
            gc.collect()
            c_deltas.append((c_heap_kib() if _mallinfo2 else 0) - c_before)
            rss_deltas.append(rss_kib() - rss_before)
        if _mallinfo2:
            self.assertLess(max(c_deltas), C_ROUND_KIB,
                            "the C heap grew by %s KiB in rounds of %d %s" % (c_deltas, count // 5, what))
        self.assertLess(min(rss_deltas), RSS_ROUND_KIB,
                        "RSS grew in every round, by %s KiB over %d %s each" % (rss_deltas, count // 5, what))

    def test_handles(self):
        """buf_new / write (copied and borrowed) / len / nsegments / copy / free."""
        lib = _lib.lib()
        small = b"s" * 100
        big = b"B" * 8192
        out = ctypes.create_string_buffer(8192 + 200)
        n = ctypes.c_int64()

        def body():
            h = ctypes.c_int64()
            self.assertEqual(lib.segpickle_buf_new(0, ctypes.byref(h)), 0)
            self.assertEqual(lib.segpickle_buf_write(h.value, small, len(small), 0), 0)
            self.assertEqual(lib.segpickle_buf_write(h.value, big, len(big), 1), 0)
            self.assertEqual(lib.segpickle_buf_write(h.value, small, len(small), 0), 0)
            self.assertEqual(lib.segpickle_buf_len(h.value, ctypes.byref(n)), 0)
            self.assertEqual(lib.segpickle_buf_nsegments(h.value, ctypes.byref(n)), 0)
            self.assertEqual(lib.segpickle_buf_copy(h.value, out, len(out)), 0)
            self.assertEqual(lib.segpickle_buf_free(h.value), 0)

        self.assert_flat(body, 5000, 50000, "handle cycles")

    def test_error_strings(self):
        """Failed calls hand back C strings that check() frees."""
        lib = _lib.lib()
        data = b"\x80\x05\x8e" + (1 << 62).to_bytes(8, "little")
        ptrs, lens, k = segment_table([data])

        def body():
            err = ctypes.c_void_p()
            code = lib.segpickle_check(ptrs, lens, k, ctypes.byref(err))
            self.assertEqual(code, -1)
            with self.assertRaises(pickle.UnpicklingError):
                _lib.check(code, err)

        self.assert_flat(body, 5000, 50000, "failed calls")

    def test_segment_tables_writev(self):
        """A caller's segment table of 64 segments written to /dev/null."""
        buf = segpickle.dumps_segments([bytes([i]) * 66000 for i in range(64)])  # over a frame each: a segment each
        self.assertGreater(buf.nsegments, 32)
        fd = os.open(os.devnull, os.O_WRONLY)
        self.addCleanup(os.close, fd)
        size = len(buf)
        self.assert_flat(lambda: self.assertEqual(buf.write_to(fd), size), 500, 5000, "64-segment writevs")

    def test_reencode(self):
        """reencode of a SegmentBuffer (segment table in, Go buffer handle
        out) and of bytes that fail to decode."""
        obj = {"a": list(range(100)), "b": "x" * 100, "p": b"p" * 5000}
        buf = segpickle.dumps_segments(obj)
        data = buf.tobytes()

        def body():
            segpickle.reencode(buf)
            with self.assertRaises(pickle.UnpicklingError):
                segpickle.reencode(data[:-3])

        self.assert_flat(body, 2000, 20000, "reencodes (and as many failures)")

    def test_buf_reencode(self):
        """A Go buffer's pickle re-encoded by handle into a new handle."""
        lib = _lib.lib()
        data = pickle.dumps({"k": [1, 2, (3, b"x" * 5000)]}, 4)
        h = ctypes.c_int64()
        self.assertEqual(lib.segpickle_buf_new(0, ctypes.byref(h)), 0)
        self.addCleanup(lambda: self.assertEqual(lib.segpickle_buf_free(h.value), 0))
        self.assertEqual(lib.segpickle_buf_write(h.value, data, len(data), 0), 0)

        def body():
            out = ctypes.c_int64()
            err = ctypes.c_void_p()
            code = lib.segpickle_buf_reencode(h.value, 5, ctypes.byref(out), ctypes.byref(err))
            _lib.check(code, err)
            self.assertEqual(lib.segpickle_buf_free(out.value), 0)

        self.assert_flat(body, 2000, 20000, "buffer reencodes")


class ChannelLeaks(unittest.TestCase):
    def test_channel_round_trips(self):
        """Channel send/recv (segments out with sendmsg, frames in) against
        the Go echo server in decode mode (the Go codec on every frame)."""
        from support import cli_path
        os.environ.setdefault("SEGPICKLE_BIN", cli_path())
        from segpickle.demo import EchoServer
        server = EchoServer("decode")
        self.addCleanup(server.stop)
        obj = {"n": list(range(50)), "p": b"q" * 20000, "s": "text"}
        with segpickle.Channel(server.address, timeout=120) as ch:
            def body():
                self.assertEqual(ch.call(obj), obj)

            for _ in range(1000):
                body()
            gc.collect()
            before = rss_kib()
            for _ in range(10000):
                body()
            gc.collect()
            grown = rss_kib() - before
        self.assertLess(grown, BOUND_KIB, "RSS grew by %d KiB over 10,000 channel round trips" % grown)


if __name__ == "__main__":
    unittest.main()
