// Package structfields is the one struct-field model of segpickle, used by
// the pickler (struct → dict) and the unpickler (dict → struct) alike: which
// fields a struct has, under which names, in which order, and with which
// options. The rules are encoding/json's, with the tag key "pickle":
//
//   - exported fields, and the fields of embedded structs (exported or not,
//     by value or by pointer) promoted as if they were the outer struct's;
//   - `pickle:"name"` renames, `pickle:",omitempty"` leaves an empty value
//     out on encoding, `pickle:"-"` leaves the field out;
//   - when several fields end up with one name, the shallowest wins; among
//     equally shallow ones, a tagged one wins over untagged ones; two
//     equally shallow fields of equal standing hide each other (neither is
//     encoded nor decoded), as in encoding/json;
//   - fields come in declaration order (index sequence), embedded fields in
//     the place of their embedding.
package structfields

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"
)

// Field is one field of a struct as a pickle dict sees it.
type Field struct {
	Name      string       // the dict key: the tag's name, else the Go name
	GoName    string       // the Go field name, for paths in errors
	Index     []int        // index sequence for reflect's FieldByIndex
	Type      reflect.Type // the field's Go type
	OmitEmpty bool         // `pickle:",omitempty"`
	Tagged    bool         // the name came from a tag
}

// Fields is the field list of one struct type.
type Fields struct {
	List   []Field
	byName map[string]int // exact name → position in List
	folded map[string]int // lower-cased name → first position in List
}

var cache sync.Map // reflect.Type → *Fields

// Of returns the fields of struct type t (cached; do not modify).
func Of(t reflect.Type) *Fields {
	if f, ok := cache.Load(t); ok {
		return f.(*Fields)
	}
	f, _ := cache.LoadOrStore(t, build(t))
	return f.(*Fields)
}

// ByName returns the field named name, else the first whose name matches
// it case-insensitively (as encoding/json's Unmarshal), else nil.
func (fs *Fields) ByName(name string) *Field {
	if i, ok := fs.byName[name]; ok {
		return &fs.List[i]
	}
	if i, ok := fs.folded[strings.ToLower(name)]; ok {
		return &fs.List[i]
	}
	return nil
}

type candidate struct {
	Field
	dup bool // the same embedded type was reached twice at this depth
}

func build(t reflect.Type) *Fields {
	type queued struct {
		typ   reflect.Type
		index []int
	}
	var current []queued
	next := []queued{{typ: t}}
	var count, nextCount map[reflect.Type]int
	visited := map[reflect.Type]bool{}
	var found []candidate

	for len(next) > 0 {
		current, next = next, current[:0]
		count, nextCount = nextCount, map[reflect.Type]int{}
		for _, q := range current {
			if visited[q.typ] {
				continue
			}
			visited[q.typ] = true
			for i := 0; i < q.typ.NumField(); i++ {
				sf := q.typ.Field(i)
				if sf.Anonymous {
					et := sf.Type
					if et.Kind() == reflect.Pointer {
						et = et.Elem()
					}
					if !sf.IsExported() && et.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("pickle")
				if tag == "-" {
					continue
				}
				name, opts, _ := strings.Cut(tag, ",")
				index := append(slices.Clip(q.index), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					c := candidate{Field: Field{
						Name: name, GoName: sf.Name, Index: index, Type: sf.Type,
						OmitEmpty: hasOpt(opts, "omitempty"), Tagged: tagged,
					}}
					found = append(found, c)
					if count[q.typ] > 1 {
						c.dup = true
						found = append(found, c)
					}
					continue
				}
				nextCount[ft]++
				if nextCount[ft] == 1 {
					next = append(next, queued{typ: ft, index: index})
				}
			}
		}
	}

	slices.SortFunc(found, func(a, b candidate) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		if c := cmp.Compare(len(a.Index), len(b.Index)); c != 0 {
			return c
		}
		if a.Tagged != b.Tagged {
			if a.Tagged {
				return -1
			}
			return 1
		}
		return slices.Compare(a.Index, b.Index)
	})
	var out []Field
	for i := 0; i < len(found); {
		j := i + 1
		for j < len(found) && found[j].Name == found[i].Name {
			j++
		}
		group := found[i:j]
		if len(group) == 1 || len(group[0].Index) != len(group[1].Index) || group[0].Tagged != group[1].Tagged {
			out = append(out, group[0].Field)
		}
		i = j
	}
	slices.SortFunc(out, func(a, b Field) int { return slices.Compare(a.Index, b.Index) })

	fs := &Fields{List: out, byName: make(map[string]int, len(out)), folded: make(map[string]int, len(out))}
	for i, f := range out {
		fs.byName[f.Name] = i
		if _, ok := fs.folded[strings.ToLower(f.Name)]; !ok {
			fs.folded[strings.ToLower(f.Name)] = i
		}
	}
	return fs
}

func hasOpt(opts, want string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == want {
			return true
		}
	}
	return false
}

// Get returns the field at index in v, following embedded pointers; ok is
// false when a nil embedded pointer hides it (the field is then absent, as
// in encoding/json).
func Get(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				return reflect.Value{}, false
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// Settable returns the field at index in v (addressable), allocating nil
// embedded pointers on the way; ok is false when such a pointer is of an
// unexported type, which reflect cannot set (encoding/json's error case).
func Settable(v reflect.Value, index []int) (reflect.Value, bool) {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v, true
}

// IsEmpty reports whether v is empty for omitempty: false, 0, a nil pointer
// or interface, an empty array, slice, map or string (encoding/json's
// rule), and also the zero time.Time (which json cannot tell).
func IsEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return v.IsZero()
	case reflect.Interface, reflect.Pointer:
		return v.IsNil()
	case reflect.Struct:
		if v.Type() == timeType {
			return v.IsZero()
		}
	}
	return false
}

var timeType = reflect.TypeFor[time.Time]()
