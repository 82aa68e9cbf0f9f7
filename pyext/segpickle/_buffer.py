"""SegmentBuffer: a pickle.Pickler write target that keeps references to
the payloads CPython hands it instead of copying them."""
import copyreg
import ctypes
import io
import os
import pickle
import warnings
from typing import Any, Iterable, List, Optional, Union

from . import _lib

__all__ = ["SegmentBuffer", "segment_table", "IOV_MAX", "DEFAULT_THRESHOLD"]

IOV_MAX = 1024


class _PyBuffer(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.c_void_p), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
                ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p)]


_GetBuffer = ctypes.pythonapi.PyObject_GetBuffer
_GetBuffer.restype = ctypes.c_int
_GetBuffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_ReleaseBuffer = ctypes.pythonapi.PyBuffer_Release
_ReleaseBuffer.restype = None
_ReleaseBuffer.argtypes = [ctypes.POINTER(_PyBuffer)]


def _address(seg) -> int:
    """The address of a segment's bytes. The segment object (kept by the
    caller) keeps them alive and in place."""
    if type(seg) is bytes:
        return ctypes.cast(ctypes.c_char_p(seg), ctypes.c_void_p).value or 0
    view = _PyBuffer()
    if _GetBuffer(seg, ctypes.byref(view), 0) != 0:  # PyBUF_SIMPLE
        raise TypeError("segment does not expose a contiguous buffer")
    try:
        return view.buf or 0
    finally:
        _ReleaseBuffer(ctypes.byref(view))


def segment_table(segs: List[Any]):
    """Pointer and length arrays for segs, for one native call. The caller
    keeps segs alive for the duration of the call."""
    n = len(segs)
    ptrs = (ctypes.c_void_p * max(n, 1))()
    lens = (ctypes.c_int64 * max(n, 1))()
    for i, s in enumerate(segs):
        ptrs[i] = _address(s)
        lens[i] = len(s)
    return ptrs, lens, n


def _immutable_view(m: memoryview) -> bool:
    """True when the view's memory cannot change: a read-only view whose
    exporter is a bytes object (PickleBuffer forwards to its target)."""
    return m.readonly and type(m.obj) is bytes


DEFAULT_THRESHOLD = 2048
_SNAPSHOT = float("inf")  # SegmentBuffer._limit with copy=True: every mutable payload is copied


