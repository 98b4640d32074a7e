package supervisor

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"alpine-server/internal/clock"
	"alpine-server/internal/reaper"
	"alpine-server/internal/restart"
)

// fakeSys is processes that live only in the test: a signal the test did
// not tell them to ignore ends them (and their group); the test ends them
// by hand with exit.
type fakeSys struct {
	mu        sync.Mutex
	next      int
	procs     map[int]*fakeProc
	ignore    map[syscall.Signal]bool  // signals the processes survive
	leftovers bool                     // a group outlives its leader until signalled
	killErr   error                    // what killGroup answers (the signal is lost)
	signals   []string                 // "pgid SIG" or "pid N SIG", in order
	self      bool                     // processes get this test's own pid (the notify socket checks senders)
	specs     []reaper.Spec            // what was launched
	extra     []*os.File               // copies of the fds beyond 0-2 each launch got (ready: {fd: N})
	byPid     map[int]reaper.Spec      // what each pid was launched with
	strays    map[uint64][]*fakeStray  // live processes outside their group, by run
	scans     int                      // calls of marked
	members   map[int]bool             // pids (not leaders) that member counts as the run's: MAINPID= candidates
	watched   map[int]chan reaper.Exit // pids watchPid watches; the test sends their exit
}

// fakeStray is a process of a run that left the run's group.
type fakeStray struct {
	proc  reaper.Proc
	alive bool
}

type fakeProc struct {
	done      chan reaper.Exit
	leader    bool // the leader has not exited
	leftovers bool // other members of its group are alive
}

func newFakeSys() *fakeSys {
	return &fakeSys{next: 100, procs: map[int]*fakeProc{}, ignore: map[syscall.Signal]bool{},
		byPid: map[int]reaper.Spec{}, strays: map[uint64][]*fakeStray{},
		members: map[int]bool{}, watched: map[int]chan reaper.Exit{}}
}

func (f *fakeSys) launch(s reaper.Spec) (*reaper.Child, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	if f.self {
		f.next = os.Getpid()
	}
	f.byPid[f.next] = s
	p := &fakeProc{done: make(chan reaper.Exit, 1), leader: true}
	f.procs[f.next] = p
	f.specs = append(f.specs, s)
	for _, fd := range s.Files[min(3, len(s.Files)):] {
		if fd != ^uintptr(0) {
			if dup, err := syscall.Dup(int(fd)); err == nil {
				f.extra = append(f.extra, os.NewFile(uintptr(dup), "extra"))
			}
		}
	}
	return &reaper.Child{Pid: f.next, Done: p.done}, nil
}

func (f *fakeSys) killGroup(pgid int, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, fmt.Sprintf("%d %s", pgid, reaper.SignalName(sig)))
	if f.killErr != nil {
		return f.killErr
	}
	p := f.procs[pgid]
	if p == nil || sig == syscall.SIGCONT || f.ignore[sig] && sig != syscall.SIGKILL {
		return nil
	}
	p.leftovers = false
	f.end(pgid, reaper.Exit{Pid: pgid, Code: 128 + int(sig), Signaled: true, Signal: sig})
	return nil
}

// end makes the leader of pgid exit with x (once).
func (f *fakeSys) end(pgid int, x reaper.Exit) {
	if p := f.procs[pgid]; p.leader {
		p.leader = false
		p.done <- x
		close(p.done)
	}
}

func (f *fakeSys) groupAlive(pgid int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.procs[pgid]
	return p != nil && (p.leader || p.leftovers)
}

// exit ends the leader of pgid with code, as a crash would; with
// leftovers set, the rest of its group lives on.
func (f *fakeSys) exit(pgid, code int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.procs[pgid].leftovers = f.leftovers
	f.end(pgid, reaper.Exit{Pid: pgid, Code: code})
}

// addStray makes a process, pid, marked with the run of the process
// launched as pgid, outside its group.
func (f *fakeSys) addStray(pgid, pid int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	run := f.byPid[pgid].Run
	f.strays[run] = append(f.strays[run], &fakeStray{proc: reaper.Proc{Pid: pid, Comm: "worker", Pgid: pid, Start: 7}, alive: true})
}

