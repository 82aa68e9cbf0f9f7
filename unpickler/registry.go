package unpickler

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"time"

	"github.com/segpickle/segpickle/py"
)

// Construct is what a pickle said about one instance of a class: the class
// (or callable), the arguments of the REDUCE or NEWOBJ that made it, what
// APPENDS/SETITEMS added, and the BUILD state.
type Construct struct {
	Class     py.Global
	Args      py.Tuple
	Kwargs    *py.Dict
	ListItems []any
	DictItems []py.Item
	State     any
	HasState  bool
}

// Constructor turns a Construct into a Go value that typed Unmarshal then
// stores into its target (a value of the py model, or any Go value
// assignable to the target).
type Constructor func(c Construct) (any, error)

// Registry maps (module, name) to constructors, for typed Unmarshal. It is
// safe for concurrent use.
type Registry struct {
	mu sync.RWMutex
	m  map[py.Global]Constructor
}

// NewRegistry returns a registry holding the defaults of DefaultRegistry.
func NewRegistry() *Registry {
	r := &Registry{m: map[py.Global]Constructor{}}
	DefaultRegistry.mu.RLock()
	for k, v := range DefaultRegistry.m {
		r.m[k] = v
	}
	DefaultRegistry.mu.RUnlock()
	return r
}

// Register sets the constructor for module.name.
func (r *Registry) Register(module, name string, c Constructor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[py.Global]Constructor{}
	}
	r.m[py.Global{Module: module, Name: name}] = c
}

// Lookup returns the constructor for g.
func (r *Registry) Lookup(g py.Global) (Constructor, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	c, ok := r.m[g]
	return c, ok
}

// Decimal is a decimal.Decimal, as its exact text. Typed Unmarshal stores
// it into a string, a float64 or a *big.Float.
type Decimal string

// DefaultRegistry knows the standard library's common classes:
// collections.OrderedDict, defaultdict, Counter (→ *py.Dict), deque (→
// []any); datetime.date and time (→ time.Time), datetime with a tzinfo Go
// cannot name (→ time.Time in UTC offset 0 if it has none); decimal.Decimal
// (→ Decimal); fractions.Fraction (→ *big.Rat); uuid.UUID (→ [16]byte);
// copyreg._reconstructor (→ *py.Object, whose state fills a struct); and,
// in the dynamic model already, set, frozenset, bytearray, complex,
// _codecs.encode, datetime.datetime/timedelta/timezone.
var DefaultRegistry = &Registry{m: map[py.Global]Constructor{
	{Module: "collections", Name: "OrderedDict"}: dictLike,
	{Module: "collections", Name: "defaultdict"}: dictLike,
	{Module: "collections", Name: "Counter"}:     dictLike,
	{Module: "collections", Name: "deque"}: func(c Construct) (any, error) {
		var items []any
		if len(c.Args) > 0 {
			l, ok := c.Args[0].([]any)
			if !ok {
				return nil, errors.New("deque: argument is not a list")
			}
			items = append(items, l...)
		}
		return append(items, c.ListItems...), nil
	},
	{Module: "datetime", Name: "date"}: func(c Construct) (any, error) {
		st, ok := argBytes(c.Args, 4)
		if !ok {
			return nil, errors.New("date: bad state")
		}
		return time.Date(int(st[0])<<8|int(st[1]), time.Month(st[2]), int(st[3]), 0, 0, 0, 0, py.Naive), nil
	},
	{Module: "datetime", Name: "time"}: func(c Construct) (any, error) {
		st, ok := argBytes(c.Args, 6)
		if !ok {
			return nil, errors.New("time: bad state")
		}
		us := int(st[3])<<16 | int(st[4])<<8 | int(st[5])
		return time.Date(1, 1, 1, int(st[0]&0x7f), int(st[1]), int(st[2]), us*1000, py.Naive), nil
	},
	{Module: "decimal", Name: "Decimal"}: func(c Construct) (any, error) {
		if len(c.Args) == 1 {
			if s, ok := c.Args[0].(string); ok {
				return Decimal(s), nil
			}
		}
		return nil, errors.New("Decimal: argument is not a str")
	},
	{Module: "fractions", Name: "Fraction"}: func(c Construct) (any, error) {
		if len(c.Args) == 1 {
			if s, ok := c.Args[0].(string); ok {
				if r, ok := new(big.Rat).SetString(s); ok {
					return r, nil
				}
			}
		}
		if len(c.Args) == 2 {
			n, ok1 := toBig(c.Args[0])
			d, ok2 := toBig(c.Args[1])
			if ok1 && ok2 && d.Sign() != 0 {
				return new(big.Rat).SetFrac(n, d), nil
			}
		}
		return nil, errors.New("Fraction: bad arguments")
	},
	{Module: "uuid", Name: "UUID"}: func(c Construct) (any, error) {
		d, ok := c.State.(*py.Dict)
		if !ok {
			return nil, errors.New("UUID: no state")
		}
		iv, _ := d.Get("int")
		n, ok := toBig(iv)
		if !ok || n.Sign() < 0 || n.BitLen() > 128 {
			return nil, errors.New("UUID: bad int")
		}
		var u [16]byte
		n.FillBytes(u[:])
		return u, nil
	},
	{Module: "copyreg", Name: "_reconstructor"}: func(c Construct) (any, error) {
		if len(c.Args) < 1 {
			return nil, errors.New("_reconstructor: no class")
		}
		return &py.Object{Class: c.Args[0], State: c.State, HasState: c.HasState,
			ListItems: c.ListItems, DictItems: c.DictItems}, nil
	},
}}

