package supervisor

import (
	"strings"
	"testing"
	"time"

	"alpine-server/internal/notify"
	"alpine-server/internal/reaper"
)

func notifyEv(gen int, msg notify.Message) event {
	return event{kind: evNotify, gen: gen, msg: msg, who: "pid 23"}
}

func TestNotifyReadyStatusAndReloading(t *testing.T) {
	m, acts := step(fixture(Starting), notifyEv(1, notify.Message{Status: "loading", HasStatus: true}))
	if m.state != Starting || m.text != "loading" || len(acts) != 0 {
		t.Fatalf("STATUS= while starting: %s %q [%s]", m.state, m.text, kinds(acts))
	}
	m, acts = step(m, notifyEv(1, notify.Message{Ready: true, Status: "serving", HasStatus: true}))
	if m.state != Running || !m.ready || m.text != "serving" || kinds(acts) != "disarm log" ||
		logs(acts) != "service web ready (pid 23, 1m0s)" {
		t.Fatalf("READY=1: %s ready=%v %q [%s] %q", m.state, m.ready, m.text, kinds(acts), logs(acts))
	}
	for _, busy := range []notify.Message{{Reloading: true}, {Stopping: true}} {
		r, _ := step(m, notifyEv(1, busy))
		if r.state != Running || r.ready {
			t.Errorf("%+v: %s ready=%v; want running, not ready", busy, r.state, r.ready)
		}
		if r, _ = step(r, notifyEv(1, notify.Message{Ready: true})); !r.ready {
			t.Errorf("READY=1 after %+v: not ready", busy)
		}
	}
	if r, _ := step(m, notifyEv(1, notify.Message{Reloading: true, Ready: true})); !r.ready {
		t.Error("RELOADING=1 and READY=1 in one message: not ready")
	}
	drained, _ := step(m, event{kind: evDrain}, notifyEv(1, notify.Message{Ready: true}))
	if drained.ready {
		t.Error("READY=1 made a drained service ready")
	}
	// Messages of an earlier run, and of leftovers, change nothing.
	old := fixture(Starting)
	old.gen = 2
	if r, acts := step(old, notifyEv(1, notify.Message{Ready: true, Status: "x", HasStatus: true})); r.state != Starting || r.text != "" || len(acts) != 0 {
		t.Errorf("a message of start 1 changed start 2: %s %q", r.state, r.text)
	}
	if r, _ := step(fixture(Cleanup), notifyEv(1, notify.Message{Status: "x", HasStatus: true})); r.text != "" {
		t.Errorf("a leftover's STATUS= was taken: %q", r.text)
	}
	// A new start forgets the old status text.
	if r, _ := step(m, event{kind: evExit}, event{kind: evTimer}, event{kind: evDeps, depsReady: true}); r.text != "" || r.state != Starting {
		t.Errorf("new start: %s text %q", r.state, r.text)
	}
}

func TestNotifyExtendTimeout(t *testing.T) {
	for _, s := range []State{Starting, Stopping} {
		m, acts := step(fixture(s), notifyEv(1, notify.Message{Extend: 90 * time.Second, HasExtend: true}))
		if m.state != s || kinds(acts) != "extend" || acts[0].delay != 90*time.Second {
			t.Errorf("EXTEND_TIMEOUT_USEC in %s: %s [%s]", s, m.state, kinds(acts))
		}
	}
	if _, acts := step(fixture(Running), notifyEv(1, notify.Message{Extend: time.Second, HasExtend: true})); len(acts) != 0 {
		t.Errorf("EXTEND_TIMEOUT_USEC while running: [%s]; no timeout to extend", kinds(acts))
	}
}

func TestWatchdog(t *testing.T) {
	start := fixture(Starting)
	start.cfg.watchdog, start.watchdog = time.Second, time.Second
	m, acts := step(start, notifyEv(1, notify.Message{Ready: true}))
	if m.state != Running || kinds(acts) != "arm-watchdog log" {
		t.Fatalf("ready with a watchdog: %s [%s]", m.state, kinds(acts))
	}
	if _, acts := step(m, notifyEv(1, notify.Message{Watchdog: true})); kinds(acts) != "arm-watchdog" {
		t.Errorf("WATCHDOG=1: [%s]", kinds(acts))
	}
	if r, acts := step(m, notifyEv(1, notify.Message{WatchdogInterval: 5 * time.Second})); r.watchdog != 5*time.Second || kinds(acts) != "arm-watchdog" {
		t.Errorf("WATCHDOG_USEC=: interval %s [%s]", r.watchdog, kinds(acts))
	}
	missed, acts := step(m, event{kind: evTimer})
	if missed.state != Stopping || missed.reason != stopFailed ||
		logs(acts) != "service web: watchdog: no WATCHDOG=1 within 1s; restarting it\nservice web: sending SIGTERM" {
		t.Fatalf("missed watchdog: %s [%s] %q", missed.state, kinds(acts), logs(acts))
	}
	if r, _ := step(missed, event{kind: evExit, exit: reaper.Exit{Code: 143, Signaled: true}}); r.state != Backoff || r.restarts != 1 {
		t.Errorf("exit after a missed watchdog: %s restarts %d; want a counted failure", r.state, r.restarts)
	}
	if r, acts := step(m, notifyEv(1, notify.Message{WatchdogTrigger: true})); r.state != Stopping || !strings.Contains(logs(acts), "WATCHDOG=trigger") {
		t.Errorf("WATCHDOG=trigger: %s %q", r.state, logs(acts))
	}
	// A new start takes the manifest's interval again.
	changed, _ := step(m, notifyEv(1, notify.Message{WatchdogInterval: time.Minute}))
	if r, _ := step(changed, event{kind: evExit}, event{kind: evTimer}, event{kind: evDeps, depsReady: true}); r.watchdog != time.Second {
		t.Errorf("watchdog after a restart: %s, want the manifest's 1s", r.watchdog)
	}
}

