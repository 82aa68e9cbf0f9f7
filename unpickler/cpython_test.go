package unpickler_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// cpythonHelper is a long-lived python3 process that loads pickles with
// CPython's pickle module and compares the objects they stand for: the
// oracle of FuzzCPython and TestEveryOpcode. It never runs code from a
// pickle: globals resolve only to a few builtins whose calls are bounded
// (set, frozenset, complex, bytearray of bytes, _codecs.encode with a text
// codec, datetime's types), and its address space is capped, so a forged
// memo index or length fails with MemoryError instead of eating the machine.
const cpythonHelper = `
import _compat_pickle, base64, codecs, datetime, json, math, pickle, pickletools, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (768 << 20, 768 << 20))
sys.setrecursionlimit(20000)

def _bytearray(*a):
    if a and not isinstance(a[0], (bytes, bytearray)):
        raise pickle.UnpicklingError("bytearray of a non-bytes refused")
    return bytearray(*a)

def _bytes(*a):
    if a and not isinstance(a[0], (bytes, bytearray, str)):
        raise pickle.UnpicklingError("bytes of a non-bytes refused")
    return bytes(*a)

def _encode(obj, encoding="utf-8", errors="strict"):
    if codecs.lookup(encoding).name not in ("latin-1", "iso8859-1", "ascii", "utf-8"):
        raise pickle.UnpicklingError("codec refused")
    return codecs.encode(obj, encoding, errors)

SAFE = {("builtins", "set"): set, ("builtins", "frozenset"): frozenset, ("builtins", "complex"): complex,
        ("builtins", "bytearray"): _bytearray, ("builtins", "bytes"): _bytes, ("_codecs", "encode"): _encode,
        ("datetime", "datetime"): datetime.datetime, ("datetime", "timedelta"): datetime.timedelta,
        ("datetime", "timezone"): datetime.timezone}

def restricted(base):
    def find_class(self, module, name):
        # Python 2 names map as CPython maps them (at protocols < 3 only:
        # the base find_class decides, and imports nothing but the
        # allowed modules).
        mod, nm = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        mod = _compat_pickle.IMPORT_MAPPING.get(mod, mod)
        if (mod, nm) not in SAFE:
            raise pickle.UnpicklingError("global %s.%s refused" % (module, name))
        base.find_class(self, module, name)
        return SAFE[(mod, nm)]
    return type("Restricted", (base,), {"find_class": find_class})

Restricted = restricted(pickle.Unpickler)
RestrictedPy = restricted(pickle._Unpickler)  # the pure-Python reader

def load(data, buffers, cls=Restricted):
    import io
    return cls(io.BytesIO(data), encoding="latin1", buffers=buffers).load()

def straddles_frame(data, buffers):
    """An opcode that runs past the end of its FRAME: CPython's C readers
    disagree on such a pickle (pickle.loads reads on, Unpickler.load of a
    file reads the next bytes after the frame), its Python reader refuses
    it, as PEP 3154 says."""
    try:
        load(data, buffers, RestrictedPy)
    except pickle.UnpicklingError as e:
        return "frame" in str(e)
    except (Exception, RecursionError):
        pass
    return False

SHARED = (list, dict, set, bytearray, tuple, frozenset)

def same(a, b, ab, ba):
    if type(a) is not type(b):
        return "type %s vs %s" % (type(a).__name__, type(b).__name__)
    t = type(a)
    if t is float:
        if (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b)):
            return ""
        return "%r vs %r" % (a, b)
    if t is complex:
        return same(a.real, b.real, ab, ba) or same(a.imag, b.imag, ab, ba)
    if t in SHARED and len(a):
        if id(a) in ab or id(b) in ba:
            return "" if ab.get(id(a)) == id(b) and ba.get(id(b)) == id(a) else "shared in one, not in the other: %r" % (a,)
        ab[id(a)], ba[id(b)] = id(b), id(a)
        # (a and b stay alive in their trees, so their ids are not reused)
    if t in (list, tuple):
        if len(a) != len(b):
            return "length %d vs %d" % (len(a), len(b))
        for x, y in zip(a, b):
            d = same(x, y, ab, ba)
            if d:
                return d
        return ""
    if t is dict:
        if len(a) != len(b):
            return "length %d vs %d" % (len(a), len(b))
        for (k1, v1), (k2, v2) in zip(a.items(), b.items()):
            d = same(k1, k2, ab, ba) or same(v1, v2, ab, ba)
            if d:
                return d
        return ""
    if t in (set, frozenset):
        if a == b or sorted(map(repr, a)) == sorted(map(repr, b)):
            return ""
        return "%r vs %r" % (a, b)
    if t is datetime.datetime:
        return "" if a == b and a.utcoffset() == b.utcoffset() and a.fold == b.fold else "%r vs %r" % (a, b)
    return "" if a == b else "%r vs %r" % (a, b)

def answer(**kw):
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()

for line in sys.stdin:
    req = json.loads(line)
    a = base64.b64decode(req["a"])
    buffers = [base64.b64decode(x) for x in req.get("buffers") or []] or None
    if req.get("ops"):
        try:
            answer(ops=[o.name for o, _, _ in pickletools.genops(a)])
        except Exception as e:
            answer(ops=[], msg=repr(e))
        continue
    try:
        want = load(a, buffers)
    except (Exception, RecursionError) as e:
        answer(status="refused", msg="%s: %s" % (type(e).__name__, str(e)[:200]))
        continue
    try:
        got = load(base64.b64decode(req["b"]), buffers)
    except (Exception, RecursionError) as e:
        answer(status="bad", msg="CPython cannot load Go's re-encoding: %s: %s" % (type(e).__name__, str(e)[:300]))
        continue
    try:
        d = same(want, got, {}, {})
    except RecursionError:
        answer(status="refused", msg="too deep to compare")
        continue
    if d and straddles_frame(a, buffers):
        answer(status="refused", msg="an opcode runs past the end of its frame (CPython's readers disagree)")
        continue
    answer(status="differ" if d else "equal", msg=d[:500])
`

