package unpickler_test

import (
	"bytes"
	"slices"
	"testing"

	op "github.com/segpickle/segpickle/internal/opcode"
	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// opcodeSamples holds, for every opcode of pickletools.opcodes, a small
// valid pickle that uses it (CPython's pickletools confirms it does). CPython
// never writes some of them (DUP, POP_MARK, INST, …), so neither the golden
// corpus nor a short fuzz run is sure to reach their handlers: this table
// is what makes a broken handler — an injected panic included — fail the
// tests. cmp: CPython loads it (with safe globals only) to the object the
// Go decoder's value re-encodes to.
var opcodeSamples = []struct {
	name string
	data string
	cmp  bool
	opts []unpickler.Option
}{
	{"INT", "I42\nI01\n\x86.", true, nil},
	{"BININT", "J\x01\x00\x00\x80.", true, nil},
	{"BININT1", "K\x05.", true, nil},
	{"BININT2", "M\x01\x02.", true, nil},
	{"LONG", "L123456789012345678901234567890L\n.", true, nil},
	{"LONG1", "\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00.", true, nil},
	{"LONG4", "\x8b\x02\x00\x00\x00\x01\x82.", true, nil},
	{"STRING", "S'a\\nb'\n.", true, nil},
	{"BINSTRING", "T\x02\x00\x00\x00ab.", true, nil},
	{"SHORT_BINSTRING", "U\x02a\xe9.", true, nil},
	{"BINBYTES", "B\x02\x00\x00\x00ab.", true, nil},
	{"SHORT_BINBYTES", "C\x02ab.", true, nil},
	{"BINBYTES8", "\x8e\x02\x00\x00\x00\x00\x00\x00\x00ab.", true, nil},
	{"BYTEARRAY8", "\x8e\x02\x00\x00\x00\x00\x00\x00\x00ab\x96\x02\x00\x00\x00\x00\x00\x00\x00ab\x86.", true, nil},
	{"NEXT_BUFFER", "\x80\x05\x97.", false, []unpickler.Option{unpickler.Buffers([]byte("buf"))}},
	{"READONLY_BUFFER", "\x80\x05\x97\x98\x97\x86.", false, []unpickler.Option{unpickler.Buffers([]byte("ro"), []byte("rw"))}},
	{"NONE", "N.", true, nil},
	{"NEWTRUE", "\x88.", true, nil},
	{"NEWFALSE", "\x89.", true, nil},
	{"UNICODE", "Vab\\u00e9\\U0001f600\n.", true, nil},
	{"SHORT_BINUNICODE", "\x8c\x02ab.", true, nil},
	{"BINUNICODE", "X\x02\x00\x00\x00\xc3\xa9.", true, nil},
	{"BINUNICODE8", "\x8d\x02\x00\x00\x00\x00\x00\x00\x00ab.", true, nil},
	{"FLOAT", "F1.5\nF-0.0\n\x86.", true, nil},
	{"BINFLOAT", "G?\xf8\x00\x00\x00\x00\x00\x00.", true, nil},
	{"EMPTY_LIST", "].", true, nil},
	{"APPEND", "]K\x01a.", true, nil},
	{"APPENDS", "](K\x01K\x02e.", true, nil},
	{"LIST", "(K\x01l.", true, nil},
	{"EMPTY_TUPLE", ").", true, nil},
	{"TUPLE", "(K\x01K\x02t.", true, nil},
	{"TUPLE1", "K\x01\x85.", true, nil},
	{"TUPLE2", "K\x01K\x02\x86.", true, nil},
	{"TUPLE3", "K\x01K\x02K\x03\x87.", true, nil},
	{"EMPTY_DICT", "}.", true, nil},
	{"DICT", "(K\x01K\x02K\x03]d.", true, nil},
	{"SETITEM", "}K\x01K\x02s.", true, nil},
	{"SETITEMS", "}(K\x01K\x02K\x03K\x04u.", true, nil},
	{"EMPTY_SET", "\x8f.", true, nil},
	{"ADDITEMS", "\x8f(K\x01K\x02\x90.", true, nil},
	{"FROZENSET", "(K\x01K\x02\x91.", true, nil},
	{"POP", "K\x01K\x020.", true, nil},
	{"DUP", "]2K\x01a\x86.", true, nil}, // one list twice, shared
	{"MARK", "(K\x01t.", true, nil},
	{"POP_MARK", "K\x01(K\x02K\x031.", true, nil},
	{"GET", "]p0\n0g0\nK\x01a.", true, nil},
	{"BINGET", "]q\x070h\x07h\x07\x86.", true, nil},
	{"LONG_BINGET", "]r\x00\x00\x01\x000j\x00\x00\x01\x00j\x00\x00\x01\x00\x86.", true, nil},
	{"PUT", "]p7\n.", true, nil},
	{"BINPUT", "]q\x01.", true, nil},
	{"LONG_BINPUT", "]r\x01\x00\x00\x00.", true, nil},
	{"MEMOIZE", "\x80\x04]\x94h\x00\x86.", true, nil},
	{"EXT1", "\x82\x01.", false, []unpickler.Option{unpickler.Extensions(map[int32]py.Global{1: {Module: "m", Name: "f"}})}},
	{"EXT2", "\x83\x01\x02.", false, []unpickler.Option{unpickler.Extensions(map[int32]py.Global{0x201: {Module: "m", Name: "f"}})}},
	{"EXT4", "\x84\x01\x02\x03\x04.", false, []unpickler.Option{unpickler.Extensions(map[int32]py.Global{0x4030201: {Module: "m", Name: "f"}})}},
	{"GLOBAL", "c__builtin__\nset\n(K\x01\x85tR.", true, nil},
	{"STACK_GLOBAL", "\x8c\x08builtins\x8c\tfrozenset\x93]K\x07a\x85R.", true, nil},
	{"REDUCE", "cbuiltins\ncomplex\nG?\xf8\x00\x00\x00\x00\x00\x00K\x02\x86R.", true, nil},
	{"BUILD", "ccollections\nOrderedDict\n)R}U\x01aK\x01sb.", false, nil},
	{"INST", "(K\x01K\x02imymod\nC\n.", false, nil},
	{"OBJ", "(cmymod\nC\nK\x01o.", false, nil},
	{"NEWOBJ", "cmymod\nC\nK\x01\x85\x81.", false, nil},
	{"NEWOBJ_EX", "cmymod\nC\n)}U\x01kK\x01s\x92.", false, nil},
	{"PROTO", "\x80\x02N.", true, nil},
	{"STOP", "N.", true, nil},
	{"FRAME", "\x80\x04\x95\x02\x00\x00\x00\x00\x00\x00\x00N.", true, nil},
	{"PERSID", "Pk1\n.", false, nil},
	{"BINPERSID", "K\x01Q.", false, nil},
}

func TestEveryOpcode(t *testing.T) {
	var names []string
	for _, s := range opcodeSamples {
		names = append(names, s.name)
	}
	for _, info := range op.All() {
		if !slices.Contains(names, info.Name) {
			t.Errorf("opcode %s has no sample in opcodeSamples", info.Name)
		}
	}
	for _, s := range opcodeSamples {
		t.Run(s.name, func(t *testing.T) {
			data := []byte(s.data)
			ops := cpython(t, cpyRequest{A: data, Ops: true}).Ops
			if !slices.Contains(ops, s.name) {
				t.Fatalf("sample does not use %s: pickletools reads %v", s.name, ops)
			}
			v, err := unpickler.Load(data, s.opts...)
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			segs := make([][]byte, len(data))
			for i := range data {
				segs[i] = data[i : i+1]
			}
			var v2 any
			if err := unpickler.UnmarshalSegments(segs, &v2, s.opts...); err != nil {
				t.Fatalf("segments: %v", err)
			}
			if d := valueDiff(v, v2); d != "" {
				t.Fatalf("bytes and segments differ: %s", d)
			}
			var v3 any
			if err := unpickler.NewDecoder(&slowReader{r: bytes.NewReader(data), n: 1}, s.opts...).Decode(&v3); err != nil {
				t.Fatalf("reader: %v", err)
			}
			if d := valueDiff(v, v3); d != "" {
				t.Fatalf("bytes and reader differ: %s", d)
			}
			out, err := pickler.Marshal(v)
			if msg := internalError(err); msg != "" {
				t.Fatalf("re-encode: %s", msg)
			}
			if !s.cmp {
				return
			}
			if err != nil {
				t.Fatalf("re-encode: %v", err)
			}
			for _, proto := range []int{0, 2, 5} {
				out, err = pickler.Marshal(v, pickler.Protocol(proto))
				if err != nil {
					t.Fatalf("re-encode at %d: %v", proto, err)
				}
				if res := cpython(t, cpyRequest{A: data, B: out}); res.Status != "equal" {
					t.Fatalf("protocol %d: CPython: %s: %s\n%q", proto, res.Status, res.Msg, out)
				}
			}
		})
	}
}

// The DUP sample stays shared: one list, twice.
func TestDupShares(t *testing.T) {
	v, err := unpickler.Load([]byte("]2K\x01a\x86."))
	if err != nil {
		t.Fatal(err)
	}
	tu := v.(py.Tuple)
	a, b := tu[0].([]any), tu[1].([]any)
	if len(a) != 1 || &a[0] != &b[0] {
		t.Fatalf("DUP of a list gave %v and %v, not one list", a, b)
	}
}
