package supervisor

import (
	"fmt"
	"strings"
	"time"

	"alpine-server/internal/manifest"
	"alpine-server/internal/notify"
	"alpine-server/internal/reaper"
	"alpine-server/internal/restart"
)

// State is where a service is in its life. The wire names that `sv status`
// prints are the control package's; boot maps these onto them.
type State int

// The states of a service (docs/ARCHITECTURE.md has the transition table).
const (
	Down     State = iota // nothing runs: never started, stopped, skipped, or a oneshot that finished
	Starting              // the main process runs, not ready yet
	Running               // the main process runs and passed readiness (ready unless drained)
	Stopping              // stop_signal sent to its group; waiting for the main process to exit
	Cleanup               // the main process exited; stopping what is left of its process group
	Finish                // the finish script runs
	Backoff               // failed; starts again when the restart timer fires
	Fatal                 // failed too often; waits for sv start or a reload
	numStates
)

var stateNames = [numStates]string{"Down", "Starting", "Running", "Stopping", "Cleanup", "Finish", "Backoff", "Fatal"}

func (s State) String() string {
	if s >= 0 && s < numStates {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// eventKind is what happened to a unit.
type eventKind int

const (
	evDeps        eventKind = iota // its dependencies are ready, or one was skipped (depsReady, skippedDep)
	evSpawnFailed                  // the main process could not be started (err, skip)
	evExit                         // the main process (or built-in) ended (exit, leftovers, strays, skip)
	evCleanupDone                  // nothing is left of the exited process's group, nor of its strays
	evFinishExit                   // the finish script ended (exit, err when it could not start)
	evStart                        // sv start
	evOnce                         // sv once
	evStop                         // sv stop
	evRestart                      // sv restart
	evSignal                       // sv hup, term, ...
	evTimer                        // the unit's one timer fired (err: why it is not ready, in Starting)
	evReady                        // a readiness result for start generation gen (err: it failed)
	evLiveness                     // a health: probe result for start generation gen (err: it failed)
	evShutdown                     // stop for good: shutdown, or removed by a reload
	evDrain                        // not ready from now on, but keep running (SVINIT_STOP_DELAY)
	evNotify                       // a notify message of the service's, for start generation gen (msg)
	numEvents
)

var eventNames = [numEvents]string{"deps", "spawn-failed", "exit", "cleanup-done", "finish-exit",
	"start", "once", "stop", "restart", "signal", "timer", "ready", "liveness", "shutdown", "drain", "notify"}

func (k eventKind) String() string { return eventNames[k] }

// event is one input of transition. The loop fills in what the table
// needs to know about the world (now, the readiness generation, whether
// the process group outlived its leader), so transition stays pure.
type event struct {
	kind       eventKind
	now        time.Time
	exit       reaper.Exit
	leftovers  bool     // evExit: processes of the group are still alive
	strays     []string // evExit: live processes of this run outside the group, "pid 25 (postgres)"
	gen        int      // evReady, evLiveness, evNotify
	err        string   // evSpawnFailed, evFinishExit, evTimer, evReady, evLiveness
	skip       bool     // evSpawnFailed, evExit: a permission refusal while svinit is not root
	depsReady  bool     // evDeps
	skippedDep string   // evDeps
	who        string   // evReady, evNotify: "pid 23" or "builtin", for the log line
	mainLives  bool     // evExit: the process svinit started exited, the MAINPID= one it named runs on

	msg notify.Message // evNotify
}

// actKind is one thing the loop does for a transition, in order.
type actKind int

const (
	actSpawn        actKind = iota // start the main process of generation gen; on error the loop drops the rest and feeds evSpawnFailed
	actWatchReady                  // start the readiness source of generation gen
	actStopReady                   // cancel the readiness source
	actSignalStop                  // stop_signal (+CONT) to the main process's group, and to its strays once it exited
	actSignalStrays                // stop_signal (+CONT) to the strays only: the group had it already
	actKill                        // SIGKILL to the main process's group; once it exited, to this run's processes found anew
	actSignal                      // the verb's signal to the group
	actRefuse                      // answer the verb "not running"
	actRunFinish                   // start finish EXITCODE SIGNAL for the last exit
	actKillFinish                  // SIGKILL to the finish script's group
	actArmKill                     // timer: stop_timeout from now, or the shutdown deadline if sooner
	actTightenKill                 // timer: a pending kill timer fires at the shutdown deadline at the latest
	actArmRestart                  // timer: restart after delay
	actArmReady                    // timer: ready.timeout from now
	actDisarm                      // no timer
	actEssential                   // an essential service failed for good: svinit shuts down with code
	actLog                         // a log line (level, msg)
	actWatchHealth                 // start the health: probe of generation gen
	actArmWatchdog                 // timer: the watchdog interval from now
	actExtend                      // timer: a pending timer fires delay from now at the earliest (never past the shutdown deadline)
	actFollowMain                  // watch mainPID as the main process: its exit is the run's
	numActs
)

var actNames = [numActs]string{"spawn", "watch-ready", "stop-ready", "signal-stop", "signal-strays", "kill", "signal",
	"refuse", "run-finish", "kill-finish", "arm-kill", "tighten-kill", "arm-restart", "arm-ready",
	"disarm", "essential", "log", "watch-health", "arm-watchdog", "extend", "follow-main"}

func (k actKind) String() string { return actNames[k] }

type logLevel int

const (
	logDebug logLevel = iota
	logInfo
	logWarn
	logError
)

type action struct {
	kind  actKind
	delay time.Duration // actArmRestart, actExtend
	code  int           // actEssential
	level logLevel      // actLog
	msg   string        // actLog
}

// stopReason says why the running process was signalled, so its exit is
// told apart from a crash.
type stopReason int

const (
	stopNone   stopReason = iota // not signalled by svinit: any exit is a crash
	stopAsked                    // sv stop/restart, shutdown, reload: the exit is no failure
	stopFailed                   // readiness or liveness failed: the exit is a failure
)

// unitConfig is what the table knows of the manifest. Read only.
type unitConfig struct {
	name         string
	oneshot      bool
	finish       bool // has a finish script
	essential    bool
	restart      manifest.Restart
	readyTimeout time.Duration // 0: no bound on Starting
	stopSignal   string        // "TERM", for log lines
	stopTimeout  time.Duration // for log lines
	uid          int           // svinit's uid, for skip lines

	// What the service says and what is probed once it is ready (zero: none).
	watchdog    time.Duration // WATCHDOG=1 at least this often (watchdog:)
	health      string        // the health: probe, for log lines ("tcp :80"); "" = no health:
	retries     int           // health: failures in a row that restart it
	startPeriod time.Duration // health: failures this soon after the start do not count
}

// machine is a unit's state and the data its transitions read and write.
// The unit goroutine owns it; readers see only published Status copies.
type machine struct {
	cfg unitConfig

	state   State
	since   time.Time  // when state was entered
	want    bool       // wanted up: auto_start, sv start / stop
	once    bool       // sv once: no restart after this run
	final   bool       // shut down for good: never starts again; the unit ends at Down
	drained bool       // SVINIT_STOP_DELAY: never ready again
	ready   bool       // passed readiness (a oneshot: exited 0) and not stopping
	reason  stopReason // why the running process was signalled
	killed  bool       // SIGKILL went to the group of the current run
	skipped string     // why it cannot run as svinit's user; "" = not skipped

	gen      int       // start generation: readiness results of older ones are ignored
	starts   int       // completed spawns, for sv restart -w
	started  time.Time // when the current run started
	uptime   time.Duration
	exit     *reaper.Exit // last exit of the main process
	exitAt   time.Time
	policy   restart.Policy
	restarts int
	failures int       // failures within the fatal window
	retryAt  time.Time // in Backoff: when it starts again

	// Of the current run: its notify messages and its health: results.
	text     string        // STATUS=
	health   string        // "", healthy or unhealthy
	fails    int           // health: failures in a row
	watchdog time.Duration // the watchdog interval; WATCHDOG_USEC= may change it
	mainPID  int           // MAINPID= of the current run; 0: the process svinit started
}

// transition is the supervisor's specification: from a state and an event
// to the next state and what to do. It is pure (no clock, no processes,
// no locks); docs/ARCHITECTURE.md has the same table in words and
// TestTransitionTable walks every cell.
func transition(m machine, e event) (machine, []action) {
	m.policy = m.policy.Clone() // the caller's copy stays as it was
	var acts []action
	prev := m.state
	switch e.kind {
	case evDeps:
		acts = m.onDeps(e)
	case evSpawnFailed:
		acts = m.onSpawnFailed(e)
	case evExit:
		acts = m.onExit(e)
	case evCleanupDone:
		if m.state == Cleanup {
			acts = m.afterCleanup(e.now)
		}
	case evFinishExit:
		acts = m.onFinishExit(e)
	case evStart, evOnce, evRestart:
		acts = m.onStart(e)
	case evStop, evShutdown:
		acts = m.onStop(e.kind == evShutdown)
	case evSignal:
		acts = m.onSignal()
	case evTimer:
		acts = m.onTimer(e)
	case evReady:
		acts = m.onReady(e)
	case evLiveness:
		acts = m.onLiveness(e)
	case evNotify:
		acts = m.onNotify(e)
	case evDrain:
		m.drained, m.ready = true, false
	}
	if m.state != prev {
		m.since = e.now
	}
	if m.state != Backoff {
		m.retryAt = time.Time{}
	}
	return m, acts
}

func logAct(level logLevel, format string, a ...any) action {
	return action{kind: actLog, level: level, msg: fmt.Sprintf(format, a...)}
}

// waiting: down and wanted up, so it starts once its dependencies are ready.
func (m *machine) waiting() bool { return m.state == Down && m.want && !m.final }

func (m *machine) onDeps(e event) []action {
	switch {
	case !m.waiting():
		return nil
	case e.skippedDep != "":
		return m.skip(fmt.Sprintf("it depends on %s, which was skipped", e.skippedDep))
	case !e.depsReady:
		return nil
	}
	m.gen++
	m.starts++
	m.state, m.started, m.ready, m.reason, m.killed = Starting, e.now, false, stopNone, false
	m.text, m.health, m.fails, m.watchdog, m.mainPID = "", "", 0, m.cfg.watchdog, 0
	acts := []action{{kind: actSpawn}, {kind: actWatchReady}}
	if m.cfg.readyTimeout > 0 {
		acts = append(acts, action{kind: actArmReady})
	}
	return acts
}

// skip takes the service out for this boot: it cannot run as svinit's
// user. Services that depend on it are skipped in turn.
func (m *machine) skip(why string) []action {
	m.state, m.want, m.ready, m.skipped = Down, false, false, why
	return []action{logAct(logWarn, "service %s skipped: %s (svinit runs as uid %d, not root)", m.cfg.name, why, m.cfg.uid)}
}

func (m *machine) onSpawnFailed(e event) []action {
	if m.state != Starting {
		return nil
	}
	if e.skip {
		return m.skip(e.err)
	}
	m.exit, m.exitAt, m.uptime = &reaper.Exit{Code: 127}, e.now, 0
	return append([]action{logAct(logError, "service %s: %s", m.cfg.name, e.err)}, m.fail(e.now)...)
}

// onExit: the main process ended. What is left of its group, and the
// processes of this run that left the group (strays), are stopped first
// (Cleanup), then finish runs, then settle decides.
func (m *machine) onExit(e event) []action {
	switch m.state {
	case Starting, Running, Stopping:
	default:
		return nil // no main process in this state
	}
	if e.mainLives {
		return []action{logAct(logDebug, "service %s: pid %d %s; its main process is pid %d (MAINPID=)", m.cfg.name, e.exit.Pid, e.exit, m.mainPID)}
	}
	acts := []action{{kind: actStopReady}}
	if e.skip {
		return append(append(acts, action{kind: actDisarm}), m.skip(e.err)...)
	}
	x := e.exit
	m.exit, m.exitAt, m.uptime, m.ready = &x, e.now, e.now.Sub(m.started), false
	if !e.leftovers && len(e.strays) == 0 {
		return append(acts, m.afterCleanup(e.now)...)
	}
	wasStopping := m.state == Stopping
	m.state = Cleanup
	if !wasStopping {
		return append(acts, logAct(logWarn, "service %s %s; stopping %s", m.cfg.name, x, leftWhat(e.leftovers, e.strays)),
			action{kind: actSignalStop}, action{kind: actArmKill})
	}
	// The group had its stop_signal (and its KILL, if killed); the strays
	// had nothing yet. The kill timer runs on.
	switch {
	case len(e.strays) == 0:
		acts = append(acts, logAct(logDebug, "service %s %s; waiting for what is left of its process group", m.cfg.name, x))
	case m.killed:
		acts = append(acts, logAct(logWarn, "service %s %s; killing %s", m.cfg.name, x, leftWhat(e.leftovers, e.strays)),
			action{kind: actKill})
	default:
		acts = append(acts, logAct(logInfo, "service %s %s; stopping %s", m.cfg.name, x, leftWhat(e.leftovers, e.strays)),
			action{kind: actSignalStrays})
	}
	if m.killed { // KILL was sent: wait once more, then go on
		acts = append(acts, action{kind: actArmKill})
	}
	return acts
}

// maxStrays is how many strays a log line names.
const maxStrays = 8

// leftWhat says, for the log line, what is left of a run whose main
// process exited: its group, and the strays that left the group.
func leftWhat(group bool, strays []string) string {
	s := "what is left of its process group"
	if len(strays) == 0 {
		return s
	}
	n := fmt.Sprintf("%d process", len(strays))
	if len(strays) > 1 {
		n += "es"
	}
	list := strings.Join(strays[:min(len(strays), maxStrays)], ", ")
	if len(strays) > maxStrays {
		list += ", ..."
	}
	if group {
		return s + " and " + n + " that left it: " + list
	}
	return n + " that left its process group: " + list
}

// afterCleanup: the group is gone; run finish, or settle.
func (m *machine) afterCleanup(now time.Time) []action {
	if m.cfg.finish {
		m.state = Finish
		return []action{{kind: actRunFinish}, {kind: actArmKill}}
	}
	return append([]action{{kind: actDisarm}}, m.settle(now)...)
}

func (m *machine) onFinishExit(e event) []action {
	if m.state != Finish {
		return nil
	}
	acts := []action{{kind: actDisarm}}
	switch {
	case e.err != "":
		acts = append(acts, logAct(logWarn, "service %s: finish: %s", m.cfg.name, e.err))
	case e.exit.Code != 0:
		acts = append(acts, logAct(logWarn, "service %s: finish %s", m.cfg.name, e.exit))
	}
	return append(acts, m.settle(e.now)...)
}

// settle decides what follows an exit once its group is gone and finish
// has run: down (asked for, or a oneshot that finished), or the restart
// policy. A Down service that is still wanted starts again.
func (m *machine) settle(now time.Time) []action {
	x := *m.exit
	switch {
	case m.final || m.reason == stopAsked:
		m.state = Down
		if m.want {
			return []action{logAct(logInfo, "service %s stopped (%s); restarting", m.cfg.name, x)}
		}
		return []action{logAct(logInfo, "service %s stopped (%s)", m.cfg.name, x)}
	case m.cfg.oneshot && x.Code == 0 && m.reason == stopNone:
		m.state, m.want, m.ready = Down, false, true
		return []action{logAct(logInfo, "service %s done (%s)", m.cfg.name, m.uptime.Round(time.Millisecond))}
	}
	return m.fail(now)
}

// fail applies the restart policy to an exit nobody asked for.
func (m *machine) fail(now time.Time) []action {
	x := *m.exit
	failure := x.Code != 0
	again := !m.once && (m.cfg.restart == manifest.RestartAlways ||
		m.cfg.restart == manifest.RestartOnFailure && failure)
	if !again {
		m.state, m.want = Down, false
		acts := []action{logAct(logWarn, "service %s %s", m.cfg.name, x)}
		if failure && m.cfg.essential {
			acts = append(acts, action{kind: actEssential, code: x.Code})
		}
		return acts
	}
	delay, fatal := m.policy.Fail(now, m.uptime)
	m.failures = m.policy.Count(now)
	if fatal {
		m.state = Fatal
		acts := []action{logAct(logError, "service %s %s %d times in %s; giving up (sv start %s to retry)",
			m.cfg.name, x, restart.FatalCount, restart.FatalWindow, m.cfg.name)}
		if m.cfg.essential {
			acts = append(acts, action{kind: actEssential, code: x.Code})
		}
		return acts
	}
	m.state, m.retryAt = Backoff, now.Add(delay)
	m.restarts++
	return []action{logAct(logWarn, "service %s %s, restarting in %s", m.cfg.name, x, delay),
		{kind: actArmRestart, delay: delay}}
}

// onStart handles start, once and restart.
func (m *machine) onStart(e event) []action {
	if m.final {
		return nil // shutting down: nothing starts again
	}
	m.want, m.once, m.skipped = true, e.kind == evOnce, ""
	switch m.state {
	case Down:
		m.ready = false // a finished oneshot runs again
	case Starting, Running:
		if e.kind == evRestart {
			return m.stopNow(stopAsked)
		}
	case Stopping, Cleanup, Finish:
		if e.kind == evRestart {
			m.reason = stopAsked // a restart asked now: the exit is no failure
		}
	case Backoff:
		m.state = Down
		if e.kind == evRestart {
			m.resetPolicy()
		}
		return []action{{kind: actDisarm}}
	case Fatal:
		m.state = Down
		m.resetPolicy()
	}
	return nil
}

func (m *machine) resetPolicy() {
	m.policy, m.failures = restart.Policy{}, 0
}

// stopNow signals the running process; it is not ready from now on.
func (m *machine) stopNow(why stopReason) []action {
	m.state, m.reason, m.ready = Stopping, why, false
	return []action{{kind: actStopReady},
		logAct(logDebug, "service %s: sending SIG%s", m.cfg.name, m.cfg.stopSignal),
		{kind: actSignalStop}, {kind: actArmKill}}
}

// stopFailing stops a service whose readiness or liveness failed; its exit
// counts as a failure.
func (m *machine) stopFailing(why string) []action {
	return append([]action{logAct(logWarn, "service %s: %s", m.cfg.name, why)}, m.stopNow(stopFailed)...)
}

// onStop handles sv stop and, final, shutdown: a stop asked at any point
// wins over what was under way — the service ends down, no failure counted.
func (m *machine) onStop(final bool) []action {
	m.want, m.once, m.final = false, false, m.final || final
	switch m.state {
	case Starting, Running:
		return m.stopNow(stopAsked)
	case Stopping, Cleanup, Finish:
		m.reason = stopAsked
		if final {
			return []action{{kind: actTightenKill}}
		}
	case Backoff:
		m.state = Down
		return []action{{kind: actDisarm}}
	case Fatal:
		m.state = Down
	}
	return nil
}

func (m *machine) onSignal() []action {
	switch m.state {
	case Starting, Running, Stopping:
		return []action{{kind: actSignal}}
	}
	return []action{{kind: actRefuse}}
}

func (m *machine) onTimer(e event) []action {
	switch m.state {
	case Starting:
		return m.stopFailing(e.err + "; stopping it")
	case Running:
		if m.watchdog > 0 {
			return m.stopFailing(fmt.Sprintf("watchdog: no WATCHDOG=1 within %s; restarting it", m.watchdog))
		}
	case Stopping:
		m.killed = true
		return []action{logAct(logWarn, "service %s did not stop after SIG%s; sending SIGKILL", m.cfg.name, m.cfg.stopSignal),
			{kind: actKill}}
	case Cleanup:
		if m.killed {
			// A process that survives KILL (stuck in the kernel, or not
			// ours to signal) must not hold the service forever.
			return append([]action{logAct(logWarn, "service %s: its process group is still there after SIGKILL; going on", m.cfg.name)},
				m.afterCleanup(e.now)...)
		}
		m.killed = true
		return []action{logAct(logWarn, "service %s: its process group did not stop after SIG%s; sending SIGKILL", m.cfg.name, m.cfg.stopSignal),
			{kind: actKill}, {kind: actArmKill}}
	case Finish:
		return []action{logAct(logWarn, "service %s: finish still running after %s; killing it", m.cfg.name, m.cfg.stopTimeout),
			{kind: actKillFinish}}
	case Backoff:
		m.state = Down // it starts once its dependencies are ready
	}
	return nil
}

func (m *machine) onReady(e event) []action {
	if m.state != Starting || e.gen != m.gen {
		return nil // a result for an earlier start, or no longer starting
	}
	if e.err != "" {
		return m.stopFailing(e.err + "; stopping it")
	}
	return m.becomeReady(e)
}
