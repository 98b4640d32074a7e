package supervisor

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"alpine-server/internal/clock"
	"alpine-server/internal/reaper"
)

// sdNotify sends msg to the socket as sd_notify does, then a BARRIER=1 and
// waits until svinit closes its fd: everything sent before is applied.
func sdNotify(t *testing.T, path, msg string) {
	t.Helper()
	send := func(b string, fds ...int) {
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		var oob []byte
		if len(fds) > 0 {
			oob = unix.UnixRights(fds...)
		}
		if err := unix.Sendmsg(fd, []byte(b), oob, &unix.SockaddrUnix{Name: path}, 0); err != nil {
			t.Fatal(err)
		}
	}
	send(msg)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	send("BARRIER=1", int(w.Fd()))
	w.Close()
	r.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.Read(make([]byte, 1)); err == nil || !strings.Contains(err.Error(), "EOF") {
		t.Fatalf("barrier after %q: %v", msg, err)
	}
}

func newFakeClockSys() (*clock.Fake, *fakeSys) { return clock.NewFake(time.Now()), newFakeSys() }

func envOf(spec []string, key string) string {
	for _, kv := range spec {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

func TestNotifyOnAFakeClock(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "/run/systemd/notify") // svinit's own, under systemd: never passed on
	c, sys := newFakeClockSys()
	sys.self = true
	h := newHarnessWith(t, harnessOpts{clock: c, sys: sys, environ: os.Environ, services: map[string]string{
		"web": "command: [sleep, \"100\"]\nready: {notify: systemd, timeout: 10s}\nwatchdog: 2s\n"}})
	h.waitState("web", Starting, false)
	sys.mu.Lock()
	env := sys.specs[0].Env
	sys.mu.Unlock()
	socket := envOf(env, "NOTIFY_SOCKET")
	if dir, _ := h.sup.cfg.NotifyDir(); socket != filepath.Join(dir, "web") || envOf(env, "WATCHDOG_USEC") != "2000000" {
		t.Fatalf("service env: NOTIFY_SOCKET=%q WATCHDOG_USEC=%q", socket, envOf(env, "WATCHDOG_USEC"))
	}
	if n := slices.IndexFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "NOTIFY_SOCKET=") }); slices.ContainsFunc(env[n+1:], func(kv string) bool { return strings.HasPrefix(kv, "NOTIFY_SOCKET=") }) {
		t.Errorf("two NOTIFY_SOCKET in %q", env)
	}

	// EXTEND_TIMEOUT_USEC pushes ready.timeout (10s) to 30s from now.
	sdNotify(t, socket, "STATUS=loading\nEXTEND_TIMEOUT_USEC=30000000")
	c.Add(20 * time.Second)
	if st := h.sup.unit("web").status(); st.State != Starting || st.Text != "loading" {
		t.Fatalf("after 20s of an extended start: %s %q", st.State, st.Text)
	}
	sdNotify(t, socket, "READY=1\nSTATUS=serving")
	st := h.waitState("web", Running, true)
	if st.Text != "serving" {
		t.Errorf("status text %q", st.Text)
	}
	h.waitLog("service web ready (pid ")

	// Pings keep it up past the 2s watchdog; a missed one restarts it.
	for range 3 {
		c.Add(time.Second)
		sdNotify(t, socket, "WATCHDOG=1")
	}
	if st := h.sup.unit("web").status(); st.State != Running {
		t.Fatalf("restarted while pinging: %s\n%s", st.State, h.out.String())
	}
	c.Add(2 * time.Second)
	h.waitState("web", Backoff, false)
	h.waitLog("service web: watchdog: no WATCHDOG=1 within 2s; restarting it")
}

