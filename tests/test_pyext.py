"""pyext: SegmentBuffer as pickle.Pickler's write target, and the Go
round trip from Python (ctypes → libsegpickle.so)."""
import array
import collections
import datetime
import decimal
import gc
import multiprocessing
import os
import pickle
import subprocess
import sys
import threading
import unittest

import segpickle
from segpickle import SegmentBuffer

from support import PICKLETESTER_MISSING, import_pickletester

pickletester = import_pickletester()

OBJECTS = [
    None, True, False, 0, 1, -1, 255, 256, 2**31, -2**31 - 1, 2**64, -2**200, 0.0, -1.5, 1e300, float("inf"),
    "", "a", "é", "☃😀", "x" * 70000, b"", b"a", b"\x00" * 300, b"y" * (1 << 20), bytearray(b"ba"),
    (), (1,), (1, 2), (1, 2, 3), (1, 2, 3, 4), [], [1, [2, [3]]], list(range(2500)), {}, {"k": "v", 1: 2},
    {(1, 2): frozenset([3])}, set(range(5)), frozenset(), complex(1, 2), datetime.datetime(2020, 1, 2, 3, 4, 5),
    datetime.timedelta(days=-1, seconds=5), decimal.Decimal("1.25"), collections.OrderedDict(a=1),
    collections.deque([1, 2]), {"nested": [{"a": (1, b"z" * 5000)}] * 3},
]


def rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class ByteIdentity(unittest.TestCase):
    def test_same_bytes_as_pickle_dumps(self):
        for proto in range(6):
            for obj in OBJECTS:
                with self.subTest(proto=proto, obj=repr(obj)[:60]):
                    buf = SegmentBuffer()
                    pickle.Pickler(buf, proto).dump(obj)
                    self.assertEqual(buf.tobytes(), pickle.dumps(obj, proto))
                    self.assertEqual(len(buf), len(pickle.dumps(obj, proto)))
                    self.assertEqual(b"".join(buf.segments()), buf.tobytes())

    def test_dumps_segments_returns_buffer_and_loads_reads_it(self):
        obj = {"payload": b"p" * (1 << 20), "n": list(range(10))}
        buf = segpickle.dumps_segments(obj)
        self.assertIsInstance(buf, SegmentBuffer)
        self.assertEqual(segpickle.loads(buf), obj)
        self.assertEqual(segpickle.loads(buf.tobytes()), obj)
        self.assertEqual(buf.tobytes(), pickle.dumps(obj))

    def test_large_payload_is_referenced_not_copied(self):
        payload = b"q" * (1 << 20)
        buf = segpickle.dumps_segments(payload)
        self.assertTrue(any(m.obj is payload for m in buf.segments()), "payload was copied")

    def test_payload_survives_caller_dropping_it(self):
        buf = SegmentBuffer()
        payload = bytes(range(256)) * 4096
        expected = pickle.dumps(payload, 5)
        pickle.Pickler(buf, 5).dump(payload)
        del payload
        gc.collect()
        self.assertEqual(buf.tobytes(), expected)


class DumpAndLoadFiles(unittest.TestCase):
    def test_dump_to_bytesio_and_to_a_buffered_file(self):
        import io
        import tempfile
        obj = {"a": b"x" * 100000, "b": list(range(10))}
        f = io.BytesIO()
        segpickle.dump(obj, f)
        f.seek(0)
        self.assertEqual(segpickle.load(f), obj)
        with tempfile.TemporaryFile() as t:
            t.write(b"HEAD")  # still in the file object's buffer: must go first
            segpickle.dump(obj, t)
            t.seek(0)
            self.assertEqual(t.read(4), b"HEAD")
            self.assertEqual(pickle.load(t), obj)

    def test_write_to_pipe_descriptor(self):
        buf = segpickle.dumps_segments([b"p" * 70000, "x"])
        r, w = os.pipe()
        got = []
        t = threading.Thread(target=lambda: got.append(b"".join(iter(lambda: os.read(r, 1 << 16), b""))))
        t.start()
        self.assertEqual(buf.write_to(w), len(buf))
        os.close(w)
        t.join(120)  # generous: a loaded 2-core machine; a hang still fails below
        self.assertFalse(t.is_alive(), "the reader never saw the end of the pipe")
        os.close(r)
        self.assertEqual(got[0], buf.tobytes())


