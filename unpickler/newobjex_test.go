package unpickler_test

import (
	"encoding/hex"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/segpickle/segpickle/pickler"
	"github.com/segpickle/segpickle/py"
	"github.com/segpickle/segpickle/unpickler"
)

// newobjExClasses defines the classes the pickles below name, as in the
// CPython 3.11 session that wrote them: C keeps object.__new__, D has its
// own; both pickle through __getnewargs_ex__ ((1,), {'k': 2}), with
// self.x = 'y'. E.__reduce_ex__ returns (copyreg.__newobj_ex__, (C, (1,),
// {'k': 2}), {'x': 'y'}).
const newobjExClasses = `
class C:
    def __init__(self): pass
    def __getnewargs_ex__(self): return ((1,), {'k': 2})
    def __eq__(self, o): return type(o) is type(self) and o.__dict__ == self.__dict__
class D:
    def __new__(cls, *a, **k):
        if a != (1,) or k != {'k': 2}: raise TypeError("D.__new__ got %r %r" % (a, k))
        return object.__new__(cls)
    __getnewargs_ex__, __eq__ = C.__getnewargs_ex__, C.__eq__
`

// How CPython writes NEWOBJ_EX below protocol 4, and how it writes a
// __reduce_ex__ that names copyreg.__newobj_ex__: each decodes as the
// *py.Object NEWOBJ_EX gives, and its re-encoding at every protocol loads
// in CPython as an object equal to the original's.
func TestNewobjExBelowProtocol4(t *testing.T) {
	cases := []struct{ name, class, hex string }{
		{"partial(object.__new__) protocol 2", "C", "80026366756e63746f6f6c730a7061727469616c0a7100635f5f6275696c74696e5f5f0a676574617474720a7101635f5f6275696c74696e5f5f0a6f626a6563740a710258070000005f5f6e65775f5f7103867104527105857106527107286805635f5f6d61696e5f5f0a430a71084b018671097d710a58010000006b710b4b02734e74710c622952710d7d710e580100000078710f580100000079711073622e"},
		{"partial(object.__new__) protocol 3", "C", "80036366756e63746f6f6c730a7061727469616c0a7100636275696c74696e730a676574617474720a7101636275696c74696e730a6f626a6563740a710258070000005f5f6e65775f5f7103867104527105857106527107286805635f5f6d61696e5f5f0a430a71084b018671097d710a58010000006b710b4b02734e74710c622952710d7d710e580100000078710f580100000079711073622e"},
		{"partial(D.__new__) protocol 2", "D", "80026366756e63746f6f6c730a7061727469616c0a7100635f5f6275696c74696e5f5f0a676574617474720a7101635f5f6d61696e5f5f0a440a710258070000005f5f6e65775f5f710386710452710585710652710728680568024b018671087d710958010000006b710a4b02734e74710b622952710c7d710d580100000078710e580100000079710f73622e"},
		{"partial(D.__new__) protocol 3", "D", "80036366756e63746f6f6c730a7061727469616c0a7100636275696c74696e730a676574617474720a7101635f5f6d61696e5f5f0a440a710258070000005f5f6e65775f5f710386710452710585710652710728680568024b018671087d710958010000006b710a4b02734e74710b622952710c7d710d580100000078710e580100000079710f73622e"},
		{"copy_reg.__newobj_ex__ protocol 0", "C", "63636f70795f7265670a5f5f6e65776f626a5f65785f5f0a70300a28635f5f6d61696e5f5f0a430a70310a2849310a7470320a286470330a566b0a70340a49320a737470350a5270360a286470370a56780a70380a56790a70390a73622e"},
		{"copy_reg.__newobj_ex__ protocol 1", "C", "63636f70795f7265670a5f5f6e65776f626a5f65785f5f0a710028635f5f6d61696e5f5f0a430a7101284b017471027d710358010000006b71044b02737471055271067d71075801000000787108580100000079710973622e"},
	}
	var script strings.Builder
	script.WriteString("import pickle, binascii\n" + newobjExClasses)
	for _, c := range cases {
		data, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		v, err := unpickler.Load(data)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		o, ok := v.(*py.Object)
		if !ok {
			t.Fatalf("%s: decoded %T %v, want a *py.Object", c.name, v, v)
		}
		if o.Class != (py.Global{Module: "__main__", Name: c.class}) || len(o.Args) != 1 || o.Kwargs == nil || o.Kwargs.Len() != 1 || !o.HasState {
			t.Fatalf("%s: decoded %#v", c.name, o)
		}
		if k, _ := o.Kwargs.Get("k"); k == nil {
			t.Fatalf("%s: kwargs %v", c.name, o.Kwargs)
		}
		for proto := 0; proto <= 5; proto++ {
			out, err := pickler.Marshal(v, pickler.Protocol(proto))
			if err != nil {
				t.Fatalf("%s: protocol %d: %v", c.name, proto, err)
			}
			back, err := unpickler.Load(out)
			if err != nil {
				t.Fatalf("%s: protocol %d: %v", c.name, proto, err)
			}
			if d := valueDiff(v, back); d != "" {
				t.Fatalf("%s: protocol %d: %s", c.name, proto, d)
			}
			script.WriteString("a, b = pickle.loads(binascii.unhexlify('" + c.hex + "')), pickle.loads(binascii.unhexlify('" + hex.EncodeToString(out) + "'))\n")
			script.WriteString("assert a == b and a.x == 'y', " + `"` + c.name + " re-encoded at protocol " + string(rune('0'+proto)) + `"` + "\n")
		}
	}
	py3, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("no python3 to load the re-encodings (%v)", err)
	}
	if out, err := exec.Command(py3, "-c", script.String()).CombinedOutput(); err != nil {
		t.Fatalf("CPython: %v\n%s", err, out)
	}
}
