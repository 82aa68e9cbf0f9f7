"""The Python API as a drop-in for the pickle module: dumps returns bytes,
the segmented form has its own name, bytes(buf), the pickle module's names,
__version__, docstrings, and truncated input raising what CPython raises."""
import gc
import inspect
import os
import pickle
import re
import threading
import unittest
import weakref

import segpickle
from segpickle import SegmentBuffer

from support import PICKLETESTER_MISSING, import_pickletester

pickletester = import_pickletester()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

OBJECTS = [
    None, True, 0, -1, 2**64, 1.5, "", "é☃", "x" * 70000, b"", b"a", b"y" * (1 << 20), bytearray(b"ba"),
    bytearray(b"B" * 100000), (1, 2), [1, [2]], list(range(2500)), {"k": "v", 1: 2}, set(range(5)),
    frozenset([1]), complex(1, 2), {"nested": [{"a": (1, b"z" * 5000)}] * 3},
]


class Box:
    """A class whose instances can be weakly referenced."""

    def __init__(self, v):
        self.v = v

    def __eq__(self, other):
        return isinstance(other, Box) and other.v == self.v


class Reentrant:
    """Pickles itself by pickling its payload with dumps_segments: the
    inner call must not share the outer call's Pickler."""

    def __init__(self, v):
        self.v = v

    def __reduce__(self):
        return (bytes, (bytes(segpickle.dumps_segments(self.v)),))


class Unpicklable:
    def __reduce__(self):
        raise pickle.PicklingError("no")


class DropIn(unittest.TestCase):
    def test_dumps_is_pickle_dumps(self):
        for proto in [None] + list(range(6)):
            for obj in OBJECTS:
                with self.subTest(proto=proto, obj=repr(obj)[:40]):
                    data = segpickle.dumps(obj, proto)
                    self.assertIs(type(data), bytes)
                    self.assertEqual(data, pickle.dumps(obj, proto))
                    self.assertEqual(pickle.loads(data), obj)
        self.assertEqual(segpickle.dumps([1]), pickle.dumps([1]))

    def test_pickle_module_names(self):
        for name in ["PickleError", "PicklingError", "UnpicklingError", "PickleBuffer", "Pickler",
                     "DEFAULT_PROTOCOL", "HIGHEST_PROTOCOL"]:
            with self.subTest(name=name):
                self.assertIs(getattr(segpickle, name), getattr(pickle, name))
                self.assertIn(name, segpickle.__all__)
        for name in pickle.__all__:
            if not name.isupper():  # opcodes aside, every pickle name is here
                self.assertTrue(hasattr(segpickle, name), name)
        from segpickle import PickleError  # noqa: F401 (importable by name)
        self.assertTrue(issubclass(segpickle.GoUnpicklingError, segpickle.PickleError))

    def test_version(self):
        self.assertRegex(segpickle.__version__, r"^\d+\.\d+\.\d+")
        with open(os.path.join(ROOT, "pyproject.toml")) as f:
            text = f.read()
        # pyproject.toml takes the version from the package: one source.
        self.assertIn('version = {attr = "segpickle.__version__"}', text)
        with open(os.path.join(ROOT, "setup.py")) as f:
            self.assertNotIn("version=", f.read())

    def test_dump_writes_what_pickle_dump_writes(self):
        import io
        for proto in (None, 2, 5):
            f = io.BytesIO()
            segpickle.dump({"a": b"x" * 100000}, f, proto)
            self.assertEqual(f.getvalue(), pickle.dumps({"a": b"x" * 100000}, proto))


