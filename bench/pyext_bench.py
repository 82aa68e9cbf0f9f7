"""Pickling bytes payloads of 1 KiB, 1 MiB and 64 MiB four ways, in one run:
Pickler into a SegmentBuffer, pickle.dumps, Pickler into io.BytesIO, and
Pickler into a pure-Python writer that only appends to a list (the floor).
Medians in µs, and ratios. Run: PYTHONPATH=pyext python3 bench/pyext_bench.py
"""
import io
import pickle
import sys
import timeit

import segpickle


class ListWriter:
    def __init__(self):
        self.parts = []

    def write(self, b):
        self.parts.append(b)
        return len(b)


def segbuf(obj):
    buf = segpickle.SegmentBuffer()
    pickle.Pickler(buf, 5).dump(obj)
    return buf


def bytesio(obj):
    f = io.BytesIO()
    pickle.Pickler(f, 5).dump(obj)
    return f


def floor(obj):
    w = ListWriter()
    pickle.Pickler(w, 5).dump(obj)
    return w


def median_us(fn, arg, min_time=0.3):
    t = timeit.Timer(lambda: fn(arg))
    n, _ = t.autorange()
    n = max(1, n // 5)
    runs = sorted(t.repeat(repeat=9, number=n))
    return runs[len(runs) // 2] / n * 1e6


def main():
    sizes = [("1 KiB", 1 << 10), ("1 MiB", 1 << 20), ("64 MiB", 64 << 20)]
    ways = [("SegmentBuffer", segbuf), ("pickle.dumps", lambda o: pickle.dumps(o, 5)),
            ("BytesIO", bytesio), ("list writer (floor)", floor)]
    res = {}
    print("| payload | " + " | ".join(w for w, _ in ways) + " | dumps / SegmentBuffer | SegmentBuffer / floor |")
    print("|---|" + "---|" * (len(ways) + 2))
    for label, n in sizes:
        obj = b"x" * n
        row = {w: median_us(fn, obj) for w, fn in ways}
        res[label] = row
        print("| %s | %s | %.2f× | %.2f× |" % (
            label, " | ".join("%.2f µs" % row[w] for w, _ in ways),
            row["pickle.dumps"] / row["SegmentBuffer"], row["SegmentBuffer"] / row["list writer (floor)"]))
    r = res["64 MiB"]["SegmentBuffer"] / res["1 MiB"]["SegmentBuffer"]
    print("\nSegmentBuffer 64 MiB / 1 MiB: %.2f×" % r)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
