package golden

import (
	"strings"
	"testing"
)

// TestLoad: the corpus decodes, every stored pickle inflates to its length
// and hash, and a tampered hash or a missing body is an error.
func TestLoad(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	compressed := 0
	for _, k := range c.Cases {
		for proto := 0; proto <= 5; proto++ {
			p := k.Pickle(proto)
			data, err := p.Bytes()
			if err != nil {
				t.Fatalf("%s p%d: %v", k.Name, proto, err)
			}
			if (data == nil) != (p.Error != "") {
				t.Fatalf("%s p%d: %d bytes, error %q", k.Name, proto, len(data), p.Error)
			}
			if p.Zlib == "" {
				continue
			}
			compressed++
			bad := p
			bad.SHA256 = strings.Repeat("0", 64)
			if _, err := bad.Bytes(); err == nil {
				t.Fatalf("%s p%d: a wrong hash passed", k.Name, proto)
			}
		}
	}
	if compressed == 0 || c.Stored() <= compressed {
		t.Fatalf("stored %d, compressed %d", c.Stored(), compressed)
	}
	if _, err := (Pickle{Len: 5000}).Bytes(); err == nil {
		t.Fatal("a pickle without its bytes passed")
	}
}
