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

// shutdown stops everything in order within SVINIT_SHUTDOWN_TIMEOUT
// (SPEC §11) and returns the exit code: the main command's when there is
// one, else code.
func (s *svinit) shutdown(code int, m *mainCmd) int {
	s.opMu.Lock() // wait for a reload in flight
	defer s.opMu.Unlock()
	start := time.Now()
	deadline := start.Add(s.set.ShutdownTimeout)
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
		_ = reaper.KillGroup(m.child.Pid, syscall.SIGTERM)
		_ = reaper.KillGroup(m.child.Pid, syscall.SIGCONT)
		t := time.NewTimer(time.Until(deadline))
		defer t.Stop()
		select {
		case m.exit = <-m.child.Done:
		case <-t.C:
			s.log.Warnf("main command (pid %d) did not stop by the deadline; sending SIGKILL", m.child.Pid)
			_ = reaper.KillGroup(m.child.Pid, syscall.SIGKILL)
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
	left := reaper.Descendants(os.Getpid())
	if len(left) == 0 {
		return
	}
	s.log.Infof("sending SIGTERM to %d remaining processes", len(left))
	signalAll(left, syscall.SIGTERM)
	if s.waitEmpty(time.Until(deadline)) {
		return
	}
	left = reaper.Descendants(os.Getpid())
	s.log.Warnf("shutdown deadline (%s) hit; sending SIGKILL to: %s", s.set.ShutdownTimeout, procList(left))
	signalAll(left, syscall.SIGKILL)
	if !s.waitEmpty(time.Second) {
		s.log.Errorf("processes left after SIGKILL: %s", procList(reaper.Descendants(os.Getpid())))
	}
}

func signalAll(procs []reaper.Proc, sig syscall.Signal) {
	for _, p := range procs {
		_ = syscall.Kill(p.Pid, sig)
		if sig == syscall.SIGTERM {
			_ = syscall.Kill(p.Pid, syscall.SIGCONT)
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
