package supervisor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"alpine-server/internal/builtin"
	"alpine-server/internal/manifest"
	"alpine-server/internal/probe"
	"alpine-server/internal/reaper"
)

var errNotRunning = errors.New("not running")

// loop is the unit's goroutine: every change of the service's state happens
// here, in answer to one event at a time.
func (u *unit) loop() {
	defer close(u.quit)
	for {
		var exitC <-chan reaper.Exit
		if u.run != nil {
			exitC = u.run.done()
		}
		var depsC <-chan struct{}
		if u.waitingForDeps() {
			depsC = u.sup.changed()
			if dep := u.skippedDep(); dep != "" {
				u.skip(fmt.Sprintf("it depends on %s, which was skipped", dep))
				continue
			}
			if u.depsReady() {
				u.start()
				continue
			}
		}
		select {
		case c := <-u.cmds:
			u.command(c)
		case e := <-exitC:
			u.exited(e)
		case e := <-u.finishC:
			u.finished(e)
		case m := <-u.readyC:
			u.readyResult(m)
		case <-u.timer.C:
			u.timerFired()
		case <-depsC:
		}
		if u.final && u.run == nil && u.finishC == nil {
			u.setState(Down)
			return
		}
	}
}

// waitingForDeps: wanted up, nothing running or pending.
func (u *unit) waitingForDeps() bool {
	st := State(u.status().State)
	return u.want && !u.final && u.run == nil && u.finishC == nil && st == Down && u.timerKind == timerNone
}

// skip takes the service out for this boot: it cannot run as svinit's
// user. Services that depend on it are skipped in turn.
func (u *unit) skip(why string) {
	u.want = false
	u.mu.Lock()
	u.skipped = why
	u.mu.Unlock()
	u.setState(Down)
	u.log.Warnf("service %s skipped: %s (svinit runs as uid %d, not root)", u.name, why, os.Getuid())
}

// skippedDep names a dependency that was skipped, or "".
func (u *unit) skippedDep() string {
	for _, d := range u.svc.DependsOn {
		if dep := u.sup.unit(d); dep != nil && dep.isSkipped() {
			return d
		}
	}
	return ""
}

func (u *unit) isSkipped() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.skipped != ""
}

func (u *unit) depsReady() bool {
	for _, d := range u.svc.DependsOn {
		if !u.sup.isReady(d) {
			return false
		}
	}
	return true
}

func (u *unit) command(c command) {
	var err error
	switch c.kind {
	case cmdStart, cmdOnce:
		u.want, u.once = true, c.kind == cmdOnce
		u.mu.Lock()
		u.skipped = "" // try again: the cause may be fixed
		u.mu.Unlock()
		if State(u.status().State) == Fatal {
			u.policy.reset()
			u.setState(Down)
		}
		if State(u.status().State) == Backoff {
			u.stopTimer()
			u.setState(Down) // start at once; loop starts it when deps are ready
		}
	case cmdStop:
		u.want = false
		u.stopNow(time.Time{})
	case cmdRestart:
		u.want = true
		if u.run != nil {
			u.restartNow = true
			u.stopNow(time.Time{})
		} else if st := State(u.status().State); st == Backoff || st == Fatal {
			u.stopTimer()
			u.policy.reset()
			u.setState(Down)
		}
	case cmdSignal:
		if u.run == nil {
			err = errNotRunning
		} else {
			err = u.run.signal(c.sig)
		}
	case cmdShutdown:
		u.want, u.final = false, true
		u.stopNow(c.deadline)
	}
	u.setState(State(u.status().State)) // publish want up/down before replying
	if c.reply != nil {
		c.reply <- err
	}
}

// stopNow asks the running service to stop; KILL follows at stop_timeout
// or deadline, whichever comes first. Without a process it settles Down.
func (u *unit) stopNow(deadline time.Time) {
	if u.run == nil {
		if u.finishC == nil {
			u.stopTimer()
			u.setState(Down)
		}
		return
	}
	kill := u.sup.now().Add(u.svc.StopTimeout)
	if !deadline.IsZero() && deadline.Before(kill) {
		kill = deadline
	}
	if State(u.status().State) == Stopping && !u.deadline.IsZero() && !kill.Before(u.deadline) {
		return // already stopping, with an earlier KILL
	}
	u.deadline = kill
	u.stopReason = stopAsked
	if State(u.status().State) != Stopping {
		u.log.Debugf("service %s: sending SIG%s", u.name, reaper.SignalName(u.svc.StopSignal))
		u.run.stop(u.svc.StopSignal)
	}
	u.setState(Stopping)
	u.setTimer(timerKill, time.Until(kill))
}

