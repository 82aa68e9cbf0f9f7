"""Leak tests through the C ABI: each path that crosses into Go runs many
times after a warm-up, and the process's RSS may grow by at most 2 MiB.

Why 2 MiB: each loop below moves 20,000-50,000 calls' worth of handles,
segment tables, decoded values or frames; a leak of even 64 bytes a call
(one handle-table entry, one C string) shows as 1.3-3 MiB, a leaked
segment table or payload as tens of MiB. The Go heap reaches its steady
size during the warm-up (the same loop, run first), so what grows after
it is what is kept; since Go's GC pacing can still step RSS up once, the
loop runs in three rounds and a leak is growth in every round."""
import ctypes
import gc
import os
import pickle
import unittest

import segpickle
from segpickle import _lib
from segpickle._buffer import segment_table

BOUND_KIB = 2 * 1024


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


class CABILeaks(unittest.TestCase):
    def assert_flat(self, body, warm, count, what):
        # Three rounds of count/2 calls after the warm-up: a leak grows RSS in
        # every round (64 bytes a call is 625 KiB a round of 10,000), while
        # the Go heap's pacing may step RSS up once in any one round. So the
        # round that grew least must stay under a quarter of BOUND_KIB, and the
        # rounds but the largest under BOUND_KIB.
        for _ in range(warm):
            body()
        gc.collect()
        deltas = []
        for _ in range(3):
            before = rss_kib()
            for _ in range(count // 2):
                body()
            gc.collect()
            deltas.append(rss_kib() - before)
        self.assertLess(min(deltas), BOUND_KIB // 4,
                        "RSS grew in every round, by %s KiB over %d %s each" % (deltas, count // 2, what))
        self.assertLess(sum(deltas) - max(deltas), BOUND_KIB,
                        "RSS grew by %s KiB over rounds of %d %s" % (deltas, count // 2, what))

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
