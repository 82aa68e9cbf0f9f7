"""Real objects through the Go decoder and encoder: CPython pickles each
object at protocols 0-5; segpickle.reencode (the C ABI: Go decodes the
pickle into its value model and encodes it again) rebuilds it at every
protocol; CPython must load an object equal to pickle.loads of the
original, with the same types, dtypes, memory order, time zones, masks,
categories and shared or self-referencing parts.

The standard library's objects run under any python3. numpy, pandas and
scikit-learn objects need those packages: `make pytest-pydata` runs this
file with Debian's /usr/bin/python3 (installing them first) and
SEGPICKLE_REQUIRE_PYDATA=1, so that they cannot skip there."""
import array
import collections
import dataclasses
import datetime
import decimal
import enum
import fractions
import functools
import ipaddress
import os
import pathlib
import pickle
import re
import types
import unittest
import uuid

import segpickle

try:
    import numpy as np
    import pandas as pd
    from sklearn.cluster import KMeans
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.preprocessing import OneHotEncoder
    MISSING = None
except ImportError as e:  # pragma: no cover - depends on the interpreter
    if os.environ.get("SEGPICKLE_REQUIRE_PYDATA"):
        raise
    np = pd = None
    MISSING = "numpy/pandas/scikit-learn not importable here (%s); `make pytest-pydata` runs this file " \
              "with /usr/bin/python3" % e


class Color(enum.Enum):
    RED = 1
    GREEN = 2


class Perm(enum.IntFlag):
    R = 4
    W = 2


@dataclasses.dataclass
class Point:
    x: int
    tags: list


@dataclasses.dataclass(frozen=True)
class Frozen:
    v: float


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a, self.b = 1, [2]

    def __eq__(self, o):
        return type(o) is Slotted and (self.a, self.b) == (o.a, o.b)


class Stateful:
    def __init__(self):
        self.v = 3

    def __getstate__(self):
        return {"v": self.v * 2}

    def __setstate__(self, s):
        self.v = s["v"] // 2

    def __eq__(self, o):
        return type(o) is Stateful and o.v == self.v


Pair = collections.namedtuple("Pair", "a b")


def stdlib_objects():
    dd = collections.defaultdict(list)
    dd["x"].append(1)
    shared = [1, 2]
    rec_list = []
    rec_list.append(rec_list)
    rec_dict = {}
    rec_dict["self"] = rec_dict
    try:
        import zoneinfo
        paris = zoneinfo.ZoneInfo("Europe/Paris")
    except Exception:  # no tz database: a fixed offset instead
        paris = datetime.timezone(datetime.timedelta(hours=1), "CET")
    return {
        "OrderedDict": collections.OrderedDict([("b", 1), ("a", 2)]),
        "defaultdict": dd,
        "Counter": collections.Counter("abracadabra"),
        "deque": collections.deque([1, 2, 3], maxlen=5),
        "namedtuple": Pair(1, "x"),
        "ChainMap": collections.ChainMap({"a": 1}, {"b": 2}),
        "datetime with a zone": datetime.datetime(2024, 3, 1, 12, 30, 5, 123456, tzinfo=paris),
        "datetime UTC": datetime.datetime(2024, 3, 1, tzinfo=datetime.timezone.utc),
        "datetime fold=1": datetime.datetime(2024, 10, 27, 2, 30, fold=1),
        "date": datetime.date(1999, 12, 31),
        "time with a named zone": datetime.time(1, 2, 3, 4, tzinfo=datetime.timezone(datetime.timedelta(hours=-5), "EST")),
        "timedelta": datetime.timedelta(days=-3, microseconds=7),
        "Decimal": [decimal.Decimal("1.10"), decimal.Decimal("-Inf"), decimal.Decimal("NaN")],
        "Fraction": fractions.Fraction(22, 7),
        "UUID": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "enums": [Color.RED, Perm.R | Perm.W],
        "dataclass": Point(1, [2, 3]),
        "frozen dataclass": Frozen(1.5),
        "__slots__": Slotted(),
        "__getstate__": Stateful(),
        "PurePosixPath": pathlib.PurePosixPath("/a/b"),
        "re.compile": re.compile(r"a+b", re.I),
        "array.array": array.array("d", [1.0, 2.5]),
        "functools.partial": functools.partial(int, base=2),
        "SimpleNamespace": types.SimpleNamespace(a=1, b="x"),
        "ipaddress": [ipaddress.ip_address("10.0.0.1"), ipaddress.ip_network("fe80::/64")],
        "range and slice": [range(1, 10, 2), slice(1, None, -1)],
        "complex": [1 + 2j, complex("nan+infj")],
        "big ints": [2 ** 200, -2 ** 64, 2 ** 63 - 1, -2 ** 63, 2 ** 31, -2 ** 31 - 1],
        "floats": [float("inf"), -0.0, 5e-324, 1.7976931348623157e308, float("nan")],
        "sets": [{1, "a", (2, 3)}, frozenset([frozenset([1])])],
        "bytes": [b"", b"\x00\xff" * 300, bytearray(b"abc"), bytearray()],
        "strs": ["", "\x00", "\ud800", "é" * 300, "\U0001f600", "a\nb\\c"],
        "shared list": [shared, shared, {"k": shared}],
        "list inside itself": rec_list,
        "dict inside itself": rec_dict,
    }


