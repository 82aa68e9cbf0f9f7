"""CPython's C pickle on the same five workloads as bench/*_test.go, timed
in this run: pickle.dumps at protocol 5 and pickle.loads of protocol 2 and 5
pickles. Prints one line per workload in `go test -bench` style (ns/op).

Run: python3 bench/cpython_bench.py  (make bench runs it)
"""
import pickle
import time
import timeit


def workloads():
    msgs = [{"id": i, "name": "user%d" % i, "tags": ["red", "blue"], "score": i / 7, "ok": i % 2 == 0,
             "parent": None, "pos": (i, -i)} for i in range(10000)]
    return [
        ("bytes_1MiB", b"x" * (1 << 20)),
        ("ints_100k", list(range(100000))),
        ("dict_str_float_10k", {"key%d" % i: i / 3 for i in range(10000)}),
        ("messages_10k", msgs),
        ("strings_100k", ["s%d" % i for i in range(100000)]),
    ]


def best_ns(fn, min_time=0.4):
    """Median wall ns per call; the CPU ns per call (process_time) of the
    same runs is left in best_ns.cpu for the caller."""
    t = timeit.Timer(fn)
    n, _ = t.autorange()
    n = max(n, 1)
    runs = []
    total = 0.0
    cpu0 = time.process_time()
    calls = 0
    while total < min_time or len(runs) < 5:
        dt = t.timeit(n)
        runs.append(dt / n)
        total += dt
        calls += n
    best_ns.cpu = (time.process_time() - cpu0) / calls * 1e9
    runs.sort()
    return runs[len(runs) // 2] * 1e9  # median


def main():
    for name, v in workloads():
        ns = best_ns(lambda: pickle.dumps(v, 5))
        print("BenchmarkCPython/dumps/%s/p5\t%d\t%.0f ns/op\t%.0f cpu-ns/op" % (name, 1, ns, best_ns.cpu))
        for proto in (2, 5):
            data = pickle.dumps(v, proto)
            ns = best_ns(lambda: pickle.loads(data))
            print("BenchmarkCPython/loads/%s/p%d\t%d\t%.0f ns/op" % (name, proto, 1, ns))


if __name__ == "__main__":
    main()
