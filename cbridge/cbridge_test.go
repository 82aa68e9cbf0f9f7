//go:build cgo

package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestEveryExportIsGuarded backs "every export recovers panics into a status
// code": each //export function that returns a status starts with
// `defer guard(&code, …)` and then injected("<its name>"), the hook through
// which tests/test_cabi.py makes each one panic and checks it returns -40.
// The two that return no status (segpickle_free_string, segpickle_version)
// only free or allocate a C string.
func TestEveryExportIsGuarded(t *testing.T) {
	fset := token.NewFileSet()
	paths, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || !hasExport(fn) {
				continue
			}
			n++
			name := fn.Name.Name
			if name == "segpickle_free_string" || name == "segpickle_version" {
				continue
			}
			body := fn.Body.List
			if len(body) < 2 {
				t.Errorf("%s: too short to be guarded", name)
				continue
			}
			def, ok := body[0].(*ast.DeferStmt)
			if !ok || !isCall(def.Call, "guard") {
				t.Errorf("%s: first statement is not defer guard(...)", name)
			}
			es, ok := body[1].(*ast.ExprStmt)
			call, _ := es.X.(*ast.CallExpr)
			if !ok || call == nil || !isCall(call, "injected") || len(call.Args) != 1 {
				t.Errorf("%s: second statement is not injected(%q)", name, name)
				continue
			}
			if lit, ok := call.Args[0].(*ast.BasicLit); !ok || lit.Value != `"`+name+`"` {
				t.Errorf("%s: injected names another export", name)
			}
		}
	}
	if n < 16 {
		t.Fatalf("found %d exports, want at least 16", n)
	}
}

func hasExport(fn *ast.FuncDecl) bool {
	if fn.Doc == nil {
		return false
	}
	for _, c := range fn.Doc.List {
		if strings.HasPrefix(c.Text, "//export ") {
			return true
		}
	}
	return false
}

func isCall(c *ast.CallExpr, name string) bool {
	id, ok := c.Fun.(*ast.Ident)
	return ok && id.Name == name
}
