"""How long it takes to send a Python object to a server and get it back,
three ways, for 1 KiB, 1 MiB and 16 MiB bytes payloads: pickle, write the
frame to a socket, the Go echo server sends it back, receive the frame,
unpickle. Each phase is timed (median and p99, in µs); the three modes take
turns in rounds, so that a busy spell on the machine hits them alike:

- contiguous:  pickle.dumps, then the frame header and the pickle joined
               and sent with one sendall on a plain socket, recv_into
               (every byte copied: the baseline)
- segmented:   segpickle.dumps_segments (large payloads kept, not copied),
               sent with one vectored write (sendmsg); the reply is read
               into one buffer
- out-of-band: the payload is a PickleBuffer(bytearray) sent beside the
               pickle as its own segment; the reply's buffer is a
               memoryview over the received frame (no copy at all)

Run: python3 -m segpickle.demo [--json] [--quick] [--mode raw|decode]
(`make demo` builds what it needs and runs it; a pip-installed package
carries the Go server with it.) The server is started on loopback and
stopped on exit, Ctrl-C included.
"""
import argparse
import json
import os
import pickle
import signal
import socket
import statistics
import subprocess
import sys
import time
from typing import Dict, List

from . import Channel, SegmentBuffer, dumps_segments
from ._channel import HEADER, _parse_address, frame_header
from ._paths import cli_path

SIZES = [("1 KiB", 1 << 10), ("1 MiB", 1 << 20), ("16 MiB", 16 << 20)]
ITERATIONS = {1 << 10: 2000, 1 << 20: 300, 16 << 20: 30}
QUICK = {1 << 10: 50, 1 << 20: 10, 16 << 20: 3}
PHASES = ["pickle", "write", "read", "unpickle"]
MODES = ["contiguous", "segmented", "out-of-band"]


def find_server() -> str:
    path = cli_path()
    if path is None:
        raise SystemExit("segpickle demo: the Go CLI was not found (pip install the package, run `make build` "
                         "in a checkout, or set SEGPICKLE_BIN)")
    return path


class EchoServer:
    """The Go echo server as a child process on loopback."""

    def __init__(self, mode: str) -> None:
        self.proc = subprocess.Popen([find_server(), "echo-server", "--listen", "127.0.0.1:0", "--mode", mode,
                                      "--quiet"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = self.proc.stdout.readline().decode().split()
        except BaseException:  # Ctrl-C while it starts: do not leave it running
            self.stop()
            raise
        if len(line) != 3 or line[0] != "listening":
            self.stop()
            raise SystemExit("segpickle demo: echo server did not start: %s" % self.proc.stderr.read().decode())
        self.address = line[2]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


def recv_exact_into(sock: socket.socket, view: memoryview) -> None:
    got = 0
    while got < len(view):
        n = sock.recv_into(view[got:])
        if n == 0:
            raise EOFError("server closed the connection")
        got += n


def plain_socket(address: str) -> socket.socket:
    """A plain blocking socket to address (TCP_NODELAY, as Channel sets)."""
    family, addr = _parse_address(address)
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.connect(addr)
    if family == socket.AF_INET:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def round_trip_contiguous(sock: socket.socket, obj) -> Dict[str, float]:
    t0 = time.perf_counter()
    data = pickle.dumps(obj, 5)
    t1 = time.perf_counter()
    sock.sendall(frame_header(len(data), []) + data)  # one write, as Channel makes one
    t2 = time.perf_counter()
    head = bytearray(HEADER.size)
    recv_exact_into(sock, memoryview(head))
    body = bytearray(HEADER.unpack(head)[4])
    recv_exact_into(sock, memoryview(body))
    t3 = time.perf_counter()
    out = pickle.loads(body)
    t4 = time.perf_counter()
    assert len(out) == len(obj)
    return {"pickle": t1 - t0, "write": t2 - t1, "read": t3 - t2, "unpickle": t4 - t3, "round_trip": t4 - t0}


def round_trip_segmented(ch: Channel, obj, out_of_band: bool) -> Dict[str, float]:
    t0 = time.perf_counter()
    # Payloads, the out-of-band bytearray too, are referenced, not copied
    # (SegmentBuffer's default): they are not changed until the send returns.
    buf = dumps_segments(obj, 5, out_of_band=out_of_band)
    t1 = time.perf_counter()
    ch.send_buffer(buf)
    t2 = time.perf_counter()
    _, body, bufs = ch.recv_frame()
    t3 = time.perf_counter()
    out = pickle.loads(body, buffers=bufs)
    t4 = time.perf_counter()
    assert len(out) == len(obj.raw() if out_of_band else obj)
    buf.close()
    return {"pickle": t1 - t0, "write": t2 - t1, "read": t3 - t2, "unpickle": t4 - t3, "round_trip": t4 - t0}


ROUNDS = 10  # the modes take turns this many times per size


def measure(address: str, size: int, iterations: int) -> Dict[str, Dict[str, List[float]]]:
    """Samples (µs) of every phase of every mode, the modes taking turns
    in ROUNDS rounds, each on its own connection."""
    samples = {m: {p: [] for p in PHASES + ["round_trip"]} for m in MODES}
    objs = {"contiguous": b"x" * size, "segmented": b"x" * size,
            "out-of-band": pickle.PickleBuffer(bytearray(b"x" * size))}
    sock = plain_socket(address)
    try:
        with Channel(address) as seg, Channel(address) as oob:
            steps = {"contiguous": lambda: round_trip_contiguous(sock, objs["contiguous"]),
                     "segmented": lambda: round_trip_segmented(seg, objs["segmented"], False),
                     "out-of-band": lambda: round_trip_segmented(oob, objs["out-of-band"], True)}
            rounds = min(ROUNDS, iterations)
            for r in range(rounds):
                n = iterations // rounds + (1 if r < iterations % rounds else 0)
                for mode in MODES:
                    warm = max(1, n // 10)
                    for i in range(warm + n):
                        res = steps[mode]()
                        if i >= warm:
                            for k, v in res.items():
                                samples[mode][k].append(v * 1e6)
    finally:
        sock.close()
    return samples


def p99(xs: List[float]) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(0.99 * (len(s) - 1))))]


