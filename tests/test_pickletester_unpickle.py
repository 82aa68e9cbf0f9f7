"""CPython's own unpickling suite (test.pickletester.AbstractUnpickleTests)
with loads = Go decode → Go encode (`segpickle reencode`) → pickle.loads.

Every test passes as it does for plain pickle.loads: values survive the Go
round trip, and malformed input is refused by Go with UnpicklingError.
"""
import pickle
import unittest

from segpickle._errors import exception_for, kind_of_message
from support import run_cli

from support import PICKLETESTER_MISSING, import_pickletester

pickletester = import_pickletester()


def go_loads(data, **kwds):
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required")
    code, out, err = run_cli(["reencode"], bytes(data), check=False)
    if code != 0:
        msg = err.decode(errors="replace").strip()
        raise exception_for(kind_of_message(msg), msg)
    return pickle.loads(out, **kwds)


if pickletester is not None:

    class GoRoundTripUnpickleTests(pickletester.AbstractUnpickleTests, unittest.TestCase):
        # Go reports every malformed stream as an UnpicklingError that is
        # also the builtin exception CPython raises for it (EOFError, …).
        truncated_errors = (pickle.UnpicklingError,)
        bad_stack_errors = (pickle.UnpicklingError,)
        bad_mark_errors = (pickle.UnpicklingError,)

        def loads(self, buf, **kwds):
            return go_loads(buf, **kwds)

else:

    @unittest.skip(PICKLETESTER_MISSING)
    class GoRoundTripUnpickleTests(unittest.TestCase):
        def test_skipped(self):
            pass


if __name__ == "__main__":
    unittest.main()
