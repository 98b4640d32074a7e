package pid1

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fifoServices makes a services folder whose web/manifest.yml is a FIFO:
// opening it for reading would wait for a writer forever.
func fifoServices(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "services")
	if err := os.MkdirAll(filepath.Join(dir, "web"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "web", "manifest.yml"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestBootWithAFIFOManifestExits2: nothing blocks on opening a file
// (issue 8, item 2): boot stops at once with exit 2 naming the FIFO.
func TestBootWithAFIFOManifestExits2(t *testing.T) {
	t.Parallel()
	dir := fifoServices(t)
	b := boot(t, spec{env: []string{"SVINIT_SERVICES_DIR=" + dir}})
	if code := b.wait(10 * time.Second); code != 2 {
		t.Errorf("exit %d, want 2", code)
	}
	want := regexp.QuoteMeta(filepath.Join(dir, "web", "manifest.yml")) + `: not a regular file \(a FIFO\)`
	b.waitLog(`error: .*`+want, time.Second)
}

// TestReloadWithAFIFOManifestKeepsTheOldSet: a reload that meets a FIFO
// answers at once with the error and keeps every service running.
func TestReloadWithAFIFOManifestKeepsTheOldSet(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"keep": {"manifest.yml": manifest(`command: [sleep, "100"]`)},
	}})
	pid := pidIn(t, b.waitStatus("keep", `^run: keep: \(pid \d+\)`, 10*time.Second))
	file := filepath.Join(b.dir, "services", "keep", "manifest.yml")
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(file, 0o644); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(b.dir, "services", "late", "manifest.yml"), manifest(`command: [sleep, "100"]`), false)
	start := time.Now()
	_, errOut, code := (svCall{}).run(t, b.ctl, "reload")
	if code != 1 || !strings.Contains(errOut, file+": not a regular file (a FIFO)") {
		t.Errorf("sv reload with a FIFO manifest: exit %d %q; want 1 naming %s", code, errOut, file)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("sv reload took %v", took)
	}
	if n := pidIn(t, b.waitStatus("keep", `^run: keep: `, 5*time.Second)); n != pid {
		t.Errorf("a failed reload restarted keep: pid %d → %d", pid, n)
	}
	if _, _, code := (svCall{}).run(t, b.ctl, "status", "late"); code != 1 {
		t.Errorf("a failed reload added a service anyway")
	}
	// PID 1 still answers signals: TERM ends it in order.
	b.signal(syscall.SIGTERM)
	if code := b.wait(15 * time.Second); code != 0 {
		t.Errorf("exit %d after TERM, want 0", code)
	}
}

// checkWithin runs `svinit check` with env and fails if it takes over 10 s.
func checkWithin(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"check"}, args...)...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, env...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("svinit check %v still running after 10s: %s", args, out)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return string(out), cmd.ProcessState.ExitCode()
}

func TestSvinitCheckOnAFIFOReturnsPromptly(t *testing.T) {
	t.Parallel()
	dir := fifoServices(t)
	scripts := t.TempDir()
	env := []string{"SVINIT_STARTUP_DIR=" + filepath.Join(scripts, "startup.d"), "SVINIT_SHUTDOWN_DIR=" + filepath.Join(scripts, "shutdown.d")}
	out, code := checkWithin(t, env, "--services", dir)
	if want := filepath.Join(dir, "web", "manifest.yml") + ": not a regular file (a FIFO)\n"; code != 1 || !strings.Contains(out, want) {
		t.Errorf("svinit check on a FIFO manifest: exit %d %q; want 1 and %q", code, out, want)
	}
}

// TestSvinitCheckReportsMissingPaths: a missing directory: and a missing
// absolute command are errors of `svinit check`, each naming the path.
func TestSvinitCheckReportsMissingPaths(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "services")
	file := filepath.Join(dir, "web", "manifest.yml")
	writeFile(t, file, manifest("directory: /nonexistent/www", "command: [/nonexistent/bin/web, -p, '80']"), false)
	scripts := t.TempDir()
	env := []string{"SVINIT_STARTUP_DIR=" + filepath.Join(scripts, "startup.d"), "SVINIT_SHUTDOWN_DIR=" + filepath.Join(scripts, "shutdown.d")}
	out, code := checkWithin(t, env, "--services", dir)
	for _, want := range []string{
		file + ":3: directory: /nonexistent/www: no such folder\n",
		file + ":4: command: /nonexistent/bin/web: no such file or directory\n",
	} {
		if code != 1 || !strings.Contains(out, want) {
			t.Errorf("svinit check: exit %d %q; want 1 and %q", code, out, want)
		}
	}
	if strings.Contains(out, "warning:") {
		t.Errorf("svinit check repeats its errors as warnings: %q", out)
	}
}

