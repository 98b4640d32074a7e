package e2e

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// TestServicesRun: the three default services are up and ready.
func TestServicesRun(t *testing.T) {
	t.Parallel()
	srv := boot(t, loadSettings(t), "--health-interval=1s")
	took := srv.waitRunning(30*time.Second, "ssh", "syslog", "cron")
	out := mustRun(t, srv.root, "sv status")
	for _, name := range []string{"ssh", "syslog", "cron"} {
		if !regexp.MustCompile(`(?m)^run: ` + name + `: `).MatchString(out) {
			t.Errorf("sv status over SSH: no run: line for %s in\n%s", name, out)
		}
	}
	mustRun(t, srv.root, "sv check")
	health := waitFor(t, "docker health to be healthy", 30*time.Second, func() bool {
		return srv.inspect("{{.State.Health.Status}}") == "healthy"
	})
	t.Logf("sv status (all ready %s after login, healthy after %s more):\n%s", took, health, out)
	t.Logf("memory with ssh, syslog, cron running: %s", srv.memory())
}

// TestLoggerReachesDockerLogs: logger → /dev/log → svinit's syslog →
// docker logs, prefixed with the service name.
func TestLoggerReachesDockerLogs(t *testing.T) {
	t.Parallel()
	srv := boot(t, loadSettings(t))
	msg := "e2e-logger-" + token()
	mustRun(t, srv.root, "logger -t e2etag "+msg)
	line := srv.waitLog(regexp.MustCompile(`(?m)^syslog *\| .*`+msg+`.*$`), 10*time.Second)
	t.Logf("docker logs: %q", line)
}

// TestCronJobRuns: a crontab installed over SSH runs and its output
// reaches docker logs as cron/root.
func TestCronJobRuns(t *testing.T) {
	t.Parallel()
	srv := boot(t, loadSettings(t))
	msg := "e2e-cron-" + token()
	mustRun(t, srv.root, "echo '* * * * * echo "+msg+"' > /etc/crontabs/root && sv hup cron")
	start := time.Now()
	line := srv.waitLog(regexp.MustCompile(`(?m)^cron/root *\| `+msg+`$`), 75*time.Second)
	t.Logf("cron job output after %s: %q", time.Since(start).Round(time.Second), line)
}

// TestEnvironment: docker run -e reaches an SSH login shell; the env files
// are 0400 root.
func TestEnvironment(t *testing.T) {
	t.Parallel()
	srv := boot(t, loadSettings(t), "-e", "E2E_GREETING=hello world $HOME 'quoted'")
	out := loginShell(t, srv.root, `printf 'got=[%s]\n' "$E2E_GREETING"`)
	if !strings.Contains(out, "got=[hello world $HOME 'quoted']") {
		t.Errorf("login shell did not see E2E_GREETING exactly; output:\n%s", out)
	}
	modes := mustRun(t, srv.root, "stat -c '%n %a %U' /etc/environment /etc/profile.d/container_environment.sh")
	for _, f := range []string{"/etc/environment", "/etc/profile.d/container_environment.sh"} {
		if !strings.Contains(modes, f+" 400 root") {
			t.Errorf("%s: want mode 400 owned by root; stat says:\n%s", f, modes)
		}
	}
	t.Logf("login shell: %s; modes:\n%s", strings.TrimSpace(out), modes)
}

// TestSuExec: su-exec drops to nobody.
func TestSuExec(t *testing.T) {
	t.Parallel()
	srv := boot(t, loadSettings(t))
	out := strings.TrimSpace(mustRun(t, srv.root, "su-exec nobody id"))
	if !strings.HasPrefix(out, "uid=65534(nobody) gid=65534(nogroup)") {
		t.Errorf("su-exec nobody id = %q, want uid=65534(nobody) gid=65534(nogroup)", out)
	}
	t.Logf("su-exec nobody id: %s", out)
}

