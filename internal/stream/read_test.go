package stream

import "testing"

// A read that starts where a segment begins is a slice of that segment,
// even when the previous read ended exactly at the end of the one before.
func TestReadStartingNextSegmentAliases(t *testing.T) {
	a, b, c := []byte("abc"), []byte("defgh"), []byte("ij")
	s := Segments([][]byte{a, {}, b, c})
	got, where, ok := s.Read(3)
	if !ok || where != InInput || &got[0] != &a[0] {
		t.Fatalf("first read: %q %d %v", got, where, ok)
	}
	got, where, ok = s.Read(5)
	if !ok || string(got) != "defgh" || where != InInput || &got[0] != &b[0] {
		t.Fatalf("read at a segment start: %q, where %d, aliases %v", got, where, ok && len(got) > 0 && &got[0] == &b[0])
	}
	if s.Offset() != 8 || s.Available() != 2 {
		t.Fatalf("offset %d, available %d", s.Offset(), s.Available())
	}
	// Straddling reads are still gathered.
	s = Segments([][]byte{a, b})
	got, where, ok = s.Read(5)
	if !ok || string(got) != "abcde" || where != Private {
		t.Fatalf("straddling read: %q %d %v", got, where, ok)
	}
	// A read past the end fails.
	s = Segments([][]byte{a})
	s.Read(3)
	if _, _, ok := s.Read(1); ok {
		t.Fatal("read past the end succeeded")
	}
}
