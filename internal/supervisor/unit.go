package supervisor

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"alpine-server/internal/control"
	"alpine-server/internal/jsoncodec"
	"alpine-server/internal/logmux"
	"alpine-server/internal/manifest"
	"alpine-server/internal/reaper"
)

// State is where a service is in its life; the names are those `sv status`
// prints.
type State string

// The states of a service.
const (
	Down     State = "down"     // not running (never started, stopped, or a oneshot that finished)
	Starting State = "starting" // running, not ready yet
	Running  State = "run"      // running and ready
	Stopping State = "stopping" // asked to stop, not exited yet
	Finish   State = "finish"   // its finish script runs
	Backoff  State = "backoff"  // exited; restarts after a delay
	Fatal    State = "fatal"    // failed too often; waits for sv start or a reload
)

// timer purposes: one timer per unit, since only one is ever pending.
type timerKind int

const (
	timerNone    timerKind = iota
	timerRestart           // backoff over: start again
	timerKill              // stop_timeout over: KILL the group
)

type cmdKind int

const (
	cmdStart cmdKind = iota
	cmdOnce
	cmdStop
	cmdRestart
	cmdSignal
	cmdShutdown // stop for good at deadline (shutdown, or removed by a reload)
)

type command struct {
	kind     cmdKind
	sig      syscall.Signal
	deadline time.Time
	reply    chan error
}

// stopReason says why the running service was signalled, so its exit is
// told apart from a crash.
type stopReason int

const (
	stopNone  stopReason = iota
	stopAsked            // sv stop/restart, shutdown, reload
	stopProbe            // its readiness probe failed: a failure
)

type readyMsg struct {
	gen int
	err error
}

// unit supervises one service. Its goroutine (loop) owns every field above
// the mutex; the mutex guards only what it publishes for status readers.
type unit struct {
	name string
	svc  *manifest.Service
	sup  *Supervisor
	log  *logmux.Logger

	cmds   chan command
	readyC chan readyMsg
	quit   chan struct{} // closed when the goroutine ends

	// owned by loop
	run           runner
	finishC       <-chan reaper.Exit
	finishPid     int
	lastExit      reaper.Exit
	gen           int // start generation: stale probe results are ignored
	want          bool
	once          bool
	final         bool // shut down for good: never start again
	restartNow    bool
	stopReason    stopReason
	pendingUptime time.Duration
	format        logmux.Format
	policy        restartPolicy
	started       time.Time
	timer         *time.Timer
	timerKind     timerKind
	deadline      time.Time // stop escalation deadline, zero when none
	stdio         [3]uintptr
	null          *os.File
	pipes         []*logmux.Pipe
	probeStop     context.CancelFunc

	detail atomic.Pointer[func() jsoncodec.Value] // a built-in's Status, for --json

	mu      sync.Mutex
	st      control.ServiceStatus
	skipped string // why it cannot run as svinit's user; "" = not skipped
	starts  int    // completed starts, for sv restart -w
}

func newUnit(sup *Supervisor, svc *manifest.Service) (*unit, error) {
	u := &unit{
		name: svc.Name, svc: svc, sup: sup, log: sup.cfg.Log,
		cmds: make(chan command), readyC: make(chan readyMsg, 1), quit: make(chan struct{}),
		timer: time.NewTimer(time.Hour),
	}
	u.timer.Stop()
	if err := u.openLog(); err != nil {
		return nil, err
	}
	u.st = control.ServiceStatus{
		Name: svc.Name, State: string(Down), Since: sup.now(), NormallyUp: svc.AutoStart,
		Builtin: svc.Builtin != "", Oneshot: svc.Oneshot,
	}
	return u, nil
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
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0) // stdin and, for discard, stdout/stderr
	if err != nil {
		return err
	}
	u.null, u.stdio[0] = null, null.Fd()
	switch f {
	case logmux.Inherit:
		u.stdio[1], u.stdio[2] = 1, 2
	case logmux.Discard:
		u.stdio[1], u.stdio[2] = null.Fd(), null.Fd()
	default:
		u.sup.cfg.Mux.Register(u.name)
		out, err := u.sup.cfg.Mux.Pipe(u.name, logmux.Stdout, f)
		if err != nil {
			return err
		}
		errp, err := u.sup.cfg.Mux.Pipe(u.name, logmux.Stderr, f)
		if err != nil {
			out.Close()
			return err
		}
		u.stdio[1], u.stdio[2] = out.W.Fd(), errp.W.Fd()
		u.pipes = []*logmux.Pipe{out, errp}
	}
	u.format = f
	return nil
}

// closeLog closes svinit's ends of the log pipes and waits, until
// deadline, for their readers to write the last lines.
func (u *unit) closeLog(deadline time.Time) {
	defer u.null.Close()
	logmux.CloseAndDrain(deadline, u.pipes...)
}

func (u *unit) formatOf() logmux.Format { return u.format }

// status returns a copy of what the unit publishes.
func (u *unit) status() control.ServiceStatus {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.st
}

// setState publishes a new state and wakes everyone waiting on a change.
func (u *unit) setState(s State) {
	u.mu.Lock()
	changed := u.st.State != string(s)
	if changed {
		u.st.State, u.st.Since = string(s), u.sup.now()
	}
	u.st.WantUp = u.want
	u.st.Pid = 0
	if u.run != nil {
		u.st.Pid = u.run.pid()
	}
	if s != Backoff {
		u.st.RestartIn = 0
	}
	u.mu.Unlock()
	u.sup.notify()
}

func (u *unit) setReady(r bool) {
	u.mu.Lock()
	u.st.Ready = r
	u.mu.Unlock()
}

func (u *unit) setExit(e reaper.Exit) {
	info := &control.ExitInfo{Code: e.Code, Time: u.sup.now()}
	if e.Signaled {
		info.Code, info.Signal = -1, reaper.SignalName(e.Signal)
	}
	u.mu.Lock()
	u.st.LastExit = info
	u.mu.Unlock()
}

// snapshot is the status for sv, with the built-in's detail.
func (u *unit) snapshot() control.ServiceStatus {
	st := u.status()
	if d := u.detail.Load(); d != nil {
		st.Detail = jsoncodec.Encode((*d)())
	}
	return st
}
