"""Loads libsegpickle.so with ctypes and declares every symbol's types.

The library is found next to this file; SEGPICKLE_LIB overrides the path.
It is loaded on first use. ctypes releases the GIL for each call; the Go
side never calls back into Python.

Fork: Go's runtime threads do not survive fork(). A child forked after the
library was loaded cannot call into it (the call would hang), so every
native call in such a child raises SegpickleForkError. Pure-Python paths
(SegmentBuffer.write, tobytes, segments, write_to through os.writev) keep
working. Use the "spawn" or "forkserver" multiprocessing start methods to
get children that can load the library themselves.
"""
import ctypes
import os
import threading

from . import _status
from ._errors import class_for_code

__all__ = ["lib", "SegpickleForkError", "check", "loaded_in_this_process"]


class SegpickleForkError(RuntimeError):
    """The Go library was loaded before this process was forked; it cannot
    be used here. Use multiprocessing's "spawn" or "forkserver" start methods."""


_lock = threading.Lock()
_lib = None
_loaded_pid = None

c_int64_p = ctypes.POINTER(ctypes.c_int64)
c_char_pp = ctypes.POINTER(ctypes.c_char_p)
c_void_pp = ctypes.POINTER(ctypes.c_void_p)

# name: (restype, argtypes) — every symbol the package uses, in one place.
_SIGNATURES = {
    "segpickle_free_string": (None, [ctypes.c_void_p]),
    "segpickle_version": (ctypes.c_void_p, []),
    "segpickle_buf_new": (ctypes.c_int, [ctypes.c_int64, c_int64_p]),
    "segpickle_buf_free": (ctypes.c_int, [ctypes.c_int64]),
    "segpickle_buf_write": (ctypes.c_int, [ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int]),
    "segpickle_buf_len": (ctypes.c_int, [ctypes.c_int64, c_int64_p]),
    "segpickle_buf_nsegments": (ctypes.c_int, [ctypes.c_int64, c_int64_p]),
    "segpickle_buf_segment_len": (ctypes.c_int, [ctypes.c_int64, ctypes.c_int64, c_int64_p]),
    "segpickle_buf_copy_segment": (ctypes.c_int, [ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]),
    "segpickle_buf_copy": (ctypes.c_int, [ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]),
    "segpickle_buf_writev": (ctypes.c_int, [ctypes.c_int64, ctypes.c_int, c_int64_p, ctypes.POINTER(ctypes.c_void_p)]),
    "segpickle_writev": (ctypes.c_int, [ctypes.c_int, c_void_pp, c_int64_p, ctypes.c_int64, c_int64_p,
                                        ctypes.POINTER(ctypes.c_void_p)]),
    "segpickle_reencode": (ctypes.c_int, [c_void_pp, c_int64_p, ctypes.c_int64, ctypes.c_int,
                                          c_void_pp, c_int64_p, ctypes.c_int64, c_int64_p,
                                          ctypes.POINTER(ctypes.c_void_p)]),
    "segpickle_buf_reencode": (ctypes.c_int, [ctypes.c_int64, ctypes.c_int, c_int64_p, ctypes.POINTER(ctypes.c_void_p)]),
    "segpickle_read_full": (ctypes.c_int, [ctypes.c_int, ctypes.c_void_p, ctypes.c_int64, c_int64_p,
                                           ctypes.POINTER(ctypes.c_void_p)]),
    "segpickle_check": (ctypes.c_int, [c_void_pp, c_int64_p, ctypes.c_int64, ctypes.POINTER(ctypes.c_void_p)]),
}


def library_path():
    return os.environ.get("SEGPICKLE_LIB") or os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                           "libsegpickle.so")


def _after_fork_in_child():
    global _lib
    if _lib is not None:
        _lib = _ForkedLib()


class _ForkedLib:
    def __getattr__(self, name):
        raise SegpickleForkError(
            "segpickle: the Go library was loaded before this process was forked and cannot be used "
            "in the child; use the 'spawn' or 'forkserver' multiprocessing start methods")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def lib():
    """Returns the loaded library, loading it on first use."""
    global _lib, _loaded_pid
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            path = library_path()
            if not os.path.exists(path):
                raise ImportError("segpickle: native library not found at %s (run `make build`, or set "
                                  "SEGPICKLE_LIB)" % path)
            handle = ctypes.CDLL(path)
            for name, (restype, argtypes) in _SIGNATURES.items():
                fn = getattr(handle, name)
                fn.restype = restype
                fn.argtypes = argtypes
            _loaded_pid = os.getpid()
            _lib = handle
    return _lib


def loaded_in_this_process():
    return _lib is not None and not isinstance(_lib, _ForkedLib)


def check(code, err=None):
    """Raises the exception for a failed call; frees the error string."""
    if code == 0:
        return
    msg = "segpickle: native call failed with code %d" % code
    if err is not None and err.value:
        msg = ctypes.string_at(err.value).decode("utf-8", "replace")
        lib().segpickle_free_string(err.value)
        err.value = None
    if code == _status.HANDLE:
        msg = "segpickle: invalid or closed buffer handle"
    raise class_for_code(code)(msg)
