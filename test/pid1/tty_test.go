package pid1

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// underScript runs svinit as PID 1 with main command mainSh (a sh -c
// script) on a pty made by util-linux script(1), with stdin as typed
// input, and returns the terminal's output and script's exit code (the
// main command's, through svinit).
func underScript(t *testing.T, mainSh, stdin string) (string, int) {
	t.Helper()
	needPID1(t)
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("needs script (util-linux) for a pty")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	inner := `unshare --pid --fork --mount-proc sh -c "$ISOLATE" sh "$SVINIT" -- sh -c "$MAIN"`
	cmd := exec.CommandContext(ctx, "script", "-qec", inner, "/dev/null")
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "TERM=dumb",
		"ISOLATE=" + isolateProfile, "SVINIT=" + binary, "MAIN=" + mainSh, "T=" + dir,
		"SVINIT_SERVICES_DIR=" + filepath.Join(dir, "services"),
		"SVINIT_STARTUP_DIR=" + filepath.Join(dir, "startup.d"),
		"SVINIT_SHUTDOWN_DIR=" + filepath.Join(dir, "shutdown.d"),
		"SVINIT_CONTROL=" + filepath.Join(dir, "run", "control.sock"),
		"SVINIT_ENV_FILE=" + filepath.Join(dir, "environment"),
	}
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("svinit under script did not finish: %s", out)
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("script: %v", err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

func TestMainCommandKeepsTheTerminal(t *testing.T) {
	t.Parallel()
	// Fields 5 and 8 of /proc/PID/stat: process group and the terminal's
	// foreground group. The main command must own the terminal (job control, ^C).
	out, code := underScript(t, `test -t 0 && test -t 1 && echo TTY-OK
set -- $(cat /proc/$$/stat); test "$5" = "$8" && echo FOREGROUND-OK`, "")
	if code != 0 || !strings.Contains(out, "TTY-OK") || !strings.Contains(out, "FOREGROUND-OK") {
		t.Errorf("main command on a pty: exit %d, output:\n%s", code, out)
	}
}

func TestInteractiveShellAsMainCommand(t *testing.T) {
	t.Parallel()
	out, code := underScript(t, "exec sh -i", "echo INTERACTIVE-$((40+2))\nexit 7\n")
	if code != 7 || !strings.Contains(out, "INTERACTIVE-42") {
		t.Errorf("interactive sh under svinit: exit %d (want 7), output:\n%s", code, out)
	}
}
