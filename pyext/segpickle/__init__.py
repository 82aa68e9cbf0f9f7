"""segpickle: Python pickles written into segments with no copy of large
payloads, and Go's pickle decoder and encoder reachable from Python.

A drop-in for the pickle module, plus a segmented form::

    data = segpickle.dumps(obj)           # bytes, identical to pickle.dumps(obj)
    obj2 = segpickle.loads(data)          # pickle.loads; also reads a SegmentBuffer

    buf = segpickle.dumps_segments(obj)   # a SegmentBuffer: large payloads kept, not copied
    buf.write_to(sock)                    # one writev, GIL released, no join
    bytes(buf) == segpickle.dumps(obj)    # True: one contiguous copy, on request
    data = segpickle.reencode(buf)        # Go decode + Go encode -> bytes

``SegmentBuffer`` is a write target for ``pickle.Pickler``: CPython hands a
large payload's own bytes object to ``write()``, and the buffer keeps a
reference instead of copying it. Errors are the pickle module's:
``pickle.PicklingError`` and ``pickle.UnpicklingError`` (subclasses that are
also EOFError, ValueError or TypeError where CPython raises those).

The native library (libsegpickle.so, built from cbridge/ by ``make build``
or ``pip install .``) is loaded on first use; SEGPICKLE_LIB overrides its
path. After fork(), a child cannot call into a library its parent loaded:
see segpickle._lib (spawn and forkserver are safe).
"""
import ctypes
import pickle
import struct
from typing import Any, Iterable, List, Optional, Tuple

from . import _lib
from ._buffer import DEFAULT_THRESHOLD, SegmentBuffer, SegmentReader, segment_table
from ._channel import Channel, ChannelBrokenError
from ._errors import (
    GoPicklingError,
    GoUnpicklingError,
    UnpicklingEOFError,
    UnpicklingTypeError,
    UnpicklingValueError,
)
from ._lib import SegpickleForkError

__version__ = "0.1.0"

__all__ = [
    "Channel", "ChannelBrokenError", "SegmentBuffer", "SegmentReader", "Pickler", "Unpickler", "dump", "dumps", "dumps_segments",
    "load", "loads", "reencode", "PickleError", "PicklingError", "UnpicklingError", "GoPicklingError",
    "GoUnpicklingError", "UnpicklingEOFError", "UnpicklingTypeError", "UnpicklingValueError",
    "SegpickleForkError", "DEFAULT_PROTOCOL", "HIGHEST_PROTOCOL", "PickleBuffer", "__version__",
]

# The pickle module's own names, so that `import segpickle as pickle` works.
DEFAULT_PROTOCOL = pickle.DEFAULT_PROTOCOL
HIGHEST_PROTOCOL = pickle.HIGHEST_PROTOCOL
PickleError = pickle.PickleError
PicklingError = pickle.PicklingError
UnpicklingError = pickle.UnpicklingError
PickleBuffer = pickle.PickleBuffer
Pickler = pickle.Pickler
dumps = pickle.dumps  # the same function: bytes identical to pickle's, at no cost


class Unpickler(pickle.Unpickler):
    """pickle.Unpickler that also reads a SegmentBuffer (without joining
    it); its out-of-band buffers are used when buffers is not given."""

    def __init__(self, file, *, fix_imports: bool = True, encoding: str = "ASCII", errors: str = "strict",
                 buffers: Optional[Iterable[Any]] = None) -> None:
        if isinstance(file, SegmentBuffer):
            if buffers is None and file.out_of_band:
                buffers = file.out_of_band
            file = file.reader()
        super().__init__(file, fix_imports=fix_imports, encoding=encoding, errors=errors, buffers=buffers)


class _Sink:
    """A Pickler's file whose write is a list's append: the cheapest write
    target there is (a C call, no Python frame)."""

    __slots__ = ("write",)


# Idle Picklers by protocol (None and -1 share the lists of the protocols
# they stand for), each writing into its own list. Building a Pickler costs
# more than pickling a kilobyte, so dumps_segments reuses them. list.pop and
# list.append are atomic under the GIL: each call takes a Pickler of its
# own, so threads and re-entrant calls (a __reduce__ that calls
# dumps_segments) never share one.
_idle: dict = {p: [] for p in range(HIGHEST_PROTOCOL + 1)}
_idle[None] = _idle[DEFAULT_PROTOCOL]
_idle[-1] = _idle[HIGHEST_PROTOCOL]
_MAX_IDLE = 8
# Assigned to a Pickler's memo after each dump: a new, empty memo table.
# clear_memo() would keep the table at its largest size, and clear all of
# it on every later call (after one dump of a million objects, each 1 KiB
# dumps_segments took milliseconds).
_NO_MEMO: dict = {}
# A Pickler also keeps its output buffer at the largest size it needed,
# and makes one of that size for every later dump (after one 50 MB opcode,
# each 1 KiB dump took 20 µs). One that wrote a piece of pickle larger than
# this is not kept.
_KEEP_MAX = 1 << 18
_LEN4 = struct.Struct("<I").pack  # the lengths in BINBYTES, BINUNICODE
_LEN8 = struct.Struct("<Q").pack  # and in their 8-byte forms
_new_buffer = object.__new__


