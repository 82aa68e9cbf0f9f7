"""Writes numpy/testdata/golden.json.gz: numpy arrays of every supported dtype,
byte order and memory order (0-d, empty, 1-D, 2-D C and Fortran, and a
non-contiguous source), each pickled by numpy at protocols 2-5 and at 5 with
out-of-band buffers; numpy scalars; numpy 2 names (numpy._core); order 'K'
pickles of newer numpy; and pickles of what the Go package refuses.

For each array it records what the Go side must find: the dtype, shape and
storage order, and the elements in storage order converted to native
byte order (so that Go compares Copy's bytes with them).

Run with an interpreter that has numpy:  /usr/bin/python3 numpy/testdata/gen_golden.py [OUT]
(OUT defaults to numpy/testdata/golden.json.gz; the Go test TestLiveNumpy writes a
temporary one with whatever numpy is installed).
"""
import gzip
import json
import os
import pickle
import sys
import types

import numpy as np

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.json.gz")
NATIVE = "<" if sys.byteorder == "little" else ">"


def values(dt):
    """Six distinct values that exercise the type (extremes, negatives, NaN)."""
    k, n = dt.kind, dt.itemsize
    if k == "b":
        return [True, False, True, True, False, False]
    if k == "i":
        info = np.iinfo(dt)
        return [0, -1, 1, info.min, info.max, 42]
    if k == "u":
        info = np.iinfo(dt)
        return [0, 1, 2, info.max, info.max - 1, 42]
    if k == "f":
        return [0.0, -0.0, 1.5, -2.25, float("inf"), float("nan")]
    return [0, 1 + 2j, -1.5 - 0.5j, complex(float("inf"), 1), complex(0, float("nan")), 3j]


def shapes(base):
    """(name, array) for each shape case, from a flat array of 6 values."""
    yield "0d", base[1:2].reshape(())
    yield "empty", base[:0]
    yield "empty2d", base[:0].reshape(2, 0)
    yield "1d", base
    yield "2dC", base.reshape(2, 3)
    yield "2dF", np.asfortranarray(base.reshape(2, 3))
    yield "3dF", np.asfortranarray(np.concatenate([base, base[::-1]]).reshape(2, 3, 2))
    yield "noncontig", np.concatenate([base, base]).reshape(3, 4)[:, ::2]


def order_of(a):
    return "F" if a.flags.f_contiguous and not a.flags.c_contiguous else "C"


def expected(a):
    """What Go must find after decoding a pickle of a."""
    b = pickle.loads(pickle.dumps(a, 5))  # numpy's own contiguous form
    order = order_of(b)
    native = b.astype(b.dtype.newbyteorder("="), order="K")
    return {
        "dtype": a.dtype.str,
        "shape": list(a.shape),
        "order": order,
        "native": native.tobytes(order=order).hex(),
        "contiguous": bool(a.flags.c_contiguous or a.flags.f_contiguous),
    }


def pickles(obj):
    out = {str(p): pickle.dumps(obj, p).hex() for p in (2, 3, 4, 5)}
    bufs = []
    p = pickle.dumps(obj, 5, buffer_callback=bufs.append)
    out["5oob"] = {"pickle": p.hex(), "buffers": [bytes(b.raw()).hex() for b in bufs]}
    return out


def check_loads(obj, ps):
    """Every pickle must load back to an equal object (so the golden is sane)."""
    for key, v in ps.items():
        if key == "5oob":
            got = pickle.loads(bytes.fromhex(v["pickle"]), buffers=[bytearray.fromhex(b) for b in v["buffers"]])
        else:
            got = pickle.loads(bytes.fromhex(v))
        # protocols < 5 load a non-native byte order as native (numpy swaps)
        assert got.dtype.newbyteorder("=") == obj.dtype.newbyteorder("=") and got.shape == np.shape(obj), key
        assert np.array_equal(got, obj, equal_nan=True), key


cases = []

DTYPES = ["b1", "i1", "u1"] + [o + t for t in ("i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16")
                                for o in ("<", ">")]
for ds in DTYPES:
    dt = np.dtype(ds)
    base = np.array(values(dt), dtype=dt)
    for sname, a in shapes(base):
        ps = pickles(a)
        check_loads(a, ps)
        cases.append(dict(name="%s %s" % (dt.str, sname), kind="array", pickles=ps, **expected(a)))

# numpy scalars: multiarray.scalar(dtype, bytes).
for s in [np.float64(2.5), np.int32(-7), np.bool_(True), np.complex64(1 + 2j), np.float16(1.5), np.uint64(2**64 - 1)]:
    ps = {str(p): pickle.dumps(s, p).hex() for p in (2, 3, 4, 5)}
    a = np.array(s)
    cases.append(dict(name="scalar " + s.dtype.name, kind="scalar", pickles=ps, **expected(a)))

