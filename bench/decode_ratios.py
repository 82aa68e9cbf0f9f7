"""The decoder's speed against CPython's pickle.loads, gopickle and og-rek,
in paired rounds: in each round, for each workload, CPython's loads and the
Go benchmarks (BenchmarkDecode, protocol 5) run back to back, so that both
see the same load on a shared machine. The table gives medians over the
rounds of each figure and of each round's ratio, by CPU time (process
user + system, the Go collector included); above 1x, segpickle is faster.
Two runs of cpython_bench.py minutes apart differed by up to 1.6x on this
machine at load 1, which a ratio of two separate runs carries whole.

Run from the repository root: python3 bench/decode_ratios.py [ROUNDS]
"""
import os
import pickle
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import cpython_bench  # noqa: E402
import gobench  # noqa: E402

WORKLOADS = ["bytes_1MiB", "ints_100k", "dict_str_float_10k", "messages_10k", "strings_100k"]
VARIANTS = ["segpickle-typed", "segpickle-any", "gopickle", "ogrek"]


def go_run(binary, workload):
    return gobench.run(binary, "BenchmarkDecode$/%s/p5/" % workload)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    binary = gobench.build()
    values = dict(cpython_bench.workloads())
    rows = {w: [] for w in WORKLOADS}
    for _ in range(rounds):
        for w in WORKLOADS:
            data = pickle.dumps(values[w], 5)
            cpython_bench.best_ns(lambda: pickle.loads(data), min_time=0.2)
            rows[w].append((cpython_bench.best_ns.cpu, go_run(binary, w)))
    med = statistics.median
    print("| workload | typed ms, MB | any ms, MB | gopickle ms | og-rek ms | CPython loads ms | "
          "typed vs CPython | any vs CPython | any vs best peer |")
    print("|---|---|---|---|---|---|---|---|---|")
    for w in WORKLOADS:
        rs = rows[w]

        def m(v, unit="cpu-ns/op"):
            xs = [g[v][unit] for _, g in rs if v in g]
            return med(xs) if xs else float("nan")

        def vs_cpython(v):
            return med(c / g[v]["cpu-ns/op"] for c, g in rs)

        def vs_peer():
            return med(min(g[p]["cpu-ns/op"] for p in ("gopickle", "ogrek") if p in g) / g["segpickle-any"]["cpu-ns/op"]
                       for _, g in rs)
        print("| %s | %.2f, %.2f | %.2f, %.2f | %.2f | %.2f | %.2f | %.2f× | %.2f× | %.2f× |" % (
            w, m("segpickle-typed") / 1e6, m("segpickle-typed", "B/op") / 1e6, m("segpickle-any") / 1e6,
            m("segpickle-any", "B/op") / 1e6, m("gopickle") / 1e6, m("ogrek") / 1e6, med(c for c, _ in rs) / 1e6,
            vs_cpython("segpickle-typed"), vs_cpython("segpickle-any"), vs_peer()))


if __name__ == "__main__":
    main()
