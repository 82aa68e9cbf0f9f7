"""The pickler's speed against CPython's pickle.dumps and og-rek, measured
in one run as paired rounds: in each round, for each workload, CPython's
dumps and the Go benchmarks run back to back, so that both see the same
load on a shared machine; the table gives the medians over the rounds of
each figure and of each round's ratio (how many times faster segpickle's
Marshal is), by wall time and by CPU time (process user + system). The
last column is Go's floor under Marshal in the same heap: no encoding,
only handing back a fresh slice of the pickle's size (its allocation, copy
and the collector's share; BenchmarkEncode's go-result-floor).

Run from the repository root: python3 bench/encode_ratios.py [ROUNDS] [--old OLD]
With --old, OLD is a bench test binary built at an earlier commit
(cd bench && go test -c -o OLD .): it runs in each round right after this
tree's, and a second table gives both against CPython and new/old CPU time,
so that a change is measured before and after under the same load.
"""
import os
import pickle
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cpython_bench  # noqa: E402
import gobench  # noqa: E402

WORKLOADS = ["ints_100k", "dict_str_float_10k", "messages_10k", "strings_100k", "bytes_1MiB"]
VARIANTS = ["segpickle-bytes", "segpickle-unsorted", "segpickle-segments", "ogrek", "go-result-floor"]


def go_run(binary, workload):
    return gobench.run(binary, "BenchmarkEncode$/%s/" % workload)


def main():
    args = sys.argv[1:]
    old = None
    if "--old" in args:
        i = args.index("--old")
        old = os.path.abspath(args[i + 1])
        del args[i:i + 2]
    rounds = int(args[0]) if args else 5
    binary = gobench.build()
    values = dict(cpython_bench.workloads())
    rows = {w: [] for w in WORKLOADS}
    for _ in range(rounds):
        for w in WORKLOADS:
            v = values[w]
            ns = cpython_bench.best_ns(lambda: pickle.dumps(v, 5), min_time=0.2)
            g = go_run(binary, w)
            if old:
                g["old"] = go_run(old, w)
            rows[w].append(((ns, cpython_bench.best_ns.cpu), g))
    med = statistics.median
    print("| workload | Marshal ms (cpu) | allocs/op | CPython dumps ms (cpu) | vs CPython, wall / cpu "
          "| SortMapKeys(false) vs CPython | og-rek ms (cpu) | vs og-rek, wall / cpu | result floor ms (cpu) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for w in WORKLOADS:
        rs = rows[w]

        def m(variant, unit):
            return med(g[variant][unit] for _, g in rs)

        def ratio(variant, unit, cp):
            i = 0 if unit == "ns/op" else 1
            return med(c[i] / g[variant][unit] for c, g in rs) if cp else med(
                g["ogrek"][unit] / g[variant][unit] for _, g in rs)
        print("| %s | %.3f (%.3f) | %d | %.3f (%.3f) | %.2f× / %.2f× | %.2f× / %.2f× | %.3f (%.3f) | %.2f× / %.2f× "
              "| %.3f (%.3f) |" % (
            w, m("segpickle-bytes", "ns/op") / 1e6, m("segpickle-bytes", "cpu-ns/op") / 1e6,
            m("segpickle-bytes", "allocs/op"),
            med(c[0] for c, _ in rs) / 1e6, med(c[1] for c, _ in rs) / 1e6,
            ratio("segpickle-bytes", "ns/op", True), ratio("segpickle-bytes", "cpu-ns/op", True),
            ratio("segpickle-unsorted", "ns/op", True), ratio("segpickle-unsorted", "cpu-ns/op", True),
            m("ogrek", "ns/op") / 1e6, m("ogrek", "cpu-ns/op") / 1e6,
            ratio("segpickle-bytes", "ns/op", False), ratio("segpickle-bytes", "cpu-ns/op", False),
            m("go-result-floor", "ns/op") / 1e6, m("go-result-floor", "cpu-ns/op") / 1e6))
    if old:
        print("\n| workload | variant | old vs CPython, wall / cpu | new vs CPython, wall / cpu | new/old cpu |")
        print("|---|---|---|---|---|")
        for w in WORKLOADS[:4]:
            for var in ["segpickle-bytes", "segpickle-unsorted"]:
                rs = rows[w]
                f = [med(c[i] / g["old"][var][u] for c, g in rs) for i, u in ((0, "ns/op"), (1, "cpu-ns/op"))]
                n = [med(c[i] / g[var][u] for c, g in rs) for i, u in ((0, "ns/op"), (1, "cpu-ns/op"))]
                r = med(g[var]["cpu-ns/op"] / g["old"][var]["cpu-ns/op"] for _, g in rs)
                print("| %s | %s | %.2f× / %.2f× | %.2f× / %.2f× | %.2f |" % (w, var, f[0], f[1], n[0], n[1], r))
    seg = rows["bytes_1MiB"]
    print("\nbytes_1MiB into a segment list (EncodeTo): %.0f ns/op, %d B/op, %d allocs/op (median of %d rounds)" % (
        med(g["segpickle-segments"]["ns/op"] for _, g in seg), med(g["segpickle-segments"]["B/op"] for _, g in seg),
        med(g["segpickle-segments"]["allocs/op"] for _, g in seg), rounds))


if __name__ == "__main__":
    main()
