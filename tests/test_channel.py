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
import threading
import unittest

import segpickle
from segpickle import Channel
from segpickle._channel import frame_header
from segpickle.demo import EchoServer
import segpickle._channel
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


def has_socket(pid):
    try:
        return any(os.readlink("/proc/%d/fd/%s" % (pid, fd)).startswith("socket:")
                   for fd in os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return False


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

    def test_channel_works_in_a_forked_child(self):
        # Channel needs no Go: a child forked after the library was loaded
        # (where Go calls raise SegpickleForkError) can still use it.
        segpickle._lib.lib()
        pid = os.fork()
        if pid == 0:  # the child: exit status says what happened
            code = 1
            try:
                with Channel(self.server.address, timeout=60) as ch:
                    ok = ch.call({"x": b"y" * 100000}, out_of_band=True) == {"x": b"y" * 100000}
                code = 0 if ok else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.waitstatus_to_exitcode(status), 0)

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


class HostileServer:
    """A one-connection server on loopback, in this process: script(conn)
    runs in a thread; the connection is closed when it returns (or after
    `linger` seconds at most, so that a test that fails cannot hang)."""

    def __init__(self, script, linger=20.0):
        self.ln = socket.socket()
        self.ln.bind(("127.0.0.1", 0))
        self.ln.listen(1)
        self.address = "127.0.0.1:%d" % self.ln.getsockname()[1]
        self.script, self.linger = script, linger
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.ln.settimeout(self.linger)
        try:
            conn, _ = self.ln.accept()
        except OSError:
            return
        try:
            self.script(conn, self)
        except OSError:
            pass
        finally:
            conn.close()
            self.ln.close()

    def hold(self, conn):
        """Keeps conn open until the test ends (or linger passes: then
        `lingered` is set, which a test can check)."""
        self.lingered = not self.done.wait(self.linger)

    def close(self):
        self.done.set()
        self.thread.join(self.linger + 5)


def v1_frame(body, bufs):
    h = bytearray(frame_header(len(body), [len(b) for b in bufs]))
    h[2] = 1
    return bytes(h) + body + b"".join(bufs)


def channel_over(sock):
    """A Channel on an already connected socket (a socketpair end), set up
    as Channel.__init__ sets up its own."""
    ch = Channel.__new__(Channel)
    ch._sock, ch.timeout, ch._broken, ch.max_frame = sock, None, None, segpickle._channel.DEFAULT_MAX_FRAME
    ch._sliced = segpickle._channel._set_recv_slice(sock)
    return ch


class FakeSocket:
    """recv_into writes `data` into the buffer (as a read that returned),
    then raises KeyboardInterrupt: what a Ctrl-C acted on inside or just
    after a blocking read looks like to the caller."""

    def __init__(self, data):
        self.data = data

    def fileno(self):
        return 99

    def recv_into(self, buf, *args):
        buf[:len(self.data)] = self.data
        raise KeyboardInterrupt


