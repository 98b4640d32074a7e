package reaper

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func startReaper(t *testing.T) *Reaper {
	t.Helper()
	// Make the test process a subreaper so double-forked orphans come back to us.
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatalf("prctl: %v", err)
	}
	// Not t.Logf: a late orphan may be reaped after the test has ended.
	r := New(func(string, ...any) {})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	// Stay until every process of this test is reaped (10 s at most): one
	// exiting late would be the next test's reaper's orphan and break its
	// count.
	t.Cleanup(func() {
		select {
		case <-r.Empty():
		case <-time.After(10 * time.Second):
		}
		cancel()
		<-done
	})
	return r
}

func sh(t *testing.T, r *Reaper, script string) *Child {
	t.Helper()
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2},
		Sys: &syscall.SysProcAttr{Setpgid: true}}
	c, err := r.Start("/bin/sh", []string{"sh", "-c", script}, attr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func waitExit(t *testing.T, c *Child) Exit {
	t.Helper()
	select {
	case e := <-c.Done:
		return e
	case <-time.After(10 * time.Second):
		t.Fatalf("pid %d: no exit within 10s", c.Pid)
	}
	return Exit{}
}

func TestExitCodes(t *testing.T) {
	r := startReaper(t)
	tests := []struct {
		script string
		want   Exit
		str    string
	}{
		{"exit 0", Exit{Code: 0}, "exited 0"},
		{"exit 3", Exit{Code: 3}, "exited 3"},
		{"kill -KILL $$", Exit{Code: 137, Signaled: true, Signal: syscall.SIGKILL}, "killed by SIGKILL"},
		{"kill -TERM $$", Exit{Code: 143, Signaled: true, Signal: syscall.SIGTERM}, "killed by SIGTERM"},
	}
	for _, tt := range tests {
		c := sh(t, r, tt.script)
		got := waitExit(t, c)
		tt.want.Pid = c.Pid
		if got != tt.want || got.String() != tt.str {
			t.Errorf("%q: got %+v (%s), want %+v (%s)", tt.script, got, got, tt.want, tt.str)
		}
		if _, open := <-c.Done; open {
			t.Errorf("%q: Done not closed after the exit", tt.script)
		}
	}
}

func TestStartErrorNamesPath(t *testing.T) {
	r := startReaper(t)
	_, err := r.Start("/nonexistent/prog", []string{"prog"}, &syscall.ProcAttr{})
	if err == nil || err.Error() != "start /nonexistent/prog: no such file or directory" {
		t.Fatalf("got %v", err)
	}
}

func TestOrphansAreReapedAndEmptyFollows(t *testing.T) {
	r := startReaper(t)
	c := sh(t, r, "for i in 1 2 3 4 5; do (sleep 0.05 &) ; done; exit 0")
	waitExit(t, c)
	select {
	case <-r.Empty():
	case <-time.After(10 * time.Second):
		t.Fatalf("children left after 10s: %v", Descendants(os.Getpid()))
	}
	if n := r.Orphans(); n != 5 {
		t.Errorf("orphans reaped = %d, want 5", n)
	}
	if d := Descendants(os.Getpid()); len(d) != 0 {
		t.Errorf("descendants left: %v", d)
	}
}

func TestDescendantsSeesGrandchildren(t *testing.T) {
	r := startReaper(t)
	c := sh(t, r, "sleep 30 & wait")
	deadline := time.Now().Add(5 * time.Second)
	for {
		d := Descendants(os.Getpid())
		if len(d) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want sh and sleep below us, got %v", d)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := KillGroup(c.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitExit(t, c)
	select { // the killed sleep comes back to us as an orphan
	case <-r.Empty():
	case <-time.After(10 * time.Second):
		t.Fatalf("children left: %v", Descendants(os.Getpid()))
	}
	if err := KillGroup(c.Pid, syscall.SIGKILL); err != nil {
		t.Errorf("KillGroup of a gone group: %v, want nil (ESRCH is not an error)", err)
	}
}

// TestOrphanBurstLoggedOnce: a burst of orphans is one debug line, not one
// per exit (10,000 orphans at debug level were 10,000 formatted lines on
// the reaper's per-exit path).
func TestOrphanBurstLoggedOnce(t *testing.T) {
	var lines []string
	r := New(func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) })
	defer signal.Stop(r.sigchld)
	for range 100 {
		if errno := zombie(); errno != 0 {
			t.Fatal(errno)
		}
	}
	// vfork resumes the parent when the child releases its memory, a little
	// before the child is a zombie wait4 can see: wait until all 100 are,
	// or a late one is left over for the next test's reaper to count.
	waitZombies(t, 100)
	r.reapAll()
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "reaped ") || !strings.Contains(lines[0], " orphans") {
		t.Fatalf("log after a burst of 100 orphans: %d lines %q, want one \"reaped N orphans\"", len(lines), lines)
	}
	if got := r.Orphans(); got < 100 {
		t.Errorf("Orphans() = %d, want ≥ 100", got)
	}
}

// waitZombies waits until this process has n zombie children (state Z in
// /proc/PID/stat, parent our pid).
func waitZombies(t *testing.T, n int) {
	t.Helper()
	self := strconv.Itoa(os.Getpid())
	for deadline := time.Now().Add(10 * time.Second); ; {
		entries, _ := os.ReadDir("/proc")
		count := 0
		for _, e := range entries {
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			s := string(b)
			end := strings.LastIndexByte(s, ')')
			if f := strings.Fields(s[end+1:]); end > 0 && len(f) > 1 && f[0] == "Z" && f[1] == self {
				count++
			}
		}
		if count >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d zombie children after 10s, want %d", count, n)
		}
		time.Sleep(time.Millisecond)
	}
}