# A dtype on its own.
for ds in ("<f8", ">i2", "|b1", ">c16"):
    cases.append(dict(name="dtype " + ds, kind="dtype", dtype=np.dtype(ds).str,
                      pickles={str(p): pickle.dumps(np.dtype(ds), p).hex() for p in (2, 5)}))


# numpy 2 writes numpy._core.*: make CPython's pickler write those names
# for real by exposing the same functions under them for a moment.
def numpy2_names(fn):
    from numpy.core import multiarray, numeric
    saved = (multiarray._reconstruct.__module__ if hasattr(multiarray._reconstruct, "__module__") else None,
             numeric._frombuffer.__module__, multiarray.scalar.__module__)
    m1 = types.ModuleType("numpy._core.multiarray")
    m1._reconstruct, m1.scalar = multiarray._reconstruct, multiarray.scalar
    m2 = types.ModuleType("numpy._core.numeric")
    m2._frombuffer = numeric._frombuffer
    sys.modules["numpy._core.multiarray"], sys.modules["numpy._core.numeric"] = m1, m2
    multiarray._reconstruct.__module__ = "numpy._core.multiarray"
    multiarray.scalar.__module__ = "numpy._core.multiarray"
    numeric._frombuffer.__module__ = "numpy._core.numeric"
    try:
        return fn()
    finally:
        multiarray._reconstruct.__module__, numeric._frombuffer.__module__, multiarray.scalar.__module__ = saved
        del sys.modules["numpy._core.multiarray"], sys.modules["numpy._core.numeric"]


for a in [np.arange(6, dtype="<f8").reshape(2, 3), np.asfortranarray(np.arange(6, dtype=">i4").reshape(2, 3))]:
    ps = numpy2_names(lambda: pickles(a))
    assert all("numpy._core" in bytes.fromhex(v if isinstance(v, str) else v["pickle"]).decode("latin1")
               for v in ps.values())
    cases.append(dict(name="numpy2 names %s %s" % (a.dtype.str, order_of(a)), kind="array", pickles=ps, **expected(a)))
ps = numpy2_names(lambda: {str(p): pickle.dumps(np.float64(2.5), p).hex() for p in (2, 5)})
cases.append(dict(name="numpy2 names scalar", kind="scalar", pickles=ps, **expected(np.array(np.float64(2.5)))))


# Order 'K' (numpy >= 2.3 for arrays whose axes are permuted):
# _frombuffer(buffer, dtype, shape, 'K', axis_order).
class KOrder:
    def __init__(self, c, perm):
        self.c, self.perm = c, perm

    def __reduce__(self):
        from numpy.core.numeric import _frombuffer
        return _frombuffer, (pickle.PickleBuffer(self.c), self.c.dtype, self.c.shape, "K", self.perm)


for perm in [(1, 2, 0), (2, 0, 1), (0, 1, 2), (2, 1, 0)]:
    c = np.arange(24, dtype="<i4").reshape(2, 3, 4)
    want = c.transpose(perm)
    ps = {"5": pickle.dumps(KOrder(c, perm), 5).hex()}
    bufs = []
    p = pickle.dumps(KOrder(c, perm), 5, buffer_callback=bufs.append)
    ps["5oob"] = {"pickle": p.hex(), "buffers": [bytes(b.raw()).hex() for b in bufs]}
    e = expected(np.ascontiguousarray(want))
    if perm == (2, 1, 0):  # the reverse permutation is Fortran order as it stands
        e = expected(np.asfortranarray(want))
    cases.append(dict(name="order K %s" % (perm,), kind="array", pickles=ps, **e))

# What the Go package refuses: a typed error, never a panic.
refuse = {
    "object": np.array([1, "a", None], dtype=object),
    "structured": np.zeros(2, dtype=[("x", "<f8"), ("y", "<i4")]),
    "datetime64": np.array(["2024-01-01"], dtype="datetime64[D]"),
    "timedelta64": np.array([1, 2], dtype="timedelta64[s]"),
    "unicode": np.array(["ab", "c"]),
    "bytes": np.array([b"ab", b"c"]),
    "longdouble": np.zeros(2, dtype=np.longdouble),
    "matrix": np.matrix([[1.0, 2.0]]),
    "masked": np.ma.masked_array([1.0, 2.0], mask=[0, 1]),
    "subarray field": np.zeros(1, dtype=[("a", "<f8", (2,))]),
    "void": np.zeros(2, dtype="V4"),
    "scalar datetime": np.datetime64("2024-01-01"),
}
for name, obj in refuse.items():
    ps = {str(p): pickle.dumps(obj, p).hex() for p in (2, 5)}
    cases.append(dict(name="refused " + name, kind="refused", pickles=ps))

doc = {"numpy": np.__version__, "python": sys.version.split()[0], "native": NATIVE, "cases": cases}
with gzip.GzipFile(OUT, "wb", mtime=0) as f:
    f.write(json.dumps(doc, indent=0, sort_keys=True).encode())
print("wrote", OUT, len(cases), "cases,", os.path.getsize(OUT), "bytes")