class Segments(unittest.TestCase):
    def test_dumps_segments_bytes_equal_pickle(self):
        for proto in [None] + list(range(6)):
            for obj in OBJECTS:
                with self.subTest(proto=proto, obj=repr(obj)[:40]):
                    buf = segpickle.dumps_segments(obj, proto)
                    self.assertIsInstance(buf, SegmentBuffer)
                    self.assertEqual(bytes(buf), pickle.dumps(obj, proto))
                    self.assertEqual(segpickle.loads(buf), obj)
                    self.assertEqual(len(buf), sum(len(m) for m in buf.segments()))

    def test_other_arguments_take_the_general_path(self):
        for kw in [dict(protocol=2, fix_imports=False), dict(protocol=-1), dict(protocol=True)]:
            with self.subTest(kw=kw):
                self.assertEqual(bytes(segpickle.dumps_segments(range(3), **kw)), pickle.dumps(range(3), **kw))
        with self.assertRaises(ValueError):
            segpickle.dumps_segments(1, protocol=6)
        with self.assertRaises(ValueError):  # pickle's rule: buffer_callback needs protocol 5
            segpickle.dumps_segments(1, buffer_callback=lambda b: True)

    def test_large_payload_kept_not_copied(self):
        payload = b"q" * (1 << 20)
        for proto in range(3, 6):  # 0-2 write bytes as text or _codecs.encode
            buf = segpickle.dumps_segments({"p": payload}, proto)
            self.assertTrue(any(m.obj is payload for m in buf.segments()), "payload copied at %d" % proto)

    def test_mutable_payload_follows_write_rules(self):
        data = bytearray(b"m" * 100000)
        buf = segpickle.dumps_segments(data, 5)
        expected = pickle.dumps(bytearray(data), 5)
        data[:] = b"n" * len(data)  # whatever write()'s rule is, the views stay valid
        self.assertEqual(len(bytes(buf)), len(expected))
        for m in buf.segments():
            self.assertIsInstance(m, memoryview)
            self.assertEqual(m.format, "B")

    def test_memoryview_of_a_buffer_is_refused(self):
        # A SegmentBuffer is not one contiguous block: memoryview(buf) would
        # need a join, a copy that a memoryview would hide. bytes(buf) is
        # the explicit copy; buf.segments() the views without one.
        buf = segpickle.dumps_segments(b"x" * 100000)
        with self.assertRaises(TypeError):
            memoryview(buf)
        self.assertIn("bytes(buf)", SegmentBuffer.__doc__)

    def test_bytes_after_close_raises(self):
        buf = segpickle.dumps_segments(1)
        buf.close()
        with self.assertRaises(ValueError):
            bytes(buf)

    def test_reused_picklers_keep_nothing_alive(self):
        box = Box(1)
        ref = weakref.ref(box)
        buf = segpickle.dumps_segments([box, box])
        self.assertEqual(segpickle.loads(buf), [Box(1), Box(1)])
        del box, buf
        gc.collect()
        self.assertIsNone(ref(), "a reused Pickler keeps the object alive (memo not cleared)")

    def test_memo_does_not_carry_over(self):
        shared = [1, 2]
        a = bytes(segpickle.dumps_segments([shared, shared]))
        b = bytes(segpickle.dumps_segments([shared, shared]))
        self.assertEqual(a, b)
        self.assertEqual(a, pickle.dumps([shared, shared]))

    def test_error_leaves_no_partial_output(self):
        with self.assertRaises(pickle.PicklingError):
            segpickle.dumps_segments([b"a" * 10, Unpicklable()])
        self.assertEqual(bytes(segpickle.dumps_segments("ok")), pickle.dumps("ok"))

    def test_reentrant_call(self):
        obj = [Reentrant({"k": 1}), 2]
        self.assertEqual(bytes(segpickle.dumps_segments(obj)), pickle.dumps(obj))

    def test_threads(self):
        errors = []

        def work(i):
            try:
                for j in range(300):
                    obj = {"t": i, "j": j, "s": [i] * (j % 7)}
                    if bytes(segpickle.dumps_segments(obj)) != pickle.dumps(obj):
                        errors.append((i, j))
            except Exception as e:  # pragma: no cover
                errors.append(e)

        ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        self.assertEqual(errors, [])


