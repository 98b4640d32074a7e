package pid1

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Issue 8, case 3: from the moment a stop is asked the service is not
// ready, and `sv -w start` on a stopping service waits for the new process.
func TestStoppingServiceIsNotReady(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		// TERM makes it wait for $T/slow.go before it exits.
		"slow": {"manifest.yml": manifest("stop_timeout: 30s"),
			"run": "#!/bin/sh\ntrap 'while [ ! -e \"$T/slow.go\" ]; do sleep 0.05; done; exit 0' TERM\nwhile :; do sleep 0.05; done\n"},
	}})
	sv := func(args ...string) (string, string, int) { return svCall{}.run(t, b.ctl, args...) }
	old := pidIn(t, b.waitStatus("slow", `^run: slow: \(pid \d+\) \d+s, .*ready`, 10*time.Second))
	if out, errOut, code := sv("down", "slow"); code != 0 {
		t.Fatalf("sv down slow: exit %d %q %q", code, out, errOut)
	}
	b.waitStatus("slow", `(?m)^stopping: slow: \(pid \d+\) \d+s, want down$`, 5*time.Second)
	if out, errOut, code := sv("check", "slow"); code != 1 {
		t.Errorf("sv check slow while it stops: exit %d %q %q; want 1 (not ready)", code, out, errOut)
	}
	if out, errOut, code := sv("wait", "-t", "0.2", "slow"); code == 0 {
		t.Errorf("sv wait slow while it stops: exit 0 %q %q; want 1", out, errOut)
	}
	startDone := make(chan [3]any, 1)
	go func() {
		out, errOut, code := sv("-w", "20", "start", "slow")
		startDone <- [3]any{out, errOut, code}
	}()
	b.waitLog(`control: peer pid \d+ uid 0: start \[slow\]`, 5*time.Second)
	b.waitStatus("slow", `(?m)^stopping: slow: \(pid \d+\) \d+s$`, 5*time.Second) // wanted up again, old process still there
	select {
	case r := <-startDone:
		t.Fatalf("sv -w start returned while the old process still runs: %v", r)
	default:
	}
	writeFile(t, filepath.Join(b.dir, "slow.go"), "", false)
	var r [3]any
	select {
	case r = <-startDone:
	case <-time.After(25 * time.Second):
		t.Fatal("sv -w 20 start slow did not return")
	}
	out := r[0].(string)
	if r[2].(int) != 0 || !regexp.MustCompile(`^ok: run: slow: \(pid \d+\) \d+s.*, ready`).MatchString(out) {
		t.Fatalf("sv -w 20 start slow on a stopping service: %v; want ok: run: ... ready", r)
	}
	if n := pidIn(t, out); n == old {
		t.Errorf("sv -w start answered for the old process %d: %q", old, out)
	}
}

var forkdaemonOnce struct {
	sync.Once
	path string
	err  error
}

// forkdaemon builds testdata/forkdaemon (a master that forks a worker
// holding its listening socket) once per test run.
func forkdaemon(t *testing.T) string {
	t.Helper()
	forkdaemonOnce.Do(func() {
		forkdaemonOnce.path = filepath.Join(filepath.Dir(binary), "forkdaemon")
		build := exec.Command("go", "build", "-o", forkdaemonOnce.path, "./testdata/forkdaemon")
		out, err := build.CombinedOutput()
		if err != nil {
			forkdaemonOnce.err = fmt.Errorf("build testdata/forkdaemon: %v\n%s", err, out)
		}
	})
	if forkdaemonOnce.err != nil {
		t.Fatal(forkdaemonOnce.err)
	}
	return forkdaemonOnce.path
}

