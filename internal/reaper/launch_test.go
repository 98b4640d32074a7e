package reaper

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// launchOut launches s with its stdout into a pipe and returns what it
// printed and how it ended.
func launchOut(t *testing.T, r *Reaper, s Spec) (string, Exit) {
	t.Helper()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if len(s.Files) == 0 {
		s.Files = []uintptr{0, pw.Fd(), 2}
	}
	s.Files[1] = pw.Fd()
	c, err := r.Launch(s)
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 0, 512)
	buf := make([]byte, 512)
	for {
		n, err := pr.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			break
		}
	}
	return string(b), waitExit(t, c)
}

func TestLaunchMissingDirectoryNamesIt(t *testing.T) {
	r := startReaper(t)
	dir := filepath.Join(t.TempDir(), "gone")
	_, err := r.Launch(Spec{Argv: []string{"/bin/true"}, Dir: dir, Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if want := "directory " + dir + ": no such file or directory"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = r.Launch(Spec{Argv: []string{"/bin/true"}, Dir: file, Env: os.Environ(), Files: []uintptr{0, 1, 2}})
	if want := "directory " + file + ": not a directory"; err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
}

func TestLaunchMissingProgramNamesIt(t *testing.T) {
	r := startReaper(t)
	dir := t.TempDir()
	_, err := r.Launch(Spec{Argv: []string{"/nonexistent/prog"}, Dir: dir, Files: []uintptr{0, 1, 2}})
	if want := "start /nonexistent/prog: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("absolute: got %v, want %q", err, want)
	}
	_, err = r.Launch(Spec{Argv: []string{"no-such-prog"}, Env: []string{"PATH=" + dir}, Files: []uintptr{0, 1, 2}})
	if want := "no-such-prog: not found in PATH " + dir; err == nil || err.Error() != want {
		t.Errorf("on PATH: got %v, want %q", err, want)
	}
	if _, err := r.Launch(Spec{}); err == nil {
		t.Errorf("empty argv: no error")
	}
}

func TestLaunchLooksUpTheChildsPath(t *testing.T) {
	r := startReaper(t)
	dir := t.TempDir()
	prog := filepath.Join(dir, "hello")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\necho hi from $0 in $PWD\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, e := launchOut(t, r, Spec{Argv: []string{"hello"}, Dir: "/", Env: []string{"PATH=/nonexistent:" + dir}})
	if want := "hi from " + prog + " in /\n"; out != want || e.Code != 0 {
		t.Errorf("got %q (%s), want %q", out, e, want)
	}
}

func TestLaunchExtraFdsReachTheChild(t *testing.T) {
	r := startReaper(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	c, err := r.Launch(Spec{
		Argv: []string{"/bin/sh", "-c", "echo ready >&3"}, Env: os.Environ(),
		Files: []uintptr{0, 1, 2, pw.Fd()},
	})
	pw.Close()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, _ := pr.Read(buf)
	if got := string(buf[:n]); got != "ready\n" {
		t.Errorf("fd 3 carried %q, want %q", got, "ready\n")
	}
	if e := waitExit(t, c); e.Code != 0 {
		t.Errorf("child %s", e)
	}
}

func TestLaunchNewProcessGroup(t *testing.T) {
	r := startReaper(t)
	out, e := launchOut(t, r, Spec{
		Argv: []string{"/bin/sh", "-c", "echo $$ $(ps -o pgid= -p $$ 2>/dev/null || cut -d' ' -f5 /proc/$$/stat)"},
		Env:  os.Environ(),
	})
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != f[1] || e.Code != 0 {
		t.Fatalf("child printed %q (%s): want its pid and its pgid, equal", out, e)
	}
	if pg, _ := strconv.Atoi(f[1]); pg == syscall.Getpgrp() {
		t.Errorf("child in svinit's own group %d", pg)
	}
	// Foreground without a terminal on fd 0 falls back quietly.
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	out, e = launchOut(t, r, Spec{Argv: []string{"/bin/echo", "bg"}, Files: []uintptr{null.Fd(), 0, 2}, Foreground: true})
	if out != "bg\n" || e.Code != 0 {
		t.Errorf("foreground fallback: %q (%s)", out, e)
	}
}

func TestNullIsSharedAndOpen(t *testing.T) {
	r := startReaper(t)
	a, err := r.Null()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := r.Null()
	if a != b {
		t.Errorf("Null gave fds %d and %d, want one shared fd", a, b)
	}
	out, e := launchOut(t, r, Spec{Argv: []string{"/bin/sh", "-c", "cat; echo done"}, Files: []uintptr{a, 0, 2}})
	if out != "done\n" || e.Code != 0 {
		t.Errorf("child reading Null: %q (%s)", out, e)
	}
}

func TestLaunchAsAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to switch users")
	}
	r := startReaper(t)
	out, e := launchOut(t, r, Spec{
		Argv: []string{"/bin/sh", "-c", "id -u; id -g"}, Dir: "/", Env: os.Environ(),
		Cred: &syscall.Credential{Uid: 65534, Gid: 65534},
	})
	if out != "65534\n65534\n" || e.Code != 0 {
		t.Errorf("child as 65534:65534 printed %q (%s)", out, e)
	}
}