class SegmentBuffer:
    """A write target for pickle.Pickler (protocols 0–5) that keeps the
    objects it is handed instead of copying them.

    The rule, the same as pickle's buffer_callback: every payload of at
    least ``threshold`` bytes (bytes, bytearray, memoryview, PickleBuffer,
    read-only or writable, a numpy array) is referenced, not copied, so the
    caller leaves that memory unchanged until the buffer is written or
    closed. ``SegmentBuffer(copy=True)`` takes a snapshot of every mutable
    payload instead (bytes are immutable and always referenced);
    ``tobytes()`` is always a snapshot. Writable payloads under the
    threshold are copied (that costs less than keeping them).

    ``write(b)`` returns the number of bytes. With protocol 5,
    ``buffer_callback=buf.buffer_callback`` makes the Pickler hand
    PickleBuffers to ``buf.out_of_band`` instead of the stream, under the
    same rule; they keep their writability, so ``pickle.loads(...,
    buffers=buf.out_of_band)`` gives writable arrays exactly when the
    pickled ones were.

    ``bytes(buf)`` (or ``buf.tobytes()``) is the pickle as one contiguous
    copy; ``buf.segments()`` gives views without one. ``memoryview(buf)`` is
    refused (TypeError): the segments are not one block of memory, so a
    memoryview would have to hide a join, a copy.

    The buffer is not meant to be shared between threads: concurrent writes
    are each kept whole (list.append is atomic under the GIL) but their order
    is the threads' race.
    """

    # Three fields, so that making one costs little (dumps_segments makes
    # one per call): _segs is None once closed; _oob is a shared empty
    # tuple until the first out-of-band buffer; _limit is the size from
    # which a mutable payload is kept, _SNAPSHOT (larger than any) with
    # copy=True.
    __slots__ = ("_segs", "_oob", "_limit", "__weakref__")

    def __init__(self, *, copy: bool = False, threshold: int = DEFAULT_THRESHOLD,
                 borrow_mutable: Optional[bool] = None) -> None:
        """copy=True: snapshot mutable payloads instead of referencing them.
        threshold: the size from which a mutable payload is referenced.
        borrow_mutable: deprecated spelling of ``copy=not borrow_mutable``."""
        self._segs: Optional[List[Any]] = []
        self._oob: Any = ()
        if threshold is DEFAULT_THRESHOLD and not copy and borrow_mutable is None:
            self._limit = DEFAULT_THRESHOLD  # the common case, checked no further
            return
        if borrow_mutable is not None:
            warnings.warn("SegmentBuffer(borrow_mutable=...) is deprecated: payloads are referenced by default; "
                          "use copy=True for snapshots", DeprecationWarning, stacklevel=2)
            copy = not borrow_mutable
        if not isinstance(threshold, int) or threshold < 0:
            raise ValueError("threshold must be an int >= 0, not %r" % (threshold,))
        self._limit = _SNAPSHOT if copy else threshold

    @property
    def copy(self) -> bool:
        """True when mutable payloads are snapshotted instead of referenced."""
        return self._limit is _SNAPSHOT

    def __bytes__(self) -> bytes:
        """bytes(buf): the same as tobytes()."""
        return self.tobytes()

    # The file-like side.
    def write(self, b) -> int:
        """Appends b (a bytes-like object or PickleBuffer) and returns its
        length in bytes; see the class docstring for when b is referenced."""
        if type(b) is bytes:  # every frame CPython's Pickler writes
            segs = self._segs
            if segs is None:
                raise ValueError("write to a closed SegmentBuffer")
            segs.append(b)
            return len(b)
        return self._write_view(b)

    def _write_view(self, b) -> int:
        """write() for anything but bytes: keep or copy by the rule."""
        segs = self._segs
        if segs is None:
            raise ValueError("write to a closed SegmentBuffer")
        if type(b) is pickle.PickleBuffer:
            try:
                m = b.raw()  # the memory as it lies, format B, no copy
            except BufferError:
                m = memoryview(b)  # not contiguous: copied below
        elif isinstance(b, str):
            raise TypeError("SegmentBuffer.write() needs a bytes-like object, not str")
        else:
            m = memoryview(b)  # TypeError for anything without a buffer
        if not m.c_contiguous:
            data = m.tobytes("A")  # memory order for a Fortran-contiguous view
            segs.append(data)
            return len(data)
        if m.ndim != 1 or m.format != "B":
            m = m.cast("B")
        n = m.nbytes
        if _immutable_view(m) or n >= self._limit:
            segs.append(m)
        else:
            segs.append(m.tobytes())
        return n

    def writable(self) -> bool:
        """True until close()."""
        return self._segs is not None

    def flush(self) -> None:
        """Nothing to flush: every write is kept at once."""
        pass

    def buffer_callback(self, buf: pickle.PickleBuffer) -> bool:
        """A pickle buffer_callback: keeps buf out of band (returns False),
        referenced (a view of its memory, writable if it is), or as a
        snapshot of the same writability with copy=True."""
        self._check()
        m = buf.raw()
        if self._limit is _SNAPSHOT and not _immutable_view(m):
            m = memoryview(bytes(m) if m.readonly else bytearray(m))
        if type(self._oob) is not list:
            self._oob = []
        self._oob.append(m)
        return False

    # Reading it back.
    def _check(self) -> List[Any]:
        """The segments; ValueError once closed."""
        segs = self._segs
        if segs is None:
            raise ValueError("SegmentBuffer is closed")
        return segs

    def __len__(self) -> int:
        """The pickle's length in bytes (out-of-band buffers not counted)."""
        return sum(map(len, self._check()))  # len is nbytes: segments are bytes or views of format B

    @property
    def nsegments(self) -> int:
        """The number of segments."""
        return len(self._check())

    @property
    def out_of_band(self) -> List[memoryview]:
        """Buffers the Pickler sent out of band, in order (pass them to
        loads as buffers=)."""
        self._check()
        return list(self._oob)

    def segments(self) -> List[memoryview]:
        """The segments as memoryviews of format B, without copying."""
        return [memoryview(s) for s in self._check()]

    def tobytes(self) -> bytes:
        """One contiguous copy (a snapshot): the bytes pickle.dumps would
        have made."""
        return b"".join(self._check())

    def write_to(self, f: Union[int, Any]) -> int:
        """Writes every segment to a file descriptor or a file object with
        one writev per 1024 segments, in Go with the GIL released. A file
        object without a descriptor gets the segments through write()."""
        return write_segments(f, self._check())

    def close(self) -> None:
        """Drops every reference; later use raises ValueError."""
        self._segs = None
        self._oob = ()

    @property
    def closed(self) -> bool:
        """True after close()."""
        return self._segs is None

    def __enter__(self) -> "SegmentBuffer":
        self._check()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        segs = self._segs
        if segs is None:
            return "<SegmentBuffer closed>"
        return "<SegmentBuffer %d bytes in %d segments, %d out of band>" % (
            len(self), len(segs), len(self._oob))

    def reader(self) -> "SegmentReader":
        """A file-like reader over the segments (no join), for pickle.load."""
        return SegmentReader(self._check())

    def __getstate__(self):
        """copy and pickle take the three fields and what a subclass adds
        (its __dict__ and its own __slots__), as object.__getstate__ does
        for any class with __slots__; said here so that the C type, which
        has no __slots__, does the same."""
        names = _FIELDS + tuple(n for n in copyreg._slotnames(type(self)) if n not in _FIELDS)
        slots = {}
        for name in names:
            try:
                slots[name] = getattr(self, name)
            except AttributeError:  # unset (before __init__, or deleted)
                pass
        return getattr(self, "__dict__", None) or None, slots


_FIELDS = ("_segs", "_oob", "_limit")  # SegmentBuffer's own state (its __slots__ but __weakref__)


_PySegmentBuffer = SegmentBuffer  # the class as written: SegmentBuffer where segpickle._speedups is not built