func (f *fakeSys) marked(run uint64) []reaper.Proc {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scans++
	var out []reaper.Proc
	for _, s := range f.strays[run] {
		if s.alive {
			out = append(out, s.proc)
		}
	}
	return out
}

func (f *fakeSys) procAlive(p reaper.Proc) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ss := range f.strays {
		for _, s := range ss {
			if s.proc == p {
				return s.alive
			}
		}
	}
	return false
}

func (f *fakeSys) signalProc(p reaper.Proc, sig syscall.Signal) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, fmt.Sprintf("pid %d %s", p.Pid, reaper.SignalName(sig)))
	for _, ss := range f.strays {
		for _, s := range ss {
			if s.proc == p && sig != syscall.SIGCONT && (!f.ignore[sig] || sig == syscall.SIGKILL) {
				s.alive = false
			}
		}
	}
	return nil
}

func (f *fakeSys) member(pid, pgid int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return pid == pgid || f.members[pid]
}

func (f *fakeSys) watchPid(pid int) (<-chan reaper.Exit, func(), error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan reaper.Exit, 1)
	f.watched[pid] = ch
	return ch, func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.watched[pid] == ch {
			delete(f.watched, pid)
		}
	}, nil
}

// endWatched ends the watched process pid; false if nobody watches it.
func (f *fakeSys) endWatched(pid int, x reaper.Exit) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.watched[pid]
	if ok {
		delete(f.watched, pid)
		ch <- x
	}
	return ok
}

func (f *fakeSys) sent() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return strings.Join(f.signals, ",")
}

// newFakeHarness runs services (manifest bodies) as fake processes on a
// fake clock.
func newFakeHarness(t *testing.T, services map[string]string) (*harness, *clock.Fake, *fakeSys) {
	t.Helper()
	c, sys := clock.NewFake(time.Now()), newFakeSys()
	h := newHarnessWith(t, harnessOpts{services: services, clock: c, sys: sys})
	return h, c, sys
}

