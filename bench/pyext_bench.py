"""Pickling bytes payloads of 1 KiB, 1 MiB and 64 MiB five ways, in one run:
segpickle.dumps_segments, a new Pickler into a SegmentBuffer, pickle.dumps,
Pickler into io.BytesIO, and Pickler into a pure-Python writer that only
appends to a list (the floor). Medians in µs of the thread's CPU time (other
processes on a busy machine do not count), the ways interleaved round by
round, and ratios. Run: PYTHONPATH=pyext python3 bench/pyext_bench.py
"""
import io
import pickle
import sys
import time
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


def median_us(fns, arg, rounds=9):
    """Median per call of each fn over rounds, the fns interleaved in each
    round so that a busy spell hits them all alike."""
    timers = {}
    for name, fn in fns:
        t = timeit.Timer(lambda fn=fn: fn(arg), timer=time.thread_time)
        n, _ = t.autorange()
        timers[name] = (t, max(1, n // 5))
    runs = {name: [] for name, _ in fns}
    for _ in range(rounds):
        for name, (t, n) in timers.items():
            runs[name].append(t.timeit(n) / n)
    return {name: sorted(r)[len(r) // 2] * 1e6 for name, r in runs.items()}


def main():
    sizes = [("1 KiB", 1 << 10), ("1 MiB", 1 << 20), ("64 MiB", 64 << 20)]
    ways = [("dumps_segments", lambda o: segpickle.dumps_segments(o, 5)), ("Pickler → SegmentBuffer", segbuf),
            ("pickle.dumps", lambda o: pickle.dumps(o, 5)), ("BytesIO", bytesio), ("list writer (floor)", floor)]
    res = {}
    print("| payload | " + " | ".join(w for w, _ in ways) + " | dumps_segments / pickle.dumps | "
          "Pickler → SegmentBuffer / pickle.dumps | dumps_segments / floor |")
    print("|---|" + "---|" * (len(ways) + 3))
    for label, n in sizes:
        obj = b"x" * n
        row = median_us(ways, obj)
        res[label] = row
        d = row["pickle.dumps"]
        print("| %s | %s | %.3g× | %.3g× | %.2f× |" % (
            label, " | ".join("%.2f µs" % row[w] for w, _ in ways), row["dumps_segments"] / d,
            row["Pickler → SegmentBuffer"] / d, row["dumps_segments"] / row["list writer (floor)"]))
    r = res["64 MiB"]["dumps_segments"] / res["1 MiB"]["dumps_segments"]
    print("\ndumps_segments 64 MiB / 1 MiB: %.2f×" % r)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
