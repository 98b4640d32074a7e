package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCompose runs examples/compose.yaml as written, with Debian's
// docker-compose (1.29): up -d builds the derived web image and becomes
// healthy through `sv check`; logs carry svinit's service prefixes; stop
// is clean inside the 10s grace period; down leaves nothing behind.
func TestCompose(t *testing.T) {
	t.Parallel()
	s := loadSettings(t)
	compose := needTool(t, "docker-compose", "docker-compose")
	project := "e2e-compose-" + token()[:6]
	image := "alpine-server-e2e-compose:" + token()[:6]
	cl := newClient(t)
	env := []string{"BASE=" + s.image, "WEB_IMAGE=" + image, "WEB_HOST_PORT=", "SSH_HOST_PORT=",
		"SSH_DIR=" + bootDir(t, cl, "root"), "COMPOSE_DOCKER_CLI_BUILD=0", "DOCKER_BUILDKIT=0"}
	file := repoPath(t, s, "examples/compose.yaml")
	dc := func(limit time.Duration, args ...string) (string, error) {
		return command(limit, "", env, compose, append([]string{"-p", project, "-f", file}, args...)...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := dc(time.Minute, "logs", "--no-color")
			t.Logf("docker-compose logs:\n%s", out)
		}
		_, _ = dc(2*time.Minute, "down", "--timeout", "2")
		_, _ = docker(context.Background(), "rmi", "-f", image)
	})

	start := time.Now()
	if _, err := dc(10*time.Minute, "up", "-d", "--build"); err != nil {
		t.Fatal(err)
	}
	up := time.Since(start)
	id, err := dc(time.Minute, "ps", "-q", "web")
	if err != nil || strings.TrimSpace(id) == "" {
		t.Fatalf("docker-compose ps -q web: %q %v", id, err)
	}
	c := &container{t: t, name: strings.TrimSpace(id)}
	healthy := waitFor(t, "the web service to be healthy (sv check)", 90*time.Second, func() bool {
		return c.inspect("{{.State.Health.Status}}") == "healthy"
	})

	url := "http://" + c.publishedPort("8080") + "/"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "alpine-server") {
		t.Errorf("GET %s: %d %q", url, resp.StatusCode, body)
	}

	var logs string
	prefixes := regexp.MustCompile(`(?m)^\S+ +\| (svinit|syslog|ssh|web) +\| `)
	waitFor(t, "docker-compose logs to show svinit's and the services' prefixes", 30*time.Second, func() bool {
		logs, _ = dc(time.Minute, "logs", "--no-color", "web")
		seen := map[string]bool{}
		for _, m := range prefixes.FindAllStringSubmatch(logs, -1) {
			seen[m[1]] = true
		}
		return seen["svinit"] && seen["web"] && seen["ssh"]
	})

	start = time.Now()
	if _, err := dc(time.Minute, "stop"); err != nil {
		t.Fatal(err)
	}
	stopped := time.Since(start)
	if code := c.inspect("{{.State.ExitCode}}"); code != "0" {
		t.Errorf("exit code after docker-compose stop = %s, want 0", code)
	}
	if stopped > 9*time.Second {
		t.Errorf("docker-compose stop took %s: not inside the 10s grace period with room", stopped.Round(time.Millisecond))
	}
	if l, _ := dc(time.Minute, "logs", "--no-color", "web"); !strings.Contains(l, "shutdown done") {
		t.Errorf("no 'shutdown done' in the logs after stop:\n%s", l)
	}

	if _, err := dc(2*time.Minute, "down"); err != nil {
		t.Fatal(err)
	}
	label := "label=com.docker.compose.project=" + project
	left := mustDocker(t, "ps", "-aq", "--filter", label) + mustDocker(t, "network", "ls", "-q", "--filter", label) +
		mustDocker(t, "volume", "ls", "-q", "--filter", label)
	if strings.TrimSpace(left) != "" {
		t.Errorf("docker-compose down left containers, networks or volumes: %q", left)
	}
	t.Logf("up -d --build %s, healthy %s later, stop %s (exit 0), down left nothing; log lines like %q",
		up.Round(time.Millisecond), healthy.Round(time.Millisecond), stopped.Round(time.Millisecond),
		strings.TrimSpace(prefixes.FindString(logs)))
}
