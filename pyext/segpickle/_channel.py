"""Channel: pickles over a socket in segpickle frames (see frame/frame.go
for the format), sent with one vectored write (sendmsg) per batch of
segments and received into aligned memory Python owns.

The socket is written with MSG_DONTWAIT, and every wait for the peer is a
poll() in slices of at most WAIT_SLICE seconds in Python, so a timeout is
honoured on send and recv (TimeoutError) and Ctrl-C interrupts any wait.
Reading is the same, except for the first read of a frame without a
timeout, which blocks as on a plain socket (one system call where the reply
is not there yet): the socket's SO_RCVTIMEO ends it after WAIT_SLICE, and a
Ctrl-C acted on as it returns breaks the channel if it read anything. That
read asks for up to SCRATCH bytes, so a small frame arrives in one system
call; bytes read past a frame are kept for the next reads.
"""
import ctypes
import mmap
import pickle
import select
import socket
import struct
import time
import warnings
from typing import Any, List, Optional, Tuple, Union

from ._buffer import IOV_MAX, SegmentBuffer

__all__ = ["Channel", "ChannelBrokenError", "frame_header", "frame_layout", "frame_segments", "HEADER", "VERSION",
           "ALIGN", "DEFAULT_MAX_FRAME"]

HEADER = struct.Struct("<2sBBIQ")  # magic, version, flags, nbuf, body length
VERSION = 2  # the version written; version 1 (no padding) is still read
ALIGN = 64  # every out-of-band buffer starts at a multiple of ALIGN from the frame's start
DEFAULT_MAX_FRAME = 1 << 30
MAX_FRAME_LIMIT = 1 << 48  # max_frame may be at most this
MAX_BUFFERS = 1 << 16
WAIT_SLICE = 0.1  # longest single wait: Ctrl-C is seen at least this often
# Frames up to this size are received into a bytearray; larger ones into an
# anonymous mmap, whose pages are committed only as bytes arrive.
SMALL_FRAME = 1 << 20
_ZEROS = bytes(ALIGN)
# A frame without out-of-band buffers whose pickle is under SMALL_SEND bytes
# is joined and sent as one bytes object (see send_buffer).
SMALL_SEND = 16 << 10
# The first read of a frame asks for this much: a frame this small arrives
# in one system call (what is read past it is kept for the next).
SCRATCH = 16 << 10


def frame_header(body_len: int, buf_lens: List[int]) -> bytes:
    """The (version 2) frame header for a pickle of body_len bytes and the
    given out-of-band buffer lengths."""
    return HEADER.pack(b"SP", VERSION, 0, len(buf_lens), body_len) + struct.pack("<%dQ" % len(buf_lens), *buf_lens)


def frame_layout(version: int, body_len: int, buf_lens: List[int]) -> Tuple[List[int], int]:
    """Where each out-of-band buffer starts (offsets from the frame's first
    byte) and the frame's total length. Version 2 pads each buffer to a
    multiple of ALIGN; version 1 puts them back to back."""
    off = HEADER.size + 8 * len(buf_lens) + body_len
    offs = []
    for n in buf_lens:
        if version >= 2:
            off += -off % ALIGN
        offs.append(off)
        off += n
    return offs, off


def frame_segments(segs: List[Any], oob: List[Any]) -> List[Any]:
    """The segments of a whole version 2 frame: header, pickle segments, then
    each out-of-band buffer after its zero padding. Nothing is copied."""
    body = sum(len(s) for s in segs)
    lens = [memoryview(m).nbytes for m in oob]
    out = [frame_header(body, lens)]
    out.extend(segs)
    off = len(out[0]) + body
    for m, n in zip(oob, lens):
        p = -off % ALIGN
        if p:
            out.append(_ZEROS[:p])
        out.append(m)
        off += p + n
    return out


def _address(obj) -> int:
    return ctypes.addressof(ctypes.c_char.from_buffer(obj))


