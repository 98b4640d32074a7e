package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// derive builds a throwaway image FROM the image under test with the
// given Dockerfile lines (files: extra build-context files).
func derive(t *testing.T, s settings, lines string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	df := "ARG BASE\nFROM ${BASE}\n" + lines + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	tag := "alpine-server-e2e-derived:" + token()
	build := exec.Command("docker", "build", "-q", "--build-arg", "BASE="+s.image, "-t", tag, dir)
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("docker build:\n%s\n%v\n%s", df, err, out)
	}
	t.Cleanup(func() { _, _ = docker(context.Background(), "rmi", "-f", tag) })
	return tag
}

// TestReadOnlyRootOneTmpfs (issue 11, item 6): `docker run --read-only
// --tmpfs /run` alone gives root SSH logins from /boot/ssh keys, a login
// shell that sees the container environment, and startup scripts that can
// export variables: everything boot writes goes under /run.
func TestReadOnlyRootOneTmpfs(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	tag := derive(t, s, "COPY 50-export /etc/startup.d/50-export", map[string]string{
		"50-export": "#!/bin/sh\necho 'E2E_EXPORTED=\"from a startup script\"' >>\"${SVINIT_ENV_FILE:-/etc/environment}\"\n",
	})
	cl := newClient(t)
	dir := bootDir(t, cl, "root")
	c := runContainer(t, tag, "--read-only", "--tmpfs", "/run", "-e", "E2E_RO=read only",
		"-v", dir+":/boot/ssh", "-p", "127.0.0.1::22")
	root, _, took := cl.waitLogin(t, c.publishedPort("22"), "root")
	out := loginShell(t, root, `printf 'ro=[%s] exported=[%s]\n' "$E2E_RO" "$E2E_EXPORTED"; if touch /etc/x 2>/dev/null; then echo root-is-writable; fi`)
	if !strings.Contains(out, "ro=[read only] exported=[from a startup script]") || strings.Contains(out, "root-is-writable") {
		t.Errorf("login shell on a read-only root: want the container environment and the exported variable; got:\n%s", out)
	}
	// The login may come before the readiness probe's first try.
	c.waitRunning(10*time.Second, "ssh", "syslog", "cron")
	if m := regexp.MustCompile(`(?m)^.*(warning|error|kept in memory).*$`).FindAllString(c.logs(), -1); len(m) > 0 {
		t.Logf("log lines about writing (host keys last one boot, by design):\n%s", strings.Join(m, "\n"))
		for _, line := range m {
			if !strings.Contains(line, "host key kept in /run/dropbear") {
				t.Errorf("unexpected line on a read-only root with a /run tmpfs: %q", line)
			}
		}
	}
	files := mustRun(t, root, "ls -l /run/etc /run/etc/profile.d /run/root/.ssh /run/dropbear")
	t.Logf("read-only root, one tmpfs on /run: root logged in %s after the container started; memory %s; /run holds:\n%s",
		took.Round(time.Millisecond), c.memory(), files)
}

// TestSSHDisabledDoesNoSSHWork (issue 11, item 9): with SSH_ENABLED=false
// 10-ssh does nothing at all, even on an image without dropbear.
func TestSSHDisabledDoesNoSSHWork(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	tag := derive(t, s, "RUN rm -f /usr/sbin/dropbear /usr/bin/dropbearkey /usr/bin/dropbearconvert /usr/lib/dropbear/dropbearconvert", nil)
	c := runContainer(t, tag, "-e", "SSH_ENABLED=false")
	c.waitRunning(30*time.Second, "syslog", "cron")
	c.waitLog(regexp.MustCompile(`startup/10-ssh done`), 10*time.Second)
	logs := c.logs()
	for _, bad := range []string{"dropbear", "host key", "not found", "warning", "authorized_keys"} {
		if strings.Contains(logs, bad) {
			t.Errorf("SSH_ENABLED=false: the log mentions %q:\n%s", bad, logs)
		}
	}
	if status := c.mustExec("sv", "status"); strings.Contains(status, "ssh") {
		t.Errorf("sv status lists ssh with SSH_ENABLED=false:\n%s", status)
	}
	t.Logf("SSH_ENABLED=false on an image without dropbear: %s", strings.TrimSpace(regexp.MustCompile(`(?m)^startup/10-ssh.*$`).FindString(logs)))
}

// TestServicesBesidePortList (issue 11, item 1): on a base whose
// /etc/services is the port list, the services live in
// /etc/svinit/services, svinit check says so, and the port list stays.
// The image as shipped keeps the seed's /etc/services folder.
func TestServicesBesidePortList(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	plain := strings.TrimSpace(mustDocker(t, "run", "--rm", "--entrypoint", "/sbin/svinit", s.image, "check"))
	if plain != "ok: 3 services in /etc/services" {
		t.Errorf("svinit check on the image: %q, want the seed's folder", plain)
	}
	tag := derive(t, s, `RUN mkdir -p /etc/svinit && mv /etc/services /etc/svinit/services && printf 'ssh\t\t22/tcp\n' >/etc/services`, nil)
	check := strings.TrimSpace(mustDocker(t, "run", "--rm", "--entrypoint", "/sbin/svinit", tag, "check"))
	want := "ok: 3 services in /etc/svinit/services (/etc/services is the system's port list, a file: service folders go in /etc/svinit/services)"
	if check != want {
		t.Errorf("svinit check beside a port list:\n got %q\nwant %q", check, want)
	}
	cl := newClient(t)
	dir := bootDir(t, cl, "root")
	c := runContainer(t, tag, "-v", dir+":/boot/ssh", "-p", "127.0.0.1::22")
	root, _, _ := cl.waitLogin(t, c.publishedPort("22"), "root")
	if got := mustRun(t, root, "cat /etc/services"); got != "ssh\t\t22/tcp\n" {
		t.Errorf("/etc/services changed: %q", got)
	}
	c.waitRunning(10*time.Second, "ssh", "syslog", "cron")
	t.Logf("beside a port list: %s; root logged in", check)
}