def _onto(c: type, cls: type) -> type:
    """Puts cls's methods, properties and docstring on c, a type with the
    same three fields as members (segpickle._speedups.SegmentBuffer): one
    set of methods, in Python, for both."""
    for name, value in vars(cls).items():
        if name not in ("__slots__", "__dict__", "__weakref__") and name not in cls.__slots__:
            setattr(c, name, value)
    c.__name__ = cls.__name__  # also its C name (error messages), segpickle.SegmentBuffer before
    return c


def _import_speedups():
    """segpickle._speedups, or None where it is not built (no C compiler,
    another Python version) or SEGPICKLE_NO_SPEEDUPS is set (to run the
    pure-Python code where it is built: the tests do), or in a
    subinterpreter when another interpreter imported it first (its state,
    SegmentBuffer's methods included, is that interpreter's)."""
    if os.environ.get("SEGPICKLE_NO_SPEEDUPS", "") not in ("", "0"):
        return None
    try:
        from . import _speedups
    except ImportError:
        return None
    if not _speedups.usable():
        return None
    return _speedups


_speedups = _import_speedups()
if _speedups is not None:
    # The same class as a C type: made and freed for a fraction of the
    # cost (dumps_segments makes one per call).
    SegmentBuffer = _onto(_speedups.SegmentBuffer, SegmentBuffer)  # type: ignore[misc]


def _fileno(f) -> Optional[int]:
    if isinstance(f, int):
        return f
    fileno = getattr(f, "fileno", None)
    if fileno is None:
        return None
    try:
        return fileno()
    except (OSError, io.UnsupportedOperation, ValueError):
        return None


def write_segments(f, segs: List[Any]) -> int:
    fd = _fileno(f)
    if fd is None:
        total = 0
        for s in segs:
            f.write(s)
            total += len(s)
        return total
    if not isinstance(f, int):
        flush = getattr(f, "flush", None)
        if flush is not None:
            flush()  # what the file object buffered goes first
    try:
        fn = _lib.lib().segpickle_writev
    except _lib.SegpickleForkError:
        return _os_writev(fd, segs)  # a forked child: Python's own writev
    ptrs, lens, n = segment_table(segs)
    written = ctypes.c_int64()
    err = ctypes.c_void_p()
    code = fn(fd, ptrs, lens, n, ctypes.byref(written), ctypes.byref(err))
    _lib.check(code, err)
    return written.value


def _os_writev(fd: int, segs: List[Any]) -> int:
    """Pure-Python writev loop (used in a forked child)."""
    views = [memoryview(s) for s in segs if len(s)]
    done = 0
    while views:
        n = os.writev(fd, views[:IOV_MAX])
        done += n
        while views and n >= len(views[0]):
            n -= len(views[0])
            views.pop(0)
        if n:
            views[0] = views[0][n:]
    return done


def _byte_view(s) -> memoryview:
    m = memoryview(s)
    return m if (m.format == "B" and m.ndim == 1) else m.cast("B")


class SegmentReader(io.RawIOBase):
    """Reads a list of segments in order, without joining them."""

    def __init__(self, segs: Iterable[Any]) -> None:
        super().__init__()
        self._views = [_byte_view(s) for s in segs]
        self._i = 0
        self._off = 0

    def readable(self) -> bool:
        """True."""
        return True

    def readinto(self, b) -> int:
        """Copies the next bytes into b; returns how many (0 at the end)."""
        out = memoryview(b).cast("B")
        n = 0
        while n < len(out) and self._i < len(self._views):
            v = self._views[self._i]
            k = min(len(v) - self._off, len(out) - n)
            out[n:n + k] = v[self._off:self._off + k]
            n += k
            self._off += k
            if self._off == len(v):
                self._i += 1
                self._off = 0
        return n

    def read(self, size: int = -1) -> bytes:
        """Returns up to size bytes (all that is left when size < 0)."""
        if size is None or size < 0:
            parts = []
            while self._i < len(self._views):
                parts.append(self._views[self._i][self._off:])
                self._i += 1
                self._off = 0
            return b"".join(parts)
        if self._i < len(self._views):
            v = self._views[self._i]
            if self._off + size <= len(v):  # within one segment: one slice copy
                data = v[self._off:self._off + size].tobytes()
                self._off += size
                if self._off == len(v):
                    self._i += 1
                    self._off = 0
                return data
        buf = bytearray(size)
        n = self.readinto(buf)
        del buf[n:]
        return bytes(buf)

    def readline(self, size: int = -1) -> bytes:
        """Returns the next line, its newline included (at most size bytes)."""
        out = bytearray()
        while self._i < len(self._views) and (size < 0 or len(out) < size):
            v = self._views[self._i]
            rest = v[self._off:]
            idx = bytes(rest[:4096]).find(b"\n") if len(rest) else -1
            take = idx + 1 if idx >= 0 else min(len(rest), 4096)
            if size >= 0:
                take = min(take, size - len(out))
            out += rest[:take]
            self._off += take
            if self._off == len(v):
                self._i += 1
                self._off = 0
            if idx >= 0 and take == idx + 1:
                break
        return bytes(out)
