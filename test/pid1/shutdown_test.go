package pid1

import (
	"syscall"
	"testing"
	"time"
)

func TestShutdownScriptsRunAfterServicesStopped(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{
		services: map[string]map[string]string{"svc": {"manifest.yml": manifest(`command: [sleep, "100"]`)}},
		shutdown: map[string]string{"10-bye": "#!/bin/sh\necho bye\n", "20-later": "#!/bin/sh\necho later\n"},
	})
	b.waitStatus("svc", `^run: svc: `, 10*time.Second)
	b.signal(syscall.SIGTERM)
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("exit %d", got)
	}
	stopped, bye, later := b.out.index(`service svc stopped`), b.out.index(`shutdown/10-bye\s+\| bye`), b.out.index(`shutdown/20-later\s+\| later`)
	if stopped < 0 || bye < 0 || later < 0 || !(stopped < bye && bye < later) {
		t.Errorf("want service stopped, then 10-bye, then 20-later; lines %d, %d, %d", stopped, bye, later)
	}
}

// escapee starts a daemon that leaves its service's process group and
// session (setsid) and drops its run's mark (its own RLIMIT_LOCKS), so
// stopping the service does not reach it: only the final sweep does.
func escapee(onTerm string) string {
	return "#!/bin/sh\nsetsid prlimit --locks=unlimited sh -c '" + onTerm + `; touch "$T/daemon.up"; while :; do sleep 0.05; done' </dev/null >/dev/null 2>&1 &
exec sleep 100
`
}

func TestShutdownSweepsLeftoverProcesses(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"leaker": {"manifest.yml": manifest(), "run": escapee(`trap "touch \"$T/daemon-term\"; exit 0" TERM`)},
	}})
	b.waitFile("daemon.up", 10*time.Second)
	start := time.Now()
	b.signal(syscall.SIGTERM)
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("exit %d", got)
	}
	took := time.Since(start)
	t.Logf("shutdown with an escaped daemon that exits on TERM: %v", took)
	b.waitFile("daemon-term", time.Second)
	stopped, swept := b.out.index(`service leaker stopped`), b.out.index(`sending SIGTERM to \d+ remaining processes`)
	if stopped < 0 || swept < 0 || swept < stopped {
		t.Errorf("leftovers must get TERM after the services stopped (lines %d, %d)", stopped, swept)
	}
	// SVINIT_SHUTDOWN_TIMEOUT is 9s: exiting as soon as the daemon is gone
	// is far less (svinit's own figure, see shutdownTook).
	if d := b.shutdownTook(); d > 3*time.Second {
		t.Errorf("shutdown took %v; svinit must exit as soon as nothing is left", d)
	}
}

func TestShutdownKillsLeftoversAtTheDeadline(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{
		env: []string{"SVINIT_SHUTDOWN_TIMEOUT=1s"},
		services: map[string]map[string]string{
			"leaker": {"manifest.yml": manifest(), "run": escapee(`trap "" TERM`)},
		},
	})
	b.waitFile("daemon.up", 10*time.Second)
	start := time.Now()
	b.signal(syscall.SIGTERM)
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("exit %d", got)
	}
	took := time.Since(start)
	d := b.shutdownTook()
	t.Logf("shutdown with a TERM-proof daemon, SVINIT_SHUTDOWN_TIMEOUT=1s: %v (svinit: %v)", took, d)
	if b.out.index(`shutdown deadline \(1s\) hit; sending SIGKILL to: .*sh \(pid \d+\)`) < 0 {
		t.Errorf("no log of which processes held up the shutdown")
	}
	// Held to the deadline, then KILL and out: svinit's own figure (see
	// shutdownTook); the wall clock can only be longer.
	if took < 900*time.Millisecond || d < time.Second || d > 4*time.Second {
		t.Errorf("shutdown took %v (svinit: %v) with a 1s deadline", took, d)
	}
}