def _new_pickler(protocol: Optional[int]) -> Tuple[pickle.Pickler, List[Any]]:
    parts: List[Any] = []
    sink = _Sink()
    sink.write = parts.append
    return pickle.Pickler(sink, protocol), parts


def dumps_segments(obj: Any, protocol: Optional[int] = None, *, fix_imports: bool = True, buffer_callback=None,
                   out_of_band: bool = False) -> SegmentBuffer:
    """Pickles obj into a new SegmentBuffer: pickle.dumps without the copy.
    Payloads of 64 KiB and more stay the caller's objects (kept, not
    copied); ``bytes(buf)`` equals ``pickle.dumps(obj, protocol)``.

    Arguments are pickle.dumps's (protocol defaults to DEFAULT_PROTOCOL).
    With out_of_band=True, PickleBuffers go to buf.out_of_band instead of
    the stream (protocol 5, the default then)."""
    # segpickle._speedups runs the first branch in C when it is built (the
    # same steps; see _speedups.c).
    if (protocol is None or type(protocol) is int) and fix_imports is True and buffer_callback is None \
            and out_of_band is False:
        idle = _idle.get(protocol)
        if idle is not None:
            # The common case, with a Pickler made earlier.
            try:
                pooled = idle.pop()
            except IndexError:
                pooled = _new_pickler(protocol)
            p, parts = pooled
            try:
                p.dump(obj)
                segs = parts.copy()
            finally:
                # Drop every reference the Pickler holds (its memo keeps
                # what it pickled alive) before it waits for the next call.
                parts.clear()
                p.memo = _NO_MEMO
            buf = _new_buffer(SegmentBuffer)
            buf._oob = ()
            buf._limit = DEFAULT_THRESHOLD
            if len(segs) == 1 and type(segs[0]) is bytes and len(segs[0]) <= _KEEP_MAX:
                # Every small pickle: one frame, bytes.
                buf._segs = segs
                if len(idle) < _MAX_IDLE:
                    idle.append(pooled)
                return buf
            return _finish(buf, pooled, segs, idle)
    if out_of_band:
        if buffer_callback is not None:
            raise ValueError("give buffer_callback or out_of_band, not both")
        if protocol is None:
            protocol = 5
    buf = SegmentBuffer()
    if out_of_band:
        buffer_callback = buf.buffer_callback
    pickle.Pickler(buf, protocol, fix_imports=fix_imports, buffer_callback=buffer_callback).dump(obj)
    return buf


def _finish(buf: SegmentBuffer, pooled: Tuple[pickle.Pickler, List[Any]], segs: List[Any],
            idle: List[Any]) -> SegmentBuffer:
    """dumps_segments's common case when the pooled Pickler wrote more than
    one small piece: fills buf with segs, and pools the Pickler again unless
    its output buffer grew too large."""
    if len(segs) == 1 and type(segs[0]) is bytes:  # one piece over _KEEP_MAX: that Pickler is not kept
        buf._segs = segs
        return buf
    buf._segs = out = []
    keep = True
    for s in segs:
        if type(s) is bytes:
            # A piece larger than _KEEP_MAX is a payload written as it is
            # (bytes, or str encoded) when the piece before ends with its
            # length, as the opcode that announces it does; else the
            # Pickler wrote it from its own buffer, which stays that large.
            if len(s) > _KEEP_MAX and keep:
                h = out[-1] if out else b""
                keep = type(h) is bytes and (h[-4:] == _LEN4(len(s)) if len(s) < 1 << 32
                                             else h[-8:] == _LEN8(len(s)))
            out.append(s)
        else:  # bytearray, PickleBuffer: kept or copied by write()'s rule
            buf._write_view(s)
    if keep and len(idle) < _MAX_IDLE:
        idle.append(pooled)
    return buf


_dumps_segments_py = dumps_segments  # kept for the tests, and as the C version's fallback

from ._buffer import _speedups  # None where not built (or SEGPICKLE_NO_SPEEDUPS=1): the Python code above

