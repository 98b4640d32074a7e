package supervisor

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"alpine-server/internal/manifest"
	"alpine-server/internal/notify"
	"alpine-server/internal/reaper"
	"alpine-server/internal/restart"
)

var t0 = time.Unix(1_000_000, 0)

// fixture is a typical machine in state s: wanted up and crashed where
// that is how one gets there, stopping because asked.
func fixture(s State) machine {
	crash := &reaper.Exit{Code: 1}
	m := machine{cfg: unitConfig{name: "web", restart: manifest.RestartAlways, stopSignal: "TERM",
		stopTimeout: 5 * time.Second, finish: s == Finish},
		state: s, since: t0, want: true, gen: 1, starts: 1, started: t0}
	switch s {
	case Running:
		m.ready = true
	case Stopping:
		m.want, m.reason = false, stopAsked
	case Cleanup, Finish, Backoff, Fatal:
		m.exit, m.exitAt = crash, t0
	}
	if s == Backoff {
		m.retryAt = t0.Add(time.Second)
	}
	if s == Fatal {
		m.failures = restart.FatalCount
	}
	return m
}

// canonical is the event of each kind the table is walked with.
func canonical(k eventKind) event {
	e := event{kind: k, now: t0.Add(time.Minute)}
	switch k {
	case evDeps:
		e.depsReady = true
	case evSpawnFailed:
		e.err = "start /x: no such file or directory"
	case evExit:
		e.exit = reaper.Exit{Code: 1}
	case evTimer:
		e.err = "tcp 127.0.0.1:80 not ready after 1s"
	case evReady:
		e.gen, e.who = 1, "pid 23"
	case evLiveness:
		e.gen, e.err = 1, "health check failed"
	case evNotify:
		e.gen, e.who = 1, "pid 23"
		e.msg = notify.Message{Ready: true, Status: "serving", HasStatus: true}
	}
	return e
}

type cell struct {
	next State
	acts string // action kinds, space separated
}

const (
	stopActs = "stop-ready log signal-stop arm-kill"
	failStop = "log " + stopActs
	backoff  = "log arm-restart"
)

