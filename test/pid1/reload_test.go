package pid1

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func versionService(v string) string {
	return manifest(`command: [sh, -c, "echo version ` + v + `; exec sleep 100"]`)
}

func TestReloadAddsRemovesAndRestartsChangedServices(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"keep":    {"manifest.yml": manifest(`command: [sleep, "100"]`)},
		"gone":    {"manifest.yml": manifest(`command: [sleep, "100"]`)},
		"changed": {"manifest.yml": versionService("1")},
	}})
	svc := filepath.Join(b.dir, "services")
	keep := pidIn(t, b.waitStatus("keep", `^run: keep: \(pid \d+\)`, 10*time.Second))
	gone := b.hostPid(pidIn(t, b.waitStatus("gone", `^run: gone: \(pid \d+\)`, 10*time.Second)))
	changed := pidIn(t, b.waitStatus("changed", `^run: changed: \(pid \d+\)`, 10*time.Second))
	b.waitLog(`changed\s+\| version 1`, 5*time.Second)

	writeFile(t, filepath.Join(svc, "added", "manifest.yml"), manifest(`command: [sh, -c, "echo added here; exec sleep 100"]`), false)
	if err := os.RemoveAll(filepath.Join(svc, "gone")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(svc, "changed", "manifest.yml"), versionService("2"), false)
	b.signal(syscall.SIGHUP)

	b.waitStatus("added", `^run: added: \(pid \d+\)`, 10*time.Second)
	b.waitLog(`added\s+\| added here`, 5*time.Second)
	b.waitLog(`changed\s+\| version 2`, 10*time.Second)
	if n := pidIn(t, b.waitStatus("changed", `^run: changed: \(pid \d+\)`, 5*time.Second)); n == changed {
		t.Errorf("changed service kept pid %d", n)
	}
	waitFor(t, 10*time.Second, "the removed service's process to end", func() bool {
		_, err := os.Stat("/proc/" + strconv.Itoa(gone))
		return err != nil
	})
	if _, errOut, code := (svCall{}).run(t, b.ctl, "status", "gone"); code != 1 || !strings.Contains(errOut, "unknown service") {
		t.Errorf("sv status gone after reload: exit %d %q; want unknown service", code, errOut)
	}
	if n := pidIn(t, b.waitStatus("keep", `^run: keep: `, time.Second)); n != keep {
		t.Errorf("unchanged service was restarted: pid %d → %d", keep, n)
	}

	// An invalid manifest: nothing changes, and the error names the file.
	writeFile(t, filepath.Join(svc, "keep", "manifest.yml"), manifest("comand: [sleep, 100]"), false)
	writeFile(t, filepath.Join(svc, "late", "manifest.yml"), manifest(`command: [sleep, "100"]`), false)
	_, errOut, code := (svCall{}).run(t, b.ctl, "reload")
	if code != 1 || !strings.Contains(errOut, "keep/manifest.yml:3") {
		t.Errorf("sv reload with a bad manifest: exit %d %q; want 1 naming keep/manifest.yml:3", code, errOut)
	}
	b.signal(syscall.SIGHUP)
	b.waitLog(`error: reload: .*keep/manifest.yml:3: unknown key "comand"`, 5*time.Second)
	b.waitLog(`keeping the running services`, 5*time.Second)
	if n := pidIn(t, b.waitStatus("keep", `^run: keep: `, time.Second)); n != keep {
		t.Errorf("a failed reload restarted keep: pid %d → %d", keep, n)
	}
	if _, _, code := (svCall{}).run(t, b.ctl, "status", "late"); code != 1 {
		t.Errorf("a failed reload added a service anyway")
	}
	b.waitStatus("added", `^run: added: `, time.Second)
}

func TestReloadRetriesAFatalService(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"flaky": {"manifest.yml": manifest(`command: [sh, -c, "test -e $T/fixed || exit 7; exec sleep 100"]`)},
	}})
	// Ten failures with backoff from 100ms: about 51s.
	b.waitStatus("flaky", `^fatal: flaky: `, 90*time.Second)
	writeFile(t, filepath.Join(b.dir, "fixed"), "", false)
	b.signal(syscall.SIGHUP)
	b.waitStatus("flaky", `^run: flaky: \(pid \d+\)`, 10*time.Second)
}
