package startup

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestListSortsAndSkips(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("20-b", 0o755)
	write("10-a", 0o755)
	write("B-upper", 0o755) // byte order: digits before uppercase
	write("README", 0o644)  // not executable: skipped with a note
	os.Mkdir(filepath.Join(dir, "30-dir"), 0o755)
	os.Symlink(filepath.Join(dir, "10-a"), filepath.Join(dir, "40-link"))
	scripts, notes, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range scripts {
		names = append(names, filepath.Base(s))
		if !filepath.IsAbs(s) {
			t.Errorf("%s: not absolute", s)
		}
	}
	if want := []string{"10-a", "20-b", "40-link", "B-upper"}; !reflect.DeepEqual(names, want) {
		t.Errorf("scripts %v, want %v", names, want)
	}
	joined := strings.Join(notes, "\n")
	for _, want := range []string{"README: skipped: not executable", "30-dir: skipped: not a regular file"} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes lack %q: %v", want, notes)
		}
	}
}

func TestListMissingFolderIsEmpty(t *testing.T) {
	scripts, notes, err := List(filepath.Join(t.TempDir(), "nope"))
	if err != nil || len(scripts) != 0 || len(notes) != 0 {
		t.Errorf("missing folder: %v %v %v", scripts, notes, err)
	}
}