// TestBadDurationsAndModesExit2: out-of-range durations and a writable
// SVINIT_ENV_MODE stop the boot with exit 2 naming the variable.
func TestBadDurationsAndModesExit2(t *testing.T) {
	t.Parallel()
	for _, v := range []string{
		"SVINIT_SHUTDOWN_TIMEOUT=inf", "SVINIT_SHUTDOWN_TIMEOUT=1e300", "SVINIT_WAIT_READY_TIMEOUT=1e300s",
		"SVINIT_STARTUP_TIMEOUT=100000000h", "SVINIT_ENV_MODE=0777", "SVINIT_ENV_MODE=0420",
	} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			b := boot(t, spec{env: []string{v}})
			if code := b.wait(10 * time.Second); code != 2 {
				t.Errorf("%s: exit %d, want 2", v, code)
			}
			name, _, _ := strings.Cut(v, "=")
			b.waitLog(`^svinit: `+name+`=`, time.Second)
		})
	}
}

// TestSvCheckWithAThousandIdleConnections: idle clients do not starve the
// control socket (issue 8, item 8): with 1000 connections open that send
// nothing, `sv check` still answers at once.
func TestSvCheckWithAThousandIdleConnections(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"web": {"manifest.yml": manifest(`command: [sleep, "100"]`)},
	}})
	b.waitStatus("web", `^run: web: .*ready`, 10*time.Second)
	rssBefore := vmRSS(t, b.initPid())
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 1000 {
		c, err := net.Dial("unix", b.ctl)
		if err != nil {
			t.Fatalf("idle connection %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	start := time.Now()
	out, code := b.sv("check")
	took := time.Since(start)
	t.Logf("sv check answered in %v with 1000 idle connections just opened", took)
	if code != 0 || took > 2*time.Second {
		t.Errorf("sv check with 1000 idle connections: exit %d after %v: %q", code, took, out)
	}
	start = time.Now()
	out, code = b.sv("check")
	took = time.Since(start)
	t.Logf("sv check answered in %v with 1000 idle connections open a while", took)
	t.Logf("svinit VmRSS %d KiB before the idle connections, %d KiB with them", rssBefore, vmRSS(t, b.initPid()))
	if code != 0 || took > 2*time.Second {
		t.Errorf("second sv check: exit %d after %v: %q", code, took, out)
	}
}

// TestHalfClosedWaitGetsItsAnswer: `printf '{"verb":"wait",...}\n' | socat
// - UNIX-CONNECT:...` shuts its write side after the request and must
// still get the answer (issue 8, item 9), not "context canceled".
func TestHalfClosedWaitGetsItsAnswer(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"late": {"manifest.yml": manifest(`command: [sleep, "100"]`, "ready:", "  file: ${T}/late.ready", "  interval: 20ms")},
	}})
	b.waitStatus("late", `late: \(pid \d+\)`, 10*time.Second)
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: b.ctl, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(`{"verb":"wait","names":["late"],"wait":30}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if n, err := c.Read(make([]byte, 512)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("an answer (%d bytes, %v) before late was ready", n, err)
	}
	writeFile(t, filepath.Join(b.dir, "late.ready"), "", false)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var resp struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(c).Decode(&resp); err != nil || !resp.OK {
		t.Errorf("answer to a half-closed wait: %+v, %v; want ok", resp, err)
	}
}

// vmRSS is the resident set of a host pid, in KiB.
func vmRSS(t *testing.T, pid int) int {
	t.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

// TestSvinitCheckOnAnUnreadableServicesFolder: one line naming the folder
// and what to do (run as nobody: root reads any folder).
func TestSvinitCheckOnAnUnreadableServicesFolder(t *testing.T) {
	t.Parallel()
	needPID1(t) // root, to run check as another user
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} { // t.TempDir's are 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	services := filepath.Join(dir, "services")
	if err := os.Mkdir(services, 0o700); err != nil {
		t.Fatal(err)
	}
	env := []string{"PATH=/usr/bin:/bin", "SVINIT_STARTUP_DIR=" + filepath.Join(dir, "startup.d"), "SVINIT_SHUTDOWN_DIR=" + filepath.Join(dir, "shutdown.d")}
	_, errOut, code := runBinary(t, env, &syscall.Credential{Uid: 65534, Gid: 65534}, "check", "--services", services)
	want := "services folder " + services + ": cannot read it as uid 65534: permission denied; make it readable (chmod a+rx) or point SVINIT_SERVICES_DIR"
	if code != 1 || !strings.HasPrefix(errOut, want) || strings.Count(errOut, "\n") != 2 {
		t.Errorf("svinit check as nobody: exit %d %q; want 1 and one line starting %q", code, errOut, want)
	}
}
