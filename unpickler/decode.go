package unpickler

import (
	"fmt"
	"io"

	"github.com/segpickle/segpickle/internal/stream"
	"github.com/segpickle/segpickle/segments"
)

// Unmarshal decodes the pickle in data into v, which must be a non-nil
// pointer. Bytes after STOP are ignored, as Python's pickle.loads does.
func Unmarshal(data []byte, v any, opts ...Option) error {
	c := newConfig(opts)
	if c.err != nil {
		return c.err
	}
	if rt, rp, ok := typedTarget(v); ok && !c.plainMaps && c.persistentLoad == nil {
		m := machine{src: stream.Bytes(data), cfg: &c}
		if unmarshalTyped(&m, rt, rp) == nil {
			return nil
		}
		typedFallbacks.Add(1)
	}
	val, err := runDynamic(stream.Bytes(data), &c)
	if err != nil {
		return err
	}
	return assign(val, v, &c)
}

// runDynamic decodes one pickle from src into the dynamic value model.
func runDynamic(src stream.Reader, c *config) (any, error) {
	d := machine{src: src, cfg: c}
	d.takeStack()
	val, err := d.run()
	d.releaseStack()
	return val, err
}

// Load decodes the pickle in data into the dynamic value model: what
// Unmarshal gives into an *any, without the *any (one allocation less).
func Load(data []byte, opts ...Option) (any, error) {
	c := newConfig(opts)
	if c.err != nil {
		return nil, c.err
	}
	val, err := runDynamic(stream.Bytes(data), &c)
	if err != nil {
		return nil, err
	}
	if !c.plainMaps {
		return val, nil
	}
	var v any
	err = assign(val, &v, &c)
	return v, err
}

// UnmarshalSegments decodes a pickle held in segments without joining
// them: opcodes that straddle two segments are gathered, payloads inside one
// segment are sliced (or, with ZeroCopy, aliased).
func UnmarshalSegments(segs [][]byte, v any, opts ...Option) error {
	c := newConfig(opts)
	if c.err != nil {
		return c.err
	}
	if rt, rp, ok := typedTarget(v); ok && !c.plainMaps && c.persistentLoad == nil {
		m := machine{src: stream.Segments(segs), cfg: &c}
		if unmarshalTyped(&m, rt, rp) == nil {
			return nil
		}
		typedFallbacks.Add(1)
	}
	val, err := runDynamic(stream.Segments(segs), &c)
	if err != nil {
		return err
	}
	return assign(val, v, &c)
}

// UnmarshalList decodes the pickle in a segment list.
func UnmarshalList(l *segments.List, v any, opts ...Option) error {
	return UnmarshalSegments(l.Segments(), v, opts...)
}

// Decoder reads pickles from a stream, one per Decode: pickles written back
// to back decode one after another.
type Decoder struct {
	src stream.Reader
	cfg config
}

// NewDecoder returns a Decoder reading from r. It may read ahead of the
// current pickle.
func NewDecoder(r io.Reader, opts ...Option) *Decoder {
	d := &Decoder{src: stream.FromReader(r), cfg: newConfig(opts)}
	d.cfg.zeroCopy = false
	return d
}

// Decode reads the next pickle into v. At the end of the stream it returns
// io.EOF.
func (dec *Decoder) Decode(v any) error { return dec.decode(v, true) }

// decode is Decode; typed false keeps to the dynamic path (the tests'
// reference).
func (dec *Decoder) decode(v any, typed bool) error {
	if dec.cfg.err != nil {
		return dec.cfg.err
	}
	if dec.src.AtEnd() {
		if dec.src.Err() != nil {
			return dec.src.Err()
		}
		return io.EOF
	}
	if rt, rp, ok := typedTarget(v); ok && typed && !dec.cfg.plainMaps && dec.cfg.persistentLoad == nil {
		// As Unmarshal: the typed path first, over input kept from here
		// (Mark) so that the dynamic path can read it again if it gives way.
		dec.src.Mark()
		m := machine{src: dec.src, cfg: &dec.cfg}
		if unmarshalTyped(&m, rt, rp) == nil {
			m.src.Release()
			dec.src = m.src
			return nil
		}
		typedFallbacks.Add(1)
		dec.src = m.src.Replay()
	}
	m := machine{src: dec.src, cfg: &dec.cfg}
	m.takeStack()
	val, err := m.run()
	m.releaseStack()
	dec.src = m.src
	if err != nil {
		if m.src.Err() != nil {
			// The input ended because the reader failed: say why.
			return fmt.Errorf("%w (reader: %w)", err, m.src.Err())
		}
		return err
	}
	return assign(val, v, &dec.cfg)
}