class PooledPicklers(unittest.TestCase):
    """dumps_segments reuses idle Picklers (issue 12, small messages): what
    one call leaves behind must not reach the next."""

    def test_protocol_per_call(self):
        obj = {"k": [b"v", "w", 1.5], "t": (1, 2)}
        for proto in [5, 2, None, 0, 4, -1, 1, 3, 5, None, 2]:
            with self.subTest(proto=proto):
                self.assertEqual(bytes(segpickle.dumps_segments(obj, proto)), pickle.dumps(obj, proto))
        for kw in [dict(protocol=2, fix_imports=False), dict(protocol=True), dict(protocol=5, out_of_band=False)]:
            with self.subTest(kw=kw):
                self.assertEqual(bytes(segpickle.dumps_segments(("a", "b"), **kw)),
                                 pickle.dumps(("a", "b"), **{k: v for k, v in kw.items() if k != "out_of_band"}))

    def test_reentrant_call_with_another_protocol(self):
        class Inner:
            def __reduce__(self):
                inner = bytes(segpickle.dumps_segments(["in", b"x" * 10], 2))
                return (bytes, (inner,))

        obj = [Inner(), "after", Inner()]
        for proto in (2, 4, 5):
            with self.subTest(proto=proto):
                self.assertEqual(bytes(segpickle.dumps_segments(obj, proto)), pickle.dumps(obj, proto))

    def test_error_in_a_nested_call(self):
        class Fails:
            def __reduce__(self):
                segpickle.dumps_segments([1, Unpicklable()])
                return (int, ())

        with self.assertRaises(pickle.PicklingError):
            segpickle.dumps_segments([Box(1), Fails()])
        obj = [Box(2), Box(2)]
        self.assertEqual(bytes(segpickle.dumps_segments(obj)), pickle.dumps(obj))

    def test_payload_is_the_segment(self):
        # The segment for a large payload is the payload object itself
        # (bytes) or a view of its memory (bytearray): nothing copied.
        payload = b"p" * (1 << 20)
        ba = bytearray(b"q" * (1 << 20))
        for proto in (3, 4, 5):
            with self.subTest(proto=proto):
                buf = segpickle.dumps_segments(payload, proto)
                self.assertTrue(any(s is payload for s in buf._segs))
                buf = segpickle.dumps_segments([ba, payload], proto)
                self.assertTrue(any(s is payload for s in buf._segs))
                if proto == 5:  # earlier protocols reduce a bytearray to a copy
                    self.assertTrue(any(type(s) is memoryview and s.obj is ba for s in buf._segs))
                self.assertEqual(bytes(buf), pickle.dumps([ba, payload], proto))

    def test_no_large_memo_kept(self):
        # clear_memo() keeps the memo table at its largest size (then
        # clears all of it on every call); the pooled Pickler gets a new one.
        import tracemalloc
        big = [[] for _ in range(200000)]
        tracemalloc.start()
        try:
            segpickle.dumps_segments(big).close()
            gc.collect()
            kept, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        self.assertLess(kept, 1 << 20, "%d bytes kept after the call" % kept)

    def test_no_large_output_buffer_kept(self):
        # A Pickler that wrote one large opcode makes an output buffer that
        # large for every later dump: such a Pickler is not reused.
        import tracemalloc
        huge = 1 << (8 * 20_000_000)  # one 20 MB LONG4 opcode
        for proto in (2, 5):
            with self.subTest(proto=proto):
                segpickle.dumps_segments(huge, proto).close()
                tracemalloc.start()
                try:
                    segpickle.dumps_segments(b"x" * 1000, proto).close()
                    _, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
                self.assertLess(peak, 1 << 20, "a 1 KB dump allocated %d bytes" % peak)

    def test_picklers_that_wrote_payloads_are_kept(self):
        # A payload written as it is does not grow the Pickler's buffer:
        # the Pickler stays pooled (told from a grown buffer by the length
        # the opcode before it ends with).
        for proto, obj in ((5, b"x" * (1 << 20)), (4, ["s" * 300000, b"y" * 400000]), (2, "u" * 300000)):
            with self.subTest(proto=proto):
                idle = segpickle._idle[proto]
                del idle[:]
                segpickle.dumps_segments(obj, proto)
                self.assertEqual(len(idle), 1)
                big = list(range(200000)) if proto < 4 else [1 << (8 * 300000)]  # one piece over 256 KiB
                segpickle.dumps_segments(big, proto)
                self.assertEqual(len(idle), 0)

    def test_idle_picklers_are_bounded(self):
        # A burst of nested calls leaves at most _MAX_IDLE Picklers idle.
        class Nest:
            def __init__(self, depth):
                self.depth = depth

            def __reduce__(self):
                if self.depth:
                    segpickle.dumps_segments(Nest(self.depth - 1), 5)
                return (int, ())

        segpickle.dumps_segments(Nest(30), 5)
        self.assertLessEqual(len(segpickle._idle[5]), segpickle._MAX_IDLE)
        self.assertEqual(bytes(segpickle.dumps_segments(Nest(3), 5)), pickle.dumps(Nest(3), 5))


class Docstrings(unittest.TestCase):
    def test_every_public_name_has_a_docstring(self):
        # Without a docstring, help() shows the comment above the def.
        missing = []
        for name in segpickle.__all__:
            obj = getattr(segpickle, name)
            if not getattr(obj, "__module__", "").startswith("segpickle"):
                continue
            if inspect.isclass(obj):
                for attr, v in vars(obj).items():
                    if (attr.startswith("_") and attr not in ("__bytes__", "__len__")) or not (
                            callable(v) or isinstance(v, property)):
                        continue
                    if not inspect.getdoc(getattr(obj, attr)):
                        missing.append("%s.%s" % (name, attr))
            elif callable(obj) and not inspect.getdoc(obj):
                missing.append(name)
        self.assertEqual(missing, [])

    def test_help_shows_no_section_comments(self):
        import pydoc
        for cls in (SegmentBuffer, segpickle.Channel):
            text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
            self.assertNotRegex(text, r"# ---")