func dictLike(c Construct) (any, error) {
	d := py.NewDict(len(c.DictItems))
	for _, a := range c.Args {
		switch x := a.(type) {
		case *py.Dict:
			for _, it := range x.Items() {
				d.Set(it.Key, it.Value)
			}
		case []any: // OrderedDict([(k, v), ...])
			for _, p := range x {
				t, ok := p.(py.Tuple)
				if !ok || len(t) != 2 {
					return nil, errors.New("dict-like: argument is not a list of pairs")
				}
				d.Set(t[0], t[1])
			}
		}
	}
	for _, it := range c.DictItems {
		d.Set(it.Key, it.Value)
	}
	if sd, ok := c.State.(*py.Dict); ok && c.HasState && d.Len() == 0 {
		_ = sd // instance attributes, not items
	}
	return d, nil
}

func argBytes(args py.Tuple, n int) ([]byte, bool) {
	if len(args) < 1 {
		return nil, false
	}
	b, ok := args[0].([]byte)
	return b, ok && len(b) == n
}

func toBig(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case int64:
		return big.NewInt(x), true
	case *big.Int:
		return x, true
	}
	return nil, false
}

// construct resolves a Call or Object through the registry. ok is false
// when its class is not registered.
func construct(r *Registry, v any) (any, bool, error) {
	var c Construct
	var cls any
	switch x := v.(type) {
	case *py.Call:
		cls = x.Callable
		c = Construct{Args: x.Args, ListItems: x.ListItems, DictItems: x.DictItems, State: x.State, HasState: x.HasState}
	case *py.Object:
		cls = x.Class
		c = Construct{Args: x.Args, Kwargs: x.Kwargs, ListItems: x.ListItems, DictItems: x.DictItems, State: x.State, HasState: x.HasState}
	default:
		return nil, false, nil
	}
	g, ok := cls.(py.Global)
	if !ok {
		return nil, false, nil
	}
	f, ok := r.Lookup(g)
	if !ok {
		return nil, false, nil
	}
	c.Class = g
	out, err := f(c)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", strings.TrimSpace(g.String()), err)
	}
	return out, true, nil
}
