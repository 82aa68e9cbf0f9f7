package stream

import (
	"math/big"
	"testing"
)

// TestDecodeLong against pickle.encode_long's bytes for a few values.
func TestDecodeLong(t *testing.T) {
	for _, c := range []struct {
		b    string
		want string
	}{
		{"", "0"}, {"\x01", "1"}, {"\xff", "-1"}, {"\x80", "-128"}, {"\x80\x00", "128"},
		{"\xff\x7f", "32767"}, {"\x00\x80", "-32768"},
		{"\x00\x00\x00\x00\x00\x00\x00\x00\x01", "18446744073709551616"},
		{"\x00\x00\x00\x00\x00\x00\x00\x00\xff", "-18446744073709551616"},
	} {
		want, _ := new(big.Int).SetString(c.want, 10)
		if got := DecodeLong([]byte(c.b)); got.Cmp(want) != 0 {
			t.Errorf("%q: got %v, want %v", c.b, got, want)
		}
	}
}