type cpyResult struct {
	Status string   `json:"status"`
	Msg    string   `json:"msg"`
	Ops    []string `json:"ops"`
}

type cpyRequest struct {
	A       []byte   `json:"a"`
	B       []byte   `json:"b,omitempty"`
	Buffers [][]byte `json:"buffers,omitempty"`
	Ops     bool     `json:"ops,omitempty"`
}

var cpy struct {
	once sync.Once
	mu   sync.Mutex
	err  error
	in   *json.Encoder
	out  *bufio.Scanner
}

// cpython sends one request to the helper, starting it on first use. Without
// python3 the test is skipped, or fails when CI=true.
func cpython(t testing.TB, req cpyRequest) cpyResult {
	t.Helper()
	cpy.once.Do(func() {
		py, err := exec.LookPath("python3")
		if err != nil {
			cpy.err = err
			return
		}
		cmd := exec.Command(py, "-c", cpythonHelper)
		cmd.Stderr = os.Stderr
		w, err := cmd.StdinPipe()
		if err != nil {
			cpy.err = err
			return
		}
		r, err := cmd.StdoutPipe()
		if err != nil {
			cpy.err = err
			return
		}
		if cpy.err = cmd.Start(); cpy.err != nil {
			return
		}
		// The helper lives as long as this test process: it exits when
		// its stdin closes with us.
		cpy.in = json.NewEncoder(w)
		cpy.out = bufio.NewScanner(r)
		cpy.out.Buffer(make([]byte, 1<<20), 64<<20)
	})
	if cpy.err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("python3 helper: %v", cpy.err)
		}
		t.Skipf("no python3 to compare with (%v)", cpy.err)
	}
	cpy.mu.Lock()
	defer cpy.mu.Unlock()
	if err := cpy.in.Encode(req); err != nil {
		t.Fatalf("python3 helper: %v", err)
	}
	if !cpy.out.Scan() {
		t.Fatalf("python3 helper died: %v", cpy.out.Err())
	}
	var res cpyResult
	if err := json.Unmarshal(cpy.out.Bytes(), &res); err != nil {
		t.Fatalf("python3 helper: %v: %q", err, cpy.out.Bytes())
	}
	return res
}