def data_objects():
    rng = np.random.RandomState(0)
    X = rng.rand(50, 3)
    y = (X[:, 0] > .5).astype(int)
    return {
        "ndarray of objects": np.array([1, "a", None, [1]], dtype=object),
        "structured ndarray": np.array([(1, 2.0, b"ab"), (3, 4.0, b"cd")],
                                       dtype=[("i", "<i4"), ("f", ">f8"), ("s", "S2")]),
        "recarray": np.rec.array([(1, "x")], dtype=[("a", "i8"), ("b", "U3")]),
        "masked array": np.ma.array([1, 2, 3], mask=[0, 1, 0]),
        "datetime64": np.array(["2024-01-01", "NaT"], dtype="datetime64[ns]"),
        "timedelta64": np.array([1, 2], dtype="timedelta64[s]"),
        "unicode ndarray": np.array(["abc", "é"], dtype="U4"),
        "bytes ndarray": np.array([b"ab", b""], dtype="S3"),
        "numpy scalars": [np.int8(-1), np.uint64(2 ** 64 - 1), np.float16(1.5), np.float32(2.5),
                          np.complex64(1j), np.bool_(True), np.datetime64("2024-01-01"), np.str_("x"),
                          np.bytes_(b"y"), np.longdouble(1.5)],
        "matrix": np.matrix([[1, 2], [3, 4]]),
        "large float64": np.arange(100000, dtype="f8").reshape(100, 1000),
        "Fortran order": np.asfortranarray(np.arange(12).reshape(3, 4)),
        "dtypes": [np.dtype("f8"), np.dtype([("a", "i4")])],
        "0-d": np.array(5),
        "Series": pd.Series([1.5, None, 3], index=["a", "b", "c"], name="s"),
        "nullable dtypes": pd.DataFrame({"i": pd.array([1, None], dtype="Int64"),
                                         "b": pd.array([True, None], dtype="boolean"),
                                         "s": pd.array(["x", None], dtype="string")}),
        "tz-aware Series": pd.Series(pd.date_range("2024-01-01", periods=3, tz="US/Eastern")),
        "Period Series": pd.Series(pd.period_range("2024-01", periods=3, freq="M")),
        "Interval Series": pd.Series(pd.interval_range(0, 3)),
        "MultiIndex frame": pd.DataFrame({"v": [1, 2, 3, 4]},
                                         index=pd.MultiIndex.from_product([["a", "b"], [1, 2]], names=["x", "y"])),
        "Categorical": pd.Categorical(["a", "b", "a"], categories=["b", "a"], ordered=True),
        "sparse Series": pd.Series(pd.arrays.SparseArray([0, 0, 1, 0])),
        "pandas scalars": [pd.Timestamp("2024-01-01 12:00", tz="UTC"), pd.Timedelta("1 day 2 ns"),
                           pd.Period("2024Q1"), pd.Interval(0, 1, closed="left"), pd.NaT, pd.NA],
        "mixed frame": pd.DataFrame({"a": [1, 2], "b": ["x", None], "c": [1.5, float("nan")],
                                     "d": pd.to_datetime(["2024-01-01", None])}),
        "TimedeltaIndex": pd.timedelta_range("1 day", periods=3),
        "RandomForestClassifier": (RandomForestClassifier(n_estimators=3, random_state=0).fit(X, y), X),
        "OneHotEncoder": (OneHotEncoder().fit([["a"], ["b"]]), [["b"], ["a"]]),
        "KMeans": (KMeans(n_clusters=2, n_init=1, random_state=0).fit(X), X),
    }


