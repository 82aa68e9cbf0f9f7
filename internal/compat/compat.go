// Package compat holds CPython's Python 2 ↔ 3 module and name mappings
// (_compat_pickle), which pickle applies at protocols 0–2 ("fix_imports").
package compat

//go:generate sh -c "python3 gen.py && gofmt -w compat_gen.go"

// ToPy2 maps a Python 3 global to the name CPython writes at protocols < 3.
func ToPy2(module, name string) (string, string) {
	if v, ok := reverseNameMapping[[2]string{module, name}]; ok {
		return v[0], v[1]
	}
	if m, ok := reverseImportMapping[module]; ok {
		return m, name
	}
	return module, name
}

// ToPy3 maps a global read from a protocol < 3 pickle to its Python 3 name,
// as CPython's Unpickler.find_class does.
func ToPy3(module, name string) (string, string) {
	if v, ok := nameMapping[[2]string{module, name}]; ok {
		return v[0], v[1]
	}
	if m, ok := importMapping[module]; ok {
		return m, name
	}
	return module, name
}
