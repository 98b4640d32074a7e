package pid1

import (
	"syscall"
	"testing"
	"time"
)

// twoReady are two services that are ready as soon as they run.
var twoReady = map[string]map[string]string{
	"web": {"manifest.yml": manifest(`command: [sh, -c, "touch $T/web.ready; exec sleep 100"]`,
		"ready:", "  file: ${T}/web.ready", "  interval: 20ms")},
	"db": {"manifest.yml": manifest(`command: [sleep, "100"]`)},
}

// ask makes one request to stop: a signal or an `sv shutdown`.
func (b *box) ask(how string) {
	b.t.Helper()
	switch how {
	case "TERM":
		b.signal(syscall.SIGTERM)
	case "INT":
		b.signal(syscall.SIGINT)
	case "sv shutdown":
		if out, code := b.sv("shutdown"); code != 0 {
			b.t.Fatalf("sv shutdown: exit %d: %s", code, out)
		}
	case "sv shutdown --now":
		if out, code := b.sv("shutdown", "--now"); code != 0 {
			b.t.Fatalf("sv shutdown --now: exit %d: %s", code, out)
		}
	default:
		b.t.Fatalf("unknown ask %q", how)
	}
}

// SVINIT_STOP_DELAY (issue 9, item 3): the first TERM marks every service
// not ready at once and keeps everything running; a second TERM, an INT or
// `sv shutdown --now` cuts the delay short.
func TestStopDelayDrainsThenASecondAskCutsItShort(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ first, second, cut string }{
		{"TERM", "TERM", `got SIGTERM; skipping the rest of SVINIT_STOP_DELAY`},
		{"TERM", "INT", `got SIGINT; skipping the rest of SVINIT_STOP_DELAY`},
		{"sv shutdown", "sv shutdown --now", `sv shutdown --now; skipping the rest of SVINIT_STOP_DELAY`},
	} {
		t.Run(tt.first+" then "+tt.second, func(t *testing.T) {
			t.Parallel()
			b := boot(t, spec{services: twoReady, env: []string{"SVINIT_STOP_DELAY=60s", "SVINIT_SHUTDOWN_TIMEOUT=5s"}})
			waitFor(t, 10*time.Second, "sv check to pass", func() bool { _, code := b.sv("check"); return code == 0 })
			web := pidIn(t, b.waitStatus("web", `^run: web: \(pid \d+\)`, time.Second))
			db := pidIn(t, b.waitStatus("db", `^run: db: \(pid \d+\)`, time.Second))
			b.ask(tt.first)
			b.waitLog(`services marked not ready, shutting down in 1m0s \(SVINIT_STOP_DELAY; then SVINIT_SHUTDOWN_TIMEOUT=5s\)`, 10*time.Second)
			if out, code := b.sv("check"); code == 0 {
				t.Errorf("sv check passed during the stop delay: %q", out)
			}
			// Everything still runs, the same processes.
			if got := pidIn(t, b.waitStatus("web", `^run: web: `, time.Second)); got != web {
				t.Errorf("web: pid %d → %d during the delay", web, got)
			}
			if got := pidIn(t, b.waitStatus("db", `^run: db: `, time.Second)); got != db {
				t.Errorf("db: pid %d → %d during the delay", db, got)
			}
			if tt.first == "sv shutdown" { // a plain second ask does not cut it short
				b.ask("sv shutdown")
				b.waitLog(`sv shutdown; already stopping`, 5*time.Second)
			}
			select {
			case <-b.done:
				t.Fatalf("svinit exited %d during the stop delay", b.code)
			default:
			}
			b.ask(tt.second)
			if got := b.wait(20 * time.Second); got != 0 {
				t.Errorf("exit %d", got)
			}
			cut, stopped := b.out.index(tt.cut), b.out.index(`service web stopped`)
			if cut < 0 || stopped < cut {
				t.Errorf("want %q, then the services stopped (lines %d, %d)", tt.cut, cut, stopped)
			}
		})
	}
}

// Without a second ask the shutdown begins when the delay is over, with its
// whole SVINIT_SHUTDOWN_TIMEOUT.
func TestStopDelayRunsOutThenTheOrderedShutdown(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: twoReady, env: []string{"SVINIT_STOP_DELAY=1500ms"}})
	waitFor(t, 10*time.Second, "sv check to pass", func() bool { _, code := b.sv("check"); return code == 0 })
	start := time.Now()
	b.signal(syscall.SIGTERM)
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("exit %d", got)
	}
	if took := time.Since(start); took < 1500*time.Millisecond {
		t.Errorf("svinit exited %v after TERM, before SVINIT_STOP_DELAY=1.5s", took)
	}
	over, stopped := b.out.index(`SVINIT_STOP_DELAY=1.5s over; shutting down`), b.out.index(`service web stopped`)
	if over < 0 || stopped < over {
		t.Errorf("want the delay's end, then the services stopped (lines %d, %d)", over, stopped)
	}
}

// A stop during the boot is never held for the delay (SPEC §3): the delay
// is for a container that is up.
func TestStopDelayDoesNotHoldABootingContainer(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{
		services: neverReady,
		env:      []string{"SVINIT_STOP_DELAY=60s", "SVINIT_WAIT_READY_TIMEOUT=60s"},
		main:     []string{"sh", "-c", "echo MAIN; exec sleep 100"},
	})
	b.waitStatus("stuck", `^starting: stuck: \(pid \d+\)`, 10*time.Second)
	b.signal(syscall.SIGTERM)
	if got := b.wait(15 * time.Second); got != 0 {
		t.Errorf("exit %d", got)
	}
	b.waitLog(`got SIGTERM while the main command waits for readiness; shutting down`, time.Second)
}