def check_same(test, want, got, path="obj"):
    """got is want as pickle.loads gives it back: same types all the way
    down, equal values, the same sharing."""
    test.assertIs(type(got), type(want), path)
    if np is not None and isinstance(want, (np.ndarray, np.generic)):
        if isinstance(want, np.ma.MaskedArray):
            np.testing.assert_array_equal(got.mask, want.mask)
            np.testing.assert_array_equal(got.data, want.data)
            return
        test.assertEqual(got.dtype, want.dtype, path)
        test.assertEqual(np.shape(got), np.shape(want), path)
        if isinstance(want, np.ndarray) and want.ndim > 1:
            test.assertEqual(got.flags.f_contiguous, want.flags.f_contiguous, path + ": memory order")
        if want.dtype.kind == "O":
            for i, (a, b) in enumerate(zip(np.ravel(want), np.ravel(got))):
                check_same(test, a, b, "%s[%d]" % (path, i))
        elif want.dtype.names or want.dtype.kind in "SUV":
            test.assertEqual(got.tobytes(), want.tobytes(), path)
        else:
            np.testing.assert_array_equal(got, want, path)
        return
    if pd is not None:
        if isinstance(want, pd.DataFrame):
            return pd.testing.assert_frame_equal(got, want)
        if isinstance(want, pd.Series):
            return pd.testing.assert_series_equal(got, want)
        if isinstance(want, pd.Index):
            return pd.testing.assert_index_equal(got, want)
        if isinstance(want, pd.Categorical):
            test.assertTrue(got.equals(want) and got.ordered == want.ordered, path)
            return
        if want is pd.NaT or want is pd.NA:
            test.assertIs(got, want, path)
            return
    if isinstance(want, (list, tuple)) and not hasattr(want, "_fields"):
        test.assertEqual(len(got), len(want), path)
        for i, (a, b) in enumerate(zip(want, got)):
            if a is want:
                test.assertIs(b, got, "%s[%d]: the list inside itself" % (path, i))
            else:
                check_same(test, a, b, "%s[%d]" % (path, i))
        return
    if isinstance(want, dict):
        test.assertEqual(list(got), list(want), path + ": keys in order")
        for k in want:
            if want[k] is want:
                test.assertIs(got[k], got, "%s[%r]: the dict inside itself" % (path, k))
            else:
                check_same(test, want[k], got[k], "%s[%r]" % (path, k))
        return
    if isinstance(want, float) and want != want:
        test.assertNotEqual(got, got, path)
    elif isinstance(want, (complex, decimal.Decimal, re.Pattern, functools.partial, collections.ChainMap)):
        test.assertEqual(repr(got), repr(want), path)
    elif isinstance(want, (datetime.datetime, datetime.time)):
        test.assertEqual((got, got.tzinfo, got.fold), (want, want.tzinfo, want.fold), path)
    else:
        test.assertEqual(got, want, path)


class RealObjectsReencoded(unittest.TestCase):
    def run_objects(self, objects, check):
        for name, obj in objects.items():
            for proto in range(6):
                try:
                    data = pickle.dumps(obj, proto)
                except TypeError:  # __slots__ at protocols 0 and 1: CPython cannot either
                    continue
                want = pickle.loads(data)
                for out_proto in (None,) + tuple(range(6)):
                    with self.subTest(name, protocol=proto, reencoded_at=out_proto):
                        got = pickle.loads(segpickle.reencode(data, protocol=out_proto))
                        check(want, got)

    def test_standard_library(self):
        def check(want, got):
            check_same(self, want, got)
            if isinstance(want, list) and len(want) == 3 and isinstance(want[2], dict) and "k" in want[2]:
                self.assertIs(got[0], got[1], "shared list no longer shared")
                self.assertIs(got[0], got[2]["k"], "shared list no longer shared")
        self.run_objects(stdlib_objects(), check)

    @unittest.skipIf(MISSING, MISSING)
    def test_numpy_pandas_sklearn(self):
        objects = data_objects()
        models = {k: v for k, v in objects.items() if isinstance(v, tuple)}
        for k in models:
            objects.pop(k)
        self.run_objects(objects, lambda want, got: check_same(self, want, got))

        def same_model(want, got):
            (m, X), (g, _) = want, got
            self.assertIs(type(g), type(m))
            if hasattr(m, "predict_proba"):
                np.testing.assert_array_equal(g.predict_proba(X), m.predict_proba(X))
            elif hasattr(m, "cluster_centers_"):
                np.testing.assert_array_equal(g.predict(X), m.predict(X))
                np.testing.assert_array_equal(g.cluster_centers_, m.cluster_centers_)
            else:
                np.testing.assert_array_equal(g.transform(X).toarray(), m.transform(X).toarray())
            self.assertEqual(sorted(vars(g)), sorted(vars(m)))
        self.run_objects(models, same_model)


if __name__ == "__main__":
    unittest.main()
