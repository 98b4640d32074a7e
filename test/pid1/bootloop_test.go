package pid1

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// neverReady is one auto-start service whose readiness file never appears:
// the main command waits for it for SVINIT_WAIT_READY_TIMEOUT (60s here).
var neverReady = map[string]map[string]string{
	"stuck": {"manifest.yml": manifest(`command: [sleep, "100"]`, "ready:", "  file: /nonexistent", "  interval: 50ms")},
}

// A stop while the main command waits for readiness begins the shutdown at
// once, and the main command never starts (issue 8, case 1).
func TestStopDuringReadinessWait(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"SIGTERM", "SIGINT", "sv shutdown"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			b := boot(t, spec{
				services: neverReady,
				env:      []string{"SVINIT_WAIT_READY_TIMEOUT=60s", "SVINIT_SHUTDOWN_TIMEOUT=5s"},
				main:     []string{"sh", "-c", "echo MAIN; exec sleep 100"},
			})
			b.waitStatus("stuck", `^starting: stuck: \(pid \d+\)`, 10*time.Second)
			start := time.Now()
			switch how {
			case "SIGTERM":
				b.signal(syscall.SIGTERM)
			case "SIGINT":
				b.signal(syscall.SIGINT)
			default:
				if out, code := b.sv("shutdown"); code != 0 {
					t.Fatalf("sv shutdown: exit %d: %s", code, out)
				}
			}
			// Old svinit held the stop for the whole 60s wait.
			if got := b.wait(15 * time.Second); got != 0 {
				t.Errorf("exit %d, want 0 (a clean shutdown; the main command never ran)", got)
			}
			t.Logf("%s during the readiness wait: exit after %v", how, time.Since(start).Round(time.Millisecond))
			if strings.Contains(b.out.String(), "MAIN") {
				t.Errorf("the main command was started after the stop was asked")

			}
			if b.out.index(`service stuck stopped`) < 0 {
				t.Errorf("the service was not stopped in order")
			}
		})
	}
}

// A stop during a slow startup script ends the script and the boot: no
// service and no main command starts.
func TestStopDuringSlowStartupScript(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{
		startup:  map[string]string{"10-slow": "#!/bin/sh\ntouch \"$T/slow.started\"\nexec sleep 100\n"},
		services: map[string]map[string]string{"svc": {"manifest.yml": manifest(`command: [sh, -c, "echo SERVICE; exec sleep 100"]`)}},
		main:     []string{"sh", "-c", "echo MAIN; exec sleep 100"},
	})
	b.waitFile("slow.started", 10*time.Second)
	b.signal(syscall.SIGTERM)
	if got := b.wait(15 * time.Second); got != 0 {
		t.Errorf("exit %d, want 0", got)
	}
	if out := b.out.String(); strings.Contains(out, "MAIN") || strings.Contains(out, "SERVICE") {
		t.Errorf("a service or the main command started after the stop")
	}
	if b.out.index(`startup/10-slow: killed`) < 0 {
		t.Errorf("the startup script was not ended")
	}
}

// `sv shutdown` works while a startup script runs: the control socket is
// served from the start of the boot.
func TestSvShutdownDuringStartupScript(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{
		startup: map[string]string{"10-slow": "#!/bin/sh\ntouch \"$T/slow.started\"\nexec sleep 100\n"},
		main:    []string{"sh", "-c", "echo MAIN; exec sleep 100"},
	})
	b.waitFile("slow.started", 10*time.Second)
	out, code := b.sv("status")
	if code == 0 || !strings.Contains(out, "booting") {
		t.Errorf("sv status during startup scripts: exit %d, %q; want an error saying svinit is booting", code, out)
	}
	if out, code := b.sv("reload"); code == 0 || !strings.Contains(out, "reload: services are not loaded yet") {
		t.Errorf("sv reload during startup scripts: exit %d, %q", code, out)
	}
	if out, code := b.sv("shutdown"); code != 0 {
		t.Fatalf("sv shutdown: exit %d: %s", code, out)
	}
	if got := b.wait(15 * time.Second); got != 0 {
		t.Errorf("exit %d, want 0", got)
	}
	if strings.Contains(b.out.String(), "MAIN") {
		t.Errorf("the main command started after the stop")
	}
}

// A stop while a service waits for a dependency that is never ready, and
// the main command waits for both, begins the shutdown at once.
func TestStopDuringDependencyWait(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{
		services: map[string]map[string]string{
			"stuck": neverReady["stuck"],
			"app":   {"manifest.yml": manifest(`command: [sh, -c, "echo APP; exec sleep 100"]`, "depends_on: [stuck]")},
		},
		env:  []string{"SVINIT_WAIT_READY_TIMEOUT=60s"},
		main: []string{"sh", "-c", "echo MAIN; exec sleep 100"},
	})
	b.waitStatus("stuck", `^starting: stuck: \(pid \d+\)`, 10*time.Second)
	b.signal(syscall.SIGTERM)
	if got := b.wait(15 * time.Second); got != 0 {
		t.Errorf("exit %d, want 0", got)
	}
	if out := b.out.String(); strings.Contains(out, "MAIN") || strings.Contains(out, "APP") {
		t.Errorf("a service or the main command started after the stop")
	}
}