// TestKeyModes: authorized_keys and the host key have the seed's modes and
// owners; a second user logs in with their own key.
func TestKeyModes(t *testing.T) {
	t.Parallel()
	srv := boot(t, loadSettings(t))
	want := map[string]string{
		"/root/.ssh":                              "700 root root",
		"/root/.ssh/authorized_keys":              "400 root root",
		"/home/user/.ssh":                         "700 user user",
		"/home/user/.ssh/authorized_keys":         "400 user user",
		"/etc/dropbear/dropbear_ed25519_host_key": "600 root root",
	}
	for p, w := range want {
		got := strings.TrimSpace(mustRun(t, srv.root, "stat -c '%a %U %G' "+p))
		if got != w {
			t.Errorf("%s: got %q, want %q", p, got, w)
		}
	}
	if _, _, err := srv.client.dial(srv.addr, "user"); err != nil {
		t.Errorf("ssh as user: %v", err)
	}
	// Clients that prefer RSA (Go's default order) and those that prefer
	// ed25519 (OpenSSH's) both get a host key.
	for _, algo := range []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA} {
		if _, key, err := srv.client.dial(srv.addr, "root", algo); err != nil {
			t.Errorf("ssh with host key algorithm %s: %v", algo, err)
		} else {
			t.Logf("host key algorithm %s: %s", algo, ssh.FingerprintSHA256(key))
		}
	}
	t.Logf("modes as wanted: %v", want)
}

// TestNoHostKeyInImage: no layer of the image holds an SSH host key.
func TestNoHostKeyInImage(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	cmd := exec.Command("docker", "save", s.image)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	layers, files, found := scanSave(t, out)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("docker save %s: %v", s.image, err)
	}
	if len(found) > 0 {
		t.Errorf("host keys in image layers: %v", found)
	}
	if files == 0 {
		t.Fatal("docker save: no files found in any layer")
	}
	t.Logf("%d layers, %d files scanned: no host key", layers, files)
}

var hostKeyName = regexp.MustCompile(`(^|/)(dropbear_.*host_key|ssh_host_.*key|boot_host_key)$`)

// scanSave reads a docker save archive and every layer tar inside it.
func scanSave(t *testing.T, r io.Reader) (layers, files int, found []string) {
	t.Helper()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return layers, files, found
		}
		if err != nil {
			t.Fatalf("read docker save archive: %v", err)
		}
		if !strings.HasSuffix(h.Name, ".tar") && !strings.HasPrefix(h.Name, "blobs/") {
			continue
		}
		inner := tar.NewReader(tr)
		n := 0
		for {
			ih, err := inner.Next()
			if err != nil {
				break // not a tar (config blob) or end of the layer
			}
			n++
			if hostKeyName.MatchString(ih.Name) {
				found = append(found, h.Name+":"+ih.Name)
			}
		}
		if n > 0 {
			layers++
			files += n
		}
	}
}

// TestStop: docker stop exits 0 well under Docker's 10s, services stopped
// in reverse dependency order (ssh depends on syslog) — idle, and with an
// SSH connection open, as the seed's users stopped it.
func TestStop(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	for _, tc := range []struct {
		name    string
		withSSH bool
	}{{"idle", false}, {"ssh connection open", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var c *container
			if tc.withSSH {
				c = boot(t, s).container // boot keeps its root login open
			} else {
				c = runContainer(t, s.image)
			}
			c.waitRunning(30*time.Second, "ssh", "syslog", "cron")
			mem := c.memory()
			start := time.Now()
			mustDocker(t, "stop", c.name)
			took := time.Since(start)
			code := c.inspect("{{.State.ExitCode}}")
			logs := c.logs()
			if code != "0" {
				t.Errorf("exit code after docker stop = %s, want 0", code)
			}
			if took > 5*time.Second {
				t.Errorf("docker stop took %s, want well under Docker's 10s", took.Round(time.Millisecond))
			}
			sshAt, syslogAt := stopIndex(logs, "ssh"), stopIndex(logs, "syslog")
			if sshAt < 0 || syslogAt < 0 || sshAt > syslogAt {
				t.Errorf("want ssh stopped before syslog; log positions ssh=%d syslog=%d", sshAt, syslogAt)
			}
			t.Logf("memory before stop %s; docker stop: %s, exit code %s", mem, took.Round(time.Millisecond), code)
		})
	}
}

func stopIndex(logs, name string) int {
	loc := regexp.MustCompile(`service ` + name + ` (stopped|done)`).FindStringIndex(logs)
	if loc == nil {
		return -1
	}
	return loc[0]
}

// TestMainCommandExitCode: the main command's exit code is the container's.
func TestMainCommandExitCode(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	start := time.Now()
	out, err := docker(context.Background(), "run", "--rm", s.image, "sh", "-c", "exit 3")
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("docker run %s sh -c 'exit 3': want exit 3, got %v\n%s", s.image, err, out)
	}
	t.Logf("exit 3 after %s (boot, wait ready, run, shut down)", time.Since(start).Round(time.Millisecond))
}