func TestHealth(t *testing.T) {
	start := fixture(Starting)
	start.cfg.health, start.cfg.retries = "file /x/alive", 3
	m, acts := step(start, event{kind: evReady, gen: 1, who: "pid 23"})
	if kinds(acts) != "disarm watch-health log" {
		t.Fatalf("ready with health: [%s]", kinds(acts))
	}
	live := func(err string) event { return event{kind: evLiveness, gen: 1, err: err} }
	if m, _ = step(m, live("")); m.health != healthy {
		t.Fatalf("a pass: health %q", m.health)
	}
	m, acts = step(m, live("stat /x/alive: no such file or directory"))
	if m.state != Running || m.health != unhealthy || m.fails != 1 || !m.ready ||
		logs(acts) != "service web unhealthy: file /x/alive: stat /x/alive: no such file or directory (1 of 3)" {
		t.Fatalf("first failure: %s %q fails=%d ready=%v %q", m.state, m.health, m.fails, m.ready, logs(acts))
	}
	// A pass in between starts the count again.
	again, acts := step(m, live(""))
	if again.health != healthy || again.fails != 0 || logs(acts) != "service web healthy again" {
		t.Errorf("pass after a failure: %q fails=%d %q", again.health, again.fails, logs(acts))
	}
	m, _ = step(m, live("e2"))
	m, acts = step(m, live("e3"))
	if m.state != Stopping || m.reason != stopFailed ||
		!strings.HasPrefix(logs(acts), "service web: health: file /x/alive failed 3 times in a row: e3; restarting it\n") {
		t.Fatalf("third failure: %s %q", m.state, logs(acts))
	}
	if m, _ = step(m, event{kind: evExit, exit: reaper.Exit{Code: 143, Signaled: true}}); m.state != Backoff || m.restarts != 1 || m.health != unhealthy {
		t.Errorf("after the restart's exit: %s restarts %d health %q", m.state, m.restarts, m.health)
	}
	if m, _ = step(m, event{kind: evTimer}, event{kind: evDeps, depsReady: true}); m.health != "" || m.fails != 0 {
		t.Errorf("a new start: health %q fails %d", m.health, m.fails)
	}
}

func TestHealthStartPeriodAndStaleResults(t *testing.T) {
	start := fixture(Starting)
	start.cfg.health, start.cfg.retries, start.cfg.startPeriod = "tcp :80", 1, time.Hour
	m, _ := step(start, event{kind: evReady, gen: 1})
	if r, acts := step(m, event{kind: evLiveness, gen: 1, err: "refused"}); r.state != Running || r.health != "" || len(acts) != 0 {
		t.Errorf("failure within start_period: %s %q [%s]; want not counted", r.state, r.health, kinds(acts))
	}
	if r, _ := step(m, event{kind: evLiveness, gen: 1}); r.health != healthy {
		t.Errorf("a pass within start_period: %q", r.health)
	}
	m.cfg.startPeriod = 0
	if r, _ := step(m, event{kind: evLiveness, gen: 0, err: "refused"}); r.state != Running || r.health != "" {
		t.Errorf("a result of an earlier run: %s %q", r.state, r.health)
	}
	if r, _ := step(m, event{kind: evLiveness, gen: 1, err: "refused"}); r.state != Stopping {
		t.Errorf("retries 1: %s", r.state)
	}
}

func TestMainPIDIsFollowedAndForgottenByTheNextRun(t *testing.T) {
	m, acts := step(fixture(Starting), notifyEv(1, notify.Message{MainPID: 42, Ready: true}))
	if m.state != Running || m.mainPID != 42 || logs(acts) != "service web: main process is now pid 42 (MAINPID=)\nservice web ready (pid 23, 1m0s)" {
		t.Fatalf("MAINPID=42 READY=1: %s main %d %q", m.state, m.mainPID, logs(acts))
	}
	if _, acts := step(m, notifyEv(1, notify.Message{MainPID: 42})); len(acts) != 0 {
		t.Errorf("MAINPID=42 again: [%s], want nothing", kinds(acts))
	}
	if _, acts := step(m, notifyEv(0, notify.Message{MainPID: 43})); len(acts) != 0 {
		t.Errorf("MAINPID= of an earlier run: [%s], want nothing", kinds(acts))
	}
	m, acts = step(m, event{kind: evExit, exit: reaper.Exit{Pid: 23}, mainLives: true})
	if m.state != Running || !m.ready || m.exit != nil || logs(acts) != "service web: pid 23 exited 0; its main process is pid 42 (MAINPID=)" {
		t.Fatalf("started process exited: %s ready=%v exit=%v %q", m.state, m.ready, m.exit, logs(acts))
	}
	m, _ = step(m, event{kind: evExit, exit: reaper.Exit{Pid: 42, Code: 1, Unknown: true}})
	if m.state != Backoff || m.restarts != 1 || m.exit.String() != "exited (code unknown)" {
		t.Fatalf("MAINPID process exited: %s restarts %d %v", m.state, m.restarts, m.exit)
	}
	m, _ = step(m, event{kind: evTimer}, event{kind: evDeps, depsReady: true})
	if m.state != Starting || m.mainPID != 0 {
		t.Errorf("next run: %s main %d, want starting with MAINPID forgotten", m.state, m.mainPID)
	}
}