// start launches the service now.
func (u *unit) start() {
	u.gen++
	u.cancelProbe()
	var err error
	if u.svc.Builtin != "" {
		err = u.launchBuiltin()
	} else {
		err = u.startProcess()
	}
	if err != nil && u.sup.cannotAsNonRoot(err) {
		u.skip(err.Error())
		return
	}
	if err != nil {
		u.log.Errorf("service %s: %v", u.name, err)
		u.failed(reaper.Exit{Code: 127}, 0)
		return
	}
	u.started = u.sup.now()
	u.mu.Lock()
	u.starts++
	u.mu.Unlock()
	u.setState(Starting)
	u.watchReady()
}

func (u *unit) startProcess() error {
	argv := u.svc.Command
	if len(argv) == 0 {
		argv = []string{u.svc.Run}
	}
	c, err := u.spawn(argv, u.stdio)
	if err != nil {
		return err
	}
	u.run = procRunner{c}
	u.log.Debugf("service %s started (pid %d)", u.name, c.Pid)
	return nil
}

func (u *unit) launchBuiltin() error {
	svc, err := u.sup.cfg.Builtins(u.svc.Builtin, u.builtinDeps())
	if err != nil {
		return err
	}
	gen := u.gen
	u.run = u.startBuiltin(svc, func() { u.sendReady(gen, nil) })
	status := svc.Status
	u.detail.Store(&status)
	return nil
}

func (u *unit) builtinDeps() builtin.Deps {
	env := serviceEnv(u.sup.cfg.Environ(), u.svc, "")
	c := u.sup.cfg
	return builtin.Deps{Name: u.name, Env: env, Environ: c.Environ, Mux: c.Mux, Format: u.formatOf(),
		Log: c.Log, Reaper: c.Reaper, Users: c.Users, Now: c.Now}
}

// watchReady decides when the started service is ready: at once, when its
// probe passes, when the built-in says so, or (oneshot) when it exits 0.
func (u *unit) watchReady() {
	r := u.svc.Ready
	if u.svc.Builtin != "" {
		return
	}
	if u.svc.Oneshot {
		u.boundOneshot()
		return
	}
	var p probe.Probe
	switch r.Kind {
	case manifest.ReadyStarted:
		u.readyResult(readyMsg{gen: u.gen})
		return
	case manifest.ReadyTCP:
		p = probe.TCP{Addr: r.HostPort}
	case manifest.ReadyHTTP:
		p = probe.HTTP{Addr: r.HostPort, Path: r.Path}
	case manifest.ReadyFile:
		p = probe.File{Path: r.Addr}
	case manifest.ReadyExec:
		p = probe.Exec{Argv: r.Exec, Start: func(argv []string) (*reaper.Child, error) {
			return u.spawn(argv, [3]uintptr{u.stdio[0], u.stdio[0], u.stdio[0]})
		}}
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.probeStop = cancel
	gen, timeout := u.gen, r.Timeout
	if timeout == 0 {
		timeout = 1<<63 - 1
	}
	go func() { u.sendReady(gen, probe.Wait(ctx, p, r.Interval, timeout)) }()
}

// boundOneshot: a oneshot whose manifest sets ready.timeout must exit 0
// within it, else it is stopped and counts as failed. Without an explicit
// `ready:` a oneshot may run as long as it needs (a migration).
func (u *unit) boundOneshot() {
	if u.svc.Line("ready") == 0 || u.svc.Ready.Timeout <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), u.svc.Ready.Timeout)
	u.probeStop = cancel
	gen, timeout := u.gen, u.svc.Ready.Timeout
	go func() {
		<-ctx.Done()
		if ctx.Err() == context.DeadlineExceeded {
			u.sendReady(gen, fmt.Errorf("oneshot still running after ready.timeout %s", timeout))
		}
	}()
}

func (u *unit) sendReady(gen int, err error) {
	select {
	case u.readyC <- readyMsg{gen, err}:
	case <-u.quit:
	}
}

func (u *unit) cancelProbe() {
	if u.probeStop != nil {
		u.probeStop()
		u.probeStop = nil
	}
}

func (u *unit) readyResult(m readyMsg) {
	if m.gen != u.gen || u.run == nil || State(u.status().State) != Starting {
		return
	}
	u.probeStop = nil
	if m.err != nil {
		u.log.Warnf("service %s: %v; stopping it", u.name, m.err)
		u.stopNow(time.Time{})
		u.stopReason = stopProbe // its exit counts as a failure: want stays up
		return
	}
	// Log before publishing: a dependent woken by the change logs its start
	// after this line.
	u.log.Infof("service %s ready (%s, %s)", u.name, u.pidText(), u.sup.now().Sub(u.started).Round(time.Millisecond))
	u.setReady(true)
	u.setState(Running)
}

func (u *unit) pidText() string {
	if u.run.pid() == 0 {
		return "builtin"
	}
	return "pid " + strconv.Itoa(u.run.pid())
}