// TestTTY: docker run -it gives the main command a working terminal.
func TestTTY(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	if _, err := exec.LookPath("script"); err != nil {
		t.Skip("no script(1) to provide a pty")
	}
	inner := "docker run --rm -it " + s.image + " sh -c 'tty; test -t 0 && test -t 1 && echo TTY-OK; stty size'"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "script", "-qec", inner, "/dev/null").CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", inner, err, out)
	}
	if !strings.Contains(string(out), "/dev/pts/") || !strings.Contains(string(out), "TTY-OK") {
		t.Errorf("want a pts and TTY-OK; got:\n%s", out)
	}
	t.Logf("docker run -it: %q", strings.TrimSpace(string(out)))
}

// TestZombiesReaped: orphans re-parented to svinit are reaped.
func TestZombiesReaped(t *testing.T) {
	t.Parallel()
	srv := boot(t, loadSettings(t))
	// Each (sleep 1 &) leaves an orphan that exits a second later as a
	// child of PID 1: a zombie until svinit reaps it.
	mustRun(t, srv.root, "for i in $(seq 50); do (sleep 1 &); done")
	zombies := func() string {
		out, _ := srv.exec("sh", "-c", `for f in /proc/[0-9]*/stat; do read -r l < "$f" 2>/dev/null && echo "$l"; done | awk '$3 == "Z"'`)
		return strings.TrimSpace(out)
	}
	waitFor(t, "50 orphaned sleeps to exit", 10*time.Second, func() bool {
		out, _ := srv.exec("sh", "-c", "pidof sleep || true")
		return strings.TrimSpace(out) == ""
	})
	took := waitFor(t, "no zombies left", 5*time.Second, func() bool { return zombies() == "" })
	t.Logf("50 orphans exited; no zombie left %s later", took)
}

// TestKilledServiceComesBack: kill -9 of dropbear, and ssh is back.
func TestKilledServiceComesBack(t *testing.T) {
	t.Parallel()
	srv := boot(t, loadSettings(t))
	srv.waitRunning(30*time.Second, "ssh")
	pid := svPid(t, srv, "ssh")
	mustRun(t, srv.root, "kill -9 "+pid)
	took := waitFor(t, "ssh to run again with a new pid", 15*time.Second, func() bool {
		p := svPid(t, srv, "ssh")
		return p != "" && p != pid && strings.Contains(srv.mustExec("sv", "status", "ssh"), "ready")
	})
	if _, _, err := srv.client.dial(srv.addr, "root"); err != nil {
		t.Errorf("ssh after restart: %v", err)
	}
	t.Logf("dropbear pid %s killed with SIGKILL; ssh ready again as pid %s after %s", pid, svPid(t, srv, "ssh"), took)
}

func svPid(t *testing.T, srv *server, name string) string {
	t.Helper()
	out, _ := srv.exec("sv", "status", name)
	m := regexp.MustCompile(`^run: ` + name + `: \(pid (\d+)\)`).FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return m[1]
}

// TestDerivedImage: examples/web (FROM this image, a web service with a tcp
// readiness probe) serves a page through a published port.
func TestDerivedImage(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	tag := "alpine-server-e2e-web:" + token()
	build := exec.Command("docker", "build", "-q", "--build-arg", "BASE="+s.image, "-t", tag, path.Join(s.repo, "examples/web"))
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build examples/web: %v\n%s", err, out)
	}
	t.Cleanup(func() { _, _ = docker(context.Background(), "rmi", "-f", tag) })
	c := runContainer(t, tag, "-p", "127.0.0.1::8080")
	url := "http://" + c.publishedPort("8080") + "/"
	var body string
	took := waitFor(t, "GET "+url, 30*time.Second, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == 200
	})
	if !strings.Contains(body, "alpine-server") {
		t.Errorf("GET %s: unexpected page %q", url, body)
	}
	c.waitRunning(10*time.Second, "web", "ssh")
	t.Logf("derived image served %q after %s; memory %s", strings.TrimSpace(body), took, c.memory())
}