if _speedups is not None:
    def _memo_clear_max() -> int:
        # Pickler.__sizeof__ counts its memo table: after a dump (into a
        # file: no output buffer then), a new Pickler's is the smallest.
        # Tables up to 512 bytes larger are cleared, larger ones replaced.
        p, _ = _new_pickler(None)
        p.dump(None)
        return p.__sizeof__() + 512

    _speedups.configure(_idle, pickle.dumps, pickle.Pickler.dump, pickle.Pickler.clear_memo, pickle.Pickler.__sizeof__,
                        _new_pickler, _finish, _dumps_segments_py, SegmentBuffer, _NO_MEMO, DEFAULT_THRESHOLD, _KEEP_MAX,
                        _MAX_IDLE, _memo_clear_max())
    dumps_segments = _speedups.dumps_segments  # noqa: F811 (the same function, its common case in C)


def dump(obj: Any, file, protocol: Optional[int] = None, *, fix_imports: bool = True,
         buffer_callback=None) -> None:
    """pickle.dump; a file with a descriptor gets one writev of the
    segments (large payloads are not copied on the way)."""
    buf = dumps_segments(obj, protocol, fix_imports=fix_imports, buffer_callback=buffer_callback)
    try:
        buf.write_to(file)
    finally:
        buf.close()


def loads(data, *, fix_imports: bool = True, encoding: str = "ASCII", errors: str = "strict",
          buffers: Optional[Iterable[Any]] = None) -> Any:
    """pickle.loads for bytes-like data or a SegmentBuffer (read in place)."""
    if isinstance(data, SegmentBuffer):
        return Unpickler(data, fix_imports=fix_imports, encoding=encoding, errors=errors,
                         buffers=buffers).load()
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    return pickle.loads(data, fix_imports=fix_imports, encoding=encoding, errors=errors, buffers=buffers)


def load(file, *, fix_imports: bool = True, encoding: str = "ASCII", errors: str = "strict",
         buffers: Optional[Iterable[Any]] = None) -> Any:
    """pickle.load."""
    return Unpickler(file, fix_imports=fix_imports, encoding=encoding, errors=errors, buffers=buffers).load()


_new_bytes = ctypes.pythonapi.PyBytes_FromStringAndSize
_new_bytes.restype = ctypes.py_object
_new_bytes.argtypes = [ctypes.c_void_p, ctypes.c_ssize_t]


def _segments_of(data) -> list:
    if isinstance(data, SegmentBuffer):
        return data.segments()
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    if type(data) is bytes:
        return [data]
    m = memoryview(data)  # TypeError for non-buffers
    if not m.c_contiguous:
        return [m.tobytes()]
    return [m.cast("B") if (m.format != "B" or m.ndim != 1) else m]


def reencode(data, protocol: Optional[int] = None, buffers: Optional[Iterable[Any]] = None) -> bytes:
    """Decodes data (bytes-like, or a SegmentBuffer read without joining)
    with the Go unpickler and encodes the value again with the Go pickler,
    at protocol (default: the input's). Returns the new pickle. A Go decode
    error raises pickle.UnpicklingError with Go's message (offset, opcode)."""
    if protocol is not None and not (isinstance(protocol, int) and 0 <= protocol <= 5):
        raise ValueError("protocol must be 0..5 or None, not %r" % (protocol,))
    segs = _segments_of(data)
    if buffers is None and isinstance(data, SegmentBuffer) and data.out_of_band:
        buffers = data.out_of_band
    bufs = None if buffers is None else [b if type(b) is bytes else memoryview(b).cast("B") for b in buffers]
    lib = _lib.lib()
    ptrs, lens, n = segment_table(segs)
    if bufs is None:
        bptrs, blens, bn = (ctypes.c_void_p * 1)(), (ctypes.c_int64 * 1)(), -1
    else:
        bptrs, blens, bn = segment_table(bufs)
    handle = ctypes.c_int64()
    err = ctypes.c_void_p()
    code = lib.segpickle_reencode(ptrs, lens, n, -1 if protocol is None else protocol,
                                  bptrs, blens, bn, ctypes.byref(handle), ctypes.byref(err))
    _lib.check(code, err)
    try:
        size = ctypes.c_int64()
        _lib.check(lib.segpickle_buf_len(handle.value, ctypes.byref(size)))
        out = _new_bytes(None, size.value)
        if size.value:
            addr = ctypes.cast(ctypes.c_char_p(out), ctypes.c_void_p).value
            _lib.check(lib.segpickle_buf_copy(handle.value, addr, size.value))
        return out
    finally:
        lib.segpickle_buf_free(handle.value)
