package boot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"alpine-server/internal/plan"
	"alpine-server/internal/reaper"
	"alpine-server/internal/supervisor"
)

// phase is how far the boot has got (SPEC §3). The work of the first three
// runs as a step in a goroutine whose completion is an event of the loop,
// so no phase ever keeps the loop from hearing a signal.
type phase int

const (
	phaseScripts phase = iota // startup scripts run
	phaseLoad                 // manifests are read and checked
	phaseReady                // the main command waits for the services to be ready
	phaseRun                  // booted: the main command (if any) and the services run
)

// during names the phase in a log line about a stop.
func (p phase) during() string {
	switch p {
	case phaseScripts:
		return " during the startup scripts"
	case phaseLoad:
		return " while loading the services"
	case phaseReady:
		return " while the main command waits for readiness"
	}
	return ""
}

// stepDone is the end of a phase's step.
type stepDone struct {
	phase phase
	err   error
	plan  *plan.Plan // phaseLoad
}

// bootLoop is svinit's one event loop, from the first startup script to
// the shutdown (tini's single loop is the model): signals, `sv shutdown`
// and `sv reload`, the main command's exit, an essential service's
// failure and the end of each step, all in one select.
type bootLoop struct {
	ctx  context.Context // svinit's life
	s    *svinit
	sigs <-chan os.Signal
	argv []string // the main command; nil: none

	phase      phase
	steps      chan stepDone
	stepCancel context.CancelCauseFunc // ends the step in flight; nil when none
	m          *mainCmd
	mainDone   <-chan reaper.Exit

	// SVINIT_STOP_DELAY: the services are drained and everything runs on
	// until delay fires or a second ask says now.
	delay    <-chan time.Time
	stopCode int
}

func newBootLoop(ctx context.Context, s *svinit, sigs <-chan os.Signal, argv []string) *bootLoop {
	return &bootLoop{ctx: ctx, s: s, sigs: sigs, argv: argv, steps: make(chan stepDone, 1)}
}

// run boots, waits for a reason to stop, and shuts down; it returns
// svinit's exit code.
func (l *bootLoop) run() int {
	l.step(phaseScripts, l.runScripts)
	for {
		var code int
		var stop bool
		select {
		case sig := <-l.sigs:
			code, stop = l.signal(sig)
		case d := <-l.steps:
			l.stepCancel = nil
			code, stop = l.stepDone(d)
		case e := <-l.mainDone:
			l.s.log.Infof("main command %s; shutting down", e)
			l.m.exited, l.m.exit = true, e
			code, stop = e.Code, true
		case r := <-l.s.stopC:
			code, stop = l.stop(r)
		case reply := <-l.s.reloadC:
			l.reload(reply)
		case <-l.delay:
			l.s.log.Infof("SVINIT_STOP_DELAY=%s over; shutting down", l.s.set.StopDelay)
			code, stop = l.stopCode, true
		}
		if stop {
			return l.shutdown(code)
		}
	}
}

// step runs work for phase p in a goroutine; its end is an event.
func (l *bootLoop) step(p phase, work func(ctx context.Context) stepDone) {
	ctx, cancel := context.WithCancelCause(l.ctx)
	l.phase, l.stepCancel = p, cancel
	go func() {
		d := work(ctx)
		d.phase = p
		cancel(nil)
		l.steps <- d
	}()
}

func (l *bootLoop) runScripts(ctx context.Context) stepDone {
	return stepDone{err: l.s.scripts().RunDir(ctx, l.s.set.StartupDir, "startup", l.s.set.KeepGoing)}
}

func (l *bootLoop) runLoad(context.Context) stepDone {
	p, err := l.s.loadPlan()
	return stepDone{plan: p, err: err}
}

func (l *bootLoop) runReadyWait(ctx context.Context) stepDone {
	wctx, cancel := context.WithTimeout(ctx, l.s.set.WaitReadyTimeout)
	defer cancel()
	return stepDone{err: l.s.sup.WaitReady(wctx, l.s.sup.AutoStart())}
}

// stepDone moves the boot to its next phase, or says it must stop.
func (l *bootLoop) stepDone(d stepDone) (code int, stop bool) {
	s := l.s
	switch d.phase {
	case phaseScripts:
		if d.err != nil && !s.set.KeepGoing {
			s.log.Errorf("%v; stopping (set SVINIT_KEEP_GOING=1 to boot on)", d.err)
			return ExitStartup, true
		}
		s.writeEnv() // again: the profile gets what the scripts exported
		l.step(phaseLoad, l.runLoad)
	case phaseLoad:
		if d.err != nil {
			s.log.Errorf("%v", d.err)
			return ExitConfig, true
		}
		return l.startServices(d.plan)
	case phaseReady:
		if d.err != nil {
			s.log.Warnf("services not ready (%v); starting the main command anyway", d.err)
		}
		return l.startMain()
	}
	return 0, false
}