// TestReadOnlyRoot: --read-only --tmpfs /run --tmpfs /tmp boots and serves
// SSH (host key kept in /run); with a 0700 tmpfs on /root, root logs in.
func TestReadOnlyRoot(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	cl := newClient(t)
	dir := bootDir(t, cl, "root")
	c := runContainer(t, s.image, "--read-only", "--tmpfs", "/run", "--tmpfs", "/tmp",
		"-v", dir+":/boot/ssh", "-p", "127.0.0.1::22")
	c.waitRunning(30*time.Second, "ssh", "syslog", "cron")
	addr := c.publishedPort("22")
	_, key, err := cl.dial(addr, "root")
	if key == nil {
		t.Fatalf("read-only: no SSH handshake with %s: %v", addr, err)
	}
	c.waitLog(regexp.MustCompile(`host key kept in /run/dropbear`), 5*time.Second)
	t.Logf("read-only root: SSH served host key %s (login without a writable /root: %v); memory %s",
		ssh.FingerprintSHA256(key), err, c.memory())

	c2 := runContainer(t, s.image, "--read-only", "--tmpfs", "/run", "--tmpfs", "/tmp", "--tmpfs", "/root:mode=0700",
		"-v", dir+":/boot/ssh", "-p", "127.0.0.1::22")
	root, _, _ := cl.waitLogin(t, c2.publishedPort("22"), "root")
	out := mustRun(t, root, "sv status")
	t.Logf("read-only root + tmpfs /root: logged in; sv status:\n%s", out)
}

// TestNonRootUser: --user 1000:1000 boots with what it can run and says
// what it skipped. As uid 1000 nothing may bind /dev/log or log other
// users in, so syslog and ssh cannot run; cron (user 1000's crontab) can.
func TestNonRootUser(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	c := runContainer(t, s.image, "--user", "1000:1000")
	skipped := c.waitLog(regexp.MustCompile(`(?m)^.*not running as root \(uid 1000\).*$`), 30*time.Second)
	ready := c.waitLog(regexp.MustCompile(`(?m)^.*service cron ready.*$`), 30*time.Second)
	waitFor(t, "the container to stay up 5s", 15*time.Second, func() bool {
		return c.inspect("{{.State.Running}}") == "true" && time.Since(parseTime(t, c.inspect("{{.State.StartedAt}}"))) > 5*time.Second
	})
	if c.inspect("{{.State.Running}}") != "true" {
		t.Fatalf("container stopped: %s", c.inspect("{{.State.Status}} {{.State.ExitCode}}"))
	}
	status, err := c.exec("sv", "status")
	t.Logf("--user 1000:1000: %q; %q; memory %s; sv status (err %v):\n%s", skipped, ready, c.memory(), err, status)
	for _, name := range []string{"syslog", "ssh"} {
		if !regexp.MustCompile(`(?m)^.*` + name + `.*(skip|not start|cannot run|disabled).*$`).MatchString(c.logs()) {
			t.Errorf("no clear line saying %s was skipped as uid 1000", name)
		}
	}
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return ts
}

// TestVersion: svinit version and the OCI label carry VERSION.
func TestVersion(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	label := strings.TrimSpace(mustDocker(t, "image", "inspect", "-f", `{{ index .Config.Labels "org.opencontainers.image.version" }}`, s.image))
	out := mustDocker(t, "run", "--rm", "--entrypoint", "/sbin/svinit", s.image, "version")
	if label != s.version || !strings.Contains(out, s.version) {
		t.Errorf("VERSION %q: label %q, svinit version %q", s.version, label, out)
	}
	size := strings.TrimSpace(mustDocker(t, "image", "inspect", "-f", "{{.Size}}", s.image))
	t.Logf("label %s; svinit version: %s; image size %s", label, strings.TrimSpace(out), mib(size))
}

// TestDockerfilesShareFinalStage: the Alpine flavor, which cannot be built
// here, ends with the same text as the offline one, which the tests prove.
func TestDockerfilesShareFinalStage(t *testing.T) {
	tail := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		_, after, ok := strings.Cut(string(b), "# ---- shared final stage")
		if !ok {
			t.Fatalf("%s: no shared final stage marker", p)
		}
		_, rest, _ := strings.Cut(after, "\n")
		return rest
	}
	a, o := tail("../../image/Dockerfile"), tail("../../image/offline/Dockerfile")
	if a != o {
		t.Errorf("image/Dockerfile and image/offline/Dockerfile differ after the shared marker:\n--- alpine\n%s\n--- offline\n%s", a, o)
	}
}
