"""SegmentBuffer's lifetime rule (issue 8): every payload at or above the
threshold is referenced, whatever its kind; copy=True is the snapshot;
out-of-band buffers keep their writability. numpy's own cases are in
test_numpy.py (run with the interpreter that has numpy)."""
import array
import pickle
import unittest
import warnings

import segpickle
from segpickle import SegmentBuffer


def address(obj) -> int:
    """The address of obj's first byte (read-only or writable)."""
    from segpickle._buffer import _address
    return _address(obj)


BIG = 100_000


class ZeroCopyByDefault(unittest.TestCase):
    def test_every_kind_of_payload_is_referenced(self):
        ba = bytearray(b"a" * BIG)
        ro = b"b" * BIG
        arr = array.array("d", [1.5]) * (BIG // 8)
        cases = {
            "bytes": ro,
            "bytearray": ba,
            "memoryview of bytearray": memoryview(ba),
            "read-only view of a bytearray": memoryview(ba).toreadonly(),
            "PickleBuffer writable": pickle.PickleBuffer(ba),
            "PickleBuffer read-only": pickle.PickleBuffer(ro),
            "array.array (format d)": arr,
        }
        for name, payload in cases.items():
            with self.subTest(name):
                buf = SegmentBuffer()
                self.assertEqual(buf.write(payload), memoryview(payload).nbytes)
                self.assertEqual(address(buf.segments()[0]), address(payload))

    def test_pickler_hands_the_payload_itself(self):
        # pickle.Pickler writes a large bytearray / in-band PickleBuffer
        # straight to write(): the segment is the caller's memory.
        ba = bytearray(b"z" * (1 << 20))
        for obj in (ba, pickle.PickleBuffer(ba)):
            with self.subTest(type(obj).__name__):
                buf = SegmentBuffer()
                pickle.Pickler(buf, 5).dump(obj)
                segs = buf.segments()
                i = [address(s) if len(s) else 0 for s in segs].index(address(ba))
                self.assertEqual(buf.tobytes(), pickle.dumps(obj, 5))
                ba[0] = ord("Z")  # the caller's rule: a change before the write shows
                self.assertEqual(segs[i][0], ord("Z"))
                ba[0] = ord("z")

    def test_change_shows_until_written_snapshot_does_not(self):
        ba = bytearray(b"x" * BIG)
        ref, snap = SegmentBuffer(), SegmentBuffer(copy=True)
        self.assertFalse(ref.copy)
        self.assertTrue(snap.copy)
        for b in (ref, snap):
            pickle.Pickler(b, 5).dump(ba)
        before = snap.tobytes()
        frozen = ref.tobytes()  # tobytes() is a snapshot
        ba[-1] = ord("!")
        self.assertEqual(snap.tobytes(), before)
        self.assertNotEqual(ref.tobytes(), before)
        self.assertEqual(ref.tobytes(), pickle.dumps(ba, 5))
        self.assertEqual(frozen, before)

    def test_small_mutable_payloads_are_copied(self):
        ba = bytearray(b"small")
        buf = SegmentBuffer(threshold=16)
        buf.write(ba)
        ba[0] = ord("S")
        self.assertEqual(buf.tobytes(), b"small")
        big = bytearray(16)
        buf.write(big)
        self.assertEqual(address(buf.segments()[1]), address(big))
        with self.assertRaises(ValueError):
            SegmentBuffer(threshold=-1)

    def test_borrow_mutable_is_a_deprecated_alias(self):
        for borrow, copies in ((True, False), (False, True)):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                buf = SegmentBuffer(borrow_mutable=borrow)
            self.assertTrue(any(issubclass(x.category, DeprecationWarning) for x in w))
            self.assertEqual(buf.copy, copies)

    def test_bytes_of_a_buffer(self):
        buf = segpickle.SegmentBuffer()
        pickle.Pickler(buf, 5).dump({"k": b"v" * BIG})
        self.assertEqual(bytes(buf), pickle.dumps({"k": b"v" * BIG}, 5))


class OutOfBandWritability(unittest.TestCase):
    def roundtrip(self, buf_obj, **kw):
        buf = SegmentBuffer(**kw)
        pickle.Pickler(buf, 5, buffer_callback=buf.buffer_callback).dump(buf_obj)
        return buf, pickle.loads(buf.tobytes(), buffers=buf.out_of_band)

    def test_writable_stays_writable_without_copy(self):
        ba = bytearray(b"w" * BIG)
        buf, out = self.roundtrip(pickle.PickleBuffer(ba))
        expect = pickle.loads(pickle.dumps(pickle.PickleBuffer(ba), 5, buffer_callback=(l := []).append), buffers=l)
        self.assertEqual(out.readonly, memoryview(expect).readonly)
        self.assertFalse(out.readonly)
        self.assertEqual(address(buf.out_of_band[0]), address(ba))  # referenced, not copied
        out[0] = ord("W")
        self.assertEqual(ba[0], ord("W"))  # as with pickle.loads(buffers=[PickleBuffer]): shared

    def test_read_only_stays_read_only(self):
        _, out = self.roundtrip(pickle.PickleBuffer(b"r" * BIG))
        self.assertTrue(memoryview(out).readonly)

    def test_copy_keeps_writability_but_not_identity(self):
        ba = bytearray(b"c" * BIG)
        buf, out = self.roundtrip(pickle.PickleBuffer(ba), copy=True)
        self.assertFalse(memoryview(out).readonly)
        self.assertNotEqual(address(buf.out_of_band[0]), address(ba))
        ba[0] = 0
        self.assertEqual(bytes(out[:1]), b"c")

    def test_segpickle_loads_of_a_buffer_uses_its_out_of_band(self):
        ba = bytearray(b"s" * BIG)
        buf = SegmentBuffer()
        pickle.Pickler(buf, 5, buffer_callback=buf.buffer_callback).dump(pickle.PickleBuffer(ba))
        out = segpickle.loads(buf)
        out[0] = ord("S")  # writable, as pickle.loads would give
        self.assertEqual(ba[0], ord("S"))


class CopiesOfSubclasses(unittest.TestCase):
    """copy and pickle of a SegmentBuffer subclass keep what the subclass
    adds (its __dict__ and its own __slots__), as for any class: only the
    three fields are SegmentBuffer's own state."""

    def test_subclass_dict_and_slots_survive_copy_and_pickle(self):
        import copy

        for sub in (SubWithDict, SubWithSlots):
            s = sub()
            s.write(b"abc")
            s.extra = [1]
            for name, clone in [("copy", copy.copy), ("deepcopy", copy.deepcopy),
                                ("pickle", lambda o: pickle.loads(pickle.dumps(o, 5))),
                                ("pickle 0", lambda o: pickle.loads(pickle.dumps(o, 0)))]:
                with self.subTest(sub=sub.__name__, via=name):
                    other = clone(s)
                    self.assertIs(type(other), sub)
                    self.assertEqual(bytes(other), b"abc")
                    self.assertEqual(other.extra, [1])

    def test_state_of_the_class_itself_is_its_three_fields(self):
        b = SegmentBuffer()
        b.write(b"abc")
        dict_state, slots = b.__getstate__()
        self.assertIsNone(dict_state)
        self.assertEqual(slots, {"_segs": [b"abc"], "_oob": (), "_limit": segpickle.DEFAULT_THRESHOLD})


class SubWithDict(SegmentBuffer):
    pass


class SubWithSlots(SegmentBuffer):
    __slots__ = ("extra",)


if __name__ == "__main__":
    unittest.main()
