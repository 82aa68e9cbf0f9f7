"""Writes internal/golden/golden.json: values (as tagged JSON) and the bytes
CPython's pickle.dumps gives for them at every protocol.

Each value is rebuilt from its tagged JSON before pickling, so that object
identity is what Go sees: strings are fresh objects, dict keys are shared
within a document (as json.loads shares them), and sets iterate in the order
written. Run: python3 tests/gen_golden.py  (make golden)
"""
import base64
import hashlib
import json
import os
import pickle
import sys
import zlib

sys.path.insert(0, os.path.dirname(__file__))
import pytagged  # noqa: E402

if os.environ.get("PYTHONHASHSEED") != "0":
    os.environ["PYTHONHASHSEED"] = "0"
    os.execv(sys.executable, [sys.executable] + sys.argv)

INTS = [0, 1, -1, 127, 128, 255, 256, 65535, 65536, -128, -129, -256, -257, 2**31 - 1, -2**31,
        2**31, -2**31 - 1, 2**32, 2**63 - 1, -2**63, 2**63, 2**64, -2**64, 2**200, -2**200 + 1,
        -2**2047, 2**2047]
FLOATS = [0.0, -0.0, 1.0, -1.5, 0.1, 1e16, 1e15, 123456789012345.6, 1e-4, 1e-5, 1.5e-7,
          2.5e100, -1e300, 5e-324, 1.7976931348623157e308, float("inf"), float("-inf"), 1/3]
STRS = ["", "a", "é", "ÿ", "Ā", "ab", "hello world", "tab\tnew\nline\rcr", "back\\slash", "nul\x00",
        "ctrl-z\x1a", "☃ snow", "😀 emoji", "mixé☃😀", "x" * 255, "y" * 256, "z" * 70000]
BYTES = [b"", b"a", b"\x00\xff", b"ab", bytes(range(256)), b"q" * 300, b"w" * 70000]

cases = []


def case(name, value):
    cases.append((name, value))


for i in INTS:
    case("int %d" % i if abs(i) < 2**70 else "int %s2^%d" % ("-" if i < 0 else "", abs(i).bit_length()), i)
for f in FLOATS:
    case("float %r" % f, f)
for s in STRS:
    case("str %r" % s[:20] + ("…%d" % len(s) if len(s) > 20 else ""), s)
for b in BYTES:
    case("bytes %r" % b[:8] + ("…%d" % len(b) if len(b) > 8 else ""), b)
case("none", None)
case("true", True)
case("false", False)
case("empty list", [])
case("empty tuple", ())
case("empty dict", {})
case("tuple1", (1,))
case("tuple2", (1, "a"))
case("tuple3", (1, 2, 3))
case("tuple4", (1, 2, 3, 4))
case("nested tuple", ((1, (2, ())), ("x",)))
case("list mixed", [1, -1, 2.5, "s", b"b", None, True, False, [], {}, ()])
case("repeated singletons", ["a", "a", "", "", b"", b"", b"z", b"z", "é", "é"])
case("list 1000", list(range(1000)))
case("list 1001", list(range(1001)))
case("list 2500", list(range(2500)))
case("dict str keys", {"a": 1, "b": [1, 2], "c": {"d": None}})
case("dict 1001", {"k%d" % i: i for i in range(1001)})
case("dict int keys", {1: "one", 2: "two", -3: None})
case("dict tuple keys", {(1, 2): "a", ("x",): "b"})
case("messages", [{"id": i, "name": "user%d" % i, "tags": ["t%d" % (i % 3), "u"], "score": i / 7, "ok": i % 2 == 0,
                   "parent": None, "pos": (i, -i)} for i in range(300)])
case("frames", ["s%d" % i for i in range(20000)])
case("big then small", [b"B" * 70000, 1, "z" * 70000, [2]])
case("set ints", {1, 2, 3})
case("set strs", {"a", "bb", "ccc"})
case("frozenset", frozenset([1, 2]))
case("set 1500", set(range(1500)))
case("empty set", set())
case("empty frozenset", frozenset())
case("bytearray", bytearray(b"hello"))
case("bytearray empty", bytearray())
case("bytearray 1", bytearray(b"x"))
case("complex", complex(1.5, -2))
case("deep", [[[[[[[[[[1]]]]]]]]]])
case("keys repeat", [{"k": 1}, {"k": 2}, {"k": {"k": 3}}])

out = []
for name, value in cases:
    tagged = pytagged.dumps(value)
    v = pytagged.loads(tagged)
    tagged = pytagged.dumps(v)  # the order in which v iterates
    entry = {"name": name, "value": tagged, "pickles": {}}
    for proto in range(6):
        try:
            p = pickle.dumps(v, proto)
        except Exception as e:  # noqa: BLE001 - recorded for the Go side
            entry["pickles"][str(proto)] = {"error": str(e)}
            continue
        if len(p) <= 4096:
            entry["pickles"][str(proto)] = {"b64": base64.b64encode(p).decode()}
        else:
            # Large pickles (batches, frames, payloads over 64 KiB) are
            # stored compressed, so that the decode tests and the fuzz
            # seeds have them too; the hash stays for a quick check.
            entry["pickles"][str(proto)] = {"len": len(p), "sha256": hashlib.sha256(p).hexdigest(),
                                            "zlib": base64.b64encode(zlib.compress(p, 9)).decode()}
    out.append(entry)

path = os.path.join(os.path.dirname(__file__), "..", "internal", "golden", "golden.json")
with open(path, "w") as f:
    json.dump({"python": sys.version.split()[0], "cases": out}, f, indent=1, ensure_ascii=False)
    f.write("\n")
print("wrote %d cases to %s" % (len(out), os.path.normpath(path)))
