package opcode

import (
	"encoding/json"
	"os/exec"
	"testing"
)

// The table is CPython's pickletools.opcodes: every opcode with its byte,
// name and protocol, and no other byte Valid.
func TestTableIsPickletools(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: pickletools is the oracle of this test")
	}
	out, err := exec.Command(python, "-c",
		"import json, pickletools; print(json.dumps([[o.code.encode('latin1')[0], o.name, o.proto] for o in pickletools.opcodes]))").Output()
	if err != nil {
		t.Fatal(err)
	}
	var want [][3]any
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	all := All()
	if len(all) != len(want) {
		t.Fatalf("All() has %d opcodes, pickletools %d", len(all), len(want))
	}
	byByte := map[byte]Info{}
	for _, i := range all {
		byByte[i.Byte] = i
	}
	for _, w := range want {
		b := byte(w[0].(float64))
		i, ok := byByte[b]
		if !ok || i.Name != w[1].(string) || i.Proto != int(w[2].(float64)) || !Valid(b) || Name(b) != i.Name {
			t.Errorf("opcode 0x%02x: got %+v (valid %v), pickletools %v", b, i, Valid(b), w)
		}
	}
	for b := 0; b < 256; b++ {
		if _, ok := byByte[byte(b)]; !ok && Valid(byte(b)) {
			t.Errorf("0x%02x is Valid but not in pickletools", b)
		}
	}
}