func TestReadyFDOnAFakeClock(t *testing.T) {
	c, sys := newFakeClockSys()
	h := newHarnessWith(t, harnessOpts{clock: c, sys: sys, services: map[string]string{
		"web": "command: [sleep, \"100\"]\nready: {fd: 4}\n"}})
	h.waitState("web", Starting, false)
	sys.mu.Lock()
	files, extra := sys.specs[0].Files, sys.extra
	sys.mu.Unlock()
	if len(files) != 5 || files[3] != ^uintptr(0) || len(extra) != 1 {
		t.Fatalf("fds given: %v (want 0-2, 3 closed, 4 the pipe)", files)
	}
	extra[0].WriteString("ready\n")
	h.waitState("web", Running, true)
	h.sup.Do(t.Context(), Request{Verb: VerbRestart, Names: []string{"web"}})
	h.waitState("web", Starting, false)
	sys.mu.Lock()
	second := sys.extra[len(sys.extra)-1]
	sys.mu.Unlock()
	second.Close() // closed without a newline: the start fails at once
	h.waitState("web", Backoff, false)
	h.waitLog("service web: fd 4: the service closed its notification fd without writing a newline; stopping it")
	for _, f := range extra {
		f.Close()
	}
}

// fireNext moves the fake clock to its next pending wake-up (waiting for
// one to be armed), then waits until the unit's status satisfies cond.
func (h *harness) fireNext(c *clock.Fake, name, what string, cond func(Status) bool) Status {
	h.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		added := c.Added()
		if at, ok := c.Next(); ok {
			c.Set(at)
			break
		}
		select {
		case <-added:
		case <-deadline:
			h.t.Fatalf("%s: nothing armed on the clock", what)
		}
	}
	for {
		changed := h.sup.changed()
		if st := h.sup.unit(name).status(); cond(st) {
			return st
		}
		select {
		case <-changed:
		case <-deadline:
			h.t.Fatalf("%s: status %+v\n%s", what, h.sup.unit(name).status(), h.out.String())
		}
	}
}

func TestHealthOnAFakeClock(t *testing.T) {
	c, sys := newFakeClockSys()
	dir := t.TempDir()
	alive := filepath.Join(dir, "alive")
	os.WriteFile(alive, nil, 0o644)
	h := newHarnessWith(t, harnessOpts{clock: c, sys: sys, services: map[string]string{
		"web": "command: [sleep, \"100\"]\nhealth: {file: " + alive + ", interval: 1s, retries: 2}\n"}})
	first := h.waitState("web", Running, true)
	h.fireNext(c, "web", "healthy", func(st Status) bool { return st.Health == healthy })
	if r := h.sup.Do(t.Context(), Request{Verb: VerbCheck, Names: []string{"web"}}); r[0].Err != nil {
		t.Errorf("sv check while healthy: %v", r[0].Err)
	}
	os.Remove(alive)
	st := h.fireNext(c, "web", "unhealthy", func(st Status) bool { return st.Health == unhealthy })
	if st.State != Running || !st.Ready {
		t.Errorf("after one failure of two: %s ready=%v; want still running", st.State, st.Ready)
	}
	if r := h.sup.Do(t.Context(), Request{Verb: VerbCheck, Names: []string{"web"}}); r[0].Err == nil || r[0].Err.Error() != "unhealthy" {
		t.Errorf("sv check while unhealthy: %v", r[0].Err)
	}
	st = h.fireNext(c, "web", "the restart", func(st Status) bool { return st.State == Backoff })
	h.waitLog("service web: health: file " + alive + " failed 2 times in a row: stat " + alive + ": no such file or directory; restarting it")
	if st.Restarts != 1 || st.LastExit == nil || st.LastExit.Signal != syscall.SIGTERM {
		t.Errorf("after the liveness failure: %+v", st)
	}
	os.WriteFile(alive, nil, 0o644)
	again := h.fireNext(c, "web", "running again", func(st Status) bool { return st.State == Running })
	if again.Pid == first.Pid || again.Health != "" {
		t.Errorf("the new run: pid %d (was %d), health %q", again.Pid, first.Pid, again.Health)
	}
}

// TestAnnouncedReadinessTimesOut: ready.timeout bounds notify and fd
// services too, and the line says what never came.
func TestAnnouncedReadinessTimesOut(t *testing.T) {
	c, sys := newFakeClockSys()
	h := newHarnessWith(t, harnessOpts{clock: c, sys: sys, services: map[string]string{
		"n": "command: [sleep, \"100\"]\nready: {notify: systemd, timeout: 3s}\n",
		"f": "command: [sleep, \"100\"]\nready: {fd: 3, timeout: 3s}\n",
	}})
	h.waitState("n", Starting, false)
	h.waitState("f", Starting, false)
	c.Add(3 * time.Second)
	h.waitState("n", Backoff, false)
	h.waitState("f", Backoff, false)
	h.waitLog("service n: no READY=1 on its NOTIFY_SOCKET after 3s; stopping it")
	h.waitLog("service f: no newline on fd 3 after 3s; stopping it")
	sys.mu.Lock()
	for _, f := range sys.extra {
		f.Close()
	}
	sys.mu.Unlock()
}

