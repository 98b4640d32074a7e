package supervisor

import (
	"alpine-server/internal/manifest"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"syscall"
	"time"

	"alpine-server/internal/builtin"
	"alpine-server/internal/reaper"
)

var errNotRunning = errors.New("not running")

// cleanupPoll is how often a unit in Cleanup looks whether the process
// group of its exited main process is empty (kill(-pgid, 0)).
const cleanupPoll = 20 * time.Millisecond

// loop is the unit's goroutine: it turns what happens into events, feeds
// them to transition one at a time and carries out the actions. It ends
// once the unit is shut down for good and down.
func (u *unit) loop() {
	defer close(u.quit)
	for !(u.m.final && u.m.state == Down) {
		var depsC <-chan struct{}
		if u.m.waiting() {
			depsC = u.sup.changed() // before looking, so no change is missed
			if e, ok := u.depsEvent(); ok {
				u.handle(e)
				continue
			}
		}
		var exitC, followC, finishC <-chan reaper.Exit
		if u.run != nil {
			exitC = u.run.done()
		}
		if u.follow != nil {
			followC = u.follow.exit
		}
		if u.finish != nil {
			finishC = u.finish.Done
		}
		var pollC <-chan time.Time
		if u.m.state == Cleanup {
			pollC = u.sup.clock.At(u.sup.now().Add(cleanupPoll))
		}
		select {
		case c := <-u.cmds:
			c.reply <- u.command(c)
		case x := <-exitC:
			if u.follow != nil {
				u.handle(u.startedExited(x))
			} else {
				u.handle(u.exitEvent(x))
			}
		case x := <-followC:
			u.handle(u.exitEvent(x))
		case x := <-finishC:
			u.finish = nil
			u.handle(event{kind: evFinishExit, exit: x})
		case r := <-u.readyC:
			u.handle(event{kind: evReady, gen: r.gen, err: r.err, who: u.who()})
		case n := <-u.notifyC:
			u.handle(event{kind: evNotify, gen: n.gen, msg: n.msg, who: "pid " + strconv.Itoa(n.from)})
			close(n.done)
		case r := <-u.healthC:
			u.handle(event{kind: evLiveness, gen: r.gen, err: r.err})
		case <-u.timerC:
			u.timerC = nil
			u.handle(event{kind: evTimer, err: u.notReadyWhy()})
		case <-pollC:
			if !u.sup.sys.groupAlive(u.pgid) && !u.straysAlive() {
				u.handle(event{kind: evCleanupDone})
			}
		case <-depsC:
		}
	}
	u.cancelProbe()
	u.stopFollow()
	u.closeNotify()
}

// depsEvent is evDeps when it carries news: every dependency is ready, or
// one was skipped.
func (u *unit) depsEvent() (event, bool) {
	ready := true
	for _, d := range u.svc.DependsOn {
		dep := u.sup.unit(d)
		if dep == nil {
			ready = false
			continue
		}
		st := dep.status()
		if st.Skipped != "" {
			return event{kind: evDeps, skippedDep: d}, true
		}
		ready = ready && st.Ready
	}
	return event{kind: evDeps, depsReady: true}, ready
}

func (u *unit) exitEvent(x reaper.Exit) event {
	e := event{kind: evExit, exit: x}
	if b, ok := u.run.(*builtinRunner); ok && b.err != nil && u.sup.cannotAsNonRoot(b.err) {
		e.skip, e.err = true, b.err.Error()
	}
	if pid := u.run.pid(); pid > 0 {
		u.pgid = pid
		e.leftovers = u.sup.sys.groupAlive(pid)
		u.findStrays()
		for _, p := range u.strays {
			e.strays = append(e.strays, fmt.Sprintf("pid %d (%s)", p.Pid, p.Comm))
		}
	}
	u.run = nil
	u.stopFollow()
	return e
}

// findStrays scans /proc for the live processes of the last run that are
// not in its group (the group is signalled as a whole). It runs when the
// main process exits and when KILL goes to what is left: never per poll.
func (u *unit) findStrays() {
	u.strays = u.strays[:0]
	if u.runID == 0 || u.svc.KillMode == manifest.KillProcessGroup {
		return
	}
	t := time.Now()
	for _, p := range u.sup.sys.marked(u.runID) {
		if p.Pgid != u.pgid {
			u.strays = append(u.strays, p)
		}
	}
	u.log.Debugf("service %s: scanned /proc for run %d in %s: %d outside its group",
		u.name, u.runID, time.Since(t).Round(time.Microsecond), len(u.strays))
}

