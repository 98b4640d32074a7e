package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// loadWithin runs Load and fails the test if it does not return in time:
// nothing may block on opening a file (a FIFO waits for a writer forever).
func loadWithin(t *testing.T, dir string) (*Set, error) {
	t.Helper()
	type result struct {
		set *Set
		err error
	}
	done := make(chan result, 1)
	go func() {
		set, err := Load(dir, nil)
		done <- result{set, err}
	}()
	select {
	case r := <-done:
		return r.set, r.err
	case <-time.After(10 * time.Second):
		t.Fatalf("Load(%s) still blocked after 10s", dir)
		return nil, nil
	}
}

func mkfifo(t *testing.T, path string) {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

func symlink(t *testing.T, target, path string) {
	t.Helper()
	if err := os.Symlink(target, path); err != nil {
		t.Fatal(err)
	}
}

// TestLoadRefusesWhatIsNotARegularFile: SPEC §4, any manifest, run or
// finish that is not a regular file after following symlinks is an error
// naming it, and Load never blocks on one.
func TestLoadRefusesWhatIsNotARegularFile(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, svc string) // svc: the service folder "web"
		want  string                         // in the error, after root
	}{
		{"manifest is a FIFO", func(t *testing.T, svc string) { mkfifo(t, filepath.Join(svc, "manifest.yml")) },
			"web/manifest.yml: not a regular file (a FIFO)"},
		{"manifest is a folder", func(t *testing.T, svc string) { os.Mkdir(filepath.Join(svc, "manifest.yml"), 0o755) },
			"web/manifest.yml: not a regular file (a folder)"},
		{"manifest links to a FIFO", func(t *testing.T, svc string) {
			mkfifo(t, filepath.Join(svc, "pipe"))
			symlink(t, "pipe", filepath.Join(svc, "manifest.yml"))
		}, "web/manifest.yml: not a regular file (a FIFO)"},
		{"dangling manifest symlink", func(t *testing.T, svc string) {
			symlink(t, "/nowhere/manifest.yml", filepath.Join(svc, "manifest.yml"))
		},
			"web/manifest.yml: dangling symlink to /nowhere/manifest.yml"},
		{"manifest symlink loop", func(t *testing.T, svc string) { symlink(t, "manifest.yml", filepath.Join(svc, "manifest.yml")) },
			"web/manifest.yml: symlink loop"},
		{"run is a FIFO", func(t *testing.T, svc string) {
			writeFileT(t, filepath.Join(svc, "manifest.yml"), "enabled: true\n")
			mkfifo(t, filepath.Join(svc, "run"))
		}, "web/run: not a regular file (a FIFO)"},
		{"finish is a FIFO", func(t *testing.T, svc string) {
			writeFileT(t, filepath.Join(svc, "manifest.yml"), "enabled: true\ncommand: [sleep, '1']\n")
			mkfifo(t, filepath.Join(svc, "finish"))
		}, "web/finish: not a regular file (a FIFO)"},
		{"dangling run symlink", func(t *testing.T, svc string) {
			writeFileT(t, filepath.Join(svc, "manifest.yml"), "enabled: true\n")
			symlink(t, "/nowhere/run", filepath.Join(svc, "run"))
		}, "web/run: dangling symlink to /nowhere/run"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			svc := filepath.Join(root, "web")
			if err := os.Mkdir(svc, 0o755); err != nil {
				t.Fatal(err)
			}
			tt.setup(t, svc)
			set, err := loadWithin(t, root)
			if err == nil || !strings.Contains(err.Error(), filepath.Join(root, tt.want)) {
				t.Fatalf("Load: %v\nwant an error containing %q", err, filepath.Join(root, tt.want))
			}
			if n := strings.Count(err.Error(), "\n"); n != 0 {
				t.Errorf("want one line, got %d more: %v", n, err)
			}
			if set != nil && set.Services["web"] != nil {
				t.Error("the bad service was loaded anyway")
			}
		})
	}
}

// TestLoadOddServicesFolder: a services path that exists but is not a
// folder gets one line naming it and what to do, promptly.
func TestLoadOddServicesFolder(t *testing.T) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T, path string)
		want  string
	}{
		{"a FIFO", func(t *testing.T, path string) { mkfifo(t, path) }, "not a folder (a FIFO)"},
		{"a regular file", func(t *testing.T, path string) { writeFileT(t, path, "ssh 22/tcp\n") }, "not a folder (a regular file)"},
		{"a dangling symlink", func(t *testing.T, path string) { symlink(t, "/nowhere/services", path) }, "dangling symlink to /nowhere/services"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "services")
			tt.setup(t, path)
			_, err := loadWithin(t, path)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "services folder "+path+": "+tt.want) || !strings.Contains(msg, "SVINIT_SERVICES_DIR") || strings.Contains(msg, "\n") {
				t.Errorf("error %q\nwant one line naming %s, %q and SVINIT_SERVICES_DIR", msg, path, tt.want)
			}
		})
	}
}

func writeFileT(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPathProblems: a missing directory: or a missing program given by
// path would fail every start; Load warns naming it, PathProblems (for
// `svinit check`) reports it as an error.
func TestPathProblems(t *testing.T) {
	root := t.TempDir()
	exe := filepath.Join(root, "bin", "app")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFileT(t, filepath.Join(root, "bin", "plain"), "")
	tests := []struct {
		name, manifest string
		want           string // "" = no problem
	}{
		{"missing directory", "directory: /nonexistent/www\ncommand: [sleep, '1']\n", ":2: directory: /nonexistent/www: no such folder"},
		{"directory is a file", "directory: " + exe + "\ncommand: [sleep, '1']\n", ":2: directory: " + exe + ": not a folder (a regular file)"},
		{"missing absolute command", "command: [/nonexistent/bin/app, -x]\n", ":2: command: /nonexistent/bin/app: no such file or directory"},
		{"command not executable", "command: [" + filepath.Join(root, "bin", "plain") + "]\n", ":2: command: " + filepath.Join(root, "bin", "plain") + ": not executable (mode 0644)"},
		{"relative path from the directory", "directory: " + root + "\ncommand: [bin/nope]\n", ":3: command: " + filepath.Join(root, "bin", "nope") + ": no such file or directory"},
		{"both at once", "directory: /nonexistent/www\ncommand: [/nonexistent/bin/app]\n", ":2: directory: /nonexistent/www: no such folder"},
		{"fine", "directory: " + root + "\ncommand: [bin/app]\n", ""},
		{"program on PATH is not checked", "command: [no-such-program-here]\n", ""},
		{"builtin", "command: [builtin, cron]\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := writeService(t, dir, "web", "enabled: true\n"+tt.manifest, programs{})
			set, err := loadWithin(t, dir)
			if err != nil {
				t.Fatalf("Load: %v (a path problem must not stop the load)", err)
			}
			var got []string
			for _, e := range set.Services["web"].PathProblems() {
				got = append(got, e.Error())
			}
			warnings := strings.Join(set.Services["web"].Warnings, "\n")
			switch {
			case tt.want == "" && (len(got) > 0 || warnings != ""):
				t.Errorf("problems %q, warnings %q; want none", got, warnings)
			case tt.want != "" && (len(got) == 0 || got[0] != file+tt.want):
				t.Errorf("problems %q\nwant first %q", got, file+tt.want)
			case tt.want != "" && !strings.Contains(warnings, file+tt.want):
				t.Errorf("warnings %q\nwant one %q", warnings, file+tt.want)
			}
			if tt.name == "both at once" && len(got) != 2 {
				t.Errorf("problems %q, want the directory and the command", got)
			}
		})
	}
}
