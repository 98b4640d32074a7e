package pid1

import (
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// svinitCmd runs the built svinit with args (not as PID 1) and returns
// stdout, stderr and the exit code.
func svinitCmd(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return runBinary(t, append([]string{"PATH=/usr/bin:/bin"}, env...), nil, args...)
}

func TestSvinitCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := []string{"SVINIT_STARTUP_DIR=" + filepath.Join(dir, "startup.d"), "SVINIT_SHUTDOWN_DIR=" + filepath.Join(dir, "shutdown.d")}
	good := filepath.Join(dir, "good")
	writeFile(t, filepath.Join(good, "db", "manifest.yml"), manifest(`command: [sleep, "100"]`), false)
	writeFile(t, filepath.Join(good, "web", "manifest.yml"), manifest(`command: [sleep, "100"]`, "depends_on: [db]"), false)
	out, errOut, code := svinitCmd(t, env, "check", "--services", good)
	if code != 0 || out != "ok: 2 services in "+good+"\n" {
		t.Errorf("svinit check on a good folder: exit %d, %q %q", code, out, errOut)
	}

	bad := filepath.Join(dir, "bad")
	writeFile(t, filepath.Join(bad, "a", "manifest.yml"), manifest("comand: [x]"), false)
	writeFile(t, filepath.Join(bad, "b", "manifest.yml"), manifest("command: [x]", "stop_timeout: soon"), false)
	writeFile(t, filepath.Join(dir, "crontabs", "root"), "* * * * * fine\n61 * * * * bad minute\n", false)
	writeFile(t, filepath.Join(bad, "cron", "manifest.yml"), manifest("command: [builtin, cron]", "environment:", "  CRONTABS_DIR: "+filepath.Join(dir, "crontabs")), false)
	out, errOut, code = svinitCmd(t, env, "check", "--services", bad)
	if code != 1 {
		t.Errorf("svinit check on a bad folder: exit %d, want 1", code)
	}
	for _, want := range []string{
		regexp.QuoteMeta(filepath.Join(bad, "a", "manifest.yml")) + `:3: .*comand`,
		regexp.QuoteMeta(filepath.Join(bad, "b", "manifest.yml")) + `:4: .*stop_timeout`,
	} {
		if !regexp.MustCompile(`(?m)^` + want).MatchString(errOut) {
			t.Errorf("svinit check output lacks a line matching %s:\n%s%s", want, out, errOut)
		}
	}
	// Crontabs are checked once the manifests are good.
	writeFile(t, filepath.Join(bad, "a", "manifest.yml"), manifest("command: [x]"), false)
	writeFile(t, filepath.Join(bad, "b", "manifest.yml"), manifest("command: [x]"), false)
	out, errOut, code = svinitCmd(t, env, "check", "--services", bad)
	want := regexp.QuoteMeta(filepath.Join(dir, "crontabs", "root")) + `:2: `
	if code != 1 || !regexp.MustCompile(`(?m)^`+want).MatchString(errOut) {
		t.Errorf("svinit check with a bad crontab: exit %d, want 1 and a line matching %s:\n%s%s", code, want, out, errOut)
	}
}

func TestSvinitCommandLine(t *testing.T) {
	t.Parallel()
	out, errOut, code := svinitCmd(t, nil, "version")
	if code != 0 || !strings.HasPrefix(out, "svinit ") || !strings.Contains(out, runtime.Version()) {
		t.Errorf("svinit version: exit %d, %q %q", code, out, errOut)
	}
	out, errOut, code = svinitCmd(t, nil, "foo", "bar")
	if code != 2 || !strings.Contains(errOut, "svinit -- foo bar") {
		t.Errorf("svinit foo bar: exit %d, %q %q; want 2 and the hint svinit -- foo bar", code, out, errOut)
	}
	for _, args := range [][]string{{"--bogus"}, {"-x", "--", "true"}, {"check", "--nope"}} {
		out, errOut, code = svinitCmd(t, nil, args...)
		if code != 2 || strings.Count(errOut, "\n") != 1 {
			t.Errorf("svinit %v: exit %d, %q %q; want 2 and a one-line error", args, code, out, errOut)
		}
	}
	for _, args := range [][]string{{"--help"}, {"help"}} {
		out, _, code = svinitCmd(t, nil, args...)
		if code != 0 || !strings.Contains(out, "svinit -- ") && !strings.Contains(out, "svinit [") {
			t.Errorf("svinit %v: exit %d, %q; want usage", args, code, out)
		}
	}
}
