package boot

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"

	"alpine-server/internal/reaper"
)

// shutdown stops everything in order by deadline (SVINIT_SHUTDOWN_TIMEOUT
// from the moment the shutdown began, SPEC §11) and returns the exit code:
// the main command's when there is one, else code.
func (s *svinit) shutdown(code int, m *mainCmd, deadline time.Time) int {
	start := deadline.Add(-s.set.ShutdownTimeout)
	s.opMu.Lock() // wait for a reload in flight
	defer s.opMu.Unlock()
	if m != nil {
		code = s.stopMain(m, deadline)
	}
	if s.sup != nil {
		s.sup.Shutdown(deadline)
	}
	s.shutdownScripts(deadline)
	s.sweep(deadline)
	if s.sup != nil {
		// Last lines of the services; whatever still holds a pipe now is
		// gone or unkillable, so wait a moment at most.
		s.sup.CloseLogs(time.Now().Add(min(time.Second, max(time.Until(deadline), 100*time.Millisecond))))
	}
	s.log.Infof("shutdown done in %s; exit %d", time.Since(start).Round(time.Millisecond), code)
	return code
}

// stopMain sends TERM to the main command's group and waits for it until
// deadline, then KILL.
func (s *svinit) stopMain(m *mainCmd, deadline time.Time) int {
	if !m.exited {
		s.killLogged(m.child.Pid, syscall.SIGTERM, "the main command")
		s.killLogged(m.child.Pid, syscall.SIGCONT, "the main command")
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		select {
		case m.exit = <-m.child.Done:
		case <-t.C:
			s.log.Warnf("main command (pid %d) did not stop by the deadline; sending SIGKILL", m.child.Pid)
			s.killLogged(m.child.Pid, syscall.SIGKILL, "the main command")
			m.exit = <-m.child.Done
		}
		m.exited = true
	}
	return m.exit.Code
}

// shutdownScripts runs $SVINIT_SHUTDOWN_DIR with what is left of the time.
func (s *svinit) shutdownScripts(deadline time.Time) {
	left := time.Until(deadline)
	if left <= 0 {
		return
	}
	r := s.scripts()
	r.AfterEach, r.Timeout = nil, left
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	_ = r.RunDir(ctx, s.set.ShutdownDir, "shutdown", true) // each failure is logged as it happens
}

// sweep sends TERM to every process left below svinit, then KILL at the
// deadline, and returns as soon as none is left: no fixed sleep.
func (s *svinit) sweep(deadline time.Time) {
	if err := reaper.OwnProc(); err != nil {
		s.sweepKnown(deadline, err)
		return
	}
	left := reaper.Descendants(os.Getpid())
	if len(left) == 0 {
		return
	}
	s.log.Infof("sending SIGTERM to %d remaining processes", len(left))
	s.signalAll(left, syscall.SIGTERM)
	if s.waitEmpty(time.Until(deadline)) {
		return
	}
	left = reaper.Descendants(os.Getpid())
	s.log.Warnf("shutdown deadline (%s) hit; sending SIGKILL to: %s", s.set.ShutdownTimeout, procList(left))
	s.signalAll(left, syscall.SIGKILL)
	if !s.waitEmpty(time.Second) {
		s.log.Errorf("processes left after SIGKILL: %s", procList(reaper.Descendants(os.Getpid())))
	}
}

func (s *svinit) signalAll(procs []reaper.Proc, sig syscall.Signal) {
	for _, p := range procs {
		s.killPid(p.Pid, sig)
		if sig == syscall.SIGTERM {
			s.killPid(p.Pid, syscall.SIGCONT)
		}
	}
}

// killPid signals one process; ESRCH (it has just exited) is expected.
func (s *svinit) killPid(pid int, sig syscall.Signal) {
	if err := syscall.Kill(pid, sig); err != nil && err != syscall.ESRCH {
		s.log.Warnf("signal SIG%s to pid %d: %v", reaper.SignalName(sig), pid, err)
	}
}

// sweepKnown is the final sweep when /proc is not svinit's own (why says
// how): its pids would be another namespace's, so svinit signals only what
// the reaper knows — the process groups of the children it started and
// has not reaped — and, as PID 1, kill(-1), which the kernel confines to
// svinit's own pid namespace. It is said once, with the shutdown.
func (s *svinit) sweepKnown(deadline time.Time, why error) {
	select {
	case <-s.reap.Empty():
		return
	default:
	}
	scope := "the process groups it started"
	if s.pid1 {
		scope += " and, as PID 1, its own pid namespace (kill -1)"
	}
	s.log.Warnf("%v: the final sweep signals only %s", why, scope)
	s.signalKnown(syscall.SIGTERM)
	if s.waitEmpty(time.Until(deadline)) {
		return
	}
	s.log.Warnf("shutdown deadline (%s) hit; sending SIGKILL to %s", s.set.ShutdownTimeout, scope)
	s.signalKnown(syscall.SIGKILL)
	if !s.waitEmpty(time.Second) {
		s.log.Errorf("processes left after SIGKILL (without a /proc of its own svinit cannot name them)")
	}
}

func (s *svinit) signalKnown(sig syscall.Signal) {
	for _, pid := range s.reap.Started() {
		s.killLogged(pid, sig, "a process group svinit started")
		if sig == syscall.SIGTERM {
			s.killLogged(pid, syscall.SIGCONT, "a process group svinit started")
		}
	}
	if s.pid1 {
		s.killPid(-1, sig)
		if sig == syscall.SIGTERM {
			s.killPid(-1, syscall.SIGCONT)
		}
	}
}

// waitEmpty waits up to d for svinit to have no child left.
func (s *svinit) waitEmpty(d time.Duration) bool {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-s.reap.Empty():
		return true
	case <-t.C:
		return false
	}
}

func procList(ps []reaper.Proc) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (pid %d)", p.Comm, p.Pid)
	}
	return b.String()
}
