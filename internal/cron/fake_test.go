package cron

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"alpine-server/internal/clock"
)

// fakeClock is a Clock the test moves by hand.
type fakeClock = clock.Fake

func newFakeClock(t time.Time) *fakeClock { return clock.NewFake(t) }

// fakeProc is a Process the test ends by hand.
type fakeProc struct {
	job  Job
	pid  int
	done chan int

	mu       sync.Mutex
	sigs     []syscall.Signal
	stubborn bool // ignores TERM
	exited   bool
}

func (p *fakeProc) Pid() int         { return p.pid }
func (p *fakeProc) Done() <-chan int { return p.done }

func (p *fakeProc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.exited {
		return syscall.ESRCH
	}
	p.sigs = append(p.sigs, sig)
	if sig == syscall.SIGKILL || (sig == syscall.SIGTERM && !p.stubborn) {
		p.exitLocked(128 + int(sig))
	}
	return nil
}

func (p *fakeProc) exit(code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exitLocked(code)
}

func (p *fakeProc) exitLocked(code int) {
	if !p.exited {
		p.exited = true
		p.done <- code
		close(p.done)
	}
}

func (p *fakeProc) signals() []syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]syscall.Signal(nil), p.sigs...)
}

// fakeSpawner records every job started.
type fakeSpawner struct {
	mu       sync.Mutex
	procs    []*fakeProc
	fail     error
	stubborn bool // jobs ignore TERM
}

func (s *fakeSpawner) spawn(j Job) (Process, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return nil, s.fail
	}
	p := &fakeProc{job: j, pid: 100 + len(s.procs), done: make(chan int, 1), stubborn: s.stubborn}
	s.procs = append(s.procs, p)
	return p, nil
}

func (s *fakeSpawner) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.procs)
}

func (s *fakeSpawner) proc(i int) *fakeProc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.procs[i]
}

// testLog collects log lines as "level: message".
type testLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *testLog) add(level, format string, a []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, a...))
}

func (l *testLog) Debugf(f string, a ...any) { l.add("debug", f, a) }
func (l *testLog) Infof(f string, a ...any)  { l.add("info", f, a) }
func (l *testLog) Warnf(f string, a ...any)  { l.add("warn", f, a) }
func (l *testLog) Errorf(f string, a ...any) { l.add("error", f, a) }

// count is how many lines contain sub.
func (l *testLog) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, line := range l.lines {
		if strings.Contains(line, sub) {
			n++
		}
	}
	return n
}

func (l *testLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what())
		}
		time.Sleep(time.Millisecond)
	}
}

// users is a fake passwd: user → home.
var errNoUser = errors.New("no such user")

func lookupUsers(users map[string]string) LookupUserFunc {
	return func(u string) (string, error) {
		if home, ok := users[u]; ok {
			return home, nil
		}
		return "", errNoUser
	}
}

// harness runs one Cron against a temp crontab dir, a fake clock and spawner.
type harness struct {
	t      *testing.T
	dir    string
	clock  *fakeClock
	spawn  *fakeSpawner
	log    *testLog
	cron   *Cron
	cancel context.CancelFunc
	done   chan error
}

// t0 is a Monday, half a minute past noon UTC.
var t0 = time.Date(2024, 1, 15, 12, 0, 30, 0, time.UTC)

func newHarness(t *testing.T, tabs map[string]string, mod func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), clock: newFakeClock(t0), spawn: &fakeSpawner{}, log: &testLog{}}
	for user, content := range tabs {
		h.write(user, content, t0.Add(-time.Hour))
	}
	cfg := Config{
		Dir: h.dir, Spawn: h.spawn.spawn, Log: h.log, Clock: h.clock, Location: time.UTC,
		LookupUser: lookupUsers(map[string]string{"root": "/root", "alice": "/home/alice"}),
		Environ:    func() []string { return []string{"PATH=/usr/bin:/bin", "SNAP=1", "HOME=/snapshot"} },
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.cron = c
	return h
}

// write writes a crontab with a given mtime, so reload tests do not depend
// on the file system's timestamp granularity.
func (h *harness) write(user, content string, mtime time.Time) {
	h.t.Helper()
	path := filepath.Join(h.dir, user)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		h.t.Fatal(err)
	}
}

// start runs the Cron and waits until it is ready.
func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	h.cancel, h.done = cancel, make(chan error, 1)
	go func() { h.done <- h.cron.Run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		h.t.Fatal("cron never became ready")
	}
	h.t.Cleanup(h.stop)
}

// stop cancels Run and waits for it to return.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(5 * time.Second):
		h.t.Error("Run did not return after cancel")
	}
}

// at moves the clock to t0's day at hh:mm:ss UTC.
func (h *harness) at(hh, mm, ss int) {
	h.clock.Set(time.Date(2024, 1, 15, hh, mm, ss, 0, time.UTC))
}

func (h *harness) waitSpawns(n int) {
	h.t.Helper()
	waitFor(h.t, func() string { return fmt.Sprintf("%d spawns, log:\n%s", n, h.log) }, func() bool { return h.spawn.count() >= n })
	if got := h.spawn.count(); got != n {
		h.t.Fatalf("spawns = %d, want %d\n%s", got, n, h.log)
	}
}

// exit ends the i-th job with code and waits until cron has seen it.
func (h *harness) exit(i, code int) {
	h.t.Helper()
	p := h.spawn.proc(i)
	p.exit(code)
	h.waitLog(fmt.Sprintf("exited %d (pid %d)", code, p.pid))
}

func (h *harness) waitLog(sub string) {
	h.t.Helper()
	waitFor(h.t, func() string { return fmt.Sprintf("log %q in:\n%s", sub, h.log) }, func() bool { return h.log.count(sub) > 0 })
}