// table is the supervisor's specification, cell by cell; docs/ARCHITECTURE.md
// says the same in words. An empty acts string is "nothing to do".
var table = map[State]map[eventKind]cell{
	Down: {
		evDeps: {Starting, "spawn watch-ready"}, evSpawnFailed: {Down, ""}, evExit: {Down, ""},
		evCleanupDone: {Down, ""}, evFinishExit: {Down, ""}, evStart: {Down, ""}, evOnce: {Down, ""},
		evStop: {Down, ""}, evRestart: {Down, ""}, evSignal: {Down, "refuse"}, evTimer: {Down, ""},
		evReady: {Down, ""}, evLiveness: {Down, ""}, evShutdown: {Down, ""}, evDrain: {Down, ""},
		evNotify: {Down, ""},
	},
	Starting: {
		evDeps: {Starting, ""}, evSpawnFailed: {Backoff, "log " + backoff}, evExit: {Backoff, "stop-ready disarm " + backoff},
		evCleanupDone: {Starting, ""}, evFinishExit: {Starting, ""}, evStart: {Starting, ""}, evOnce: {Starting, ""},
		evStop: {Stopping, stopActs}, evRestart: {Stopping, stopActs}, evSignal: {Starting, "signal"},
		evTimer: {Stopping, failStop}, evReady: {Running, "disarm log"}, evLiveness: {Starting, ""},
		evShutdown: {Stopping, stopActs}, evDrain: {Starting, ""}, evNotify: {Running, "disarm log"},
	},
	Running: {
		evDeps: {Running, ""}, evSpawnFailed: {Running, ""}, evExit: {Backoff, "stop-ready disarm " + backoff},
		evCleanupDone: {Running, ""}, evFinishExit: {Running, ""}, evStart: {Running, ""}, evOnce: {Running, ""},
		evStop: {Stopping, stopActs}, evRestart: {Stopping, stopActs}, evSignal: {Running, "signal"},
		evTimer: {Running, ""}, evReady: {Running, ""}, evLiveness: {Stopping, failStop},
		evShutdown: {Stopping, stopActs}, evDrain: {Running, ""}, evNotify: {Running, ""},
	},
	Stopping: {
		evDeps: {Stopping, ""}, evSpawnFailed: {Stopping, ""}, evExit: {Down, "stop-ready disarm log"},
		evCleanupDone: {Stopping, ""}, evFinishExit: {Stopping, ""}, evStart: {Stopping, ""}, evOnce: {Stopping, ""},
		evStop: {Stopping, ""}, evRestart: {Stopping, ""}, evSignal: {Stopping, "signal"},
		evTimer: {Stopping, "log kill"}, evReady: {Stopping, ""}, evLiveness: {Stopping, ""},
		evShutdown: {Stopping, "tighten-kill"}, evDrain: {Stopping, ""}, evNotify: {Stopping, ""},
	},
	Cleanup: {
		evDeps: {Cleanup, ""}, evSpawnFailed: {Cleanup, ""}, evExit: {Cleanup, ""},
		evCleanupDone: {Backoff, "disarm " + backoff}, evFinishExit: {Cleanup, ""}, evStart: {Cleanup, ""},
		evOnce: {Cleanup, ""}, evStop: {Cleanup, ""}, evRestart: {Cleanup, ""}, evSignal: {Cleanup, "refuse"},
		evTimer: {Cleanup, "log kill arm-kill"}, evReady: {Cleanup, ""}, evLiveness: {Cleanup, ""},
		evShutdown: {Cleanup, "tighten-kill"}, evDrain: {Cleanup, ""}, evNotify: {Cleanup, ""},
	},
	Finish: {
		evDeps: {Finish, ""}, evSpawnFailed: {Finish, ""}, evExit: {Finish, ""}, evCleanupDone: {Finish, ""},
		evFinishExit: {Backoff, "disarm " + backoff}, evStart: {Finish, ""}, evOnce: {Finish, ""},
		evStop: {Finish, ""}, evRestart: {Finish, ""}, evSignal: {Finish, "refuse"},
		evTimer: {Finish, "log kill-finish"}, evReady: {Finish, ""}, evLiveness: {Finish, ""},
		evShutdown: {Finish, "tighten-kill"}, evDrain: {Finish, ""}, evNotify: {Finish, ""},
	},
	Backoff: {
		evDeps: {Backoff, ""}, evSpawnFailed: {Backoff, ""}, evExit: {Backoff, ""}, evCleanupDone: {Backoff, ""},
		evFinishExit: {Backoff, ""}, evStart: {Down, "disarm"}, evOnce: {Down, "disarm"}, evStop: {Down, "disarm"},
		evRestart: {Down, "disarm"}, evSignal: {Backoff, "refuse"}, evTimer: {Down, ""}, evReady: {Backoff, ""},
		evLiveness: {Backoff, ""}, evShutdown: {Down, "disarm"}, evDrain: {Backoff, ""}, evNotify: {Backoff, ""},
	},
	Fatal: {
		evDeps: {Fatal, ""}, evSpawnFailed: {Fatal, ""}, evExit: {Fatal, ""}, evCleanupDone: {Fatal, ""},
		evFinishExit: {Fatal, ""}, evStart: {Down, ""}, evOnce: {Down, ""}, evStop: {Down, ""},
		evRestart: {Down, ""}, evSignal: {Fatal, "refuse"}, evTimer: {Fatal, ""}, evReady: {Fatal, ""},
		evLiveness: {Fatal, ""}, evShutdown: {Down, ""}, evDrain: {Fatal, ""}, evNotify: {Fatal, ""},
	},
}