class WriteArguments(unittest.TestCase):
    def test_write_accepts_what_the_pickler_hands_it(self):
        buf = SegmentBuffer()
        self.assertEqual(buf.write(b"ab"), 2)
        self.assertEqual(buf.write(bytearray(b"cd")), 2)
        self.assertEqual(buf.write(memoryview(b"ef")), 2)
        self.assertEqual(buf.write(pickle.PickleBuffer(b"gh")), 2)
        self.assertEqual(buf.write(pickle.PickleBuffer(bytearray(b"ij"))), 2)
        self.assertEqual(buf.write(array.array("i", [1])), 4)
        self.assertEqual(buf.tobytes()[:10], b"abcdefghij")

    def test_mutable_buffers_are_referenced_unless_copy(self):
        ba = bytearray(b"before") * 1000
        buf = SegmentBuffer()
        buf.write(ba)
        ba[0:1] = b"B"
        self.assertEqual(buf.tobytes()[:6], b"Before")  # referenced: the caller's rule
        ba2 = bytearray(b"before") * 1000
        snap = SegmentBuffer(copy=True)
        snap.write(ba2)
        ba2[0:1] = b"B"
        self.assertEqual(snap.tobytes()[:6], b"before")

    def test_protocol5_in_band_picklebuffer_both_kinds(self):
        for pb in (pickle.PickleBuffer(b"ro" * 5000), pickle.PickleBuffer(bytearray(b"rw" * 5000))):
            buf = SegmentBuffer()
            pickle.Pickler(buf, 5).dump(pb)
            self.assertEqual(buf.tobytes(), pickle.dumps(pb, 5))

    def test_bad_arguments(self):
        buf = SegmentBuffer()
        with self.assertRaises(TypeError):
            buf.write("str")
        with self.assertRaises(TypeError):
            buf.write(12)
        with self.assertRaises(TypeError):
            buf.write(None)
        with self.assertRaises(TypeError):
            segpickle.reencode("not bytes")
        with self.assertRaises(TypeError):
            segpickle.reencode(42)
        with self.assertRaises(ValueError):
            segpickle.reencode(b"N.", protocol=9)
        with self.assertRaises(TypeError):
            segpickle.loads("str")

    def test_close_and_use_after_close(self):
        with SegmentBuffer() as buf:
            buf.write(b"x")
        self.assertTrue(buf.closed)
        for call in (lambda: buf.write(b"y"), buf.tobytes, buf.segments, lambda: len(buf),
                     lambda: buf.write_to(1), lambda: buf.nsegments):
            with self.assertRaises(ValueError):
                call()
        buf.close()  # twice is fine


class OutOfBand(unittest.TestCase):
    def test_buffer_callback_keeps_buffers_out_of_band(self):
        data = bytearray(b"z" * 100000)
        buf = segpickle.dumps_segments(pickle.PickleBuffer(data), out_of_band=True)
        self.assertEqual(len(buf.out_of_band), 1)
        self.assertLess(len(buf), 100)
        self.assertEqual(segpickle.loads(buf), data)
        self.assertEqual(pickle.loads(buf.tobytes(), buffers=buf.out_of_band), data)
        # Through Go: the placeholder re-encodes as NEXT_BUFFER.
        again = segpickle.reencode(buf)
        self.assertEqual(pickle.loads(again, buffers=buf.out_of_band), data)


class GoRoundTrip(unittest.TestCase):
    def test_reencode_equal_objects_all_protocols(self):
        for proto in range(6):
            for obj in OBJECTS:
                with self.subTest(proto=proto, obj=repr(obj)[:60]):
                    buf = segpickle.dumps_segments(obj, proto)
                    out = segpickle.reencode(buf)  # segments, not joined
                    self.assertEqual(pickle.loads(out), obj)
                    self.assertEqual(segpickle.reencode(buf.tobytes(), protocol=proto), out)

    def test_reencode_error_names_offset(self):
        with self.assertRaises(pickle.UnpicklingError) as cm:
            segpickle.reencode(b"\x80\x05\x95\x00\x00\x00\x00\x00\x00\x00\x00\xff")
        self.assertIn("offset", str(cm.exception))
        with self.assertRaises(EOFError):
            segpickle.reencode(b"")


