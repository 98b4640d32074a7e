package pid1

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"alpine-server/internal/reaper"
)

// The final sweep must not trust a /proc that is not svinit's own
// (issue 8, case 7): it falls back to what svinit started, warns once, and
// still gets everything of its own to stop within the deadline.
func TestShutdownWithoutItsOwnProc(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		hostProc bool
		prelude  string
		warning  string
	}{
		{"no procfs", true, "mount -t tmpfs none /proc || exit 125", `warn: no procfs at /proc \(.*\): the final sweep signals only`},
		{"the parent's procfs", true, "", `warn: /proc is another pid namespace's \(/proc/self is \d+, svinit is pid 1\): the final sweep signals only`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// A process out here, below this test (so below the host's
			// init, as everything is): the box must never signal it.
			sentinel := filepath.Join(t.TempDir(), "signalled")
			host := exec.Command("sh", "-c", `trap 'touch "$0"; exit 0' TERM INT HUP; while :; do sleep 0.05; done`, sentinel)
			if err := host.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = host.Process.Kill(); _ = host.Wait() })
			b := boot(t, spec{
				hostProc: tt.hostProc, prelude: tt.prelude,
				env: []string{"SVINIT_SHUTDOWN_TIMEOUT=5s"},
				services: map[string]map[string]string{
					"svc":    {"manifest.yml": manifest(`command: [sleep, "100"]`)},
					"leaker": {"manifest.yml": manifest(), "run": escapee(`trap "touch \"$T/daemon-term\"; exit 0" TERM`)},
				},
			})
			b.waitFile("daemon.up", 10*time.Second)
			b.waitStatus("svc", `^run: svc: `, 10*time.Second)
			start := time.Now()
			b.signal(syscall.SIGTERM)
			if got := b.wait(20 * time.Second); got != 0 {
				t.Errorf("exit %d", got)
			}
			took := time.Since(start)
			t.Logf("shutdown with %s: %v", tt.name, took.Round(time.Millisecond))
			// The escaped daemon is in no group svinit started: only the
			// sweep's TERM reaches it.
			if _, err := os.Stat(filepath.Join(b.dir, "daemon-term")); err != nil {
				t.Errorf("the escaped daemon got no TERM from the final sweep")
			}
			// SVINIT_SHUTDOWN_TIMEOUT is 5s; svinit's own figure (see shutdownTook).
			if d := b.shutdownTook(); d > 4*time.Second {
				t.Errorf("shutdown took %v: the sweep waited for processes it should have stopped", d)
			}
			out := b.out.String()
			if n := len(b.out.all(tt.warning)); n != 1 {
				t.Errorf("%d warnings matching %s, want 1", n, tt.warning)
			}
			if strings.Contains(out, "sending SIGKILL to:") || strings.Contains(out, "remaining processes") {
				t.Errorf("the sweep listed processes from a /proc that is not its own")
			}
			if _, err := os.Stat(sentinel); err == nil {
				t.Errorf("a process outside the box was signalled")
			}
		})
	}
}

// The scan for a run's processes that left its group must not read a
// /proc that is not svinit's own: there, a process of the host that
// happens to carry the same mark is no process of svinit's.
func TestStraysAreNotSoughtInAForeignProc(t *testing.T) {
	t.Parallel()
	// Out here, marked as the box's first run will be.
	sentinel := filepath.Join(t.TempDir(), "signalled")
	host := exec.Command("prlimit", fmt.Sprintf("--locks=%d:", reaper.MarkBase+1), "sh", "-c",
		`trap 'touch "$0"; exit 0' TERM INT HUP; while :; do sleep 0.05; done`, sentinel)
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Process.Kill(); _ = host.Wait() })
	b := boot(t, spec{hostProc: true, services: map[string]map[string]string{
		"web": {"manifest.yml": manifest(`command: [sleep, "100"]`)},
	}})
	b.waitStatus("web", `^run: web: `, 10*time.Second)
	if out, code := b.sv("kill", "web"); code != 0 {
		t.Fatalf("sv kill web: %d %q", code, out)
	}
	b.waitLog(`service web killed by SIGKILL, restarting in 100ms`, 10*time.Second)
	if _, err := os.Stat(sentinel); err == nil {
		t.Errorf("a process outside the box was signalled")
	}
	if strings.Contains(b.out.String(), "left its process group") {
		t.Errorf("strays found in a /proc that is not svinit's:\n%s", b.out.String())
	}
}
