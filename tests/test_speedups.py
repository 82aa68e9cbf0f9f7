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
        # A pooled Pickler's object, and objects of one piece (C: pickle.dumps, without the pool).
        for obj in [{"k": [1, "v", b"b"]}, b"x" * 10, "s" * 10, bytearray(b"ba"), 12345, 2.5, None, True]:
            with self.subTest(obj=_describe(obj)):
                self.argument_forms(obj)

    def argument_forms(self, obj):
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


class SegmentBufferType(unittest.TestCase):
    """SegmentBuffer as the C type of segpickle._speedups: the Python
    class's methods on it, objects tracked by the collector once they can
    hold a cycle, weak references, copies."""

    def setUp(self):
        if segpickle._speedups is None:
            self.skipTest(NOT_BUILT)

    def test_is_the_c_type_with_every_method(self):
        c, py = segpickle.SegmentBuffer, segpickle._buffer._PySegmentBuffer
        self.assertIs(c, segpickle._speedups.SegmentBuffer)
        self.assertIsNot(c, py)
        self.assertEqual((c.__module__, c.__qualname__, c.__doc__), (py.__module__, py.__qualname__, py.__doc__))
        for name, value in vars(py).items():
            if name in ("__slots__", "__dict__", "__weakref__", "_segs", "_oob", "_limit"):
                continue
            with self.subTest(name=name):
                self.assertIs(vars(c)[name], value)

    def test_collector_tracks_it_once_it_can_hold_a_cycle(self):
        import gc
        import weakref

        one = segpickle.dumps_segments(b"x" * 100, 5)
        self.assertFalse(gc.is_tracked(one))  # one bytes, the empty tuple, an int: no cycle possible
        self.assertEqual(one._limit, segpickle.DEFAULT_THRESHOLD)
        self.assertFalse(gc.is_tracked(one))
        for change in [lambda b: b._segs, lambda b: setattr(b, "_oob", []), lambda b: setattr(b, "_limit", 1),
                       lambda b: setattr(b, "_segs", [])]:
            b = segpickle.dumps_segments(b"x" * 100, 5)
            change(b)
            self.assertTrue(gc.is_tracked(b))
        self.assertTrue(gc.is_tracked(segpickle.SegmentBuffer()))
        self.assertTrue(gc.is_tracked(segpickle.dumps_segments([b"p" * 70000], 5)))
        for make_cycle in [lambda b: b._segs.append(b), lambda b: setattr(b, "_oob", [b])]:
            b = segpickle.dumps_segments(b"x", 5)
            make_cycle(b)
            ref = weakref.ref(b)
            del b
            gc.collect()
            self.assertIsNone(ref())

    def test_fields_read_and_set_as_slots(self):
        b = segpickle.dumps_segments(b"x" * 100, 5)
        segs = b._segs
        self.assertEqual(segs, [pickle.dumps(b"x" * 100, 5)])
        self.assertIs(b._segs, segs)  # made once
        b.write(b"more")
        self.assertEqual(bytes(b), pickle.dumps(b"x" * 100, 5) + b"more")
        b.close()
        self.assertIsNone(b._segs)
        with self.assertRaises(ValueError):
            b.write(b"x")
        for name in ("_segs", "_oob", "_limit"):
            b = segpickle.dumps_segments(b"x", 5)
            delattr(b, name)
            with self.assertRaises(AttributeError):
                getattr(b, name)
            with self.assertRaises(AttributeError):
                delattr(b, name)

    def test_weakref_copy_pickle_subclass(self):
        import copy
        import weakref

        b = segpickle.dumps_segments({"a": 1}, 5)
        ref = weakref.ref(b)
        self.assertIs(ref(), b)
        for other in [copy.copy(b), copy.deepcopy(b), pickle.loads(pickle.dumps(b))]:
            self.assertIs(type(other), segpickle.SegmentBuffer)
            self.assertEqual(bytes(other), bytes(b))
        del b
        self.assertIsNone(ref())
        b = segpickle.dumps_segments(1)
        self.assertIsNone(b.__weakref__)  # as for the Python class (a __slots__ entry)
        ref = weakref.ref(b)
        self.assertIs(b.__weakref__, ref)
        differ = set(dir(segpickle.SegmentBuffer)) ^ set(dir(segpickle._buffer._PySegmentBuffer))
        self.assertEqual(differ - {"__slotnames__"}, {"__slots__"})  # (copyreg's cache, made by a copy)

        class Sub(segpickle.SegmentBuffer):
            pass

        s = Sub(copy=True)
        pickle.Pickler(s, 5).dump([1, bytearray(b"y" * 5000)])
        self.assertEqual(bytes(s), pickle.dumps([1, bytearray(b"y" * 5000)], 5))
        s.extra = 1  # a subclass has a __dict__

    def test_error_messages_name_the_class_as_the_python_class_does(self):
        c, py = segpickle.SegmentBuffer, segpickle._buffer._PySegmentBuffer
        self.assertEqual(c.__name__, py.__name__)

        def outcome(cls, f):
            try:
                f(cls.__new__(cls))  # fields unset
            except Exception as e:
                return type(e), str(e)
            return None

        cases = ["b._segs", "b._oob", "b._limit", "b.write(b'x')", "b.nope", "setattr(b, 'nope', 1)", "memoryview(b)",
                 "iter(b)", "b + 1", "b''.join([b])"]
        for case in cases:
            f = eval("lambda b: " + case)
            with self.subTest(case=case):
                self.assertEqual(outcome(c, f), outcome(py, f))

    def test_a_subinterpreter_leaves_the_main_interpreters_type_alone(self):
        # The module keeps one state per process (a single-phase module):
        # a second interpreter that imports segpickle must not configure it
        # or put its own functions on the shared type (they die with it).
        try:
            import _xxsubinterpreters  # noqa: F401 (3.9-3.12; legacy interpreters share the GIL)
        except ImportError:
            self.skipTest("no _xxsubinterpreters")
        out = self.run_child(
            "import _xxsubinterpreters as si, inspect, pickle, sys, segpickle\n"
            "try:\n"
            "    i = si.create(isolated=False)\n"  # 3.12: a legacy one (an isolated one cannot load _ctypes)
            "except TypeError:\n"
            "    i = si.create()\n"
            "si.run_string(i, 'import sys; sys.path[:0] = %r; import segpickle; '\n"
            "              'b = segpickle.dumps_segments([b\"p\" * 70000, 1]); assert bytes(b); '\n"
            "              'assert segpickle.SegmentBuffer().write(b\"x\") == 1; '\n"
            "              'import importlib; sp = importlib.import_module(\"segpickle._speedups\")\\n'\n"
            "              'for obj in (b\"x\", [1]):\\n'\n"
            "              '    try:\\n'\n"
            "              '        sp.dumps_segments(obj)\\n'\n"
            "              '    except RuntimeError as e:\\n'\n"
            "              '        assert \"interpreter\" in str(e), e\\n'\n"
            "              '    else:\\n'\n"
            "              '        raise AssertionError(\"the module ran in a second interpreter\")\\n'\n"
            "              % (sys.path,))\n"
            "si.destroy(i)\n"
            "b = segpickle.SegmentBuffer()\n"
            "b.write(b'abc')\n"
            "assert bytes(b) == b'abc'\n"
            "for obj in ({'k': 1}, [b'p' * 70000, 1], b'x'):\n"
            "    assert bytes(segpickle.dumps_segments(obj, 5)) == pickle.dumps(obj, 5)\n"
            "print('ok')\n")
        self.assertEqual(out.strip(), "ok")

    def run_child(self, code):
        """Runs code in a child Python with this package (a crash there is a
        failure here, not the end of the test run)."""
        import subprocess
        import sys

        pkg = os.path.dirname(os.path.dirname(os.path.abspath(segpickle.__file__)))
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([pkg, os.environ.get("PYTHONPATH", "")]))
        p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, "child exited with %d: %s" % (p.returncode, p.stderr[-2000:]))
        return p.stdout

    def test_segs_read_while_the_collector_runs_a_finalizer_that_reads_it(self):
        # Python 3.9-3.11 collect inside an allocation: the first read of
        # _segs makes its list while a garbage cycle's __del__ reads _segs
        # (and takes the piece) first. The list must not hold NULL.
        out = self.run_child(
            "import gc, pickle, segpickle\n"
            "gc.disable()\n"
            "buf = segpickle.dumps_segments(b'x', 5)\n"
            "class Evil:\n"
            "    def __del__(self):\n"
            "        buf._segs\n"
            "def garbage():\n"
            "    e = Evil()\n"
            "    e.me = e\n"
            "garbage()\n"
            "hold = [[] for _ in range(200)]\n"  # no free lists left: PyList_New allocates
            "gc.set_threshold(1)\n"
            "gc.enable()\n"
            "segs = buf._segs\n"
            "gc.set_threshold(700)\n"
            "assert segs == [pickle.dumps(b'x', 5)], segs\n"
            "assert buf._segs is segs\n"
            "print(len(buf))\n")
        self.assertEqual(out.strip(), str(len(pickle.dumps(b"x", 5))))

    def test_a_long_chain_of_buffers_is_freed_without_deep_recursion(self):
        # As for a class with __slots__ (subtype_dealloc), freeing a chain
        # of a million buffers, each held by the next one's field, must
        # not recurse a million C frames deep.
        out = self.run_child(
            "import segpickle\n"
            "b = segpickle.dumps_segments(b'x')\n"
            "for _ in range(1000000):\n"
            "    n = segpickle.dumps_segments(b'x')\n"
            "    n._oob = b\n"
            "    b = n\n"
            "del b, n\n"
            "print('freed')\n")
        self.assertEqual(out.strip(), "freed")


