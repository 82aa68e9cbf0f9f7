"""Exceptions raised for Go decode and encode failures.

Each is a pickle.UnpicklingError (or PicklingError) and also the builtin
exception CPython's own unpickler raises for the same fault, so code written
against pickle (``except EOFError``, ``except ValueError``) keeps working.
"""
import pickle

__all__ = [
    "GoUnpicklingError", "UnpicklingEOFError", "UnpicklingValueError", "UnpicklingTypeError",
    "GoPicklingError", "exception_for", "kind_of_message",
]


class GoUnpicklingError(pickle.UnpicklingError):
    """The Go decoder refused the input; the message names offset and opcode."""


class UnpicklingEOFError(GoUnpicklingError, EOFError):
    """The input ended before STOP."""


class UnpicklingValueError(GoUnpicklingError, ValueError):
    """An opcode argument is malformed."""


class UnpicklingTypeError(GoUnpicklingError, TypeError):
    """An opcode got an operand of the wrong type (or an unhashable key)."""


class GoPicklingError(pickle.PicklingError):
    """The Go encoder cannot write the value."""


_KINDS = {
    "eof": UnpicklingEOFError,
    "value": UnpicklingValueError,
    "type": UnpicklingTypeError,
    "unpickling": GoUnpicklingError,
    "pickling": GoPicklingError,
}

# Causes in the Go unpickler's messages (unpickler/errors.go) and the
# Python exception CPython raises for the same fault.
_CAUSES = [
    ("input ended without STOP", "eof"),
    ("truncated input", "eof"),
    ("bad opcode argument", "value"),
    ("operand of the wrong type", "type"),
    ("unhashable key", "type"),
]


def kind_of_message(msg):
    """Returns the exception kind for a Go error message."""
    if msg.startswith("pickler:") or ": pickler:" in msg:
        return "pickling"
    for text, kind in _CAUSES:
        if text in msg:
            return kind
    return "unpickling"


def exception_for(kind, msg):
    """Returns the exception instance for a kind and message."""
    return _KINDS.get(kind, GoUnpicklingError)(msg)
