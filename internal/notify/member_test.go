package notify

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// start runs sh -c script in a process group of its own and returns it
// with the pids it prints, one a line, once it has printed n of them.
func start(t *testing.T, script string, n int) (*exec.Cmd, []int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	var pids []int
	buf := make([]byte, 256)
	var text string
	deadline := time.Now().Add(10 * time.Second)
	for len(pids) < n && time.Now().Before(deadline) {
		k, err := out.Read(buf)
		if err != nil {
			t.Fatalf("read pids: %v", err)
		}
		text += string(buf[:k])
		pids = pids[:0]
		for _, f := range strings.Fields(text) {
			p, _ := strconv.Atoi(f)
			pids = append(pids, p)
		}
	}
	return cmd, pids
}

func TestMember(t *testing.T) {
	// The leader, a child in its group, and a grandchild that left it
	// with setsid (a daemonizing service).
	cmd, pids := start(t, `echo $$; sh -c 'echo $$; exec sleep 60' & setsid sh -c 'echo $$; exec sleep 60' & wait`, 3)
	leader := cmd.Process.Pid
	for _, p := range pids {
		if !Member(p, leader) {
			t.Errorf("pid %d is below service %d but not a member", p, leader)
		}
	}
	other, _ := start(t, `echo $$; exec sleep 60`, 1)
	for _, tc := range []struct{ pid, pgid int }{
		{os.Getpid(), leader},       // the parent of the service
		{other.Process.Pid, leader}, // another service
		{leader, other.Process.Pid}, // the other way round
		{0, leader}, {leader, 0},    // unknown sender
		{1 << 22, leader}, // no such process
	} {
		if Member(tc.pid, tc.pgid) {
			t.Errorf("Member(%d, %d) = true", tc.pid, tc.pgid)
		}
	}
}