class SmallFramePaths(unittest.TestCase):
    """recv_frame's first read blocks as on a plain socket (issue 12, small
    messages); the paths around it."""

    def test_reads_wait_a_slice_at_most(self):
        import struct
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        try:
            with Channel("127.0.0.1:%d" % srv.getsockname()[1]) as ch:
                tv = ch._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.calcsize("@ll"))
                sec, usec = struct.unpack("@ll", tv)
                self.assertTrue(ch._sliced)
                self.assertAlmostEqual(sec + usec / 1e6, segpickle._channel.WAIT_SLICE, places=2)
        finally:
            srv.close()

    def test_frame_arriving_in_pieces(self):
        # The header in two pieces, then the body after more than a slice:
        # the first read returns short, the rest is waited for.
        body = pickle.dumps({"k": [1, 2, b"v" * 500]}, 5)
        frame = frame_header(len(body), []) + body
        for cuts in ([8, 16], [16], [3, 16, 40]):
            with self.subTest(cuts=cuts):
                a, b = socket.socketpair()

                def write():
                    prev = 0
                    for c in cuts + [len(frame)]:
                        b.sendall(frame[prev:c])
                        prev = c
                        time.sleep(segpickle._channel.WAIT_SLICE * 1.5)

                t = threading.Thread(target=write)
                t.start()
                try:
                    ch = channel_over(a)
                    self.assertEqual(ch.recv(), pickle.loads(body))
                    self.assertFalse(ch._broken)
                finally:
                    t.join()
                    a.close()
                    b.close()

    def test_frames_written_together(self):
        # The first read of a frame takes up to SCRATCH bytes: what it reads
        # past the frame is the next frames' beginning, read from there.
        from segpickle._channel import frame_segments
        small = pickle.dumps([1, "x"], 5)
        big = pickle.dumps(b"b" * (3 * segpickle._channel.SCRATCH), 5)
        oob_buf = segpickle.dumps_segments(pickle.PickleBuffer(bytearray(b"o" * 5000)), out_of_band=True)
        oob = b"".join(bytes(m) for m in frame_segments(oob_buf._segs, oob_buf._oob))
        frames = [frame_header(len(small), []) + small] * 3 + [frame_header(len(big), []) + big, oob,
                                                                frame_header(len(small), []) + small]
        a, b = socket.socketpair()
        t = threading.Thread(target=lambda: (b.sendall(b"".join(frames)), b.shutdown(socket.SHUT_WR)))
        t.start()
        try:
            time.sleep(0.2)  # all of it waiting in the socket
            ch = channel_over(a)
            self.assertEqual(ch.pending(), 0)
            self.assertEqual(ch.recv(), [1, "x"])
            self.assertGreater(ch.pending(), 0)  # the next frames, read with the first
            for want in [[1, "x"]] * 2 + [b"b" * (3 * segpickle._channel.SCRATCH)]:
                self.assertEqual(ch.recv(), want)
            got = ch.recv()
            self.assertEqual(bytes(got), b"o" * 5000)
            self.assertEqual(ch.recv(), [1, "x"])
            with self.assertRaises(EOFError):
                ch.recv()
            self.assertFalse(ch._broken)
        finally:
            t.join()
            a.close()
            b.close()

    def test_small_frame_is_a_bytearray_view(self):
        a, b = socket.socketpair()
        try:
            body = pickle.dumps([1, "x"], 5)
            b.sendall(frame_header(len(body), []) + body)
            data, view, bufs = channel_over(a).recv_frame()
            self.assertEqual(bytes(view), body)
            self.assertIs(view.obj, data)
            self.assertEqual(bufs, [])
            b.close()
            self.assertIsNone(channel_over(a).recv_frame())  # a clean end of stream
        finally:
            a.close()
            b.close()

    def test_ctrl_c_before_anything_was_read_keeps_the_channel(self):
        ch = channel_over(socket.socket())
        ch._sock.close()
        ch._sock = FakeSocket(b"")
        with self.assertRaises(KeyboardInterrupt):
            ch.recv_frame()
        self.assertFalse(ch._broken)

    def test_ctrl_c_after_a_read_breaks_the_channel(self):
        ch = channel_over(socket.socket())
        ch._sock.close()
        ch._sock = FakeSocket(frame_header(10, [])[:5])
        with self.assertRaises(KeyboardInterrupt):
            ch.recv_frame()
        self.assertTrue(ch._broken)
        with self.assertRaises(segpickle.ChannelBrokenError):
            ch.recv_frame()