class WithoutSpeedups(unittest.TestCase):
    """The package where segpickle._speedups is not built: test_pyapi,
    test_buffer and test_pyext run again in a process with
    SEGPICKLE_NO_SPEEDUPS=1, with the Python SegmentBuffer and
    dumps_segments."""

    def test_python_package_passes(self):
        import subprocess
        import sys

        here = os.path.dirname(os.path.abspath(__file__))
        pkg = os.path.dirname(os.path.dirname(os.path.abspath(segpickle.__file__)))
        env = dict(os.environ, SEGPICKLE_NO_SPEEDUPS="1",
                   PYTHONPATH=os.pathsep.join([pkg, here, os.environ.get("PYTHONPATH", "")]))
        env.pop("SEGPICKLE_REQUIRE_SPEEDUPS", None)
        check = ("import segpickle; assert segpickle._speedups is None; "
                 "assert segpickle.SegmentBuffer is segpickle._buffer._PySegmentBuffer; "
                 "assert segpickle.dumps_segments is segpickle._dumps_segments_py")
        p = subprocess.run([sys.executable, "-c", check], cwd=here, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = subprocess.run([sys.executable, "-m", "unittest", "test_pyapi", "test_buffer", "test_pyext"],
                           cwd=here, env=env, capture_output=True, text=True, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-4000:])
        self.assertRegex(p.stderr, r"Ran [1-9]\d* tests")


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