// advanceUntil moves the fake clock by step until cond holds: for waits
// (the cleanup poll) whose timer the loop arms a little later.
func (h *harness) advanceUntil(c *clock.Fake, step time.Duration, what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s\n%s", what, h.out.String())
		}
		added, changed := c.Added(), h.sup.changed()
		c.Add(step)
		select {
		case <-added:
		case <-changed:
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func TestBackoffDoublesThenFatalOnAFakeClock(t *testing.T) {
	start := time.Now()
	h, c, sys := newFakeHarness(t, map[string]string{"crash": "command: [sleep, \"100\"]\n"})
	delay := restart.FirstBackoff
	for i := 1; i <= restart.FatalCount; i++ {
		st := h.waitState("crash", Running, true)
		sys.exit(st.Pid, 3)
		if i == restart.FatalCount {
			break
		}
		st = h.waitState("crash", Backoff, false)
		if left := st.RetryAt.Sub(c.Now()); left != delay || st.Restarts != i {
			t.Fatalf("failure %d: restart in %v, restarts %d; want %v, %d", i, left, st.Restarts, delay, i)
		}
		c.Add(delay - time.Nanosecond)
		if st := h.sup.unit("crash").status(); st.State != Backoff {
			t.Fatalf("failure %d: %s before the delay passed", i, st.State)
		}
		c.Add(time.Nanosecond)
		delay *= 2
	}
	st := h.waitState("crash", Fatal, false)
	if st.Failures != restart.FatalCount {
		t.Errorf("fatal with %d failures", st.Failures)
	}
	h.waitLog(fmt.Sprintf("service crash exited 3 %d times in %s; giving up", restart.FatalCount, restart.FatalWindow))
	t.Logf("ten failures, %v of backoff, in %v", c.Now().Sub(start), time.Since(start))
}

func TestStopEscalatesToKillAtStopTimeout(t *testing.T) {
	h, c, sys := newFakeHarness(t, map[string]string{"stubborn": "command: [sleep, \"100\"]\nstop_timeout: 3s\n"})
	sys.ignore[syscall.SIGTERM] = true
	st := h.waitState("stubborn", Running, true)
	h.sup.Do(t.Context(), Request{Verb: VerbStop, Names: []string{"stubborn"}})
	h.waitState("stubborn", Stopping, false)
	c.Add(3*time.Second - time.Nanosecond)
	if got := h.sup.unit("stubborn").status().State; got != Stopping {
		t.Fatalf("%s before stop_timeout", got)
	}
	c.Add(time.Nanosecond)
	h.waitState("stubborn", Down, false)
	want := fmt.Sprintf("%d TERM,%d CONT,%d KILL", st.Pid, st.Pid, st.Pid)
	if got := sys.sent(); got != want {
		t.Errorf("signals %q, want %q", got, want)
	}
	h.waitLog("service stubborn did not stop after SIGTERM; sending SIGKILL")
}

func TestShutdownDeadlineBringsTheKillForward(t *testing.T) {
	h, c, sys := newFakeHarness(t, map[string]string{"stubborn": "command: [sleep, \"100\"]\nstop_timeout: 1m\n"})
	sys.ignore[syscall.SIGTERM] = true
	h.waitState("stubborn", Running, true)
	h.sup.Do(t.Context(), Request{Verb: VerbStop, Names: []string{"stubborn"}})
	h.waitState("stubborn", Stopping, false)
	done, asked := make(chan struct{}), c.Now()
	go func() { h.sup.Shutdown(asked.Add(2 * time.Second)); close(done) }()
	h.advanceUntil(c, 500*time.Millisecond, "the shutdown's KILL", func() bool {
		return strings.HasSuffix(sys.sent(), "KILL")
	})
	if took := c.Now().Sub(asked); took > 2*time.Second+500*time.Millisecond {
		t.Errorf("KILL came %v after the shutdown with a 2s deadline (stop_timeout 1m)", took)
	}
	<-done
}

func TestReadyTimeoutOnAFakeClock(t *testing.T) {
	h, c, sys := newFakeHarness(t, map[string]string{"never": "command: [sleep, \"100\"]\n" +
		"ready:\n  file: /nonexistent/never\n  timeout: 2s\n"})
	h.waitState("never", Starting, false)
	c.Add(2 * time.Second)
	st := h.waitState("never", Backoff, false)
	if st.Restarts != 1 || st.LastExit == nil || st.LastExit.Signal != syscall.SIGTERM {
		t.Errorf("after the ready timeout: %+v; want a counted failure, killed by TERM", st)
	}
	h.waitLog("service never: file /nonexistent/never not ready after 2s")
	if !strings.Contains(sys.sent(), "TERM") {
		t.Errorf("no stop signal: %s", sys.sent())
	}
}

func TestLeftoversAreStoppedBeforeTheRestart(t *testing.T) {
	h, c, sys := newFakeHarness(t, map[string]string{"web": "command: [sleep, \"100\"]\n"})
	st := h.waitState("web", Running, true)
	sys.mu.Lock()
	sys.leftovers = true
	sys.mu.Unlock()
	sys.exit(st.Pid, 137)
	h.waitState("web", Cleanup, false)
	h.advanceUntil(c, cleanupPoll, "the group to be empty", func() bool {
		return h.sup.unit("web").status().State == Backoff
	})
	h.waitLog("service web exited 137; stopping what is left of its process group")
	if got, want := sys.sent(), fmt.Sprintf("%d TERM,%d CONT", st.Pid, st.Pid); got != want {
		t.Errorf("signals %q, want %q", got, want)
	}
	c.Add(restart.FirstBackoff)
	if again := h.waitState("web", Running, true); again.Pid == st.Pid || again.Restarts != 1 {
		t.Errorf("after the restart: %+v", again)
	}
}

func TestDrainMarksNotReadyAndKeepsRunning(t *testing.T) {
	h, _, _ := newFakeHarness(t, map[string]string{"a": "command: [sleep, \"100\"]\n", "b": "command: [sleep, \"100\"]\n"})
	a := h.waitState("a", Running, true)
	h.waitState("b", Running, true)
	h.sup.Drain()
	for _, n := range []string{"a", "b"} {
		if st := h.sup.unit(n).status(); st.State != Running || st.Ready {
			t.Errorf("%s after Drain: %s ready=%v; want running, not ready", n, st.State, st.Ready)
		}
	}
	if r := h.sup.Do(t.Context(), Request{Verb: VerbCheck}); r[0].Err == nil || r[1].Err == nil {
		t.Errorf("sv check after Drain: %+v", r)
	}
	if st := h.sup.unit("a").status(); st.Pid != a.Pid {
		t.Errorf("Drain restarted a")
	}
}

// A kill that fails for another reason than "already gone" is logged, and
// sv hears of a failed signal.
func TestKillErrorsAreLogged(t *testing.T) {
	h, _, sys := newFakeHarness(t, map[string]string{"web": "command: [sleep, \"100\"]\n"})
	st := h.waitState("web", Running, true)
	sys.mu.Lock()
	sys.killErr = syscall.EPERM
	sys.mu.Unlock()
	r := h.sup.Do(t.Context(), Request{Verb: VerbSignal, Signal: syscall.SIGHUP, Names: []string{"web"}})
	if r[0].Err != syscall.EPERM {
		t.Errorf("sv hup with a failing kill: %v", r[0].Err)
	}
	h.sup.Do(t.Context(), Request{Verb: VerbStop, Names: []string{"web"}})
	h.waitLog(fmt.Sprintf("service web: kill process group %d with SIGHUP: operation not permitted", st.Pid))
	h.waitLog(fmt.Sprintf("service web: kill process group %d with SIGTERM: operation not permitted", st.Pid))
	sys.mu.Lock()
	sys.killErr = nil
	sys.mu.Unlock()
	sys.exit(st.Pid, 0) // let the harness shut down
}

// The main process is marked with its run, a new run with a new one, and
// is told its service's name.
func TestMainProcessIsMarkedWithItsRun(t *testing.T) {
	h, c, sys := newFakeHarness(t, map[string]string{"web": "command: [sleep, \"100\"]\nenvironment:\n  SVINIT_SERVICE: forged\n"})
	first := h.waitState("web", Running, true)
	sys.exit(first.Pid, 1)
	h.waitState("web", Backoff, false)
	c.Add(restart.FirstBackoff)
	second := h.waitState("web", Running, true)
	sys.mu.Lock()
	a, b := sys.byPid[first.Pid], sys.byPid[second.Pid]
	sys.mu.Unlock()
	if a.Run == 0 || b.Run == 0 || a.Run == b.Run {
		t.Errorf("runs marked %d and %d, want distinct and not 0", a.Run, b.Run)
	}
	if !slices.Contains(a.Env, "SVINIT_SERVICE=web") || slices.Contains(a.Env, "SVINIT_SERVICE=forged") {
		t.Errorf("environment of the first run: %q", a.Env)
	}
}

// A crash whose run left a process outside the group: the stray gets the
// stop_signal, then KILL at stop_timeout; the restart waits for it.
func TestStraysAreStoppedBeforeTheRestart(t *testing.T) {
	h, c, sys := newFakeHarness(t, map[string]string{"pg": "command: [sleep, \"100\"]\nstop_timeout: 3s\n"})
	sys.ignore[syscall.SIGTERM] = true
	st := h.waitState("pg", Running, true)
	sys.addStray(st.Pid, 500)
	sys.exit(st.Pid, 137)
	h.waitState("pg", Cleanup, false)
	h.waitLog("service pg exited 137; stopping 1 process that left its process group: pid 500 (worker)")
	if got := sys.sent(); got != fmt.Sprintf("%d TERM,%d CONT,pid 500 TERM,pid 500 CONT", st.Pid, st.Pid) {
		t.Errorf("signals %q", got)
	}
	h.advanceUntil(c, time.Second, "the stray killed and the restart", func() bool {
		return h.sup.unit("pg").status().State == Backoff
	})
	if got := sys.sent(); !strings.HasSuffix(got, "pid 500 KILL") {
		t.Errorf("signals %q, want the stray KILLed", got)
	}
	// One scan at the exit, one when KILL is sent: never one per poll.
	sys.mu.Lock()
	scans := sys.scans
	sys.mu.Unlock()
	if scans != 2 {
		t.Errorf("%d scans of /proc, want 2", scans)
	}
}
