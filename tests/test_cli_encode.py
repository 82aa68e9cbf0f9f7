"""`segpickle encode`: JSON on stdin, pickle on stdout, byte-identical to
pickle.dumps(json.loads(doc), protocol) at every protocol."""
import io
import json
import pickle
import pickletools
import random
import unittest

from support import CLITestCase

WORDS = ["", "a", "é", "key", "naïve", "☃", "😀x", "line\nbreak", "back\\slash", "q\"uote", "\x00nul", "\x1a", "x" * 300]


def random_json(rng, depth=0):
    r = rng.random()
    if depth > 4 or r < 0.45:
        kind = rng.randrange(7)
        if kind == 0:
            return rng.choice([None, True, False])
        if kind == 1:
            return rng.choice([0, 1, -1, 255, 256, 65535, 65536, 2**31 - 1, 2**31, -2**31 - 1, 2**63, -2**64 - 3, 10**40])
        if kind == 2:
            return rng.randint(-10**6, 10**6)
        if kind == 3:
            return rng.choice([0.0, -0.0, 0.5, 1e16, 1e-7, 123.456, -2.5e300, 1 / 3])
        return rng.choice(WORDS) + (str(rng.randrange(100)) if rng.random() < 0.5 else "")
    if r < 0.75:
        return [random_json(rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 3, 7, 1001]) if depth == 0 else rng.randrange(5))]
    return {rng.choice(WORDS) + str(rng.randrange(20)): random_json(rng, depth + 1) for _ in range(rng.randrange(6))}


class EncodeTest(CLITestCase):
    def check_doc(self, doc):
        src = json.dumps(doc, ensure_ascii=False).encode()
        want_obj = json.loads(src)
        for proto in range(6):
            _, out, _ = self.cli(["encode", "--protocol", str(proto)], src)
            self.assertEqual(pickle.loads(out), want_obj)
            self.assertEqual(out, pickle.dumps(json.loads(src), proto),
                             "protocol %d differs from CPython for %s" % (proto, src[:200]))
            pickletools.dis(out, out=io.StringIO())  # must parse

    def test_random_documents_match_cpython(self):
        rng = random.Random(1234)
        for _ in range(60):
            self.check_doc(random_json(rng))

    def test_key_order_kept(self):
        src = b'{"z": 1, "a": 2, "m": {"y": 1, "b": 2}}'
        _, out, _ = self.cli(["encode"], src)
        self.assertEqual(list(pickle.loads(out)), ["z", "a", "m"])
        self.assertEqual(list(pickle.loads(out)["m"]), ["y", "b"])

    def test_integers_never_floats(self):
        src = b'[12345678901234567890123456789, -1, 0, 1.0, 1e2]'
        _, out, _ = self.cli(["encode"], src)
        v = pickle.loads(out)
        self.assertEqual([type(x) for x in v], [int, int, int, float, float])
        self.assertEqual(v[0], 12345678901234567890123456789)

    def test_bad_json_exit_1_one_line(self):
        for bad in [b"{", b"[1,]", b"nope", b"", b'{"a":1} trailing', b"\xff"]:
            code, out, err = self.cli(["encode"], bad, check=False)
            self.assertEqual(code, 1, bad)
            self.assertEqual(out, b"")
            self.assertEqual(len(err.decode().strip().splitlines()), 1, err)

    def test_bad_protocol(self):
        code, _, err = self.cli(["encode", "--protocol", "6"], b"1", check=False)
        self.assertEqual(code, 2)  # bad usage, not bad data
        self.assertIn(b"protocol", err)


if __name__ == "__main__":
    unittest.main()
