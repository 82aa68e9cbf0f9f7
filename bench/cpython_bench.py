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


def hostile_keys():
    """Dict keys whose hashing must stay bounded by the input (issue 9)."""
    s = "s" * 4096
    t20k = tuple(range(0, 140000, 7))
    return [
        ("tuple_key_65000_refs_4KiB_str", {(s,) * 65000: 1}),
        # one tuple object used as the key 3,000 times (a memo reference each)
        ("tuple_key_20000_ints_reused_3000", [{t20k: i} for i in range(3000)]),
        ("frozenset_key_65000_ints", {frozenset(range(0, 65000 * 31, 31)): 1}),
    ]


def alloc_bytes(fn):
    """Peak bytes traced by tracemalloc during one call (the result kept
    until the end): CPython's counterpart of Go's B/op."""
    import tracemalloc
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        r = fn()
        peak = tracemalloc.get_traced_memory()[1]
        del r
        return peak - base
    finally:
        tracemalloc.stop()


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
            print("BenchmarkCPython/loads/%s/p%d\t%d\t%.0f ns/op\t%.0f cpu-ns/op\t%d B/op(tracemalloc peak)" % (
                name, proto, 1, ns, best_ns.cpu, alloc_bytes(lambda: pickle.loads(data))))
    for name, v in hostile_keys():
        data = pickle.dumps(v, 5)
        ns = best_ns(lambda: pickle.loads(data), min_time=0.2)
        print("BenchmarkCPython/loads/hostile/%s\t%d\t%.0f ns/op\t%.0f cpu-ns/op" % (name, 1, ns, best_ns.cpu))


if __name__ == "__main__":
    main()