// variants are events of a kind already walked whose fields change the
// cell: MAINPID= of the run (the loop passes on only a process of it), and
// the exit of the started process while the MAINPID= one runs on. Each
// is walked in every state as the table's cells are.
var variants = map[string]struct {
	e     event
	cells map[State]cell
}{
	"notify MAINPID=": {
		e: event{kind: evNotify, gen: 1, who: "pid 23", msg: notify.Message{MainPID: 42}},
		cells: map[State]cell{Down: {Down, ""}, Starting: {Starting, "log follow-main"}, Running: {Running, "log follow-main"},
			Stopping: {Stopping, "log follow-main"}, Cleanup: {Cleanup, ""}, Finish: {Finish, ""}, Backoff: {Backoff, ""}, Fatal: {Fatal, ""}},
	},
	"notify MAINPID= READY=1": {
		e: event{kind: evNotify, gen: 1, who: "pid 23", msg: notify.Message{MainPID: 42, Ready: true}},
		cells: map[State]cell{Down: {Down, ""}, Starting: {Running, "log follow-main disarm log"}, Running: {Running, "log follow-main"},
			Stopping: {Stopping, "log follow-main"}, Cleanup: {Cleanup, ""}, Finish: {Finish, ""}, Backoff: {Backoff, ""}, Fatal: {Fatal, ""}},
	},
	"exit, MAINPID= runs on": {
		e: event{kind: evExit, exit: reaper.Exit{Pid: 23}, mainLives: true},
		cells: map[State]cell{Down: {Down, ""}, Starting: {Starting, "log"}, Running: {Running, "log"},
			Stopping: {Stopping, "log"}, Cleanup: {Cleanup, ""}, Finish: {Finish, ""}, Backoff: {Backoff, ""}, Fatal: {Fatal, ""}},
	},
}

func kinds(acts []action) string {
	var s []string
	for _, a := range acts {
		s = append(s, a.kind.String())
	}
	return strings.Join(s, " ")
}

func TestTransitionTable(t *testing.T) {
	for s := State(0); s < numStates; s++ {
		for k := eventKind(0); k < numEvents; k++ {
			want, ok := table[s][k]
			if !ok {
				t.Errorf("%s × %s: no cell in the table", s, k)
				continue
			}
			before := fixture(s)
			m, acts := transition(before, canonical(k))
			if m.state != want.next || kinds(acts) != want.acts {
				t.Errorf("%s × %s → %s [%s], want %s [%s]", s, k, m.state, kinds(acts), want.next, want.acts)
			}
			if m.state != s && !m.since.Equal(canonical(k).now) {
				t.Errorf("%s × %s: since not moved to the event's time", s, k)
			}
			if m.ready && (m.state != Running && m.state != Down) {
				t.Errorf("%s × %s: ready in %s", s, k, m.state)
			}
		}
		for name, v := range variants {
			want, ok := v.cells[s]
			if !ok {
				t.Errorf("%s × %s: no cell", s, name)
				continue
			}
			e := v.e
			e.now = t0.Add(time.Minute)
			m, acts := transition(fixture(s), e)
			if m.state != want.next || kinds(acts) != want.acts {
				t.Errorf("%s × %s → %s [%s], want %s [%s]", s, name, m.state, kinds(acts), want.next, want.acts)
			}
		}
	}
}

// step feeds events to m in order and returns the machine and the last
// event's actions.
func step(m machine, evs ...event) (machine, []action) {
	var acts []action
	for _, e := range evs {
		if e.now.IsZero() {
			e.now = t0.Add(time.Minute)
		}
		m, acts = transition(m, e)
	}
	return m, acts
}

func logs(acts []action) string {
	var s []string
	for _, a := range acts {
		if a.kind == actLog {
			s = append(s, a.msg)
		}
	}
	return strings.Join(s, "\n")
}

func TestStopDuringFinishWins(t *testing.T) {
	m, acts := step(fixture(Finish), event{kind: evStop}, event{kind: evFinishExit})
	if m.state != Down || m.want || m.restarts != 0 || m.failures != 0 {
		t.Errorf("stop during finish: %s want=%v restarts=%d failures=%d; want down, no failure", m.state, m.want, m.restarts, m.failures)
	}
	if got := logs(acts); got != "service web stopped (exited 1)" {
		t.Errorf("log %q", got)
	}
}

