"""segpickle: Python pickles written into segments with no copy of large
payloads, and Go's pickle decoder and encoder reachable from Python.

Mirrors the pickle module::

    buf = segpickle.dumps(obj)          # a SegmentBuffer, not bytes
    buf.write_to(sock)                  # one writev, GIL released, no join
    obj2 = segpickle.loads(buf)         # or loads(bytes)
    data = segpickle.reencode(buf)      # Go decode + Go encode -> bytes

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
from typing import Any, Iterable, Optional

from . import _lib
from ._buffer import SegmentBuffer, SegmentReader, segment_table
from ._channel import Channel
from ._errors import (
    GoPicklingError,
    GoUnpicklingError,
    UnpicklingEOFError,
    UnpicklingTypeError,
    UnpicklingValueError,
)
from ._lib import SegpickleForkError

__all__ = [
    "Channel", "SegmentBuffer", "SegmentReader", "Pickler", "Unpickler", "dump", "dumps", "load", "loads", "reencode",
    "PicklingError", "UnpicklingError", "GoPicklingError", "GoUnpicklingError", "UnpicklingEOFError",
    "UnpicklingTypeError", "UnpicklingValueError", "SegpickleForkError", "DEFAULT_PROTOCOL",
    "HIGHEST_PROTOCOL", "PickleBuffer",
]

DEFAULT_PROTOCOL = 5
HIGHEST_PROTOCOL = pickle.HIGHEST_PROTOCOL
PicklingError = pickle.PicklingError
UnpicklingError = pickle.UnpicklingError
PickleBuffer = pickle.PickleBuffer


class Pickler(pickle.Pickler):
    """pickle.Pickler with protocol 5 by default. Give it a SegmentBuffer
    as file to keep payloads by reference."""

    def __init__(self, file, protocol: Optional[int] = None, *, fix_imports: bool = True,
                 buffer_callback=None) -> None:
        super().__init__(file, DEFAULT_PROTOCOL if protocol is None else protocol,
                         fix_imports=fix_imports, buffer_callback=buffer_callback)


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


def dumps(obj: Any, protocol: Optional[int] = None, *, fix_imports: bool = True, buffer_callback=None,
          out_of_band: bool = False) -> SegmentBuffer:
    """Pickles obj into a new SegmentBuffer (pickle.dumps without the copy).
    With out_of_band=True (protocol 5), PickleBuffers go to
    buf.out_of_band instead of the stream."""
    buf = SegmentBuffer()
    if out_of_band:
        if buffer_callback is not None:
            raise ValueError("give buffer_callback or out_of_band, not both")
        buffer_callback = buf.buffer_callback
    Pickler(buf, protocol, fix_imports=fix_imports, buffer_callback=buffer_callback).dump(obj)
    return buf


def dump(obj: Any, file, protocol: Optional[int] = None, *, fix_imports: bool = True,
         buffer_callback=None) -> None:
    """Pickles obj to file; a file with a descriptor gets one writev."""
    buf = dumps(obj, protocol, fix_imports=fix_imports, buffer_callback=buffer_callback)
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
