// Package e2e tests the image the way the seed's users used it: a real
// container in a real Docker engine, reached over SSH. The tests run when
// E2E=1 (make e2e sets it, after building the image) and skip otherwise,
// so a plain `go test ./...` stays fast.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// settings are read once from the environment make e2e passes.
type settings struct {
	image   string // E2E_IMAGE: the image under test
	version string // E2E_VERSION: the VERSION file's content
	repo    string // the repository root (for examples/)
}

func loadSettings(t *testing.T) settings {
	t.Helper()
	if os.Getenv("E2E") != "1" {
		t.Skip("container tests skipped: set E2E=1 with a built image (make e2e does both)")
	}
	s := settings{image: os.Getenv("E2E_IMAGE"), version: os.Getenv("E2E_VERSION"), repo: "../.."}
	if s.image == "" {
		t.Fatal("E2E=1 but E2E_IMAGE is empty: run the tests through make e2e")
	}
	return s
}

// docker runs the docker CLI and returns its combined output.
func docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

// mustDocker is docker for steps that must work, bounded to 2 minutes.
func mustDocker(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := docker(ctx, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func token() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// container is one running test container.
type container struct {
	t    *testing.T
	name string
}

// runContainer starts IMAGE detached with a unique name and the given
// docker run flags, removed when the test ends (its logs are kept in the
// test log when the test failed).
func runContainer(t *testing.T, image string, flags ...string) *container {
	t.Helper()
	c := &container{t: t, name: "e2e-" + strings.ToLower(regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")) + "-" + token()[:4]}
	args := append([]string{"run", "-d", "--name", c.name}, flags...)
	mustDocker(t, append(args, image)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("docker logs %s:\n%s", c.name, c.logs())
		}
		_, _ = docker(context.Background(), "rm", "-f", c.name)
	})
	return c
}

func (c *container) logs() string {
	out, _ := docker(context.Background(), "logs", c.name)
	return out
}

// exec runs a command in the container and returns its output.
func (c *container) exec(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return docker(ctx, append([]string{"exec", c.name}, args...)...)
}

func (c *container) mustExec(args ...string) string {
	c.t.Helper()
	out, err := c.exec(args...)
	if err != nil {
		c.t.Fatal(err)
	}
	return out
}

// publishedPort reads the host port Docker chose for a container port.
func (c *container) publishedPort(port string) string {
	c.t.Helper()
	out := strings.TrimSpace(mustDocker(c.t, "port", c.name, port))
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "127.0.0.1:") {
			return line
		}
	}
	c.t.Fatalf("docker port %s %s: no 127.0.0.1 binding in %q", c.name, port, out)
	return ""
}

func (c *container) inspect(format string) string {
	c.t.Helper()
	return strings.TrimSpace(mustDocker(c.t, "inspect", "-f", format, c.name))
}

// waitFor polls cond every 200ms until it holds or the deadline passes.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if cond() {
			return time.Since(start)
		}
		if time.Since(start) > limit {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitLog waits until the container's logs match re and returns the match.
func (c *container) waitLog(re *regexp.Regexp, limit time.Duration) string {
	c.t.Helper()
	var m string
	waitFor(c.t, fmt.Sprintf("docker logs of %s to match %s", c.name, re), limit, func() bool {
		m = re.FindString(c.logs())
		return m != ""
	})
	return m
}

// waitRunning waits until `sv status` shows run: and ready for every name.
func (c *container) waitRunning(limit time.Duration, names ...string) time.Duration {
	c.t.Helper()
	return waitFor(c.t, fmt.Sprintf("%v to be running and ready in %s", names, c.name), limit, func() bool {
		out, err := c.exec("sv", "status")
		if err != nil {
			return false
		}
		for _, n := range names {
			if !regexp.MustCompile(`(?m)^run: ` + regexp.QuoteMeta(n) + `: .*ready`).MatchString(out) {
				return false
			}
		}
		return true
	})
}

// memory reads the container's cgroup memory use: the host's cgroup v1
// path (cgroupfs driver), else cgroup v2's, else from inside.
func (c *container) memory() string {
	c.t.Helper()
	id := c.inspect("{{.Id}}")
	for _, p := range []string{
		"/sys/fs/cgroup/memory/docker/" + id + "/memory.usage_in_bytes",
		"/sys/fs/cgroup/memory/system.slice/docker-" + id + ".scope/memory.usage_in_bytes",
		"/sys/fs/cgroup/system.slice/docker-" + id + ".scope/memory.current",
	} {
		if b, err := os.ReadFile(p); err == nil {
			return mib(strings.TrimSpace(string(b)))
		}
	}
	out, err := c.exec("cat", "/sys/fs/cgroup/memory/memory.usage_in_bytes")
	if err != nil {
		return "unknown"
	}
	return mib(strings.TrimSpace(out)) + " (from inside)"
}

func mib(bytes string) string {
	var n float64
	if _, err := fmt.Sscan(bytes, &n); err != nil {
		return bytes
	}
	return fmt.Sprintf("%.1f MiB", n/(1<<20))
}
