//go:build ignore

// gen writes pyext/segpickle/_status.py from the table in status.go.
package main

import (
	"log"
	"os"
	"path/filepath"

	"github.com/segpickle/segpickle/internal/status"
)

func main() {
	out := filepath.Join("..", "..", filepath.FromSlash(status.PythonPath))
	if err := os.WriteFile(out, status.Python(), 0o644); err != nil {
		log.Fatal(err)
	}
}
