"""Channel over the Go echo server (TCP and Unix sockets), and the demo in
its quick mode."""
import json
import os
import signal
import time
import pickle
import socket
import subprocess
import sys
import tempfile
import unittest

import segpickle
from segpickle import Channel
from segpickle._channel import frame_header
from segpickle.demo import EchoServer
from support import ROOT, cli_path

os.environ.setdefault("SEGPICKLE_BIN", cli_path())


def buffer_address(view) -> int:
    import ctypes
    return ctypes.addressof(ctypes.c_char.from_buffer(view))


def child_pids(ppid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/stat" % d) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if int(fields[1]) == ppid:
                    out.append(int(d))
            except OSError:
                pass
    return out


def is_zombie(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


class ServerCase(unittest.TestCase):
    mode = "raw"

    @classmethod
    def setUpClass(cls):
        cls.server = EchoServer(cls.mode)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()


OBJS = [None, 1, -2**70, 1.5, "héllo", b"b" * 300000, bytearray(b"ba"), (1, (2,)), [1, [2, [3]]],
        {"k": {"n": [b"x" * 70000] * 2}}, set(range(10)), frozenset("ab")]


class RawEcho(ServerCase):
    def test_every_protocol(self):
        with Channel(self.server.address) as ch:
            for proto in range(6):
                for obj in OBJS:
                    with self.subTest(proto=proto, obj=repr(obj)[:40]):
                        self.assertEqual(ch.call(obj, protocol=proto), obj)

    def test_multi_segment_message_arrives_byte_identical(self):
        payload = bytes(range(256)) * 4096
        oob = bytearray(b"o" * 200000)
        obj = {"frames": ["s%d" % i for i in range(20000)], "payload": payload, "oob": pickle.PickleBuffer(oob)}
        buf = segpickle.SegmentBuffer()
        pickle.Pickler(buf, 5, buffer_callback=buf.buffer_callback).dump(obj)
        self.assertGreater(buf.nsegments, 2)
        with Channel(self.server.address) as ch:
            ch.send_buffer(buf)
            data, body, bufs = ch.recv_frame()
        self.assertEqual(bytes(body), buf.tobytes())
        self.assertEqual([bytes(b) for b in bufs], [bytes(oob)])
        out = pickle.loads(body, buffers=bufs)
        self.assertEqual(out["payload"], payload)
        self.assertEqual(bytes(out["oob"]), bytes(oob))

    def test_out_of_band_arrives_as_view_of_the_frame(self):
        with Channel(self.server.address) as ch:
            out = ch.call(pickle.PickleBuffer(bytearray(b"z" * 100000)), out_of_band=True)
        self.assertIsInstance(out, memoryview)
        self.assertEqual(bytes(out), b"z" * 100000)

    def test_out_of_band_buffers_arrive_aligned(self):
        # Frame version 2: every buffer at a 64-byte boundary, whatever the
        # pickle's length and the buffers' lengths before it.
        for pad in (0, 1, 7, 63, 64, 100):
            bufs = [pickle.PickleBuffer(bytearray(b"%d" % i) * n) for i, n in enumerate((1, 65, 3, 4096))]
            with Channel(self.server.address) as ch:
                ch.send(["p" * pad] + bufs, out_of_band=True)
                _, body, got = ch.recv_frame()
            self.assertEqual(len(got), 4)
            for g, b in zip(got, bufs):
                self.assertEqual(bytes(g), bytes(b.raw()))
                if len(g):
                    self.assertEqual(buffer_address(g) % 64, 0, (pad, len(g)))

    def test_peer_close_is_eof(self):
        with Channel(self.server.address) as ch:
            ch._sock.shutdown(socket.SHUT_WR)
            with self.assertRaises(EOFError):
                ch.recv()


class DecodeEcho(ServerCase):
    mode = "decode"

    def test_go_codec_on_the_path(self):
        with Channel(self.server.address) as ch:
            for proto in range(6):
                for obj in OBJS:
                    with self.subTest(proto=proto, obj=repr(obj)[:40]):
                        self.assertEqual(ch.call(obj, protocol=proto), obj)
            out = ch.call(pickle.PickleBuffer(bytearray(b"q" * 5000)), out_of_band=True)
            self.assertEqual(bytes(out), b"q" * 5000)
            # The Go pickler's reply is a version 2 frame too: aligned buffers.
            out = ch.call(["odd" * 7, pickle.PickleBuffer(bytearray(b"r" * 999))], out_of_band=True)
            self.assertEqual(bytes(out[1]), b"r" * 999)
            self.assertEqual(buffer_address(out[1]) % 64, 0)

    def test_server_survives_garbage(self):
        s = socket.create_connection(self.server.address.rsplit(":", 1))
        s.sendall(b"GET / HTTP/1.1\r\n\r\n")
        s.settimeout(10)
        try:
            self.assertEqual(s.recv(1), b"")  # dropped
        except ConnectionResetError:
            pass  # dropped, with unread garbage still queued
        s.close()
        s = socket.create_connection(self.server.address.rsplit(":", 1))
        s.sendall(frame_header(1000, []) + b"partial")
        s.close()  # killed mid-frame
        with Channel(self.server.address) as ch:
            self.assertEqual(ch.call([1, 2]), [1, 2])


class UnixSocket(unittest.TestCase):
    def test_unix_socket(self):
        path = os.path.join(tempfile.mkdtemp(), "echo.sock")
        proc = subprocess.Popen([os.environ["SEGPICKLE_BIN"], "echo-server", "--listen", "unix:" + path, "--quiet"],
                                stdout=subprocess.PIPE)
        try:
            self.assertTrue(proc.stdout.readline().startswith(b"listening unix"))
            with Channel(path) as ch:
                self.assertEqual(ch.call({"u": b"x" * 100000}), {"u": b"x" * 100000})
        finally:
            proc.terminate()
            self.assertEqual(proc.wait(10), 0, "echo-server should exit cleanly on SIGTERM")
            proc.stdout.close()

    def test_bad_address(self):
        with self.assertRaises(ValueError):
            Channel("nonsense")


class Demo(unittest.TestCase):
    def test_quick_demo_json(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "pyext"))
        p = subprocess.run([sys.executable, "-m", "segpickle.demo", "--json", "--quick"], capture_output=True,
                           timeout=300, env=env)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        doc = json.loads(p.stdout)
        modes = {(r["mode"], r["size"]) for r in doc["results"]}
        self.assertEqual(modes, {(m, s) for m in ("contiguous", "segmented", "out-of-band")
                                 for s in (1 << 10, 1 << 20, 16 << 20)})
        for r in doc["results"]:
            self.assertEqual(set(r["phases_us"]), {"pickle", "write", "read", "unpickle"})
            self.assertGreater(r["round_trip_us"], 0)

    def test_ctrl_c_stops_the_server(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "pyext"))
        p = subprocess.Popen([sys.executable, "-m", "segpickle.demo"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=env)
        children = []
        for _ in range(100):  # wait for the echo server to appear
            children = child_pids(p.pid)
            if children:
                break
            time.sleep(0.05)
        self.assertTrue(children, "the demo started no echo server")
        time.sleep(0.5)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 130, err.decode())
        for pid in children:
            self.assertFalse(os.path.exists("/proc/%d" % pid) and not is_zombie(pid),
                             "echo server %d still running after Ctrl-C" % pid)

    def test_demo_tables(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "pyext"))
        p = subprocess.run([sys.executable, "-m", "segpickle.demo", "--quick"], capture_output=True, timeout=300,
                           env=env)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        out = p.stdout.decode()
        for word in ("1 MiB payload", "contiguous", "segmented", "out-of-band", "round trip"):
            self.assertIn(word, out)


if __name__ == "__main__":
    unittest.main()
