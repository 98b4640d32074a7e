package regfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadRefusesAllButRegularFiles(t *testing.T) {
	dir := t.TempDir()
	at := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(at("file"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(at("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range [][2]string{{"file", "link"}, {"fifo", "fifolink"}, {"/nowhere/x", "dangling"}, {"loop", "loop"}, {"dir", "dirlink"}} {
		if err := os.Symlink(l[0], at(l[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(at("dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, want string }{
		{"file", ""},
		{"link", ""},
		{"fifo", "not a regular file (a FIFO)"},
		{"fifolink", "not a regular file (a FIFO)"},
		{"dir", "not a regular file (a folder)"},
		{"dirlink", "not a regular file (a folder)"},
		{"dangling", "dangling symlink to /nowhere/x"},
		{"loop", "symlink loop"},
		{"missing", "no such file or directory"},
		{"/dev/null", "not a regular file (a character device)"},
	}
	for _, tt := range tests {
		path := tt.name
		if !filepath.IsAbs(path) {
			path = at(path)
		}
		done := make(chan error, 1)
		go func() {
			_, err := Read(path, 10)
			done <- err
		}()
		var err error
		select {
		case err = <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("Read(%s) blocked", tt.name)
		}
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("Read(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
	if _, err := Read(at("missing"), 10); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := Read(at("dangling"), 10); errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dangling symlink: %v matches fs.ErrNotExist; it must not read as absent", err)
	}
	if _, err := Read(at("file"), 4); err == nil || err.Error() != "larger than 4 bytes" {
		t.Errorf("too large: %v", err)
	}
	if b, err := Read(at("file"), 5); err != nil || string(b) != "hello" {
		t.Errorf("Read = %q, %v", b, err)
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadDir(fifo); err == nil || err.Error() != "not a folder (a FIFO)" {
		t.Errorf("ReadDir(fifo) = %v", err)
	}
	if _, err := ReadDir("/dev/null"); err == nil || !strings.Contains(err.Error(), "character device") {
		t.Errorf("ReadDir(/dev/null) = %v", err)
	}
	if _, err := ReadDir(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadDir(missing) = %v", err)
	}
	ents, err := ReadDir(dir)
	if err != nil || len(ents) != 1 || ents[0].Name() != "fifo" {
		t.Errorf("ReadDir(dir) = %v, %v", ents, err)
	}
}