def _truncations():
    """Every proper prefix of pickles that use most opcode kinds, at every
    protocol."""
    values = [
        {"a": [1, 2.5, "xyz", b"by" * 10, (None, True)], "b": 10**30, "c": {1, 2}},
        [b"x" * 300, "y" * 300, -70000, 1 << 70, 3.25, bytearray(b"ba")],
    ]
    for proto in range(6):
        for v in values:
            p = pickle.dumps(v, proto)
            for i in range(len(p)):
                yield proto, i, p[:i]


class Truncated(unittest.TestCase):
    def test_go_raises_what_cpython_raises(self):
        # CPython raises EOFError ("Ran out of input") only when the input
        # ends where an opcode should start; inside an opcode it is an
        # UnpicklingError ("pickle data was truncated") that is not an
        # EOFError. Go's errors must agree, prefix by prefix.
        table = {}
        for proto, i, data in _truncations():
            try:
                pickle.loads(data)
                want = None
            except EOFError:
                want = "EOFError"
            except pickle.UnpicklingError:
                want = "UnpicklingError"
            try:
                segpickle.reencode(data)
                got = None
            except EOFError:
                got = "EOFError"
            except pickle.UnpicklingError:
                got = "UnpicklingError"
            table[(want, got)] = table.get((want, got), 0) + 1
            with self.subTest(proto=proto, prefix=i):
                self.assertEqual(got, want, data)
        self.assertGreater(table.get(("EOFError", "EOFError"), 0), 10)
        self.assertGreater(table.get(("UnpicklingError", "UnpicklingError"), 0), 100)


class Demo(unittest.TestCase):
    def test_help_says_what_it_measures(self):
        import contextlib
        import io
        from segpickle import demo
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit):
            demo.main(["--help"])
        text = out.getvalue()
        self.assertNotIn("seed", text)
        self.assertIn("echo server", text.replace("\n", " "))
        for mode in demo.MODES:
            self.assertIn(mode, text)

    def test_comparisons_read_right_both_ways(self):
        from segpickle.demo import compare
        self.assertEqual(compare(10.0, 20.0), "2.00× faster")
        self.assertEqual(compare(40.0, 4.8), "8.33× slower")  # never "0.12× faster"
        self.assertEqual(compare(5.0, 5.0), "the same")
        self.assertEqual(compare(0.0, 5.0), "not measured")

    def test_summary_lines(self):
        import contextlib
        import io
        from segpickle import demo
        doc = {"results": [
            {"mode": m, "size": 1024, "label": "1 KiB", "iterations": 1, "server": "raw",
             "phases_us": dict.fromkeys(demo.PHASES, t), "phases_p99_us": dict.fromkeys(demo.PHASES, t),
             "round_trip_us": 4 * t, "round_trip_p99_us": 4 * t}
            for m, t in (("contiguous", 1.0), ("segmented", 8.0), ("out-of-band", 0.5))]}
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            demo.print_tables(doc)
        self.assertIn("segmented vs contiguous: pickle 8.00× slower, round trip 8.00× slower", out.getvalue())
        self.assertIn("out-of-band vs contiguous: pickle 2.00× faster", out.getvalue())


class SmallFrames(unittest.TestCase):
    def test_small_frame_bytes_as_the_general_path(self):
        # send_buffer joins a small frame into one bytes object; the bytes
        # on the wire are those of the general (segment table) path.
        import socket
        from segpickle import _channel
        for obj in [None, b"x" * 1000, {"k": [1, 2.5, "s"]}, b"y" * (_channel.SMALL_SEND + 1),
                    [b"z" * 70000, "tail"]]:
            with self.subTest(obj=repr(obj)[:30]):
                buf = segpickle.dumps_segments(obj, 5)
                want = b"".join(bytes(m) for m in _channel.frame_segments(buf._segs, buf._oob))
                a, b = socket.socketpair()
                got = []
                t = threading.Thread(target=lambda: got.append(recv_all(b, len(want) + 1)))
                t.start()
                try:
                    ch = _channel.Channel.__new__(_channel.Channel)
                    ch._sock, ch.timeout, ch._broken, ch.max_frame = a, None, None, _channel.DEFAULT_MAX_FRAME
                    self.assertEqual(ch.send_buffer(buf), len(want))
                    a.shutdown(socket.SHUT_WR)
                    t.join(30)
                finally:
                    a.close()
                    b.close()
                self.assertEqual(got[0], want)


