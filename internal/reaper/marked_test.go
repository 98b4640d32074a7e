package reaper

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// writeFakeProc writes /proc/PID/stat and, unless locks is "", limits
// with locks as the soft limit of "Max file locks", under root.
func writeFakeProc(t *testing.T, root string, pid int, comm string, state byte, ppid, pgid int, start uint64, locks string) {
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
	if locks != "" {
		limits := "Limit                     Soft Limit           Hard Limit           Units     \n" +
			"Max cpu time              unlimited            unlimited            seconds   \n" +
			"Max file locks            " + locks + "            unlimited            locks     \n" +
			"Max pending signals       62811                62811                signals   \n"
		if err := os.WriteFile(filepath.Join(dir, "limits"), []byte(limits), 0o644); err != nil {
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
// soft RLIMIT_LOCKS is the run's mark, exactly — whatever its group.
func TestMarkedAttribution(t *testing.T) {
	root := t.TempDir()
	var mark uint64 = MarkBase + 17
	m := strconv.FormatUint(mark, 10)
	writeFakeProc(t, root, 1, "svinit", 'S', 0, 1, 10, "unlimited")
	writeFakeProc(t, root, 2, "kthreadd", 'S', 0, 0, 1, "unlimited")
	writeFakeProc(t, root, 3, "kworker/0:1", 'I', 2, 0, 2, "unlimited")
	writeFakeProc(t, root, 20, "postgres", 'S', 1, 20, 100, m)  // the main process itself
	writeFakeProc(t, root, 21, "postgres", 'S', 20, 21, 101, m) // setsid: a group of its own
	writeFakeProc(t, root, 22, "postgres", 'R', 1, 22, 102, m)  // orphaned to svinit
	writeFakeProc(t, root, 23, "a) (b", 'S', 22, 23, 103, m)    // comm with ") (" in it
	writeFakeProc(t, root, 24, "postgres", 'Z', 1, 24, 104, m)  // a zombie holds nothing
	writeFakeProc(t, root, 25, "sh", 'S', 1, 25, 105, m+"0")    // another run
	writeFakeProc(t, root, 26, "sh", 'S', 1, 26, 106, strconv.FormatUint(MarkBase+1, 10))
	writeFakeProc(t, root, 27, "bash", 'S', 0, 27, 107, m)                // docker exec: not below svinit
	writeFakeProc(t, root, 28, "gone", 'S', 1, 28, 108, "")               // limits unreadable or vanished
	writeFakeProc(t, root, 29, "own", 'S', 20, 29, 109, "1024")           // set its own RLIMIT_LOCKS: escapes
	writeFakeProc(t, root, 30, "x", 'S', 1, 30, 110, "garbage")           // unparsable
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

// Real children: a process that called setsid() and cleared its
// environment still carries the mark its parent was started with; one
// started without it is not taken, and svinit itself keeps its limit.
func TestMarkedFindsWhatLeftTheGroup(t *testing.T) {
	r := startReaper(t)
	run := uint64(time.Now().UnixNano() & 0xffffffff)
	dir := t.TempDir()
	// The marked child clears its environment and leaves the group: still
	// found.
	spec := Spec{Argv: []string{"sh", "-c", "env -i setsid sleep 60 & echo $! >\"$T/pid\"; exec sleep 60"},
		Env: append(os.Environ(), "T="+dir), Files: []uintptr{0, 1, 2}, Run: run}
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
		if stray > 0 && len(Marked(run)) == 2 && pgidOf(stray) == stray {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("marked %v, want [%d %d] (stray's group %d)", Marked(run), c.Pid, stray, pgidOf(stray))
		}
		time.Sleep(10 * time.Millisecond)
	}
	var own unix.Rlimit
	if err := unix.Prlimit(0, unix.RLIMIT_LOCKS, nil, &own); err != nil || own.Cur == MarkBase+run {
		t.Errorf("svinit's own RLIMIT_LOCKS after the launch: %+v %v", own, err)
	}
	got := Marked(run)
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

// BenchmarkMarked is the cost of one scan (at a main process's exit, or
// when KILL goes to its leftovers) with 200 processes below svinit, half
// of them carrying the run's marker.
func BenchmarkMarked(b *testing.B) {
	r := New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	go r.Run(ctx)
	defer cancel()
	var run uint64 = 99
	var kids []*Child
	for i := range 200 {
		c, err := r.Launch(Spec{Argv: []string{"sleep", "600"}, Env: os.Environ(), Files: []uintptr{0, 1, 2}, Run: run * uint64(i%2)})
		if err != nil {
			b.Fatal(err)
		}
		kids = append(kids, c)
	}
	defer func() {
		for _, c := range kids {
			_ = KillGroup(c.Pid, syscall.SIGKILL)
			<-c.Done
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); len(Marked(run)) != 100; {
		if time.Now().After(deadline) { // until every child has exec'd
			b.Fatalf("marked %d, want 100", len(Marked(run)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// CPU time as well as wall time: on a shared machine the wall time is
	// mostly waiting for a core.
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	n := 0
	for b.Loop() {
		if got := len(Marked(run)); got != 100 {
			b.Fatalf("marked %d, want 100", got)
		}
		n++
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	cpu := time.Duration(after.Utime.Nano() + after.Stime.Nano() - before.Utime.Nano() - before.Stime.Nano())
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
}
