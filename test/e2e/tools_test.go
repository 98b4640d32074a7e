package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The tests in this file's neighbours (Debian, Compose, Swarm, Podman) run
// the image the way other tools do. What they need beyond Docker is
// installed by scripts/e2e-deps (make e2e runs it); a test whose tool is
// still missing skips and names the tool.

// needTool skips the test when a program is not on PATH.
func needTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not found: install Debian's %s (scripts/e2e-deps does it as root)", name, pkg)
	}
	return p
}

// command runs name with args in dir, bounded by limit, and returns its
// combined output; the error carries the output.
func command(limit time.Duration, dir string, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

func mustCommand(t *testing.T, limit time.Duration, dir string, env []string, name string, args ...string) string {
	t.Helper()
	out, err := command(limit, dir, env, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// repoPath is a path inside the repository, absolute (compose and podman
// resolve relative paths against their own working directories).
func repoPath(t *testing.T, s settings, p string) string {
	t.Helper()
	abs, err := filepath.Abs(filepath.Join(s.repo, p))
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// buildOnce builds each derived image once per test binary: several tests
// use it, and parallel builds of one Dockerfile only contend.
var built sync.Map // tag → *buildResult

type buildResult struct {
	once sync.Once
	err  error
	took time.Duration
}

// buildImage builds dir (with --build-arg args) as tag with the classic
// builder (Debian's docker.io has no buildx) and removes the tag when the
// test binary's last user is done (best effort: at the end of the test
// that built it would break the others, so it stays for the run).
func buildImage(t *testing.T, tag, dir string, args ...string) {
	t.Helper()
	v, _ := built.LoadOrStore(tag, &buildResult{})
	r := v.(*buildResult)
	r.once.Do(func() {
		start := time.Now()
		cmdArgs := []string{"build", "-q", "-t", tag}
		for _, a := range args {
			cmdArgs = append(cmdArgs, "--build-arg", a)
		}
		_, r.err = command(10*time.Minute, "", []string{"DOCKER_BUILDKIT=0"}, "docker", append(cmdArgs, dir)...)
		r.took = time.Since(start)
	})
	if r.err != nil {
		t.Fatalf("docker build %s: %v", dir, r.err)
	}
	t.Logf("image %s built in %s", tag, r.took.Round(time.Millisecond))
}

// webImage is examples/web built on the image under test, under the tag
// examples/compose.yaml and examples/k8s/pod.yaml name.
func webImage(t *testing.T, s settings) string {
	t.Helper()
	tag := "alpine-server-web:" + s.version
	buildImage(t, tag, repoPath(t, s, "examples/web"), "BASE="+s.image)
	return tag
}

// in is the container seen from a subtest: its helpers fail t, not the
// parent test that started it.
func (c *container) in(t *testing.T) *container {
	return &container{t: t, name: c.name}
}
