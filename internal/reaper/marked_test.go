package reaper

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeFakeProc writes /proc/PID/stat (and environ, unless env is nil) under root.
func writeFakeProc(t *testing.T, root string, pid int, comm string, state byte, ppid, pgid int, start uint64, env []string) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Fields 3.. of proc_pid_stat(5): state ppid pgrp session tty_nr tpgid
	// flags minflt cminflt majflt cmajflt utime stime cutime cstime
	// priority nice num_threads itrealvalue starttime ...
	stat := fmt.Sprintf("%d (%s) %c %d %d %d 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 %d 1000 100\n",
		pid, comm, state, ppid, pgid, pgid, start)
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	if env != nil {
		b := []byte(strings.Join(env, "\x00") + "\x00")
		if err := os.WriteFile(filepath.Join(dir, "environ"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func pidsOf(ps []Proc) []int {
	var out []int
	for _, p := range ps {
		out = append(out, p.Pid)
	}
	slices.Sort(out)
	return out
}

// The attribution: a process is the run's when it is below svinit and its
// environment holds the run's marker, exactly — whatever its group.
func TestMarkedAttribution(t *testing.T) {
	root := t.TempDir()
	mark := "SVINIT_RUN=17"
	env := func(extra ...string) []string { return append([]string{"PATH=/bin", "HOME=/"}, extra...) }
	writeFakeProc(t, root, 1, "svinit", 'S', 0, 1, 10, env())
	writeFakeProc(t, root, 2, "kthreadd", 'S', 0, 0, 1, []string{})
	writeFakeProc(t, root, 3, "kworker/0:1", 'I', 2, 0, 2, []string{})
	writeFakeProc(t, root, 20, "postgres", 'S', 1, 20, 100, env("SVINIT_SERVICE=pg", mark))  // the main process itself
	writeFakeProc(t, root, 21, "postgres", 'S', 20, 21, 101, env("SVINIT_SERVICE=pg", mark)) // setsid: a group of its own
	writeFakeProc(t, root, 22, "postgres", 'R', 1, 22, 102, env(mark, "SVINIT_SERVICE=pg"))  // orphaned to svinit, marker not last
	writeFakeProc(t, root, 23, "a) (b", 'S', 22, 23, 103, env(mark))                         // comm with ") (" in it
	writeFakeProc(t, root, 24, "postgres", 'Z', 1, 24, 104, env(mark))                       // a zombie holds nothing
	writeFakeProc(t, root, 25, "sh", 'S', 1, 25, 105, env("SVINIT_RUN=170"))                 // another run: no prefix match
	writeFakeProc(t, root, 26, "sh", 'S', 1, 26, 106, env("SVINIT_RUN=1"))                   // another run
	writeFakeProc(t, root, 27, "bash", 'S', 0, 27, 107, env(mark))                           // docker exec: not below svinit
	writeFakeProc(t, root, 28, "gone", 'S', 1, 28, 108, nil)                                 // environ unreadable or vanished
	writeFakeProc(t, root, 29, "clean", 'S', 20, 29, 109, []string{})                        // cleared its environment: escapes
	writeFakeProc(t, root, 30, "x", 'S', 1, 30, 110, env("XSVINIT_RUN=17", "SVINIT_RUN=17x"))
	if err := os.MkdirAll(filepath.Join(root, "31"), 0o755); err != nil { // vanished between readdir and stat
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "32"), []byte("not a dir"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := scanMarked(root, 1, mark)
	if want := []int{20, 21, 22, 23}; !slices.Equal(pidsOf(got), want) {
		t.Fatalf("marked pids %v, want %v", pidsOf(got), want)
	}
	for _, p := range got {
		if p.Pid == 23 && (p.Comm != "a) (b" || p.Pgid != 23 || p.Start != 103) {
			t.Errorf("pid 23 parsed as %+v", p)
		}
		if p.Pid == 21 && p.Pgid != 21 {
			t.Errorf("pid 21 parsed as %+v", p)
		}
	}
	// Only svinit's descendants count: from pid 20's view, 21 and 29 are below it.
	if got := pidsOf(scanMarked(root, 20, mark)); !slices.Equal(got, []int{21}) {
		t.Errorf("below pid 20: %v, want [21]", got)
	}
	if got := scanMarked(filepath.Join(root, "missing"), 1, mark); len(got) != 0 {
		t.Errorf("no procfs: %v, want none", got)
	}
}

// Real children: a process that called setsid() still carries the marker
// its parent was started with; one started without it is not taken.
func TestMarkedFindsWhatLeftTheGroup(t *testing.T) {
	r := startReaper(t)
	mark := fmt.Sprintf("SVINIT_RUN=test-%d-%d", os.Getpid(), time.Now().UnixNano())
	dir := t.TempDir()
	spec := Spec{Argv: []string{"sh", "-c", "setsid sleep 60 & echo $! >\"$T/pid\"; exec sleep 60"},
		Env: append(os.Environ(), "T="+dir, mark), Files: []uintptr{0, 1, 2}}
	c, err := r.Launch(spec)
	if err != nil {
		t.Fatal(err)
	}
	other := sh(t, r, "exec sleep 60") // unmarked
	t.Cleanup(func() {
		_ = KillGroup(c.Pid, syscall.SIGKILL)
		_ = KillGroup(other.Pid, syscall.SIGKILL)
	})
	pidFile := filepath.Join(dir, "pid")
	var stray int
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(pidFile); err == nil && len(b) > 1 {
			stray, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		if stray > 0 && len(Marked(mark)) == 2 && pgidOf(stray) == stray {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("marked %v, want [%d %d] (stray's group %d)", Marked(mark), c.Pid, stray, pgidOf(stray))
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := Marked(mark)
	if want := []int{c.Pid, stray}; !slices.Equal(pidsOf(got), sorted(want)) {
		t.Fatalf("marked %v, want %v", pidsOf(got), want)
	}
	var p Proc
	for _, q := range got {
		if q.Pid == stray {
			p = q
		}
	}
	// The same pid with another start time is another process: never signalled.
	impostor := p
	impostor.Start++
	if Alive(impostor) {
		t.Errorf("a pid with another start time counts as alive")
	}
	if err := SignalProc(impostor, syscall.SIGKILL); err != nil {
		t.Errorf("signal to a reused pid: %v, want nil (already gone)", err)
	}
	if !Alive(p) {
		t.Fatalf("stray %d not alive after a signal to its impostor", stray)
	}
	if err := SignalProc(p, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the stray gone", func() bool { return !Alive(p) })
	if err := SignalProc(p, syscall.SIGKILL); err != nil {
		t.Errorf("signal to a process gone: %v, want nil", err)
	}
}

func sorted(s []int) []int { slices.Sort(s); return s }

func pgidOf(pid int) int {
	g, err := syscall.Getpgid(pid)
	if err != nil {
		return -1
	}
	return g
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