func TestLeftoversAreStoppedBeforeAnythingElse(t *testing.T) {
	m, acts := step(fixture(Running), event{kind: evExit, exit: reaper.Exit{Signaled: true, Signal: syscall.SIGKILL, Code: 137}, leftovers: true})
	if m.state != Cleanup || kinds(acts) != "stop-ready log signal-stop arm-kill" || m.ready {
		t.Fatalf("crash with leftovers: %s [%s] ready=%v", m.state, kinds(acts), m.ready)
	}
	if got := logs(acts); got != "service web killed by SIGKILL; stopping what is left of its process group" {
		t.Errorf("log %q", got)
	}
	// An asked stop already signalled the group: no second signal, the kill timer runs on.
	m, acts = step(fixture(Stopping), event{kind: evExit, leftovers: true})
	if m.state != Cleanup || kinds(acts) != "stop-ready log" {
		t.Errorf("stop with leftovers: %s [%s]", m.state, kinds(acts))
	}
	m, _ = step(m, event{kind: evCleanupDone})
	if m.state != Down {
		t.Errorf("asked stop after cleanup: %s, want Down", m.state)
	}
}

// A group that survives KILL (a process stuck in the kernel, or one we may
// not signal) holds the service for one more stop_timeout, not forever.
func TestCleanupGivesUpAfterKill(t *testing.T) {
	m, _ := step(fixture(Cleanup), event{kind: evTimer})
	m, acts := step(m, event{kind: evTimer})
	if m.state != Backoff || !strings.Contains(logs(acts), "still there after SIGKILL; going on") {
		t.Errorf("second timer in cleanup: %s [%s] %q", m.state, kinds(acts), logs(acts))
	}
	// Stopping already sent KILL: Cleanup waits once more, then goes on.
	stopping, _ := step(fixture(Stopping), event{kind: evTimer})
	m, acts = step(stopping, event{kind: evExit, leftovers: true})
	if m.state != Cleanup || kinds(acts) != "stop-ready log arm-kill" {
		t.Errorf("exit with leftovers after KILL: %s [%s]", m.state, kinds(acts))
	}
	if m, _ = step(m, event{kind: evTimer}); m.state != Down {
		t.Errorf("timer after that: %s, want Down", m.state)
	}
}

func TestReadinessIsForTheCurrentStartOnly(t *testing.T) {
	m := fixture(Starting)
	m.gen = 2
	if m2, acts := step(m, event{kind: evReady, gen: 1}); m2.state != Starting || len(acts) != 0 || m2.ready {
		t.Errorf("a result of start 1 made start 2 %s ready=%v", m2.state, m2.ready)
	}
	m2, _ := step(m, event{kind: evReady, gen: 2, err: "bad"})
	if m2.state != Stopping || m2.reason != stopFailed {
		t.Fatalf("failed readiness: %s reason %d", m2.state, m2.reason)
	}
	m2, _ = step(m2, event{kind: evExit, exit: reaper.Exit{Code: 143, Signaled: true, Signal: syscall.SIGTERM}})
	if m2.state != Backoff || m2.restarts != 1 {
		t.Errorf("exit after failed readiness: %s restarts %d; want a counted failure", m2.state, m2.restarts)
	}
}

func TestStopAskedIsNotReadyAndStartWaitsForTheNewRun(t *testing.T) {
	m, _ := step(fixture(Running), event{kind: evStop})
	if m.ready {
		t.Fatal("ready while stopping")
	}
	m, _ = step(m, event{kind: evStart}, event{kind: evExit})
	if m.state != Down || !m.want || m.ready {
		t.Fatalf("start during stop, then exit: %s want=%v ready=%v", m.state, m.want, m.ready)
	}
	m, _ = step(m, event{kind: evDeps, depsReady: true}, event{kind: evReady, gen: 2})
	if m.state != Running || !m.ready || m.starts != 2 {
		t.Errorf("new run: %s ready=%v starts=%d", m.state, m.ready, m.starts)
	}
}