// straysAlive drops the strays that are gone and reports whether any is
// left: one read of /proc/PID/stat each.
func (u *unit) straysAlive() bool {
	u.strays = slices.DeleteFunc(u.strays, func(p reaper.Proc) bool { return !u.sup.sys.procAlive(p) })
	return len(u.strays) > 0
}

// signalStrays sends sig to each stray (then CONT, as to a group); an
// error other than "already gone" is logged.
func (u *unit) signalStrays(sig syscall.Signal) {
	for _, p := range u.strays {
		u.signalStray(p, sig)
		if sig != syscall.SIGKILL && sig != syscall.SIGCONT {
			u.signalStray(p, syscall.SIGCONT)
		}
	}
}

func (u *unit) signalStray(p reaper.Proc, sig syscall.Signal) {
	if err := u.sup.sys.signalProc(p, sig); err != nil {
		u.log.Warnf("service %s: kill pid %d with SIG%s: %v", u.name, p.Pid, reaper.SignalName(sig), err)
	}
}

// command handles a request from outside and returns its answer.
func (u *unit) command(c command) error {
	u.sig = c.sig
	if c.kind == evShutdown && (u.deadline.IsZero() || c.deadline.Before(u.deadline)) {
		u.deadline = c.deadline
	}
	return u.handle(event{kind: c.kind})
}

// handle feeds e, then its follow-up events, to the table, carries out
// their actions and publishes one status per event. It returns the
// answer for a command (sv hup of a stopped service: not running).
func (u *unit) handle(e event) error {
	err := u.step(e)
	for len(u.pending) > 0 {
		next := u.pending[0]
		u.pending = u.pending[1:]
		if err2 := u.step(next); err == nil {
			err = err2
		}
	}
	return err
}

func (u *unit) step(e event) error {
	e.now = u.sup.now()
	var acts []action
	u.m, acts = transition(u.m, e)
	err := u.perform(acts, e.now)
	u.publish()
	return err
}

// perform carries out acts in order. A failed spawn drops the rest and
// queues evSpawnFailed.
func (u *unit) perform(acts []action, now time.Time) error {
	var err error
	for _, a := range acts {
		switch a.kind {
		case actSpawn:
			if serr := u.start(); serr != nil {
				u.pending = append(u.pending, event{kind: evSpawnFailed, err: serr.Error(), skip: u.sup.cannotAsNonRoot(serr)})
				return nil
			}
		case actWatchReady:
			u.watchReady(u.m.gen)
		case actStopReady:
			u.cancelProbe()
		case actSignalStop:
			if g := u.group(); g != nil {
				g.stop(u.svc.StopSignal)
			}
			if u.startedGone() { // the main process exited: its strays too
				if u.run != nil {
					u.findStrays()
				}
				u.signalStrays(u.svc.StopSignal)
			}
		case actSignalStrays:
			u.signalStrays(u.svc.StopSignal)
		case actKill:
			if g := u.group(); g != nil {
				g.kill()
			}
			if u.startedGone() { // found anew: what the strays forked meanwhile
				u.findStrays()
				u.signalStrays(syscall.SIGKILL)
			}
		case actSignal:
			err = u.run.signal(u.sig)
		case actRefuse:
			err = errNotRunning
		case actRunFinish:
			u.runFinish()
		case actWatchHealth:
			u.watchHealth(u.m.gen)
		case actFollowMain:
			u.followMain(u.m.mainPID)
		case actKillFinish:
			if u.finish != nil {
				u.killGroup(u.finish.Pid, syscall.SIGKILL)
			}
		default:
			u.performTimer(a, now)
		}
	}
	return err
}