class Hostile(unittest.TestCase):
    """Channel against servers that misbehave (issue 11)."""

    def serve(self, script, **kw):
        srv = HostileServer(script, **kw)
        self.addCleanup(srv.close)
        return srv

    def test_recv_timeout_with_nothing_pending(self):
        srv = self.serve(lambda c, s: s.hold(c))
        with Channel(srv.address, timeout=0.3) as ch:
            with self.assertRaises(TimeoutError):
                ch.recv()
            with self.assertRaises(TimeoutError):
                ch.recv(timeout=0.1)  # the per-call timeout
            self.assertFalse(ch._broken)  # nothing of a frame was read: still usable

    def test_recv_timeout_inside_a_frame_breaks_the_channel(self):
        def script(c, s):
            c.sendall(frame_header(1000, []) + b"partial")
            s.hold(c)
        srv = self.serve(script)
        with Channel(srv.address) as ch:
            with self.assertRaises(TimeoutError):
                ch.recv(timeout=0.3)
            with self.assertRaises(segpickle.ChannelBrokenError):
                ch.recv(timeout=0.3)

    def test_send_timeout_when_the_peer_does_not_read(self):
        srv = self.serve(lambda c, s: s.hold(c))
        with Channel(srv.address, timeout=0.3) as ch:
            with self.assertRaises(TimeoutError):
                ch.send(b"x" * (64 << 20))  # more than the socket buffers hold
            with self.assertRaises(segpickle.ChannelBrokenError):
                ch.send(1)

    def interrupt_when_waiting_in(self, fn_name, to_self_thread):
        """A real SIGINT once the main thread is inside fn_name (seen in its
        stack), not after a fixed delay that a loaded machine could outlast:
        to the process (the kernel picks a thread), or to the watcher's own
        thread, so that the main thread's system call is not interrupted
        and only a bounded wait notices."""
        main = threading.main_thread().ident
        stop = threading.Event()

        def fire():
            while not stop.is_set():
                f = sys._current_frames().get(main)
                while f is not None and f.f_code.co_name != fn_name:
                    f = f.f_back
                if f is not None:
                    stop.wait(0.05)  # let it get into its wait
                    if to_self_thread:
                        signal.pthread_kill(threading.get_ident(), signal.SIGINT)
                    else:
                        os.kill(os.getpid(), signal.SIGINT)
                    return
                stop.wait(0.01)

        t = threading.Thread(target=fire, daemon=True)
        t.start()

        def done():
            stop.set()
            t.join()
        self.addCleanup(done)

    def test_ctrl_c_interrupts_a_recv_wait(self):
        for to_self_thread in (False, True):
            with self.subTest(signal_to_another_thread=to_self_thread):
                srv = self.serve(lambda c, s: s.hold(c), linger=15)
                with Channel(srv.address) as ch:  # no timeout at all
                    self.interrupt_when_waiting_in("recv_frame", to_self_thread)
                    with self.assertRaises(KeyboardInterrupt):
                        ch.recv()
                srv.close()
                # Had recv waited for the peer instead of noticing Ctrl-C, the
                # server would have given up first (and closed the socket).
                self.assertFalse(srv.lingered, "Ctrl-C was acted on only when the peer closed")

    def test_ctrl_c_interrupts_a_send_wait(self):
        srv = self.serve(lambda c, s: s.hold(c))  # never reads
        payload = b"x" * (64 << 20)  # more than the socket buffers hold
        with Channel(srv.address) as ch:
            ch.send(b"first")  # connected and flowing before the signal is armed
            self.interrupt_when_waiting_in("_wait", True)
            with self.assertRaises(KeyboardInterrupt):
                ch.send(payload)
            with self.assertRaises(segpickle.ChannelBrokenError):  # part of a frame went out
                ch.send(1)

    def test_max_frame_refused_before_allocating(self):
        def script(c, s):
            c.sendall(frame_header(1 << 40, []))
            s.hold(c)
        srv = self.serve(script)
        with Channel(srv.address, max_frame=1 << 20) as ch:
            with self.assertRaisesRegex(pickle.UnpicklingError, "max_frame"):
                ch.recv(timeout=60)  # generous: only a hang guard
            with self.assertRaises(segpickle.ChannelBrokenError):
                ch.recv()

    def test_declared_size_costs_nothing_until_bytes_arrive(self):
        # In a child process, so that its peak RSS (VmHWM) says what the
        # receive committed: a header declaring ~1 GiB followed by 4 MiB,
        # then silence. Before, recv committed the whole GiB at once.
        code = r"""
import socket, threading, sys
sys.path[:0] = %r
from segpickle import Channel
from segpickle._channel import frame_header
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
ln = socket.socket(); ln.bind(("127.0.0.1", 0)); ln.listen(1)
ev = threading.Event()
def serve():
    c, _ = ln.accept()
    c.sendall(frame_header((1 << 30) - 64, []) + b"x" * (4 << 20))
    ev.wait(30); c.close()
threading.Thread(target=serve, daemon=True).start()
before = hwm()
with Channel("127.0.0.1:%%d" %% ln.getsockname()[1]) as ch:
    try:
        ch.recv(timeout=1.0)
    except TimeoutError:
        print("timeout", hwm() - before)
ev.set()
""" % ([os.path.join(ROOT, "pyext")],)
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        word, grew = p.stdout.split()
        self.assertEqual(word, b"timeout")
        self.assertLess(int(grew), 64 << 20, "receiving 4 MiB of a 1 GiB frame grew the peak RSS by %s bytes" % grew)

    def test_unknown_version_and_garbage(self):
        for data, pattern in ((b"SP\x09" + frame_header(3, [])[3:] + b"abc", "unsupported frame version 9"),
                              (b"HTTP/1.1 200 OK\r\n\r\n", "bad magic")):
            srv = self.serve(lambda c, s, data=data: (c.sendall(data), s.hold(c)))
            with Channel(srv.address, timeout=60) as ch:  # generous: only a hang guard
                with self.assertRaisesRegex(pickle.UnpicklingError, pattern):
                    ch.recv()

    def test_version_1_frames_are_still_read(self):
        arr = bytearray(b"v1" * 5000)
        with segpickle.SegmentBuffer() as buf:
            pickle.Pickler(buf, 5, buffer_callback=buf.buffer_callback).dump(["x", pickle.PickleBuffer(arr)])
            frame = v1_frame(buf.tobytes(), [bytes(arr)])
        srv = self.serve(lambda c, s: (c.sendall(frame), s.hold(c)))
        with Channel(srv.address, timeout=60) as ch:  # generous: only a hang guard
            out = ch.recv()
        self.assertEqual(out[0], "x")
        self.assertEqual(bytes(out[1]), bytes(arr))

    def test_closed_channel_is_a_clear_error(self):
        srv = self.serve(lambda c, s: s.hold(c))
        ch = Channel(srv.address)
        ch.close()
        for call in (lambda: ch.send(1), ch.recv, ch.recv_frame, lambda: ch.call(1),
                     lambda: ch.send_buffer(segpickle.SegmentBuffer())):
            with self.assertRaisesRegex(ValueError, "closed Channel"):
                call()
        ch.close()  # twice is fine

    def test_bad_limits(self):
        for kw in ({"timeout": -1}, {"timeout": 0}, {"timeout": "1"}, {"max_frame": 0}, {"max_frame": 2 ** 60},
                   {"max_frame": 1.5}):
            with self.assertRaises(ValueError, msg=kw):
                Channel("127.0.0.1:1", **kw)


class Demo(unittest.TestCase):
    def test_quick_demo_json(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "pyext"))
        p = subprocess.run([sys.executable, "-m", "segpickle.demo", "--json", "--quick"], capture_output=True,
                           timeout=300, env=env)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        doc = json.loads(p.stdout)
        self.assertEqual(len(doc["results"]), 9, "one result per mode and size")
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
        # Wait (polling, up to a generous 120 s: a hang guard, not a timed
        # assertion) until the demo is past starting its echo server: the
        # server holds a socket and the demo has connected to it (a socket
        # of its own), rather than for fixed delays.
        children = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and p.poll() is None:
            children = [c for c in child_pids(p.pid) if has_socket(c)]
            if children and has_socket(p.pid):
                break
            time.sleep(0.05)
        self.assertTrue(children, "the demo started no echo server")
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