func TestDrainKeepsRunningNotReady(t *testing.T) {
	m, _ := step(fixture(Starting), event{kind: evDrain}, event{kind: evReady, gen: 1})
	if m.state != Running || m.ready {
		t.Errorf("drained start: %s ready=%v; want running, not ready", m.state, m.ready)
	}
	if m, _ := step(fixture(Running), event{kind: evDrain}); m.state != Running || m.ready {
		t.Errorf("drained run: %s ready=%v", m.state, m.ready)
	}
}

func TestSettleRules(t *testing.T) {
	oneshot := fixture(Starting)
	oneshot.cfg.oneshot, oneshot.cfg.restart = true, manifest.RestartNever
	if m, _ := step(oneshot, event{kind: evExit}); m.state != Down || !m.ready || m.want {
		t.Errorf("oneshot exit 0: %s ready=%v want=%v; want done", m.state, m.ready, m.want)
	}
	if m, acts := step(oneshot, event{kind: evExit, exit: reaper.Exit{Code: 3}}); m.state != Down || m.ready || kinds(acts) != "stop-ready disarm log" {
		t.Errorf("oneshot exit 3, restart never: %s [%s]", m.state, kinds(acts))
	}
	ess := fixture(Running)
	ess.cfg.essential, ess.cfg.restart = true, manifest.RestartNever
	if _, acts := step(ess, event{kind: evExit, exit: reaper.Exit{Code: 3}}); !strings.HasSuffix(kinds(acts), "essential") || acts[len(acts)-1].code != 3 {
		t.Errorf("essential failure: [%s]", kinds(acts))
	}
	restartAsked, acts := step(fixture(Running), event{kind: evRestart}, event{kind: evExit})
	if restartAsked.state != Down || !restartAsked.want || logs(acts) != "service web stopped (exited 0); restarting" {
		t.Errorf("sv restart: %s want=%v %q", restartAsked.state, restartAsked.want, logs(acts))
	}
	once, _ := step(fixture(Running), event{kind: evOnce}, event{kind: evExit})
	if once.state != Down || once.want {
		t.Errorf("once: %s want=%v", once.state, once.want)
	}
	final, _ := step(fixture(Finish), event{kind: evShutdown}, event{kind: evFinishExit})
	if final.state != Down || !final.final {
		t.Errorf("crash during shutdown: %s; want down, never a restart", final.state)
	}
	if m, _ := step(final, event{kind: evStart}); m.want || m.state != Down {
		t.Errorf("start after shutdown: want=%v %s", m.want, m.state)
	}
	skip, acts := step(fixture(Starting), event{kind: evSpawnFailed, err: "permission denied", skip: true})
	if skip.state != Down || skip.want || skip.skipped != "permission denied" || len(acts) != 1 {
		t.Errorf("skip: %s want=%v skipped=%q [%s]", skip.state, skip.want, skip.skipped, kinds(acts))
	}
	dep, _ := step(fixture(Down), event{kind: evDeps, skippedDep: "syslog"})
	if dep.state != Down || dep.want || dep.skipped != "it depends on syslog, which was skipped" {
		t.Errorf("skipped dependency: %s want=%v %q", dep.state, dep.want, dep.skipped)
	}
	timed := fixture(Down)
	timed.cfg.readyTimeout = time.Second
	if _, acts := step(timed, event{kind: evDeps, depsReady: true}); kinds(acts) != "spawn watch-ready arm-ready" {
		t.Errorf("start with ready.timeout: [%s]", kinds(acts))
	}
}

func TestFatalAfterTenFailuresClearedByStart(t *testing.T) {
	m := fixture(Running)
	m.cfg.essential = true
	var acts []action
	for i := 0; i < restart.FatalCount; i++ {
		now := t0.Add(time.Duration(i) * time.Second)
		m, acts = step(m, event{kind: evExit, exit: reaper.Exit{Code: 1}, now: now})
		if i < restart.FatalCount-1 {
			if m.state != Backoff {
				t.Fatalf("failure %d: %s", i+1, m.state)
			}
			m, _ = step(m, event{kind: evTimer, now: now}, event{kind: evDeps, depsReady: true, now: now})
		}
	}
	if m.state != Fatal || m.failures != restart.FatalCount || !strings.HasSuffix(kinds(acts), "log essential") {
		t.Fatalf("after %d failures: %s failures %d [%s]", restart.FatalCount, m.state, m.failures, kinds(acts))
	}
	m, _ = step(m, event{kind: evStart})
	if m.state != Down || m.failures != 0 || !m.want {
		t.Errorf("sv start on fatal: %s failures %d", m.state, m.failures)
	}
}

