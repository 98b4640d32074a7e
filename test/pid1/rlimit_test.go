package pid1

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nofile is the soft and hard RLIMIT_NOFILE of a host pid, from its limits.
func nofile(t *testing.T, pid int) (soft, hard string) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^Max open files\s+(\S+)\s+(\S+)`).FindStringSubmatch(string(data))
	if m == nil {
		t.Fatalf("no open files limit in /proc/%d/limits", pid)
	}
	return m[1], m[2]
}

// PID 1 raises its own soft RLIMIT_NOFILE to the hard limit, and every
// child gets the soft limit svinit was started with (issue 8, case 10).
// Go's runtime does both since Go 1.19 (syscall raises it at start and
// restores it in each child it forks): this proves it holds for svinit, whose
// children are forked by the reaper, not by os/exec.
func TestNofileRaisedForSvinitNotForItsChildren(t *testing.T) {
	t.Parallel()
	var hard syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &hard); err != nil {
		t.Fatal(err)
	}
	if hard.Max < 256 {
		t.Skipf("hard RLIMIT_NOFILE here is %d: too low to tell a raised soft limit from an inherited one", hard.Max)
	}
	record := `ulimit -Sn > "$T/$0.nofile"; exec sleep 100`
	b := boot(t, spec{
		prelude:  "ulimit -Sn 64 || exit 125",
		services: map[string]map[string]string{"svc": {"manifest.yml": manifest(`command: [sh, -c, '` + record + `', svc]`)}},
		startup:  map[string]string{"10-record": "#!/bin/sh\nulimit -Sn > \"$T/startup.nofile\"\n"},
		main:     []string{"sh", "-c", record, "main"},
	})
	for _, who := range []string{"startup", "svc", "main"} {
		f := filepath.Join(b.dir, who+".nofile")
		var got string
		waitFor(t, 10*time.Second, f, func() bool {
			data, err := os.ReadFile(f)
			got = strings.TrimSpace(string(data))
			return err == nil && got != ""
		})
		if got != "64" {
			t.Errorf("%s got soft RLIMIT_NOFILE %s, want the 64 svinit was started with", who, got)
		}
	}
	// Go sets the soft limit to hard-1, not hard, so that it can tell
	// when someone else changed it with prlimit (syscall/rlimit.go).
	soft, max := nofile(t, b.initPid())
	raised := []string{strconv.FormatUint(hard.Max, 10), strconv.FormatUint(hard.Max-1, 10)}
	if max != raised[0] || (soft != raised[0] && soft != raised[1]) {
		t.Errorf("svinit's own RLIMIT_NOFILE is %s/%s, want its hard limit %s (or one less) as the soft one", soft, max, raised[0])
	}
	b.signal(syscall.SIGTERM)
	b.wait(20 * time.Second)
}

// Under `ulimit -n 64` (soft = hard: nothing to raise) a dozen services
// boot: svinit holds few fds per service (issue 8, case 10, where the 11th
// service stopped the boot with exit 2).
func TestADozenServicesBootUnderUlimit64(t *testing.T) {
	t.Parallel()
	svcs := map[string]map[string]string{}
	for i := range 12 {
		svcs[fmt.Sprintf("s%02d", i)] = map[string]string{"manifest.yml": manifest(`command: [sleep, "100"]`)}
	}
	b := boot(t, spec{prelude: "ulimit -n 64 || exit 125", services: svcs})
	for name := range svcs {
		b.waitStatus(name, `^run: `+name+`: `, 10*time.Second)
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", b.initPid())); err == nil {
		t.Logf("svinit holds %d fds with 12 services", len(ents))
	}
	b.signal(syscall.SIGTERM)
	if got := b.wait(20 * time.Second); got != 0 {
		t.Errorf("exit %d", got)
	}
}
