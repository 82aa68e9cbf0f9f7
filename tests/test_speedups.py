"""segpickle._speedups, dumps_segments's common case in C: it is built and
used where it can be (make builds it), it gives what the Python version
gives for every argument form, and the Python version (used where the C one
is not built) still passes the dumps_segments tests of test_pyapi."""
import inspect
import os
import pickle
import unittest

import segpickle
import test_pyapi

NOT_BUILT = "segpickle._speedups is not built here (no C compiler or Python headers at build time)"


class Built(unittest.TestCase):
    def test_used_when_built(self):
        if segpickle._speedups is None:
            if os.environ.get("SEGPICKLE_REQUIRE_SPEEDUPS") == "1":
                self.fail("SEGPICKLE_REQUIRE_SPEEDUPS=1 but segpickle._speedups does not import")
            self.skipTest(NOT_BUILT)
        self.assertIs(segpickle.dumps_segments, segpickle._speedups.dumps_segments)
        self.assertIsNot(segpickle._dumps_segments_py, segpickle.dumps_segments)

    def test_same_signature_and_doc(self):
        c, py = segpickle.dumps_segments, segpickle._dumps_segments_py
        self.assertEqual([(p.name, p.kind, p.default) for p in inspect.signature(c).parameters.values()],
                         [(p.name, p.kind, p.default) for p in inspect.signature(py).parameters.values()])
        self.assertEqual(inspect.getdoc(c), inspect.getdoc(py))


def _describe(a):
    return "%s of %d" % (type(a).__name__, len(a)) if isinstance(a, (str, bytes, bytearray)) else \
        "int of %d bits" % a.bit_length() if type(a) is int else repr(a)[:40]


def _outcome(f, args, kwargs):
    """What f(*args, **kwargs) gives: the pickle's bytes, or the exception's type."""
    try:
        return bytes(f(*args, **kwargs))
    except Exception as e:
        return type(e)


class SameAsPython(unittest.TestCase):
    def setUp(self):
        if segpickle._speedups is None:
            self.skipTest(NOT_BUILT)

    def check(self, *args, **kwargs):
        with self.subTest(args=[_describe(a) for a in args], kwargs=kwargs):
            want = _outcome(segpickle._dumps_segments_py, args, kwargs)
            self.assertEqual(_outcome(segpickle.dumps_segments, args, kwargs), want)
            if isinstance(want, bytes) and args:
                self.assertEqual(want, pickle.dumps(args[0], *args[1:], **{k: v for k, v in kwargs.items()
                                                                             if k != "out_of_band"}))
            return want

    def test_argument_forms(self):
        obj = {"k": [1, "v", b"b"]}
        for proto in [None, -1, 0, 1, 2, 3, 4, 5]:
            self.check(obj, proto)
            self.check(obj, protocol=proto)
        self.check(obj)
        self.check(obj, 5, fix_imports=True, buffer_callback=None, out_of_band=False)
        self.check(obj, 2, fix_imports=False)
        self.check(obj, 5, out_of_band=True)
        self.check(obj, True)  # a bool is an int to pickle: protocol 1
        self.check(obj, -2)  # any negative protocol: the highest
        self.assertIs(self.check(obj, 6), ValueError)
        self.assertIs(self.check(obj, 1 << 70), OverflowError)
        self.assertIs(self.check(obj, "5"), TypeError)
        self.assertIs(self.check(obj, 5, protocol=5), TypeError)
        self.assertIs(self.check(obj, 5, 1), TypeError)
        self.assertIs(self.check(obj, nope=1), TypeError)
        self.assertIs(self.check(), TypeError)
        self.assertIs(self.check(obj, 4, buffer_callback=list.append), ValueError)  # needs protocol 5

    def test_one_piece_objects_at_their_bounds(self):
        # Scalars and payloads under 64 KiB (CPython copies those into its
        # frame) are pickle.dumps's bytes; from 64 KiB on, CPython's
        # Pickler hands the payload itself to write(), which we keep.
        objs = [None, True, False, 0, -(1 << 70), 1 << (8 * 100000), 2.5, float("nan"), "", "a" * 16383,
                "😀" * 16383, "a" * 16384, "😀" * 16384, b"", b"x" * 65535, b"x" * 65536,
                bytearray(b"y" * 65535), bytearray(b"y" * 65536), type("B", (bytes,), {})(b"sub")]
        for proto in [None, 0, 2, 3, 4, 5]:
            for obj in objs:
                self.check(obj, proto)
        for proto in (3, 4, 5):
            payload = b"z" * 65536
            buf = segpickle.dumps_segments(payload, proto)
            self.assertTrue(any(s is payload for s in buf._segs), "64 KiB payload copied at %d" % proto)

    def test_large_memo_replaced_small_one_cleared(self):
        # The C version clears a pooled Pickler's memo table when it is
        # small and replaces it when it grew (clear_memo would keep it at
        # its largest size and clear all of it on every later call).
        segpickle.dumps_segments([str(i) for i in range(100000)], 5)
        limit = segpickle._memo_clear_max()
        sizes = [p.__sizeof__() for p, _ in segpickle._idle[5]]
        self.assertTrue(sizes)
        self.assertTrue(all(n <= limit for n in sizes), (sizes, limit))
        shared = ["s"]
        for _ in range(3):
            self.check([shared, shared, {"a": shared}], 5)


class NoLeaks(unittest.TestCase):
    """Each path through the C version gives back every reference it takes:
    5,000 calls leave the traced memory where it was (a leaked bytes
    object or list per call would be 165 KB or more)."""

    def test_every_path(self):
        import gc
        import tracemalloc

        ds = segpickle.dumps_segments
        paths = {
            "one piece (bytes)": lambda: ds(b"x" * 1000, 5),
            "one piece (int)": lambda: ds(12345678901234567890, 4),
            "pooled": lambda: ds({"a": [1, 2, "s"], "b": (1.5, None)}, 5),
            "finish (a 64 KiB payload)": lambda: ds([b"p" * 70000, "t"], 5),
            "the Python version (other arguments)": lambda: ds({"k": 1}, 2, fix_imports=False),
            "an error": lambda: ds([1, test_pyapi.Unpicklable()], 5),
            "a memo that grew": lambda: ds([str(i) for i in range(200)], 5),
        }
        for name, f in paths.items():
            with self.subTest(path=name):
                def run(n):
                    for _ in range(n):
                        try:
                            f()
                        except pickle.PicklingError:
                            pass

                run(500)
                gc.collect()
                tracemalloc.start()
                try:
                    run(500)
                    gc.collect()
                    before = tracemalloc.get_traced_memory()[0]
                    run(5000)
                    gc.collect()
                    grew = tracemalloc.get_traced_memory()[0] - before
                finally:
                    tracemalloc.stop()
                self.assertLess(grew, 16 << 10, "%d bytes more after 5,000 calls" % grew)


class PythonVersionSegments(test_pyapi.Segments):
    """test_pyapi's dumps_segments tests, run against the Python version."""

    def setUp(self):
        self._c = segpickle.dumps_segments
        segpickle.dumps_segments = segpickle._dumps_segments_py

    def tearDown(self):
        segpickle.dumps_segments = self._c


class PythonVersionPooledPicklers(test_pyapi.PooledPicklers):
    """test_pyapi's pooled-Pickler tests, run against the Python version."""

    setUp = PythonVersionSegments.setUp
    tearDown = PythonVersionSegments.tearDown


if __name__ == "__main__":
    unittest.main()