// The restart policy's failure list is reused in place when old failures
// drop out of the window: transition must work on its own copy.
func TestTransitionLeavesItsInputAlone(t *testing.T) {
	m, _ := step(fixture(Running), event{kind: evExit, exit: reaper.Exit{Code: 1}, now: t0})
	probe := t0.Add(90 * time.Second) // the failure at t0 is out of the window then
	before := m.policy.Count(probe)
	later := t0.Add(2 * time.Minute)
	_, _ = step(m, event{kind: evTimer, now: later}, event{kind: evDeps, depsReady: true, now: later},
		event{kind: evExit, exit: reaper.Exit{Code: 1}, now: later})
	if m.policy.Count(probe) != before {
		t.Errorf("transition changed its input's failure history: %d failures, want %d", m.policy.Count(probe), before)
	}
}

// Processes of the run that left the group (a daemon's children that
// called setsid) are leftovers too: stopped after a crash, and after an
// asked stop, where the group had its signal but they had not.
func TestStraysAreStopped(t *testing.T) {
	killed := event{kind: evExit, exit: reaper.Exit{Signaled: true, Signal: syscall.SIGKILL, Code: 137}}
	e := killed
	e.strays = []string{"pid 25 (postgres)"}
	m, acts := step(fixture(Running), e)
	if m.state != Cleanup || kinds(acts) != "stop-ready log signal-stop arm-kill" {
		t.Fatalf("crash with a stray: %s [%s]", m.state, kinds(acts))
	}
	if got := logs(acts); got != "service web killed by SIGKILL; stopping 1 process that left its process group: pid 25 (postgres)" {
		t.Errorf("log %q", got)
	}
	e.leftovers, e.strays = true, []string{"pid 25 (postgres)", "pid 26 (postgres)"}
	_, acts = step(fixture(Running), e)
	if got := logs(acts); got != "service web killed by SIGKILL; stopping what is left of its process group and 2 processes that left it: pid 25 (postgres), pid 26 (postgres)" {
		t.Errorf("log %q", got)
	}
	e.strays = nil
	for i := range 10 {
		e.strays = append(e.strays, "pid "+string(rune('0'+i)))
	}
	_, acts = step(fixture(Running), e)
	if got := logs(acts); !strings.HasSuffix(got, "10 processes that left it: pid 0, pid 1, pid 2, pid 3, pid 4, pid 5, pid 6, pid 7, ...") {
		t.Errorf("log %q", got)
	}

	// An asked stop: the strays get the stop_signal now, the group not again.
	e = event{kind: evExit, exit: reaper.Exit{Code: 0}, strays: []string{"pid 25 (postgres)"}}
	m, acts = step(fixture(Stopping), e)
	if m.state != Cleanup || kinds(acts) != "stop-ready log signal-strays" {
		t.Errorf("stop with a stray: %s [%s]", m.state, kinds(acts))
	}
	if got := logs(acts); got != "service web exited 0; stopping 1 process that left its process group: pid 25 (postgres)" || acts[1].level != logInfo {
		t.Errorf("log %q (level %d)", got, acts[1].level)
	}
	if m, _ = step(m, event{kind: evCleanupDone}); m.state != Down {
		t.Errorf("after cleanup: %s, want Down", m.state)
	}
	// After KILL went to the group, the strays get KILL too, and one more
	// stop_timeout.
	stopping, _ := step(fixture(Stopping), event{kind: evTimer})
	m, acts = step(stopping, e)
	if m.state != Cleanup || kinds(acts) != "stop-ready log kill arm-kill" {
		t.Errorf("exit with a stray after KILL: %s [%s]", m.state, kinds(acts))
	}
}
