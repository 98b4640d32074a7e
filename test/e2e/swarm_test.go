package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestSwarm makes this engine a single-node swarm for the length of the
// test (left again at the end, also on failure): examples/stack.yaml's 2
// replicas become healthy through the HEALTHCHECK, a rolling start-first
// update replaces both tasks with none failing, and a service whose
// essential service fails shows its exit code in the task's state.
//
// Not parallel on purpose: Go runs the package's sequential tests before
// it releases the parallel ones, so no other container test of this
// package runs while the engine is in swarm mode.
func TestSwarm(t *testing.T) {
	s := loadSettings(t)
	if state := strings.TrimSpace(mustDocker(t, "info", "-f", "{{.Swarm.LocalNodeState}}")); state != "inactive" {
		t.Skipf("this engine's swarm state is %q, not inactive: it is someone else's swarm, not ours to join or leave", state)
	}
	web := webImage(t, s)
	boom := essentialFailImage(t, s)
	_, gwErr := docker(t.Context(), "network", "inspect", "docker_gwbridge")
	start := time.Now()
	t.Cleanup(func() {
		if _, err := command(time.Minute, "", nil, "docker", "swarm", "leave", "--force"); err != nil {
			t.Errorf("leave the swarm: %v", err)
		}
		if gwErr != nil { // swarm init made it; leaving does not remove it
			_, _ = command(time.Minute, "", nil, "docker", "network", "rm", "docker_gwbridge")
		}
	})
	mustDocker(t, "swarm", "init", "--advertise-addr", "127.0.0.1")
	t.Logf("swarm init: %s", time.Since(start).Round(time.Millisecond))

	stack := "e2e" + token()[:6]
	svc := stack + "_web"
	t.Cleanup(func() { _, _ = command(time.Minute, "", nil, "docker", "stack", "rm", stack) })
	mustCommand(t, 2*time.Minute, "", []string{"WEB_IMAGE=" + web}, "docker", "stack", "deploy",
		"-c", repoPath(t, s, "examples/stack.yaml"), stack)
	healthy := waitFor(t, "2 healthy replicas of "+svc, 2*time.Minute, func() bool { return healthyTasks(t, svc) == 2 })
	t.Logf("stack deploy: 2 replicas healthy after %s", healthy.Round(time.Millisecond))

	t.Run("rolling update", func(t *testing.T) { swarmUpdate(t, svc) })
	t.Run("essential service fails", func(t *testing.T) { swarmEssential(t, stack, boom) })
}

// swarmUpdate forces a new task for each replica and checks that the
// update completed, the old tasks were shut down (exit 0) rather than
// failed, and both new ones are healthy.
func swarmUpdate(t *testing.T, svc string) {
	before := taskIDs(t, svc)
	if order := strings.TrimSpace(mustDocker(t, "service", "inspect", "-f", "{{.Spec.UpdateConfig.Order}}", svc)); order != "start-first" {
		t.Fatalf("%s update order = %q, want start-first (examples/stack.yaml)", svc, order)
	}
	start := time.Now()
	mustDocker(t, "service", "update", "--detach", "--force", "--env-add", "E2E_UPDATE="+token(), svc)
	// start-first gated on health: an old task stops only once its
	// replacement is healthy, so every look finds at least 2 healthy.
	fewest := 2
	waitFor(t, "the update of "+svc+" to complete", 3*time.Minute, func() bool {
		fewest = min(fewest, healthyTasks(t, svc))
		st := strings.TrimSpace(mustDocker(t, "service", "inspect", "-f", "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", svc))
		if st == "paused" || strings.HasPrefix(st, "rollback") {
			t.Fatalf("update of %s: %s: %s", svc, st, mustDocker(t, "service", "inspect", "-f", "{{.UpdateStatus.Message}}", svc))
		}
		return st == "completed"
	})
	took := time.Since(start)
	if fewest < 2 {
		t.Errorf("during the update only %d healthy replicas were running, want 2 at all times", fewest)
	}
	waitFor(t, "2 healthy replicas after the update", time.Minute, func() bool { return healthyTasks(t, svc) == 2 })
	tasks := mustDocker(t, "service", "ps", "--no-trunc", "--format", "{{.ID}} {{.DesiredState}} {{.CurrentState}} {{.Error}}", svc)
	for _, id := range before {
		st := strings.TrimSpace(mustDocker(t, "inspect", "-f", "{{.Status.State}} {{.Status.ContainerStatus.ExitCode}} {{.Status.Err}}", id))
		if st != "shutdown 0" {
			t.Errorf("old task %s: %q, want shut down with exit 0", id, st)
		}
	}
	if regexp.MustCompile(`(?im)failed|rejected`).MatchString(tasks) {
		t.Errorf("a task failed during the update:\n%s", tasks)
	}
	if n := len(taskIDs(t, svc)); n != 2 || sameAny(before, taskIDs(t, svc)) {
		t.Errorf("want 2 new running tasks, have %d (before %v)", n, before)
	}
	t.Logf("rolling update (start-first, health-gated) done in %s:\n%s", took.Round(time.Millisecond), tasks)
}