func (l *bootLoop) startServices(p *plan.Plan) (code int, stop bool) {
	s := l.s
	s.sup = supervisor.New(s.supervisorConfig())
	close(s.loaded) // after sup is set: the control handler may use it now
	if err := s.sup.Start(p); err != nil {
		s.log.Errorf("%v", err)
		return ExitConfig, true
	}
	go s.trimWhenSettled(l.ctx)
	switch {
	case len(l.argv) == 0:
		l.phase = phaseRun
	case s.set.WaitReadyTimeout > 0:
		l.step(phaseReady, l.runReadyWait)
	default:
		return l.startMain()
	}
	return 0, false
}

func (l *bootLoop) startMain() (code int, stop bool) {
	l.phase = phaseRun
	m, err := l.s.startMain(l.argv)
	if err != nil {
		l.s.log.Errorf("main command: %v", err)
		return 127, true
	}
	l.m, l.mainDone = m, m.child.Done
	return 0, false
}

// signal handles one signal to svinit (SPEC §3).
func (l *bootLoop) signal(sig os.Signal) (code int, stop bool) {
	s := l.s
	switch {
	case isStop(sig):
		// The first TERM may wait for SVINIT_STOP_DELAY; INT, QUIT and a
		// second TERM do not.
		return l.stop(stopReq{why: "got " + sigName(sig), now: sig != syscall.SIGTERM || l.delay != nil})
	case sig == syscall.SIGHUP:
		if err := l.cannotReload(); err != nil {
			s.log.Infof("got SIGHUP; %v, ignored", err)
			break
		}
		s.log.Infof("reloading services")
		reply := make(chan error, 1)
		l.reload(reply)
		go func() {
			if err := <-reply; err != nil {
				s.log.Errorf("%v", err)
			}
		}()
	case sig == syscall.SIGPIPE:
		// our own write to a closed stdout: nothing to forward
	case l.m != nil:
		s.log.Debugf("forwarding %s to the main command", sigName(sig))
		s.killLogged(l.m.child.Pid, sig.(syscall.Signal), "the main command")
	case len(l.argv) > 0 && l.phase != phaseRun:
		s.log.Debugf("got %s; the main command has not started, ignored", sigName(sig))
	default:
		s.log.Debugf("got %s; no main command to forward it to, ignored", sigName(sig))
	}
	return 0, false
}

// stop answers an ask to stop: at once during the boot, with `now`, or
// without SVINIT_STOP_DELAY; otherwise the services are drained (not
// ready, still running) and the shutdown waits for the delay.
func (l *bootLoop) stop(r stopReq) (code int, stop bool) {
	s := l.s
	if l.delay != nil {
		if !r.now {
			s.log.Infof("%s; already stopping", r.why)
			return 0, false
		}
		s.log.Infof("%s; skipping the rest of SVINIT_STOP_DELAY", r.why)
		if r.code != 0 {
			return r.code, true
		}
		return l.stopCode, true
	}
	if r.now || l.phase != phaseRun || s.set.StopDelay <= 0 {
		s.log.Infof("%s%s; shutting down", r.why, l.phase.during())
		return r.code, true
	}
	l.stopCode = r.code
	l.delay = time.After(s.set.StopDelay)
	s.sup.Drain() // `sv check` fails while everything keeps running
	s.log.Infof("%s; services marked not ready, shutting down in %s (SVINIT_STOP_DELAY; then SVINIT_SHUTDOWN_TIMEOUT=%s)",
		r.why, s.set.StopDelay, s.set.ShutdownTimeout)
	return 0, false
}

// cannotReload says why a reload cannot run now, or nil.
func (l *bootLoop) cannotReload() error {
	switch {
	case l.delay != nil:
		return errors.New("svinit is shutting down")
	case l.s.sup == nil:
		return errors.New("services are not loaded yet")
	}
	return nil
}

// reload starts a reload that answers on reply, or answers at once why it
// cannot run.
func (l *bootLoop) reload(reply chan<- error) {
	if err := l.cannotReload(); err != nil {
		reply <- fmt.Errorf("reload: %w", err)
		return
	}
	go func() { reply <- l.s.reload() }()
}

// shutdown ends the step in flight (a startup script is killed, a wait
// ends), waits for it within the deadline so its last lines come first,
// then stops everything in order. Loading is not waited for: it starts
// nothing, and its result is simply not used.
func (l *bootLoop) shutdown(code int) int {
	close(l.s.loopDone)
	deadline := time.Now().Add(l.s.set.ShutdownTimeout)
	if l.stepCancel != nil {
		l.stepCancel(errors.New("svinit is shutting down"))
	}
	if l.stepCancel != nil && l.phase != phaseLoad {
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		select {
		case d := <-l.steps:
			if d.err != nil && d.phase == phaseScripts {
				l.s.log.Infof("%v", d.err)
			}
		case <-t.C:
		}
	}
	return l.s.shutdown(code, l.m, deadline)
}
