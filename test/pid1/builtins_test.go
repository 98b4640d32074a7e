package pid1

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

func logger(t *testing.T, socket, msg string) {
	t.Helper()
	if out, err := exec.Command("logger", "-u", socket, msg).CombinedOutput(); err != nil {
		t.Fatalf("logger -u %s %s: %v: %s", socket, msg, err, out)
	}
}

func TestBuiltinSyslogAsPID1(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("logger"); err != nil {
		t.Skip("needs logger (util-linux)")
	}
	b, socket := syslogBox(t, nil)
	logger(t, socket, "hello")
	b.waitLog(`^syslog\s+\| user\.notice .*: hello$`, 5*time.Second)

	if out, errOut, code := (svCall{}).run(t, b.ctl, "stop", "syslog"); code != 0 {
		t.Fatalf("sv stop syslog: exit %d %q %q", code, out, errOut)
	}
	b.waitStatus("syslog", `^down: syslog: `, 5*time.Second)
	if out, errOut, code := (svCall{}).run(t, b.ctl, "start", "syslog"); code != 0 {
		t.Fatalf("sv start syslog: exit %d %q %q", code, out, errOut)
	}
	b.waitStatus("syslog", `^run: syslog: \(builtin\) `, 5*time.Second)
	logger(t, socket, "hello again")
	b.waitLog(`^syslog\s+\| user\.notice .*: hello again$`, 5*time.Second)
}

func TestBuiltinCronAsPID1(t *testing.T) {
	t.Parallel()
	crontabs := t.TempDir()
	writeFile(t, filepath.Join(crontabs, "nobody"), `* * * * * id; echo "E=$MY_VAR"`+"\n", false)
	writeFile(t, filepath.Join(crontabs, "root"), `* * * * * echo "R=$(id -u) $MY_VAR"`+"\n", false)
	b := boot(t, spec{
		env: []string{"MY_VAR=from svinit", "CRONTABS=" + crontabs},
		services: map[string]map[string]string{
			"cron": {"manifest.yml": manifest("command: [builtin, cron]", "environment:", "  CRONTABS_DIR: ${CRONTABS}")},
		},
	})
	b.waitStatus("cron", `^run: cron: \(builtin\) `, 10*time.Second)
	st := b.statusJSON("cron")
	var detail struct {
		Jobs []struct {
			User    string     `json:"user"`
			Command string     `json:"command"`
			NextRun *time.Time `json:"next_run"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(st.Detail, &detail); err != nil || len(detail.Jobs) != 2 {
		t.Fatalf("sv --json status cron: detail %s (%v); want two jobs", st.Detail, err)
	}
	for _, j := range detail.Jobs {
		if j.NextRun == nil || time.Until(*j.NextRun) > time.Minute {
			t.Errorf("cron job %+v: want next_run within a minute", j)
		}
	}
	// Jobs run on the minute: up to 60s from now.
	b.waitLog(`^cron/root\s+\| R=0 from svinit$`, 65*time.Second)
	// Debian's nobody has home /nonexistent: the job must still run (from /).
	b.waitLog(`^cron/nobody\s+\| uid=65534\(nobody\) `, 5*time.Second)
	b.waitLog(`^cron/nobody\s+\| E=from svinit$`, 5*time.Second)
}

func TestPanickingBuiltinIsRestartedAndPID1Survives(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("logger"); err != nil {
		t.Skip("needs logger (util-linux)")
	}
	b, socket := syslogBox(t, nil)
	logger(t, socket, "svinit-test-panic") // the test build's hook panics on it
	b.waitLog(`error: service syslog panicked: test hook: svinit-test-panic`, 10*time.Second)
	b.waitLog(`^svinit\s+\| alpine-server/internal/syslogd\.\(\*Server\)\.handle`, 5*time.Second) // its stack
	b.waitLog(`warn: service syslog exited 2, restarting in 100ms`, 5*time.Second)
	b.waitStatus("syslog", `^run: syslog: \(builtin\) \d+s, .*ready`, 10*time.Second)
	if st := b.statusJSON("syslog"); st.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", st.Restarts)
	}
	logger(t, socket, "after the panic")
	b.waitLog(`^syslog\s+\| user\.notice .*: after the panic$`, 5*time.Second)
}
