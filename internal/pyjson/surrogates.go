package pyjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/segpickle/segpickle/py"
)

// Lone surrogates. Python's json.loads turns "\udce9" into a str holding
// the surrogate U+DCE9 (and "\ud83d\ude00", a valid pair, into one
// character); encoding/json turns a lone one into U+FFFD. The decoder below
// reads such strings again from their JSON text, as Python does, into the
// Go form package py defines for surrogates (their 3-byte surrogatepass
// sequences), so `segpickle encode` writes what pickle.dumps(json.loads(doc))
// writes. Encode writes them back as \uXXXX escapes, as json.dumps does.

// decoder is a json.Decoder whose Token reads strings as Python does.
type decoder struct {
	*json.Decoder
	data []byte
}

func newDecoder(r io.Reader) (*decoder, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	d := &decoder{Decoder: json.NewDecoder(bytes.NewReader(data)), data: data}
	d.UseNumber()
	return d, nil
}

// Token is json.Decoder's, except that a string whose text escapes a lone
// surrogate keeps it.
func (d *decoder) Token() (json.Token, error) {
	start := d.InputOffset()
	tok, err := d.Decoder.Token()
	if s, ok := tok.(string); ok && err == nil && strings.ContainsRune(s, utf8.RuneError) {
		raw := d.data[start:d.InputOffset()]
		if q := bytes.IndexByte(raw, '"'); q >= 0 {
			if ps, ok := pythonString(raw[q:]); ok {
				tok = ps
			}
		}
	}
	return tok, err
}

// pythonString decodes a JSON string literal (quotes included) as Python's
// json module does: \uXXXX escapes of a high then a low surrogate make one
// character, any other surrogate stays itself.
func pythonString(lit []byte) (string, bool) {
	if len(lit) < 2 || lit[0] != '"' || lit[len(lit)-1] != '"' {
		return "", false
	}
	s := lit[1 : len(lit)-1]
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		c := s[i]
		if c != '\\' {
			r, n := utf8.DecodeRune(s[i:])
			out = utf8.AppendRune(out, r) // invalid bytes: U+FFFD, as encoding/json
			i += n
			continue
		}
		if i+1 >= len(s) {
			return "", false
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s, i+2)
			if !ok {
				return "", false
			}
			i += 6
			if r >= 0xd800 && r <= 0xdbff && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
				if lo, ok := hex4(s, i+2); ok && lo >= 0xdc00 && lo <= 0xdfff {
					r = 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00)
					i += 6
				}
			}
			out = py.AppendRune(out, r)
			continue
		default:
			return "", false
		}
		i += 2
	}
	return string(out), true
}

func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(s[i:i+4]), 16, 32)
	return rune(v), err == nil
}

// writeString writes s as a JSON string; a surrogate (see package py) as
// its \uXXXX escape, as Python's json.dumps writes it.
func writeString(b *bytes.Buffer, s string) {
	if utf8.ValidString(s) || !py.ValidString(s) {
		enc, _ := json.Marshal(s) // invalid UTF-8: U+FFFD
		b.Write(enc)
		return
	}
	b.WriteByte('"')
	run := 0 // start of the characters not yet written
	for i := 0; i < len(s); {
		r, n := py.DecodeRune(s[i:])
		if r >= 0xd800 && r <= 0xdfff {
			if run < i {
				enc, _ := json.Marshal(s[run:i])
				b.Write(enc[1 : len(enc)-1])
			}
			fmt.Fprintf(b, `\u%04x`, r)
			run = i + n
		}
		i += n
	}
	if run < len(s) {
		enc, _ := json.Marshal(s[run:])
		b.Write(enc[1 : len(enc)-1])
	}
	b.WriteByte('"')
}