class Threads(unittest.TestCase):
    def test_eight_threads_each_with_own_buffer(self):
        errors = []

        def work(i):
            try:
                for j in range(200):
                    obj = {"t": i, "j": j, "p": bytes([i]) * (1000 + j)}
                    buf = segpickle.dumps_segments(obj, 5)
                    if buf.tobytes() != pickle.dumps(obj, 5):
                        errors.append((i, j))
                    if pickle.loads(segpickle.reencode(buf)) != obj:
                        errors.append((i, j, "go"))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])

    def test_shared_buffer_keeps_every_write_whole(self):
        buf = SegmentBuffer()
        chunks = [bytes([i]) * 1000 for i in range(8)]

        def work(c):
            for _ in range(500):
                buf.write(c)

        threads = [threading.Thread(target=work, args=(c,)) for c in chunks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(buf.nsegments, 4000)
        self.assertTrue(all(len(set(bytes(s))) == 1 for s in buf.segments()))


class Leaks(unittest.TestCase):
    def test_million_cycles_bounded_rss(self):
        payload = b"x" * 4096
        for _ in range(20000):  # warm up
            b = SegmentBuffer()
            b.write(payload)
            b.close()
        before = rss_kib()
        for _ in range(1_000_000):
            b = SegmentBuffer()
            b.write(payload)
            b.close()
        gc.collect()
        grown = rss_kib() - before
        self.assertLess(grown, 16 * 1024, "RSS grew by %d KiB over a million cycles" % grown)
    # Calls into Go are leak-tested in test_leaks.py, with tight bounds.


def _child_pickles(q):
    buf = segpickle.dumps_segments({"child": os.getpid(), "p": b"c" * 70000})
    data = buf.tobytes()
    try:
        segpickle.reencode(buf)
        go = "worked"
    except segpickle.SegpickleForkError as e:
        go = "clear error: %s" % e
    q.put((pickle.loads(data)["p"] == b"c" * 70000, go))


class Fork(unittest.TestCase):
    def test_fork_after_load_never_hangs(self):
        segpickle.reencode(b"N.")  # the Go runtime is running now
        ctx = multiprocessing.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=_child_pickles, args=(q,))
        p.start()
        p.join(60)
        if p.is_alive():
            p.kill()
            self.fail("forked child hung")
        ok, go = q.get(timeout=60)  # the child has exited: its result is queued
        self.assertTrue(ok)
        self.assertIn("clear error", go)
        self.assertIn("spawn", go)

    def test_fork_pool(self):
        segpickle.reencode(b"N.")
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(2) as pool:
            res = pool.map_async(_pool_task, range(4))
            out = res.get(timeout=60)
        self.assertEqual(len(out), 4)
        self.assertTrue(all("clear error" in o for o in out))

    def test_spawn_works(self):
        code = ("import segpickle, pickle; "
                "print(pickle.loads(segpickle.reencode(segpickle.dumps_segments([1, 2]))))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60,
                             env=dict(os.environ))
        self.assertEqual(out.stdout.strip(), b"[1, 2]", out.stderr)


def _pool_task(i):
    try:
        segpickle.reencode(b"N.")
        return "worked"
    except segpickle.SegpickleForkError as e:
        return "clear error: %s" % e


if pickletester is not None:

    class SegmentBufferPickleTests(pickletester.AbstractPickleTests, unittest.TestCase):
        """CPython's own pickling suite with dumps writing into a SegmentBuffer."""

        def dumps(self, arg, proto=None, **kwargs):
            buf = SegmentBuffer()
            pickle.Pickler(buf, proto, **kwargs).dump(arg)
            return buf.tobytes()

        def loads(self, buf, **kwds):
            return pickle.loads(buf, **kwds)

        # The suite's tests that pickle through their own writers
        # (test_framed_write_sizes_with_delayed_writer,
        # test_evil_pickler_mutating_collection) use this class.
        pickler = segpickle.Pickler

else:

    @unittest.skip(PICKLETESTER_MISSING)
    class SegmentBufferPickleTests(unittest.TestCase):
        def test_skipped(self):
            pass


if __name__ == "__main__":
    unittest.main()