def run(quick: bool, server_mode: str) -> dict:
    results = []
    server = EchoServer(server_mode)
    try:
        for label, size in SIZES:
            n = (QUICK if quick else ITERATIONS)[size]
            by_mode = measure(server.address, size, n)
            for mode in MODES:
                s = by_mode[mode]
                results.append({
                    "mode": mode, "size": size, "label": label, "iterations": n, "server": server_mode,
                    "phases_us": {p: statistics.median(s[p]) for p in PHASES},
                    "phases_p99_us": {p: p99(s[p]) for p in PHASES},
                    "round_trip_us": statistics.median(s["round_trip"]),
                    "round_trip_p99_us": p99(s["round_trip"]),
                })
    finally:
        server.stop()
    return {"results": results}


def print_tables(doc: dict) -> None:
    by = {(r["size"], r["mode"]): r for r in doc["results"]}
    for label, size in SIZES:
        rows = [by[(size, m)] for m in MODES if (size, m) in by]
        if not rows:
            continue
        print("\n%s payload — %d round trips per mode, Go echo server (%s); µs, median / p99" % (
            label, rows[0]["iterations"], rows[0]["server"]))
        print("%-22s" % "phase" + "".join("%24s" % m for m in MODES))
        names = {"pickle": "send: pickle", "write": "send: write frame", "read": "reply: receive frame",
                 "unpickle": "reply: unpickle"}
        for p in PHASES:
            print("%-22s" % names[p] + "".join("%24s" % ("%.1f / %.1f" % (r["phases_us"][p], r["phases_p99_us"][p]))
                                               for r in rows))
        print("%-22s" % "round trip" + "".join("%24s" % ("%.1f / %.1f" % (r["round_trip_us"], r["round_trip_p99_us"]))
                                               for r in rows))
        c = by.get((size, "contiguous"))
        for m in MODES[1:]:
            r = by.get((size, m))
            if c and r:
                print("%s vs contiguous: pickle %s, round trip %s" % (
                    m, compare(r["phases_us"]["pickle"], c["phases_us"]["pickle"]),
                    compare(r["round_trip_us"], c["round_trip_us"])))


def compare(t: float, base: float) -> str:
    """Says how t compares with base, in words that read right both ways:
    "3.10× faster", "1.25× slower", "the same"."""
    if t <= 0 or base <= 0:
        return "not measured"
    r = base / t
    if abs(r - 1) < 0.005:
        return "the same"
    if r > 1:
        return "%.2f× faster" % r
    return "%.2f× slower" % (1 / r)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python3 -m segpickle.demo", description=__doc__.split("\n\nRun:")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    ap.add_argument("--quick", action="store_true", help="few iterations (for tests)")
    ap.add_argument("--mode", choices=["raw", "decode"], default="raw",
                    help="echo server mode: raw echoes frames; decode runs the Go codec on each")
    args = ap.parse_args(argv)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        doc = run(args.quick, args.mode)
    except KeyboardInterrupt:
        print("interrupted; echo server stopped", file=sys.stderr)
        return 130
    if args.json:
        json.dump(doc, sys.stdout, indent=1)
        print()
    else:
        print_tables(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
