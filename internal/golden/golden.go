// Package golden is the corpus of CPython's pickles shared by the tests of
// the pickler, the unpickler and the typed decoder: values (as tagged JSON,
// see internal/pyjson) and the bytes CPython's pickle.dumps gives for each at
// protocols 0 to 5. golden.json is written by tests/gen_golden.py
// (make golden) and embedded here, so every package's tests read the same
// file through the one loader below.
package golden

import (
	"bytes"
	"compress/zlib"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

//go:embed golden.json
var raw []byte

// Corpus is the decoded golden.json.
type Corpus struct {
	Python string `json:"python"` // CPython's version that wrote it
	Cases  []Case `json:"cases"`
}

// Case is one value and its pickles by protocol ("0" to "5").
type Case struct {
	Name    string            `json:"name"`
	Value   string            `json:"value"` // tagged JSON (pyjson.Decode with tags)
	Pickles map[string]Pickle `json:"pickles"`
}

// Pickle is CPython's pickle of a case at one protocol: base64, or for
// pickles over 4 KiB base64 of its zlib compression with its length and
// SHA-256; Error is set instead when CPython refused to pickle the value.
type Pickle struct {
	B64    string `json:"b64"`
	Zlib   string `json:"zlib"`
	Len    int    `json:"len"`
	SHA256 string `json:"sha256"`
	Error  string `json:"error"`
}

// Load decodes the embedded corpus.
func Load() (*Corpus, error) {
	var c Corpus
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("golden: %w", err)
	}
	if len(c.Cases) == 0 {
		return nil, fmt.Errorf("golden: no cases: run make golden")
	}
	return &c, nil
}

// Pickle returns the case's pickle at protocol proto.
func (c Case) Pickle(proto int) Pickle { return c.Pickles[strconv.Itoa(proto)] }

// Bytes returns the pickle, or nil when CPython could not pickle the value.
// A compressed pickle is checked against its stored length and hash.
func (p Pickle) Bytes() ([]byte, error) {
	switch {
	case p.B64 != "":
		return base64.StdEncoding.DecodeString(p.B64)
	case p.Zlib != "":
		z, err := base64.StdEncoding.DecodeString(p.Zlib)
		if err != nil {
			return nil, err
		}
		r, err := zlib.NewReader(bytes.NewReader(z))
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		if len(data) != p.Len {
			return nil, fmt.Errorf("golden: pickle of %d bytes inflates to %d", p.Len, len(data))
		}
		if sum := sha256.Sum256(data); p.SHA256 != "" && hex.EncodeToString(sum[:]) != p.SHA256 {
			return nil, fmt.Errorf("golden: pickle of %d bytes does not match its SHA-256", p.Len)
		}
		return data, nil
	case p.Len != 0:
		return nil, fmt.Errorf("golden: pickle of %d bytes stored without its bytes: run make golden", p.Len)
	}
	return nil, nil
}

// Stored counts the pickles the corpus holds bytes for (those CPython did
// not refuse).
func (c *Corpus) Stored() int {
	n := 0
	for _, k := range c.Cases {
		for _, p := range k.Pickles {
			if p.B64 != "" || p.Zlib != "" {
				n++
			}
		}
	}
	return n
}
