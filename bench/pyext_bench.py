"""Pickling bytes payloads of 1 KiB, 1 MiB and 64 MiB, and a 1 KiB message
(a dict of fields), five ways, in one run:
segpickle.dumps_segments, a new Pickler into a SegmentBuffer, pickle.dumps,
Pickler into io.BytesIO, and Pickler into a pure-Python writer that only
appends to a list (the floor). Medians in µs of the thread's CPU time (other
processes on a busy machine do not count), the ways interleaved round by
round, and ratios. Run: PYTHONPATH=pyext python3 bench/pyext_bench.py

With numpy importable (`make bench` runs `/usr/bin/python3
bench/pyext_bench.py --numpy` for these alone, SEGPICKLE_BIN set), also: a 64 MiB float64 array into a default
SegmentBuffer vs pickle.dumps vs the list-writer floor, and the same array
through Channel to the Go echo server and back vs a plain socket carrying
pickle.dumps's bytes.
"""
import io
import pickle
import statistics
import sys
import time
import timeit

import segpickle


class ListWriter:
    def __init__(self):
        self.parts = []

    def write(self, b):
        self.parts.append(b)
        return len(b) if type(b) is not pickle.PickleBuffer else b.raw().nbytes


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
    if "--numpy" in sys.argv[1:]:  # only the array benchmarks
        numpy_bench()
        return
    message = {"id": 12345, "name": "sensor-7", "ts": 1732636800.25, "tags": ["a", "b", "c"],
               "values": [i * 0.5 for i in range(90)], "blob": b"z" * 128}  # 1,040 bytes pickled
    sizes = [("1 KiB", b"x" * (1 << 10)), ("1 KiB message (dict)", message), ("1 MiB", b"x" * (1 << 20)),
             ("64 MiB", b"x" * (64 << 20))]
    ways = [("dumps_segments", lambda o: segpickle.dumps_segments(o, 5)), ("Pickler → SegmentBuffer", segbuf),
            ("pickle.dumps", lambda o: pickle.dumps(o, 5)), ("BytesIO", bytesio), ("list writer (floor)", floor)]
    res = {}
    print("| payload | " + " | ".join(w for w, _ in ways) + " | dumps_segments / pickle.dumps | "
          "Pickler → SegmentBuffer / pickle.dumps | dumps_segments / floor |")
    print("|---|" + "---|" * (len(ways) + 3))
    for label, obj in sizes:
        row = median_us(ways, obj)
        res[label] = row
        d = row["pickle.dumps"]
        print("| %s | %s | %.3g× | %.3g× | %.2f× |" % (
            label, " | ".join("%.2f µs" % row[w] for w, _ in ways), row["dumps_segments"] / d,
            row["Pickler → SegmentBuffer"] / d, row["dumps_segments"] / row["list writer (floor)"]))
    r = res["64 MiB"]["dumps_segments"] / res["1 MiB"]["dumps_segments"]
    print("\ndumps_segments 64 MiB / 1 MiB: %.2f×" % r)
    sys.stdout.flush()
    try:
        import numpy  # noqa: F401
    except ImportError:
        print("\n(numpy is not importable under %s: `make bench` runs the array benchmarks with "
              "/usr/bin/python3 bench/pyext_bench.py --numpy)" % sys.executable)
        return
    numpy_bench()


def median_ms(fn, repeat=9):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def numpy_bench():
    import numpy as np
    from segpickle import Channel
    from segpickle._channel import HEADER, frame_header
    from segpickle.demo import EchoServer, plain_socket

    a = np.arange(8 << 20, dtype="f8")  # 64 MiB
    print("\n64 MiB float64 array, protocol 5 (median µs):\n")
    rows = [("Pickler → SegmentBuffer()", lambda: segbuf(a)),
            ("Pickler → SegmentBuffer(copy=True)", lambda: pickle.Pickler(segpickle.SegmentBuffer(copy=True), 5).dump(a)),
            ("pickle.dumps", lambda: pickle.dumps(a, 5)),
            ("Pickler → list writer (floor)", lambda: floor(a))]
    t = median_us([(name, lambda _, fn=fn: fn()) for name, fn in rows], None)
    print("| way | µs |\n|---|---|")
    for name, _ in rows:
        print("| %s | %.2f |" % (name, t[name]))
    seg, dumps, fl = t[rows[0][0]], t["pickle.dumps"], t[rows[3][0]]
    print("\npickle.dumps / SegmentBuffer: %.0f× (target ≥ 20×); SegmentBuffer / floor: %.2f× (target ≤ 2×)"
          % (dumps / seg, seg / fl))

    def plain(sock):
        data = pickle.dumps(a, 5)
        sock.sendall(frame_header(len(data), []))
        sock.sendall(data)  # 64 MiB: joining it to the header would copy it once more
        head = bytearray(HEADER.size)
        recv_exact(sock, memoryview(head))
        body = bytearray(HEADER.unpack(head)[4])
        recv_exact(sock, memoryview(body))
        return pickle.loads(body)

    print("\n64 MiB float64 array to the Go echo server and back (median ms of 9):\n")
    print("| path | echo raw | echo decode |\n|---|---|---|")
    res = {}
    for mode in ("raw", "decode"):
        srv = EchoServer(mode)
        try:
            with Channel(srv.address) as ch:
                ch.call(a, out_of_band=True)  # warm up the server's pool
                res[("oob", mode)] = median_ms(lambda: ch.call(a, out_of_band=True))
                res[("inband", mode)] = median_ms(lambda: ch.call(a))
                assert np.array_equal(ch.call(a, out_of_band=True), a)
            if mode == "raw":  # a plain socket of its own: the baseline
                sock = plain_socket(srv.address)
                try:
                    res[("plain", mode)] = median_ms(lambda: plain(sock))
                finally:
                    sock.close()
            else:
                res[("plain", mode)] = float("nan")
        finally:
            srv.stop()
    for key, label in (("plain", "plain socket + pickle.dumps / pickle.loads (baseline)"),
                       ("inband", "Channel.call(a) (in band)"),
                       ("oob", "Channel.call(a, out_of_band=True)")):
        print("| %s | %.1f | %.1f |" % (label, res[(key, "raw")], res[(key, "decode")]))
    print("\nbaseline / Channel out of band (raw echo): %.2f×" % (res[("plain", "raw")] / res[("oob", "raw")]))
    sys.stdout.flush()


def recv_exact(sock, view):
    got = 0
    while got < len(view):
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError
        got += n


if __name__ == "__main__":
    main()