// freePort returns a TCP port on 127.0.0.1 nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Issue 8, case 4: when the main process dies, what is left of its process
// group is stopped before the restart, so the daemon can bind again and
// comes back ready within one backoff step.
func TestLeftoversOfTheGroupAreStoppedBeforeRestart(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	b := boot(t, spec{services: map[string]map[string]string{
		"web": {"manifest.yml": manifest(`command: ["`+forkdaemon(t)+`", master, "`+addr+`"]`,
			"ready:", "  tcp: "+addr, "  interval: 20ms", "  timeout: 5s", "stop_timeout: 2s")},
	}})
	line := b.waitStatus("web", `^run: web: \(pid \d+\) \d+s, .*ready`, 10*time.Second)
	master := pidIn(t, line)
	killMasterAndWaitBack(t, b, master, addr, `service web killed by SIGKILL; stopping what is left of its process group`)
	log := b.out.String()
	if n := strings.Count(log, "service web ready"); n != 2 {
		t.Errorf("%d ready lines, want 2 (first start, restart)", n)
	}
}

// Issue 8, case 4, for a daemon whose children call setsid() (PostgreSQL's
// backends): svinit finds them by the run's mark (a soft RLIMIT_LOCKS), so the
// worker that left the master's group is stopped before the restart, and
// again when the service is stopped.
func TestLeftoversThatLeftTheGroupAreStopped(t *testing.T) {
	t.Parallel()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	b := boot(t, spec{services: map[string]map[string]string{
		"web": {"manifest.yml": manifest(`command: ["`+forkdaemon(t)+`", master-setsid, "`+addr+`"]`,
			"ready:", "  tcp: "+addr, "  interval: 20ms", "  timeout: 5s", "stop_timeout: 2s")},
	}})
	line := b.waitStatus("web", `^run: web: \(pid \d+\) \d+s, .*ready`, 10*time.Second)
	master := pidIn(t, line)
	worker := workerOf(t, b, master)
	again := killMasterAndWaitBack(t, b, master, addr,
		fmt.Sprintf(`service web killed by SIGKILL; stopping 1 process that left its process group: pid %d \(forkdaemon\)$`, worker))
	// sv stop: the master ends on TERM; its worker, outside the group, is
	// stopped after it, and the port is free.
	worker = workerOf(t, b, pidIn(t, again))
	if out, code := b.sv("stop", "web"); code != 0 {
		t.Fatalf("sv stop web: %d %q", code, out)
	}
	b.waitLog(fmt.Sprintf(`service web killed by SIGTERM; stopping 1 process that left its process group: pid %d \(forkdaemon\)$`, worker), 10*time.Second)
	b.waitStatus("web", `^down: web: `, 10*time.Second)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port still taken after sv stop: %v\n%s", err, b.out.String())
	}
	l.Close()
}

// killMasterAndWaitBack SIGKILLs web's master, waits for the clean-up line
// cleanup and one 100 ms restart, and checks the new master is ready and
// serves addr within that one backoff step (no bind error, no second
// restart). It returns web's status line after the restart.
func killMasterAndWaitBack(t *testing.T, b *box, master int, addr, cleanup string) string {
	t.Helper()
	if err := syscall.Kill(b.hostPid(master), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.waitLog(cleanup, 10*time.Second)
	b.waitLog(`service web killed by SIGKILL, restarting in 100ms`, 10*time.Second)
	var again string
	waitFor(t, 10*time.Second, "web ready again with a new master", func() bool {
		again, _ = b.sv("status", "web")
		return regexp.MustCompile(`^run: web: \(pid \d+\) \d+s, .*ready`).MatchString(again) && pidIn(t, again) != master
	})
	if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
		t.Errorf("nobody serves %s after the restart: %v", addr, err)
	} else {
		c.Close()
	}
	if log := b.out.String(); strings.Contains(log, "bind() to") || strings.Contains(log, "restarting in 200ms") {
		t.Errorf("the restart did not come back within one backoff step:\n%s", log)
	}
	return again
}

// workerOf reads forkdaemon's "master M, worker W on ADDR" line for master.
func workerOf(t *testing.T, b *box, master int) int {
	t.Helper()
	m := regexp.MustCompile(fmt.Sprintf(`master %d, worker (\d+) on `, master)).FindStringSubmatch(
		b.waitLog(fmt.Sprintf(`master %d, worker \d+ on `, master), 10*time.Second))
	w, _ := strconv.Atoi(m[1])
	return w
}