func TestMainPIDOnAFakeClock(t *testing.T) {
	c, sys := newFakeClockSys()
	sys.self = true
	sys.members[777] = true // a daemon child of the run
	h := newHarnessWith(t, harnessOpts{clock: c, sys: sys, services: map[string]string{
		"web": "command: [sleep, \"100\"]\nready: {notify: systemd}\n"}})
	h.waitState("web", Starting, false)
	sys.mu.Lock()
	socket := envOf(sys.specs[0].Env, "NOTIFY_SOCKET")
	sys.mu.Unlock()
	started := os.Getpid()

	// Not a process of the service: ignored, counted as foreign.
	sdNotify(t, socket, "MAINPID=888")
	if st := h.sup.unit("web").snapshot(); st.Pid != started || st.Notify.Foreign != 1 {
		t.Fatalf("foreign MAINPID=888: pid %d, foreign %d", st.Pid, st.Notify.Foreign)
	}
	sdNotify(t, socket, "MAINPID=777\nREADY=1")
	if st := h.waitState("web", Running, true); st.Pid != 777 {
		t.Fatalf("after MAINPID=777: pid %d\n%s", st.Pid, h.out.String())
	}
	// The started process exits: no crash, the run goes on with 777.
	sys.exit(started, 0)
	h.waitLog("service web: pid " + strconv.Itoa(started) + " exited 0; its main process is pid 777 (MAINPID=)")
	if st := h.sup.unit("web").status(); st.State != Running || st.Pid != 777 || st.Restarts != 0 {
		t.Fatalf("after the started process exited: %s pid %d restarts %d", st.State, st.Pid, st.Restarts)
	}
	// sv hup still goes to the process group.
	if r := h.sup.Do(t.Context(), Request{Verb: VerbSignal, Signal: syscall.SIGHUP, Names: []string{"web"}}); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if s := sys.sent(); !strings.Contains(s, strconv.Itoa(started)+" HUP") {
		t.Errorf("signals sent: %s", s)
	}
	// 777 ends: that is the main process's exit.
	if !sys.endWatched(777, reaper.Exit{Pid: 777, Code: 1, Unknown: true}) {
		t.Fatal("pid 777 is not watched")
	}
	st := h.waitState("web", Backoff, false)
	if st.Restarts != 1 || st.LastExit == nil || !st.LastExit.Unknown {
		t.Fatalf("after 777 ended: restarts %d, last exit %+v", st.Restarts, st.LastExit)
	}
	h.waitLog("service web exited (code unknown), restarting in")
	// The next run forgets MAINPID=777.
	c.Add(time.Minute)
	st = h.waitState("web", Starting, false)
	if st.Pid != started {
		t.Errorf("next run's pid %d, want %d", st.Pid, started)
	}

	// A daemon that left the group (setsid) is stopped as a stray: sv stop
	// reaches it, and its end is the stopped service's exit.
	sdNotify(t, socket, "MAINPID=777\nREADY=1")
	h.waitState("web", Running, true)
	sys.addStray(started, 777)
	sys.exit(started, 0)
	h.waitLog("service web: pid " + strconv.Itoa(started) + " exited 0; its main process is pid 777 (MAINPID=)\n")
	done := make(chan []Result)
	go func() { done <- h.do(VerbStop, "web") }()
	h.advanceUntil(c, 10*time.Millisecond, "TERM to pid 777", func() bool { return strings.Contains(sys.sent(), "pid 777 TERM") })
	if !sys.endWatched(777, reaper.Exit{Pid: 777, Code: 1, Unknown: true}) {
		t.Fatal("pid 777 is not watched in the second run")
	}
	<-done
	if st := h.waitState("web", Down, false); st.Restarts != 1 {
		t.Errorf("stopped: restarts %d, want 1 (the stop is no failure)", st.Restarts)
	}
}
