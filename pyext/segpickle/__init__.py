"""segpickle: Python pickles written into a Go segment list, with no copy of
large payloads, and Go's decoder and encoder reachable from Python.

The native library (libsegpickle.so, built from cbridge/) is loaded on first
use, so that importing the package never fails for lack of it.
"""
from ._errors import (  # noqa: F401
    GoPicklingError,
    GoUnpicklingError,
    UnpicklingEOFError,
    UnpicklingTypeError,
    UnpicklingValueError,
)

__all__ = [
    "GoPicklingError", "GoUnpicklingError", "UnpicklingEOFError", "UnpicklingTypeError",
    "UnpicklingValueError",
]
