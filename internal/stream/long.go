package stream

import "math/big"

// DecodeLong reads the argument of LONG1 and LONG4: little-endian two's
// complement, no bytes being 0. The decoder and the disassembler both use
// it.
func DecodeLong(b []byte) *big.Int {
	v := new(big.Int)
	if len(b) == 0 {
		return v
	}
	be := make([]byte, len(b))
	for i, c := range b {
		be[len(b)-1-i] = c
	}
	v.SetBytes(be)
	if b[len(b)-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*len(b))))
	}
	return v
}
