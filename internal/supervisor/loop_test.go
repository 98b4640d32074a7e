package supervisor

import (
	"fmt"
	"os"
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
	ignore    map[syscall.Signal]bool // signals the processes survive
	leftovers bool                    // a group outlives its leader until signalled
	killErr   error                   // what killGroup answers (the signal is lost)
	signals   []string                // "pgid SIG", in order
	self      bool                    // processes get this test's own pid (the notify socket checks senders)
	specs     []reaper.Spec           // what was launched
	extra     []*os.File              // copies of the fds beyond 0-2 each launch got (ready: {fd: N})
}

type fakeProc struct {
	done      chan reaper.Exit
	leader    bool // the leader has not exited
	leftovers bool // other members of its group are alive
}

func newFakeSys() *fakeSys {
	return &fakeSys{next: 100, procs: map[int]*fakeProc{}, ignore: map[syscall.Signal]bool{}}
}

func (f *fakeSys) launch(s reaper.Spec) (*reaper.Child, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	if f.self {
		f.next = os.Getpid()
	}
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