// exited handles the end of the service's process or built-in.
func (u *unit) exited(e reaper.Exit) {
	uptime := u.sup.now().Sub(u.started)
	if b, ok := u.run.(*builtinRunner); ok && b.err != nil && u.sup.cannotAsNonRoot(b.err) {
		u.run = nil
		u.cancelProbe()
		u.skip(b.err.Error())
		return
	}
	u.run = nil
	u.cancelProbe()
	u.stopTimer()
	u.lastExit = e
	u.setExit(e)
	u.setReady(false)
	if u.svc.Finish != "" {
		if u.runFinish(e) {
			u.pendingUptime = uptime
			return
		}
	}
	u.settle(e, uptime)
}

// runFinish starts ./finish EXITCODE SIGNAL (runit's convention: -1 and the
// signal number when killed), bounded by stop_timeout.
func (u *unit) runFinish(e reaper.Exit) bool {
	code, sig := strconv.Itoa(e.Code), "0"
	if e.Signaled {
		code, sig = "-1", strconv.Itoa(int(e.Signal))
	}
	c, err := u.spawn([]string{u.svc.Finish, code, sig}, u.stdio)
	if err != nil {
		u.log.Warnf("service %s: finish: %v", u.name, err)
		return false
	}
	u.finishC, u.finishPid = c.Done, c.Pid
	u.setState(Finish)
	u.setTimer(timerKill, u.svc.StopTimeout)
	return true
}

func (u *unit) finished(e reaper.Exit) {
	u.finishC, u.finishPid = nil, 0
	u.stopTimer()
	if e.Code != 0 {
		u.log.Warnf("service %s: finish %s", u.name, e)
	}
	u.settle(u.lastExit, u.pendingUptime)
}

// settle decides what follows an exit: down (asked for, or a oneshot
// that finished), or the restart policy.
func (u *unit) settle(e reaper.Exit, uptime time.Duration) {
	reason := u.stopReason
	u.stopReason = stopNone
	if u.final { // shutting down or removed: whatever the exit, no restart
		reason = stopAsked
	}
	switch {
	case reason == stopAsked && u.restartNow:
		u.restartNow = false
		u.log.Infof("service %s stopped (%s); restarting", u.name, e)
		u.setState(Down)
	case reason == stopAsked:
		u.log.Infof("service %s stopped (%s)", u.name, e)
		u.setState(Down)
	case u.svc.Oneshot && e.Code == 0 && reason == stopNone:
		u.want = false
		u.setReady(true)
		u.setState(Down)
		u.log.Infof("service %s done (%s)", u.name, uptime.Round(time.Millisecond))
	default:
		u.failed(e, uptime)
	}
}

// failed applies the restart policy to an exit nobody asked for.
func (u *unit) failed(e reaper.Exit, uptime time.Duration) {
	failure := e.Code != 0
	restart := !u.once && (u.svc.Restart == manifest.RestartAlways ||
		u.svc.Restart == manifest.RestartOnFailure && failure)
	if !restart {
		u.want = false
		u.setState(Down)
		u.log.Warnf("service %s %s", u.name, e)
		if failure && u.svc.Essential {
			u.sup.essentialFailed(u.name, e.Code)
		}
		return
	}
	delay, fatal := u.policy.fail(u.sup.now(), uptime)
	u.mu.Lock()
	u.st.Failures = u.policy.count(u.sup.now())
	u.mu.Unlock()
	if fatal {
		u.setState(Fatal)
		u.log.Errorf("service %s %s %d times in %s; giving up (sv start %s to retry)", u.name, e, fatalCount, fatalWindow, u.name)
		if u.svc.Essential {
			u.sup.essentialFailed(u.name, e.Code)
		}
		return
	}
	u.mu.Lock()
	u.st.Restarts++
	u.st.RestartIn = delay.Seconds()
	u.mu.Unlock()
	u.setState(Backoff)
	u.log.Warnf("service %s %s, restarting in %s", u.name, e, delay)
	u.setTimer(timerRestart, delay)
}

func (u *unit) timerFired() {
	kind := u.timerKind
	u.timerKind = timerNone
	switch kind {
	case timerRestart:
		u.setState(Down) // the loop starts it once its dependencies are ready
	case timerKill:
		if u.finishC != nil {
			u.log.Warnf("service %s: finish still running after %s; killing it", u.name, u.svc.StopTimeout)
			_ = reaper.KillGroup(u.finishPid, syscall.SIGKILL)
		} else if u.run != nil {
			u.log.Warnf("service %s did not stop after SIG%s; sending SIGKILL", u.name, reaper.SignalName(u.svc.StopSignal))
			u.run.kill()
		}
	}
}

func (u *unit) setTimer(k timerKind, d time.Duration) {
	u.stopTimer()
	u.timerKind = k
	u.timer.Reset(max(d, 0))
}

func (u *unit) stopTimer() {
	if !u.timer.Stop() {
		select {
		case <-u.timer.C:
		default:
		}
	}
	u.timerKind = timerNone
}
