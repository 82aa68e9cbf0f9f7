"""Channel: pickles over a socket in segpickle frames (see frame/frame.go
for the format), sent with Go's writev and received into memory Python owns."""
import ctypes
import pickle
import socket
import struct
from typing import Any, List, Optional, Tuple, Union

from . import _lib
from ._buffer import SegmentBuffer, segment_table, write_segments

__all__ = ["Channel", "frame_header", "HEADER"]

HEADER = struct.Struct("<2sBBIQ")  # magic, version, flags, nbuf, body length
VERSION = 1
DEFAULT_MAX_FRAME = 1 << 30


def frame_header(body_len: int, buf_lens: List[int]) -> bytes:
    """The frame header for a pickle of body_len bytes and the given
    out-of-band buffer lengths."""
    return HEADER.pack(b"SP", VERSION, 0, len(buf_lens), body_len) + struct.pack("<%dQ" % len(buf_lens), *buf_lens)


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


class Channel:
    """A connection that sends and receives pickled objects as frames.

    ``send(obj)`` pickles into a SegmentBuffer and has Go write the frame
    (header, segments, out-of-band buffers) with one writev, GIL released.
    ``recv()`` has Go read the frame into one bytearray Python owns, then
    unpickles from it; out-of-band buffers arrive as memoryviews over that
    bytearray, with no copy at all.
    """

    def __init__(self, address: Union[str, Tuple[str, int]], *, timeout: Optional[float] = None,
                 max_frame: int = DEFAULT_MAX_FRAME) -> None:
        family, addr = _parse_address(address)
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(addr)
            self._sock.settimeout(None)  # Go's writev/read expect a blocking descriptor
            if family == socket.AF_INET:
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            self._sock.close()
            raise
        self.max_frame = max_frame

    def fileno(self) -> int:
        """The socket's file descriptor."""
        return self._sock.fileno()

    # --- sending ------------------------------------------------------------
    def send(self, obj: Any, protocol: int = 5, *, out_of_band: bool = False, borrow_mutable: bool = False) -> int:
        """Pickles obj and sends it as one frame; returns the bytes sent.
        With out_of_band=True (protocol 5), PickleBuffers travel as their own
        segments, never copied into the pickle. Mutable buffers (bytearray)
        are copied first unless borrow_mutable=True; the call returns only
        once everything is written, so borrowing is safe unless another
        thread changes them meanwhile."""
        buf = SegmentBuffer(borrow_mutable=borrow_mutable)
        cb = buf.buffer_callback if out_of_band else None
        pickle.Pickler(buf, protocol, buffer_callback=cb).dump(obj)
        try:
            return self.send_buffer(buf)
        finally:
            buf.close()

    def send_buffer(self, buf: SegmentBuffer) -> int:
        """Sends a pickle already written into a SegmentBuffer."""
        oob = buf.out_of_band
        segs = buf._segs  # the objects themselves: no views, no copies
        header = frame_header(sum(len(s) for s in segs), [m.nbytes for m in oob])
        return write_segments(self._sock.fileno(), [header] + segs + oob)

    # --- receiving ---------------------------------------------------------------
    def _read_into(self, view: memoryview) -> int:
        n = len(view)
        if n == 0:
            return 0
        try:
            fn = _lib.lib().segpickle_read_full
        except _lib.SegpickleForkError:
            got = 0
            while got < n:
                k = self._sock.recv_into(view[got:])
                if k == 0:
                    break
                got += k
            return got
        addr = ctypes.addressof(ctypes.c_char.from_buffer(view))
        got = ctypes.c_int64()
        err = ctypes.c_void_p()
        _lib.check(fn(self._sock.fileno(), addr, n, ctypes.byref(got), ctypes.byref(err)), err)
        return got.value

    def recv_frame(self) -> Optional[Tuple[bytearray, memoryview, List[memoryview]]]:
        """Reads one frame: (the frame's bytearray, a view of the pickle,
        views of the out-of-band buffers). None at a clean end of stream."""
        head = bytearray(HEADER.size)
        got = self._read_into(memoryview(head))
        if got == 0:
            return None
        if got < HEADER.size:
            raise EOFError("connection closed inside a frame header")
        magic, version, _flags, nbuf, body = HEADER.unpack(head)
        if magic != b"SP":
            raise pickle.UnpicklingError("not a segpickle frame (bad magic %r)" % magic)
        if version != VERSION:
            raise pickle.UnpicklingError("unsupported frame version %d" % version)
        if nbuf > 1 << 16 or body > self.max_frame:
            raise pickle.UnpicklingError("frame too large (%d bytes, %d buffers)" % (body, nbuf))
        lens = []
        if nbuf:
            raw = bytearray(8 * nbuf)
            if self._read_into(memoryview(raw)) < len(raw):
                raise EOFError("connection closed inside a frame header")
            lens = list(struct.unpack("<%dQ" % nbuf, raw))
        total = body + sum(lens)
        if total > self.max_frame:
            raise pickle.UnpicklingError("frame too large (%d bytes)" % total)
        data = bytearray(total)
        view = memoryview(data)
        if self._read_into(view) < total:
            raise EOFError("connection closed inside a frame")
        bufs, off = [], body
        for n in lens:
            bufs.append(view[off:off + n])
            off += n
        return data, view[:body], bufs

    def recv(self, **loads_kwargs) -> Any:
        """Receives one object (EOFError at end of stream)."""
        fr = self.recv_frame()
        if fr is None:
            raise EOFError("channel closed by peer")
        _, body, bufs = fr
        if bufs:
            loads_kwargs.setdefault("buffers", bufs)
        return pickle.loads(body, **loads_kwargs)

    def call(self, obj: Any, **kw) -> Any:
        """send then recv: one round trip."""
        self.send(obj, **kw)
        return self.recv()

    # --- lifetime ------------------------------------------------------------------
    def close(self) -> None:
        """Closes the socket."""
        self._sock.close()

    def __enter__(self) -> "Channel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