// finishService crashes when told (sv kill) and has a finish script that
// runs until the test creates $T/finish.go (at most its 30s stop_timeout).
func finishService() map[string]string {
	return map[string]string{
		"manifest.yml": manifest(`command: [sleep, "100"]`, "stop_timeout: 30s"),
		"finish":       "#!/bin/sh\necho \"finish $1 $2\"\nwhile [ ! -e \"$T/finish.go\" ]; do sleep 0.05; done\n",
	}
}

// Issue 8, cases 5 and 6: sv stop during the finish script wins (down, no
// restart counted), and the finish script's pid is shown.
func TestStopDuringFinishWinsAndFinishPidIsShown(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{"web": finishService()}})
	b.waitStatus("web", `^run: web: \(pid \d+\)`, 10*time.Second)
	if out, code := b.sv("kill", "web"); code != 0 {
		t.Fatalf("sv kill web: exit %d %q", code, out)
	}
	b.waitStatus("web", `^finish: web: \(pid \d+\) \d+s`, 5*time.Second)
	// sv down only asks (no wait): the finish script is still running.
	if out, code := b.sv("down", "web"); code != 0 {
		t.Errorf("sv down web during finish: exit %d %q", code, out)
	}
	b.waitStatus("web", `^finish: web: \(pid \d+\) \d+s, want down`, 5*time.Second)
	writeFile(t, filepath.Join(b.dir, "finish.go"), "", false)
	b.waitStatus("web", `^down: web: \d+s, normally up`, 10*time.Second)
	st := b.statusJSON("web")
	if st.State != "down" || st.WantUp || st.Restarts != 0 {
		t.Errorf("after sv stop during finish: %+v; want down, want_up false, 0 restarts", st)
	}
	if strings.Contains(b.out.String(), "service web killed by SIGKILL, restarting") {
		t.Errorf("the stop during finish was lost: a restart was scheduled\n%s", b.out.String())
	}
}

// Issue 8, case 10: a backoff's status shows the time left, not the delay.
func TestBackoffShowsTimeLeft(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"crash": {"manifest.yml": manifest(`command: [sh, -c, "exit 1"]`)},
	}})
	b.waitLog(`service crash exited 1, restarting in 6.4s`, 30*time.Second)
	rx := regexp.MustCompile(`^backoff: crash: exited 1, restart in (\d+(\.\d+)?)(s|ms)`)
	waitFor(t, 6*time.Second, "the status to count down from 6.4s", func() bool {
		out, _ := b.sv("status", "crash")
		m := rx.FindStringSubmatch(out)
		if m == nil {
			return false
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return m[3] == "ms" || v < 6
	})
}

// TestKillModeProcessGroupSparesSessions: with `kill_mode: process-group`
// only the main process's group is stopped when it exits; a process the
// service started in a session of its own (an SSH login under dropbear)
// lives on, as under systemd's KillMode=process for ssh.service.
func TestKillModeProcessGroupSparesSessions(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"door": {"manifest.yml": manifest("kill_mode: process-group"),
			"run": "#!/bin/sh\nsetsid sleep 1000 &\necho \"session $!\"\nexec sleep 1000\n"},
	}})
	line := b.waitStatus("door", `^run: door: \(pid \d+\)`, 10*time.Second)
	main := pidIn(t, line)
	m := regexp.MustCompile(`session (\d+)`).FindStringSubmatch(b.waitLog(`^door\s+\| session \d+$`, 10*time.Second))
	session, _ := strconv.Atoi(m[1])
	if err := syscall.Kill(b.hostPid(main), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	b.waitLog(`service door killed by SIGKILL, restarting in 100ms`, 10*time.Second)
	waitFor(t, 10*time.Second, "door running again", func() bool {
		out, _ := b.sv("status", "door")
		return strings.HasPrefix(out, "run: door: (pid ") && pidIn(t, out) != main
	})
	if err := syscall.Kill(b.hostPid(session), 0); err != nil {
		t.Errorf("the session (pid %d) was stopped with the service's main process: %v\n%s", session, err, b.out.String())
	}
	if b.out.index(`left its process group`) >= 0 {
		t.Errorf("kill_mode: process-group still stopped a process outside the group:\n%s", b.out.String())
	}
}
