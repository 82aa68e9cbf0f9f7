"""Exceptions raised for Go decode and encode failures.

Each is a pickle.UnpicklingError (or PicklingError) and also the builtin
exception CPython's own unpickler raises for the same fault, so code written
against pickle (``except EOFError``, ``except ValueError``) keeps working.
"""
import builtins
import pickle

from . import _status

__all__ = [
    "GoUnpicklingError", "UnpicklingEOFError", "UnpicklingValueError", "UnpicklingTypeError",
    "GoPicklingError", "exception_for", "kind_of_message", "class_for_code",
]


class GoUnpicklingError(pickle.UnpicklingError):
    """The Go decoder refused the input; the message names offset and opcode."""


class UnpicklingEOFError(GoUnpicklingError, EOFError):
    """The input ended where an opcode should start, before STOP (CPython's
    "Ran out of input"). Input that ends inside an opcode is a plain
    GoUnpicklingError, as CPython's "pickle data was truncated" is."""


class UnpicklingValueError(GoUnpicklingError, ValueError):
    """An opcode argument is malformed."""


class UnpicklingTypeError(GoUnpicklingError, TypeError):
    """An opcode got an operand of the wrong type (or an unhashable key)."""


class GoPicklingError(pickle.PicklingError):
    """The Go encoder cannot write the value."""


# Everything below comes from the one table of status codes
# (internal/status in Go; _status.py is generated from it).
_NAMES = {name: code for code, (name, _exc, _doc) in _status.STATUS.items()}


def _exception_class(code):
    name = _status.STATUS.get(code, (None, "GoUnpicklingError", None))[1] or "GoUnpicklingError"
    cls = globals().get(name) or getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        raise RuntimeError("segpickle: _status.py names an unknown exception %r" % name)
    return cls


def class_for_code(code):
    """Returns the exception class pyext raises for a status code."""
    return _exception_class(code)


def kind_of_message(msg):
    """Returns the status name ("eof", "value", …) for a Go error message
    that arrives as text only (the CLI's stderr)."""
    if msg.startswith("pickler:") or ": pickler:" in msg:
        return "pickling"
    for text, code in _status.CAUSES:
        if text in msg:
            return _status.STATUS[code][0]
    return "unpickling"


def exception_for(kind, msg):
    """Returns the exception instance for a status name and message."""
    return _exception_class(_NAMES.get(kind, _status.UNPICKLING))(msg)