// swarmEssential runs an image whose essential service exits 7: the task
// fails and says so.
func swarmEssential(t *testing.T, stack, image string) {
	svc := stack + "_boom"
	t.Cleanup(func() { _, _ = command(time.Minute, "", nil, "docker", "service", "rm", svc) })
	mustDocker(t, "service", "create", "--detach", "--name", svc, "--restart-condition", "none", "--no-healthcheck", image)
	var state string
	waitFor(t, svc+"'s task to fail", 2*time.Minute, func() bool {
		state = strings.TrimSpace(mustDocker(t, "service", "ps", "--no-trunc", "--format", "{{.CurrentState}} | {{.Error}}", svc))
		return strings.HasPrefix(state, "Failed")
	})
	if !strings.Contains(state, "non-zero exit (7)") {
		t.Errorf("task state %q: want the essential service's exit code 7", state)
	}
	id := strings.TrimSpace(mustDocker(t, "service", "ps", "-q", "--no-trunc", svc))
	if code := strings.TrimSpace(mustDocker(t, "inspect", "-f", "{{.Status.ContainerStatus.ExitCode}}", id)); code != "7" {
		t.Errorf("task %s container exit code %s, want 7", id, code)
	}
	t.Logf("essential service failed: task state %q", state)
}

// essentialFailImage is the image under test plus an essential service
// that exits 7 a second after it starts.
func essentialFailImage(t *testing.T, s settings) string {
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Dockerfile", "ARG BASE\nFROM ${BASE}\nENV SSH_ENABLED=false\nCOPY services/ /etc/services/\n")
	write("services/boom/manifest.yml", "enabled: true\nauto_start: true\nessential: true\nrestart: never\n"+
		"command: [sh, -c, 'sleep 1; echo failing; exit 7']\n")
	tag := "alpine-server-e2e-boom:" + s.version
	buildImage(t, tag, dir, "BASE="+s.image)
	return tag
}

// taskIDs lists the service's tasks that should be running.
func taskIDs(t *testing.T, svc string) []string {
	return strings.Fields(mustDocker(t, "service", "ps", "-q", "--no-trunc", "--filter", "desired-state=running", svc))
}

// healthyTasks counts the service's running tasks whose container is healthy.
func healthyTasks(t *testing.T, svc string) int {
	n := 0
	for _, id := range taskIDs(t, svc) {
		cid := strings.TrimSpace(mustDocker(t, "inspect", "-f", "{{if .Status.ContainerStatus}}{{.Status.ContainerStatus.ContainerID}}{{end}}", id))
		if cid == "" {
			continue
		}
		if h, err := docker(t.Context(), "inspect", "-f", "{{.State.Health.Status}}", cid); err == nil && strings.TrimSpace(h) == "healthy" {
			n++
		}
	}
	return n
}

func sameAny(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}
