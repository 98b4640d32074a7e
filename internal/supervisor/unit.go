package supervisor

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"alpine-server/internal/jsoncodec"
	"alpine-server/internal/logmux"
	"alpine-server/internal/manifest"
	"alpine-server/internal/notify"
	"alpine-server/internal/reaper"
)

// Status is what a unit publishes after each event: one consistent copy,
// never a half-updated one.
type Status struct {
	Name       string
	State      State
	Since      time.Time // when State was entered
	Started    time.Time // when the current (or last) run started; zero before any
	Pid        int       // the main process; the finish script's in Finish; 0 for a built-in
	Builtin    bool
	Oneshot    bool
	Ready      bool
	WantUp     bool
	NormallyUp bool // auto_start
	Restarts   int  // restarts scheduled by the restart policy
	Starts     int  // spawns, for sv restart -w
	Failures   int  // failures within the fatal window
	LastExit   *ExitInfo
	RetryAt    time.Time     // in Backoff: when it starts again
	Text       string        // the service's own status text (notify STATUS=); "" for none
	Health     string        // "", "healthy" or "unhealthy" (services with health:)
	Notify     *notify.Stats // its notify socket's counts; nil without one
	Skipped    string        // why it cannot run as svinit's user; "" = not skipped
	Detail     jsoncodec.Raw // a built-in's Status as JSON, for --json

	// Value is the built-in's Status itself (cron.StatusReport,
	// syslogd.Stats), for what reads its fields: metrics, sv status lines.
	Value jsoncodec.Value
}

// ExitInfo is the last exit of a service's main process.
type ExitInfo struct {
	reaper.Exit
	Time time.Time
}

// command is a request to the unit goroutine: an event from outside.
type command struct {
	kind     eventKind // evStart, evOnce, evStop, evRestart, evSignal, evShutdown, evDrain
	sig      syscall.Signal
	deadline time.Time // evShutdown: KILL at the latest then
	reply    chan error
}

type readyMsg struct {
	gen int
	err string
}

// unit supervises one service. Its goroutine (loop) owns the machine and
// every field above the mutex; the mutex guards only what it publishes.
type unit struct {
	name string
	svc  *manifest.Service
	sup  *Supervisor
	log  *logmux.Logger

	cmds   chan command
	readyC chan readyMsg
	quit   chan struct{} // closed when the goroutine ends

	// owned by loop
	m         machine
	run       runner        // the main process or built-in; nil when none runs
	pgid      int           // process group of the main process that exited last
	runID     uint64        // the mark of the current (or last) run: reaper.Spec.Run
	strays    []reaper.Proc // processes of the exited run outside its group, in Cleanup
	finish    *reaper.Child // the finish script, while it runs
	timerC    <-chan time.Time
	timerAt   time.Time
	deadline  time.Time // the shutdown deadline, zero when none
	sig       syscall.Signal
	pending   []event // follow-up events of the event being handled
	probeStop context.CancelFunc
	probeWhy  func() string // why it is not ready yet, for the ready timeout's log line
	format    logmux.Format
	stdio     [3]uintptr
	pipes     *logmux.Pipes // nil for inherit and discard

	detail atomic.Pointer[func() jsoncodec.Value] // a built-in's Status, for --json

	// Readiness the service announces and liveness (notifysrc.go).
	notify     *notify.Socket               // ready: {notify: systemd}; nil otherwise
	notifyC    chan notifyMsg               // its accepted messages, to the loop
	target     atomic.Pointer[notifyTarget] // set by the loop at each start
	spawnMu    sync.Mutex                   // held across a notify service's spawn and its target's update
	accepted   *notifyTarget                // the notify goroutine's: the target a message was accepted for
	followPid  atomic.Int64                 // the MAINPID= process the loop follows, 0 for none: its messages count
	fd         *notify.FD                   // ready: {fd: N}: the pipe of the current start
	healthC    chan readyMsg                // health: results
	healthStop context.CancelFunc           // ends the health: probe
	follow     *followed                    // the process MAINPID= named, while watched (mainpid.go)

	mu sync.Mutex
	st Status
}