def recv_all(sock, n):
    out = bytearray()
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            break
        out += chunk
    return bytes(out)


class DocsTruth(unittest.TestCase):
    """Statements the issue found stale stay gone."""

    def read(self, path):
        with open(os.path.join(ROOT, path), encoding="utf-8") as f:
            return f.read()

    def test_stale_statements(self):
        self.assertNotIn("STYLE.md", self.read("cbridge/cbridge.go"))  # a file outside the repository
        self.assertNotIn("of the issues", self.read("bench/workloads.go"))
        py_doc = self.read("py/py.go").split("package py")[0]
        self.assertNotIn("is a list", py_doc)  # [N]byte encodes as bytes
        self.assertNotRegex(py_doc, r"knows[^.]*OrderedDict")  # the dynamic decoder returns a call
        self.assertNotIn("standard library only)", self.read("README.md"))
        self.assertIn("io.ErrShortWrite", self.read("segments/segments.go").split("var ErrShortWrite")[0][-400:])

    def test_status_codes_have_one_table(self):
        # The numbers live in internal/status only: the Python side reads
        # the generated _status.py, the bridge the Go constants.
        for path in ("pyext/segpickle/_lib.py", "pyext/segpickle/_errors.py"):
            self.assertNotRegex(self.read(path), r"-(10|20|30|40|50)\b", path)
        self.assertNotRegex(self.read("cbridge/cbridge.go"), r"code\w+\s*=\s*-\d", "cbridge spells a code")


class StatusCodes(unittest.TestCase):
    def test_every_code_raises_its_table_exception(self):
        import builtins
        import ctypes
        from segpickle import _errors, _lib, _status
        self.assertEqual(_status.STATUS[_status.EOF][1], "UnpicklingEOFError")
        for code, (name, exc, _doc) in _status.STATUS.items():
            with self.subTest(code=code, name=name):
                if code == _status.OK:
                    self.assertIsNone(_lib.check(code))
                    continue
                cls = getattr(_errors, exc, None) or getattr(builtins, exc)
                with self.assertRaises(cls) as cm:
                    _lib.check(code, ctypes.c_void_p())
                self.assertIs(type(cm.exception), cls)
                self.assertIsInstance(_errors.exception_for(name, "m"), cls)

    def test_library_agrees_with_the_table(self):
        from segpickle import _lib, _status
        lib = _lib.lib()
        seglen = ctypes_int64()
        self.assertEqual(lib.segpickle_buf_len(987654321, seglen), _status.HANDLE)
        self.assertEqual(lib.segpickle_buf_write(987654321, None, -1, 0), _status.HANDLE)
        for data, code in [(b"", _status.EOF), (b"\x80\x05K\x01", _status.EOF),
                           (b"\x80\x05J\x01", _status.UNPICKLING), (b"\x80\x05}]K\x01s.", _status.TYPE)]:
            with self.subTest(data=data):
                with self.assertRaises(pickle.UnpicklingError) as cm:
                    segpickle.reencode(data)
                from segpickle._errors import class_for_code
                self.assertIs(type(cm.exception), class_for_code(code))

    def test_messages_classified_by_the_table(self):
        from segpickle._errors import kind_of_message
        self.assertEqual(kind_of_message("unpickler: offset 2: input ended without STOP"), "eof")
        self.assertEqual(kind_of_message("unpickler: offset 2, opcode BININT: truncated input: need 4 bytes"),
                         "unpickling")
        self.assertEqual(kind_of_message("x: pickler: unsupported type chan int"), "pickling")


def ctypes_int64():
    import ctypes
    return ctypes.byref(ctypes.c_int64())


if pickletester is not None:

    class DumpsSegmentsPickleTests(pickletester.AbstractPickleTests, unittest.TestCase):
        """CPython's own pickling suite with dumps = dumps_segments (its
        reused Picklers included), read back through bytes(buf)."""

        def dumps(self, arg, proto=None, **kwargs):
            return bytes(segpickle.dumps_segments(arg, proto, **kwargs))

        def loads(self, buf, **kwds):
            return pickle.loads(buf, **kwds)

        # The suite's tests that pickle through their own writers
        # (test_framed_write_sizes_with_delayed_writer,
        # test_evil_pickler_mutating_collection) use this class.
        pickler = segpickle.Pickler

else:

    @unittest.skip(PICKLETESTER_MISSING)
    class DumpsSegmentsPickleTests(unittest.TestCase):
        def test_skipped(self):
            pass


if __name__ == "__main__":
    unittest.main()
