package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// docker runs the docker CLI and returns its trimmed stdout; the error names
// the command and carries its stderr.
func docker(ctx context.Context, stdin []byte, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "docker", args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// container is one benchmarked container, known by id and, once started, by
// its PID 1's host pid and cgroup paths.
type container struct {
	ID      string
	Name    string
	Port    int       // host port published for 22, 0 when none
	Pid     int       // host pid of the container's PID 1
	Started time.Time // dockerd's State.StartedAt: PID 1 was started
	memCG   string
	cpuCG   string
	logPath string
}

// createOpts says how to create a container: which extra files to copy in
// before it starts (the helper, extra services) and whether to publish SSH.
type createOpts struct {
	Files   []tarFile
	SSHPort int
	IP      string // fixed address on benchNetwork, known before start
	// Health keeps the image's HEALTHCHECK, run every healthInterval.
	Health bool
}

// healthInterval is how often the steady-state runs exec the image's
// HEALTHCHECK (the image says 30 s; 5 s makes 18 checks in 90 s).
const healthInterval = 5 * time.Second

// benchNetwork is a bridge network with a fixed subnet, so that a
// container's address is known before it starts and its SSH port can be
// polled directly, without docker's proxy in the way.
const (
	benchNetwork = "alpine-server-bench"
	benchSubnet  = "10.213.77.0/24"
)

// ensureNetwork creates benchNetwork unless it exists.
func ensureNetwork(ctx context.Context) error {
	if _, err := docker(ctx, nil, "network", "inspect", benchNetwork); err == nil {
		return nil
	}
	_, err := docker(ctx, nil, "network", "create", "--subnet", benchSubnet, benchNetwork)
	return err
}

// benchIP is the address of the k-th container on benchNetwork.
func benchIP(k int) string { return fmt.Sprintf("10.213.77.%d", 10+k%200) }

func createContainer(ctx context.Context, image, name string, o createOpts) (*container, error) {
	_, _ = docker(ctx, nil, "rm", "-f", name)
	// No HEALTHCHECK unless asked: only svinit's image has one, and its
	// `sv check` execs add processes, CPU and page cache to the cgroup.
	args := []string{"create", "--name", name, "--label", "alpine-server.bench=1"}
	if o.Health {
		args = append(args, "--health-interval", healthInterval.String())
	} else {
		args = append(args, "--no-healthcheck")
	}
	if o.SSHPort != 0 {
		args = append(args, "-p", fmt.Sprintf("127.0.0.1:%d:22", o.SSHPort))
	}
	if o.IP != "" {
		args = append(args, "--network", benchNetwork, "--ip", o.IP)
	}
	id, err := docker(ctx, nil, append(args, image)...)
	if err != nil {
		return nil, err
	}
	c := &container{ID: id, Name: name, Port: o.SSHPort}
	if len(o.Files) > 0 {
		tarball, err := makeTar(o.Files)
		if err != nil {
			return nil, err
		}
		if _, err := docker(ctx, tarball, "cp", "-", id+":/"); err != nil {
			c.remove(ctx)
			return nil, err
		}
	}
	return c, nil
}

// start runs `docker start` and then learns the PID 1 and cgroups.
func (c *container) start(ctx context.Context) error {
	if _, err := docker(ctx, nil, "start", c.ID); err != nil {
		return err
	}
	return c.inspect(ctx)
}

func (c *container) inspect(ctx context.Context) error {
	out, err := docker(ctx, nil, "inspect", "-f", "{{.State.Pid}} {{.LogPath}} {{.State.StartedAt}}", c.ID)
	if err != nil {
		return err
	}
	f := strings.Fields(out)
	if len(f) != 3 {
		return fmt.Errorf("inspect %s: unexpected %q", c.Name, out)
	}
	if c.Started, err = time.Parse(time.RFC3339Nano, f[2]); err != nil {
		return fmt.Errorf("inspect %s: StartedAt: %w", c.Name, err)
	}
	if c.Pid, err = strconv.Atoi(f[0]); err != nil || c.Pid == 0 {
		return fmt.Errorf("inspect %s: container not running (pid %q)", c.Name, f[0])
	}
	c.logPath = f[1]
	c.memCG, c.cpuCG, err = cgroupDirs(c.Pid)
	return err
}

// stop times `docker stop` (its default 10 s grace) and returns the wall
// time and the container's exit code.
func (c *container) stop(ctx context.Context) (time.Duration, int, error) {
	t0 := time.Now()
	if _, err := docker(ctx, nil, "stop", c.ID); err != nil {
		return 0, 0, err
	}
	d := time.Since(t0)
	out, err := docker(ctx, nil, "inspect", "-f", "{{.State.ExitCode}}", c.ID)
	if err != nil {
		return d, 0, err
	}
	code, _ := strconv.Atoi(out)
	return d, code, nil
}

func (c *container) remove(ctx context.Context) {
	_, _ = docker(ctx, nil, "rm", "-f", "-v", c.ID)
}

// exec runs a command inside the container and returns its stdout.
func (c *container) exec(ctx context.Context, args ...string) (string, error) {
	return docker(ctx, nil, append([]string{"exec", c.ID}, args...)...)
}

// rootPath is a path inside the running container, seen from the host.
func (c *container) rootPath(p string) string {
	return filepath.Join("/proc", strconv.Itoa(c.Pid), "root", p)
}

// cgroupDirs finds the cgroup v1 memory and cpuacct folders of a process
// from /proc/PID/cgroup.
func cgroupDirs(pid int) (mem, cpu string, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", "", fmt.Errorf("read cgroups of pid %d: %w", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctl := range strings.Split(parts[1], ",") {
			switch ctl {
			case "memory":
				mem = filepath.Join("/sys/fs/cgroup/memory", parts[2])
			case "cpuacct":
				cpu = filepath.Join("/sys/fs/cgroup/cpuacct", parts[2])
			}
		}
	}
	if mem == "" || cpu == "" {
		return "", "", fmt.Errorf("pid %d: no cgroup v1 memory/cpuacct controller in /proc/%d/cgroup (cgroup v2 is not supported by this bench)", pid, pid)
	}
	return mem, cpu, nil
}

// readInt reads a file holding one integer (cgroup counters).
func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", path, err)
	}
	return v, nil
}

// cleanupContainers removes every container this bench created, even those
// left behind by an interrupted run.
func cleanupContainers(ctx context.Context) {
	ids, err := docker(ctx, nil, "ps", "-aq", "--filter", "label=alpine-server.bench=1")
	if err != nil || ids == "" {
		return
	}
	_, _ = docker(ctx, nil, append([]string{"rm", "-f", "-v"}, strings.Fields(ids)...)...)
}