def aligned_buffer(n: int, phase: int = 0) -> Tuple[Any, memoryview]:
    """A writable view of n bytes whose address is phase modulo ALIGN (so
    that index k is ALIGN-aligned where k + phase is a multiple of ALIGN),
    and its owner: a bytearray for small sizes, else an anonymous mmap whose
    memory is committed page by page as it is written."""
    if n + ALIGN <= SMALL_FRAME:
        data = bytearray(n + ALIGN)
    else:
        data = mmap.mmap(-1, n + ALIGN)  # page-aligned, lazily committed
    off = (phase - _address(data)) % ALIGN
    return data, memoryview(data)[off:off + n]


class ChannelBrokenError(OSError):
    """The channel is out of step with its peer (a send or receive stopped
    inside a frame: timeout, interrupt, or a frame refused): close it."""


class _Default:
    def __repr__(self) -> str:
        return "<the channel's timeout>"


_DEFAULT: Any = _Default()


def _set_recv_slice(sock: socket.socket) -> bool:
    """Sets sock's SO_RCVTIMEO to WAIT_SLICE: a blocking read returns
    (EAGAIN if it read nothing) after that long at most. False where the
    system refuses."""
    usec = int(WAIT_SLICE * 1e6)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO,
                        struct.pack("@ll", usec // 1000000, usec % 1000000))  # struct timeval
    except (OSError, AttributeError, struct.error):
        return False
    return True


def _parse_address(address) -> Tuple[int, Any]:
    if isinstance(address, tuple):
        return socket.AF_INET, address
    if isinstance(address, str):
        if address.startswith("unix:"):
            return socket.AF_UNIX, address[5:]
        if "/" in address:
            return socket.AF_UNIX, address
        host, _, port = address.rpartition(":")
        if host and port.isdigit():
            return socket.AF_INET, (host.strip("[]"), int(port))
    raise ValueError("address must be 'host:port', ('host', port), or a Unix socket path; got %r" % (address,))


def _check_timeout(timeout) -> Optional[float]:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError("timeout must be None or a number of seconds > 0, not %r" % (timeout,))
    return float(timeout)


class Channel:
    """A connection that sends and receives pickled objects as frames.

    ``send(obj)`` pickles into a SegmentBuffer (payloads referenced, not
    copied: leave them unchanged until send returns, which is after the
    write) and writes the frame (header, segments, out-of-band buffers each
    padded to a 64-byte boundary) with sendmsg, one vectored write per 1024
    segments. ``recv()`` reads the frame into 64-byte-aligned memory Python
    owns and unpickles from it; out-of-band buffers arrive as writable,
    aligned memoryviews over that memory, with no copy (pickle.loads then
    makes arrays writable exactly when it would).

    Limits: ``timeout`` (seconds, None for none) bounds the connect and each
    send and recv as a whole (``TimeoutError``); every method takes its own
    ``timeout=`` too. Ctrl-C interrupts any wait. ``max_frame`` bounds a
    received frame (``pickle.UnpicklingError`` before anything is
    allocated), and memory grows with the bytes that arrive, not with the
    size a header declares. A send or recv stopped inside a frame leaves the
    stream out of step: later calls raise ``ChannelBrokenError``. Any call
    on a closed channel raises ``ValueError``.
    """

    _sliced = False  # the socket's SO_RCVTIMEO is WAIT_SLICE: a blocking read may wait
    _pending: Any = b""  # bytes read past the frame before: the next reads take them first
    _scratch: Optional[bytearray] = None  # where a frame's first read lands

    def __init__(self, address: Union[str, Tuple[str, int]], *, timeout: Optional[float] = None,
                 max_frame: int = DEFAULT_MAX_FRAME) -> None:
        self.timeout = _check_timeout(timeout)
        if isinstance(max_frame, bool) or not isinstance(max_frame, int) or \
                not HEADER.size <= max_frame <= MAX_FRAME_LIMIT:
            raise ValueError("max_frame must be an int in [%d, %d], not %r" % (HEADER.size, MAX_FRAME_LIMIT, max_frame))
        self.max_frame = max_frame
        self._broken: Optional[str] = None
        family, addr = _parse_address(address)
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(self.timeout)
            try:
                self._sock.connect(addr)
            except socket.timeout:
                raise TimeoutError("Channel: connect to %r timed out after %g s" % (address, self.timeout)) from None
            # Blocking mode, with reads that wait WAIT_SLICE at most; the
            # channel's own calls pass MSG_DONTWAIT but for the one above.
            self._sock.settimeout(None)
            self._sliced = _set_recv_slice(self._sock)
            if family == socket.AF_INET:
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            self._sock.close()
            raise

    def fileno(self) -> int:
        """The socket's file descriptor. Before waiting for it to become
        readable (select, poll), check pending(): bytes of the next frames
        may already have been read."""
        return self._sock.fileno()

    def pending(self) -> int:
        """The bytes already read from the socket past the last frame (a
        peer that wrote several frames at once): recv() takes them first,
        and the socket may not become readable again while they wait, as
        with ssl.SSLSocket.pending()."""
        return len(self._pending)

    @property
    def closed(self) -> bool:
        """True once close() was called (or the socket was closed)."""
        return self._sock.fileno() < 0

    def _check(self) -> None:
        if self._sock.fileno() < 0:
            raise ValueError("I/O on a closed Channel")
        if self._broken:
            raise ChannelBrokenError("Channel is out of step with its peer (%s); close it" % self._broken)

    def _deadline(self, timeout) -> Optional[float]:
        t = self.timeout if timeout is _DEFAULT else _check_timeout(timeout)
        return None if t is None else time.monotonic() + t

    def _wait(self, event: int, deadline: Optional[float], what: str) -> None:
        """Waits until the socket is ready for event, in slices of at most
        WAIT_SLICE s so that a pending signal (Ctrl-C) is acted on."""
        p = select.poll()
        p.register(self._sock.fileno(), event)
        while True:
            if deadline is None:
                slice_ = WAIT_SLICE
            else:
                slice_ = min(WAIT_SLICE, deadline - time.monotonic())
                if slice_ <= 0:
                    raise TimeoutError("Channel.%s timed out" % what)
            if p.poll(slice_ * 1000):
                return

    # --- sending ------------------------------------------------------------
    def send(self, obj: Any, protocol: int = 5, *, out_of_band: bool = False, copy: bool = False,
             borrow_mutable: Optional[bool] = None, timeout: Any = _DEFAULT) -> int:
        """Pickles obj and sends it as one frame; returns the bytes sent.
        Payloads are referenced, not copied (SegmentBuffer's rule; the call
        returns after the write, so only another thread could change them
        meanwhile; copy=True takes snapshots). With out_of_band=True
        (protocol 5), PickleBuffers travel as their own aligned segments.
        borrow_mutable is deprecated (the default references)."""
        self._check()
        if borrow_mutable is not None:
            warnings.warn("Channel.send(borrow_mutable=...) is deprecated: payloads are referenced by default; "
                          "use copy=True for snapshots", DeprecationWarning, stacklevel=2)
            copy = not borrow_mutable
        buf = SegmentBuffer(copy=copy)
        cb = buf.buffer_callback if out_of_band else None
        pickle.Pickler(buf, protocol, buffer_callback=cb).dump(obj)
        try:
            return self.send_buffer(buf, timeout=timeout)
        finally:
            buf.close()

    def send_buffer(self, buf: SegmentBuffer, *, timeout: Any = _DEFAULT) -> int:
        """Sends a pickle already written into a SegmentBuffer (and its
        out-of-band buffers)."""
        if self._broken or self._sock.fileno() < 0:
            self._check()  # raises
        segs = buf._segs
        if segs is None:
            buf._check()  # raises
        deadline = None if timeout is _DEFAULT and self.timeout is None else self._deadline(timeout)
        if not buf._oob and len(segs) < 8:
            body = sum(map(len, segs))  # len is nbytes: segments are bytes or views of format B
            if body < SMALL_SEND:
                # A small frame is one joined copy: cheaper than building
                # the segment table below, and one system call.
                data = HEADER.pack(b"SP", VERSION, 0, 0, body) + (segs[0] if len(segs) == 1 else b"".join(segs))
                try:
                    n = self._sock.send(data, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    n = 0
                except OSError:
                    raise
                except BaseException as e:  # Ctrl-C acted on as the call returned: it wrote what it wrote
                    self._broken = "send stopped: %s" % type(e).__name__
                    raise
                if n == len(data):
                    return n
                return self._sendv([memoryview(data)[n:]], deadline, n)
        # the objects themselves: no views, no copies
        return self._sendv(frame_segments(segs, buf._oob), deadline)

    def _sendv(self, segs: List[Any], deadline: Optional[float], done: int = 0) -> int:
        """Writes segs; done: the bytes of this frame already written."""
        views = [s for s in segs if len(s)]
        total = done + sum(memoryview(s).nbytes for s in views)
        i, sock = 0, self._sock
        try:
            while i < len(views):
                try:
                    n = sock.sendmsg(views[i:i + IOV_MAX], (), socket.MSG_DONTWAIT)
                except BlockingIOError:
                    self._wait(select.POLLOUT, deadline, "send")
                    continue
                except OSError:
                    raise
                except BaseException:
                    # Ctrl-C acted on as the call returned: it wrote what it wrote.
                    done = done or -1
                    raise
                done += n
                while i < len(views):  # skip what was written
                    k = memoryview(views[i]).nbytes
                    if n < k:
                        if n:
                            views[i] = memoryview(views[i]).cast("B")[n:]
                        break
                    n -= k
                    i += 1
        except BaseException as e:
            if done:  # the peer has part of a frame
                self._broken = "send stopped after %s of %d bytes: %s" % (
                    done if done > 0 else "some", total, type(e).__name__)
            raise
        return done

    # --- receiving ---------------------------------------------------------------
    def _recv_into(self, view: memoryview, deadline: Optional[float], started: bool) -> int:
        """Fills view; returns the bytes read (less only at end of stream).
        started: bytes of this frame were already read (a stop breaks)."""
        n, got, sock = len(view), 0, self._sock
        pending = self._pending
        if pending:
            got = min(n, len(pending))
            view[:got] = pending[:got]
            self._pending = pending[got:]
        try:
            while got < n:
                try:
                    k = sock.recv_into(view[got:] if got else view, n - got, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    self._wait(select.POLLIN, deadline, "recv")
                    continue
                except OSError:
                    raise
                except BaseException:
                    # Ctrl-C acted on as the call returned: it read what it read.
                    started = True
                    raise
                if k == 0:
                    break
                got += k
        except BaseException as e:
            if started or got:
                self._broken = "recv stopped inside a frame: %s" % type(e).__name__
            raise
        return got

    def _refuse(self, msg: str):
        self._broken = msg
        raise pickle.UnpicklingError("Channel: " + msg)

    def recv_frame(self, *, timeout: Any = _DEFAULT) -> Optional[Tuple[Any, memoryview, List[memoryview]]]:
        """Reads one frame: (the memory that holds it, a view of the pickle,
        views of the out-of-band buffers, each 64-byte aligned and writable).
        None at a clean end of stream."""
        sock = self._sock
        if self._broken or sock.fileno() < 0:
            self._check()  # raises
        got = 0
        if timeout is _DEFAULT and self.timeout is None and self._sliced and not self._pending:
            deadline = None
            # The reply is seldom there yet: one blocking read, as on a
            # plain socket, that SO_RCVTIMEO ends after WAIT_SLICE (then
            # _recv_into waits on, in poll()). It reads up to SCRATCH
            # bytes: a small frame whole, with its header, in one system
            # call; what it read past the frame waits in _pending. The
            # scratch's first byte is 0 until a byte arrives (a frame starts
            # with b"S"): a Ctrl-C acted on as the read returned breaks the
            # channel only if it read something.
            scratch = self._scratch
            if scratch is None:
                scratch = self._scratch = bytearray(SCRATCH)
            scratch[0] = 0
            try:
                got = sock.recv_into(scratch)
            except BlockingIOError:
                got = 0
            except OSError:
                raise
            except BaseException as e:
                if scratch[0]:
                    self._broken = "recv stopped inside a frame: %s" % type(e).__name__
                raise
            else:
                if got == 0:
                    return None
            if got >= HEADER.size:
                magic, version, _flags, nbuf, body = HEADER.unpack_from(scratch)
                end = HEADER.size + body
                if nbuf == 0 and got >= end and magic == b"SP" and (version == 2 or version == 1) \
                        and end <= self.max_frame:
                    data = scratch[HEADER.size:end]  # the pickle, copied out
                    if got > end:
                        self._pending = memoryview(bytes(scratch[end:got]))
                    return data, memoryview(data), []
            if got:
                self._pending = memoryview(bytes(scratch[:got]))
                got = 0
        else:
            deadline = None if timeout is _DEFAULT and self.timeout is None else self._deadline(timeout)
        head = bytearray(HEADER.size)
        got = self._recv_into(memoryview(head), deadline, False)
        if got == 0:
            return None
        if got < HEADER.size:
            self._broken = "end of stream inside a frame"
            raise EOFError("connection closed inside a frame header")
        magic, version, _flags, nbuf, body = HEADER.unpack(head)
        if nbuf == 0 and magic == b"SP" and (version == 2 or version == 1) and body <= SMALL_FRAME \
                and HEADER.size + body <= self.max_frame:
            # The common small frame: a pickle alone, nothing to align. The
            # peer wrote it with the header: it is most often there already.
            data = bytearray(body)
            got = 0
            if not self._pending:
                try:
                    got = sock.recv_into(data, body, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    pass
                except BaseException as e:
                    self._broken = "recv stopped inside a frame: %s" % type(e).__name__
                    raise
            if got < body and self._recv_into(memoryview(data)[got:], deadline, True) < body - got:
                self._broken = "end of stream inside a frame"
                raise EOFError("connection closed inside a frame")
            return data, memoryview(data), []
        if magic != b"SP":
            self._refuse("not a segpickle frame (bad magic %r)" % bytes(magic))
        if version not in (1, 2):
            self._refuse("unsupported frame version %d (this reader knows versions 1 and 2)" % version)
        if nbuf > MAX_BUFFERS:
            self._refuse("frame of %d out-of-band buffers, at most %d" % (nbuf, MAX_BUFFERS))
        if HEADER.size + 8 * nbuf + body > self.max_frame:
            self._refuse("frame larger than max_frame (pickle of %d bytes, max_frame %d)" % (body, self.max_frame))
        lens: List[int] = []
        if nbuf:
            raw = bytearray(8 * nbuf)
            if self._recv_into(memoryview(raw), deadline, True) < len(raw):
                self._broken = "end of stream inside a frame"
                raise EOFError("connection closed inside a frame header")
            lens = list(struct.unpack("<%dQ" % nbuf, raw))
        offs, size = frame_layout(version, body, lens)
        if size > self.max_frame:
            self._refuse("frame larger than max_frame (%d bytes, max_frame %d)" % (size, self.max_frame))
        start = HEADER.size + 8 * nbuf  # what is read below starts at this frame offset
        total = size - start
        # The frame's first byte would sit on an ALIGN boundary: buffers land aligned.
        data, view = aligned_buffer(total, start)
        if self._recv_into(view, deadline, True) < total:
            self._broken = "end of stream inside a frame"
            raise EOFError("connection closed inside a frame")
        bufs = [view[o - start:o - start + n] for o, n in zip(offs, lens)]
        return data, view[:body], bufs

    def recv(self, *, timeout: Any = _DEFAULT, **loads_kwargs) -> Any:
        """Receives one object (EOFError at end of stream). loads_kwargs go
        to pickle.loads; the frame's out-of-band buffers are its buffers."""
        fr = self.recv_frame(timeout=timeout)
        if fr is None:
            raise EOFError("channel closed by peer")
        _, body, bufs = fr
        if bufs:
            loads_kwargs.setdefault("buffers", bufs)
        return pickle.loads(body, **loads_kwargs)

    def call(self, obj: Any, *, timeout: Any = _DEFAULT, **kw) -> Any:
        """send then recv: one round trip (timeout applies to each)."""
        self.send(obj, timeout=timeout, **kw)
        return self.recv(timeout=timeout)

    # --- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        """Closes the socket."""
        self._sock.close()

    def __enter__(self) -> "Channel":
        self._check()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        if self.closed:
            return "<Channel closed>"
        return "<Channel fd=%d%s>" % (self._sock.fileno(), " broken" if self._broken else "")