// performTimer carries out the timer, essential and log actions.
func (u *unit) performTimer(a action, now time.Time) {
	switch a.kind {
	case actArmKill:
		at := now.Add(u.svc.StopTimeout)
		if !u.deadline.IsZero() && u.deadline.Before(at) {
			at = u.deadline
		}
		u.arm(at)
	case actTightenKill:
		if u.timerC != nil && u.deadline.Before(u.timerAt) {
			u.arm(u.deadline)
		}
	case actArmRestart:
		u.arm(now.Add(a.delay))
	case actArmReady:
		u.arm(now.Add(u.m.cfg.readyTimeout))
	case actArmWatchdog:
		u.arm(now.Add(u.m.watchdog))
	case actExtend:
		u.extend(now.Add(a.delay))
	case actDisarm:
		u.timerC = nil
	case actEssential:
		u.sup.essentialFailed(u.name, a.code)
	case actLog:
		[...]func(string, ...any){u.log.Debugf, u.log.Infof, u.log.Warnf, u.log.Errorf}[a.level]("%s", a.msg)
	}
}

// arm sets the unit's one timer; a channel replaced is never read again.
func (u *unit) arm(at time.Time) {
	u.timerAt, u.timerC = at, u.sup.clock.At(at)
}

// group is what signals reach: the running process or built-in, or the
// process group its exited main process left behind.
func (u *unit) group() runner {
	if u.run != nil {
		return u.run
	}
	if u.pgid > 0 {
		return procRunner{u: u, pgid: u.pgid}
	}
	return nil
}

// killGroup signals a process group of the service; an error other than
// "already gone" is logged, never dropped.
func (u *unit) killGroup(pgid int, sig syscall.Signal) error {
	err := u.sup.sys.killGroup(pgid, sig)
	if err != nil {
		u.log.Warnf("service %s: kill process group %d with SIG%s: %v", u.name, pgid, reaper.SignalName(sig), err)
	}
	return err
}

// start launches the main process (or built-in) of the current generation.
func (u *unit) start() error {
	if u.svc.Builtin != "" {
		return u.launchBuiltin()
	}
	argv := u.svc.Command
	if len(argv) == 0 {
		argv = []string{u.svc.Run}
	}
	run := u.sup.runs.Add(1)
	c, err := u.spawnMain(argv, run)
	if err != nil {
		return err
	}
	u.runID = run
	u.run = procRunner{u: u, pgid: c.Pid, exit: c.Done}
	u.log.Debugf("service %s started (pid %d)", u.name, c.Pid)
	return nil
}

func (u *unit) launchBuiltin() error {
	svc, err := u.sup.cfg.Builtins(u.svc.Builtin, u.builtinDeps())
	if err != nil {
		return err
	}
	gen := u.m.gen
	u.run = u.startBuiltin(svc, func() { u.sendReady(gen, "") })
	status := svc.Status
	u.detail.Store(&status)
	return nil
}

func (u *unit) builtinDeps() builtin.Deps {
	env := serviceEnv(u.sup.cfg.Environ(), u.svc, "")
	c := u.sup.cfg
	return builtin.Deps{Name: u.name, Env: env, Environ: c.Environ, Mux: c.Mux, Format: u.format,
		Log: c.Log, Reaper: c.Reaper, Users: c.Users, Now: u.sup.now}
}

func (u *unit) who() string {
	if u.run == nil || u.run.pid() == 0 {
		return "builtin"
	}
	return "pid " + strconv.Itoa(u.run.pid())
}

// runFinish starts ./finish EXITCODE SIGNAL (runit's convention: -1 and the
// signal number when killed); the table bounds it by stop_timeout.
func (u *unit) runFinish() {
	x := *u.m.exit
	code, sig := strconv.Itoa(x.Code), "0"
	if x.Signaled {
		code, sig = "-1", strconv.Itoa(int(x.Signal))
	}
	c, err := u.spawn([]string{u.svc.Finish, code, sig}, u.stdio)
	if err != nil {
		u.pending = append(u.pending, event{kind: evFinishExit, err: err.Error()})
		return
	}
	u.finish = c
	u.log.Debugf("service %s: finish started (pid %d)", u.name, c.Pid)
}

// notReadyWhy says why a starting service is not ready, for the line
// logged when its ready.timeout passes.
func (u *unit) notReadyWhy() string {
	if u.probeWhy != nil {
		return u.probeWhy()
	}
	if u.svc.Oneshot {
		return fmt.Sprintf("oneshot still running after ready.timeout %s", u.m.cfg.readyTimeout)
	}
	return fmt.Sprintf("not ready after %s", u.m.cfg.readyTimeout)
}