func newUnit(sup *Supervisor, svc *manifest.Service) (*unit, error) {
	u := &unit{
		name: svc.Name, svc: svc, sup: sup, log: sup.cfg.Log,
		cmds: make(chan command), readyC: make(chan readyMsg, 1), quit: make(chan struct{}),
		notifyC: make(chan notifyMsg), healthC: make(chan readyMsg),
	}
	if err := u.openLog(); err != nil {
		return nil, err
	}
	if err := u.openNotify(); err != nil {
		u.closeLog(sup.now())
		return nil, err
	}
	u.m = machine{cfg: configOf(svc), state: Down, since: sup.now(), want: svc.AutoStart}
	u.publish()
	return u, nil
}

// configOf is what the transition table needs of a manifest.
func configOf(svc *manifest.Service) unitConfig {
	c := unitConfig{
		name: svc.Name, oneshot: svc.Oneshot, finish: svc.Finish != "", essential: svc.Essential,
		restart: svc.Restart, stopSignal: reaper.SignalName(svc.StopSignal), stopTimeout: svc.StopTimeout,
		uid: os.Getuid(), watchdog: svc.Watchdog,
	}
	if h := svc.Health; h.Kind != manifest.ReadyStarted {
		c.health, c.retries, c.startPeriod = probeName(h.Ready), h.Retries, h.StartPeriod
	}
	switch {
	case svc.Builtin != "":
	case svc.Oneshot:
		// A oneshot must exit 0 within an explicit ready.timeout; without
		// `ready:` it may run as long as it needs (a migration).
		if svc.Line("ready") != 0 {
			c.readyTimeout = svc.Ready.Timeout
		}
	case svc.Ready.Kind != manifest.ReadyStarted:
		c.readyTimeout = svc.Ready.Timeout
	}
	return c
}

// openLog prepares the service's stdout/stderr per its log format: pipes
// into the mux, svinit's own fds (inherit), or /dev/null (discard).
func (u *unit) openLog() error {
	f := u.sup.cfg.Format
	if u.svc.Log != "" {
		var err error
		if f, err = logmux.ParseFormat(u.svc.Log); err != nil {
			return fmt.Errorf("%s: log: %w", u.svc.Pos("log"), err)
		}
	}
	null, err := u.sup.cfg.Reaper.Null() // stdin and, for discard, stdout/stderr
	if err != nil {
		return fmt.Errorf("service %s: %w", u.name, err)
	}
	u.stdio[0] = null
	switch f {
	case logmux.Inherit:
		u.stdio[1], u.stdio[2] = 1, 2
	case logmux.Discard:
		u.stdio[1], u.stdio[2] = null, null
	default:
		if u.pipes, err = u.sup.cfg.Mux.PipePair(u.name, f); err != nil {
			return err
		}
		u.stdio[1], u.stdio[2] = u.pipes.Fds()
	}
	u.format = f
	return nil
}

// closeLog closes svinit's ends of the log pipes and waits, until
// deadline, for their readers to write the last lines.
func (u *unit) closeLog(deadline time.Time) {
	if u.pipes != nil {
		u.pipes.CloseAndDrain(deadline)
	}
}

// status returns a copy of what the unit published last.
func (u *unit) status() Status {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.st
}

// publish makes the machine's state visible, in one piece, and wakes
// everyone waiting on a change.
func (u *unit) publish() {
	m := &u.m
	st := Status{
		Name: u.name, State: m.state, Since: m.since, Builtin: u.svc.Builtin != "", Oneshot: u.svc.Oneshot,
		Ready: m.ready, WantUp: m.want, NormallyUp: u.svc.AutoStart, Restarts: m.restarts, Starts: m.starts,
		Failures: m.failures, RetryAt: m.retryAt, Skipped: m.skipped, Started: m.started,
		Text: m.text, Health: m.health,
	}
	if m.exit != nil {
		st.LastExit = &ExitInfo{Exit: *m.exit, Time: m.exitAt}
	}
	switch {
	case u.run != nil:
		st.Pid = u.run.pid()
		if p, ok := u.run.(procRunner); ok && p.main > 0 {
			st.Pid = p.main
		}
	case u.finish != nil:
		st.Pid = u.finish.Pid
	}
	u.mu.Lock()
	u.st = st
	u.mu.Unlock()
	u.sup.notify()
}

// snapshot is the status for sv, with the built-in's detail.
func (u *unit) snapshot() Status {
	st := u.status()
	if u.notify != nil {
		n := u.notify.Stats()
		st.Notify = &n
	}
	if d := u.detail.Load(); d != nil {
		st.Value = (*d)()
		st.Detail = jsoncodec.Encode(st.Value)
	}
	return st
}
