package manifest

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary manifests to Parse: it must never panic, and
// each problem must come back as a one-line *Error naming the file. Seeds
// live in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "web")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "run"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		f.Fatal(err)
	}
	file := filepath.Join(dir, "manifest.yml")
	env := envLookup(map[string]string{"PORT": "8080", "ON": "true"})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(file, data, env)
		if err != nil {
			checkErrorLines(t, err)
			return
		}
		if s.Hash == "" || s.Name != "web" || s.StopTimeout <= 0 || s.Ready.Interval <= 0 {
			t.Fatalf("bad service from %q: %+v", data, s)
		}
		again, err := Parse(file, data, env)
		if err != nil || again.Hash != s.Hash {
			t.Fatalf("second Parse of %q differs: %v", data, err)
		}
	})
}
