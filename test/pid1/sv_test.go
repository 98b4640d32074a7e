package pid1

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// svStatus is the part of `sv --json status` these tests read.
type svStatus struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Pid      int    `json:"pid"`
	Builtin  bool   `json:"builtin"`
	Ready    bool   `json:"ready"`
	WantUp   bool   `json:"want_up"`
	Restarts int    `json:"restarts"`
	LastExit *struct {
		Code   int    `json:"code"`
		Signal string `json:"signal"`
	} `json:"last_exit"`
	Detail     json.RawMessage `json:"detail"`
	Health     string          `json:"health"`
	StatusText string          `json:"status_text"`
}

// statusJSON is `sv --json status NAME`, decoded.
func (b *box) statusJSON(name string) svStatus {
	b.t.Helper()
	out, errOut, code := svCall{}.run(b.t, b.ctl, "--json", "status", name)
	var list []svStatus
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || code != 0 {
		b.t.Fatalf("sv --json status %s: exit %d, %v: %q %q", name, code, err, out, errOut)
	}
	return list[0]
}

// pidIn reads N from "(pid N)" in a status line.
func pidIn(t *testing.T, line string) int {
	t.Helper()
	m := regexp.MustCompile(`\(pid (\d+)\)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("no pid in %q", line)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// groupStates maps each process of process group pgid to its state letter.
func groupStates(pgid int) map[int]string {
	states := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // state ppid pgrp ...
		if len(f) > 2 && f[2] == strconv.Itoa(pgid) {
			states[p] = f[0]
		}
	}
	return states
}

// groupStopped says whether SIGSTOP has stopped group pgid: some process is
// stopped (T) and none runs or sleeps. Two others are stopped too: a child
// that had already exited (Z, the stopped shell cannot reap it), and a
// shell caught in vfork when the signal came, which shows D, not T, until
// CONT: dash vforks, and its child, in the same group, is stopped before it
// can exec (on a busy machine about one SIGSTOP in twenty lands there, so
// the leader alone is not the service's state).
func groupStopped(pgid int) bool {
	stopped := false
	for _, st := range groupStates(pgid) {
		switch st {
		case "T":
			stopped = true
		case "D", "Z":
		default:
			return false
		}
	}
	return stopped
}

// groupHasStopped says whether some process of group pgid is stopped (T).
func groupHasStopped(pgid int) bool {
	for _, st := range groupStates(pgid) {
		if st == "T" {
			return true
		}
	}
	return false
}

const hupRun = `#!/bin/sh
trap 'echo hup >> "$T/a.hup"' HUP
echo "a running $$"
while :; do sleep 0.05; done
`

func TestSvVerbsChangeStateAndStatusShowsIt(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"a":     {"manifest.yml": manifest(), "run": hupRun},
		"o":     {"manifest.yml": "enabled: true\n" + `command: [sh, -c, "echo ran >> $T/o.runs; exit 1"]` + "\n"},
		"never": {"manifest.yml": "enabled: true\ncommand: [sleep, \"100\"]\nready:\n  file: ${T}/never\n  interval: 20ms\n"},
	}})
	sv := func(args ...string) (string, string, int) { return svCall{}.run(t, b.ctl, args...) }
	pid := pidIn(t, b.waitStatus("a", `^run: a: \(pid \d+\) \d+s, .*ready`, 10*time.Second))
	b.waitLog(`a\s+\| a running`, 5*time.Second)

	t.Run("hup reaches the service", func(t *testing.T) {
		if out, errOut, code := sv("hup", "a"); code != 0 {
			t.Fatalf("sv hup a: exit %d %q %q", code, out, errOut)
		}
		waitFor(t, 5*time.Second, "the service's HUP trap to run", func() bool {
			_, err := os.Stat(filepath.Join(b.dir, "a.hup"))
			return err == nil
		})
	})
	t.Run("pause and cont", func(t *testing.T) {
		host := b.hostPid(pid)
		if _, _, code := sv("pause", "a"); code != 0 {
			t.Fatalf("sv pause a: exit %d", code)
		}
		waitFor(t, 5*time.Second, "the service's group to be stopped (T)", func() bool { return groupStopped(host) })
		if _, _, code := sv("cont", "a"); code != 0 {
			t.Fatalf("sv cont a: exit %d", code)
		}
		waitFor(t, 5*time.Second, "the service's group to run again", func() bool { return !groupHasStopped(host) })
	})
	t.Run("stop then start", func(t *testing.T) {
		out, errOut, code := sv("stop", "a")
		if code != 0 || !regexp.MustCompile(`^ok: down: a: \d+s`).MatchString(out) {
			t.Errorf("sv stop a: exit %d, %q %q; want ok: down: a: ...", code, out, errOut)
		}
		b.waitStatus("a", `^down: a: \d+s, normally up`, 5*time.Second)
		out, errOut, code = sv("start", "a")
		if code != 0 || !regexp.MustCompile(`^ok: run: a: \(pid \d+\) \d+s`).MatchString(out) {
			t.Errorf("sv start a: exit %d, %q %q; want ok: run: a: (pid N) ...", code, out, errOut)
		}
		pid = pidIn(t, b.waitStatus("a", `^run: a: \(pid \d+\)`, 5*time.Second))
	})
	t.Run("down and up only send", func(t *testing.T) {
		if out, _, code := sv("down", "a"); code != 0 || out != "" {
			t.Errorf("sv down a: exit %d, %q; want quiet success", code, out)
		}
		b.waitStatus("a", `^down: a: `, 5*time.Second)
		if out, _, code := sv("up", "a"); code != 0 || out != "" {
			t.Errorf("sv up a: exit %d, %q; want quiet success", code, out)
		}
		pid = pidIn(t, b.waitStatus("a", `^run: a: \(pid \d+\)`, 5*time.Second))
	})
	t.Run("restart -w gives a new pid", func(t *testing.T) {
		out, errOut, code := sv("-w", "5", "restart", "a")
		if code != 0 || !strings.HasPrefix(out, "ok: run: a: (pid ") {
			t.Fatalf("sv -w 5 restart a: exit %d, %q %q", code, out, errOut)
		}
		if n := pidIn(t, out); n == pid {
			t.Errorf("restart kept pid %d", n)
		}
		pid = pidIn(t, out)
	})
	t.Run("SVWAIT bounds the wait", func(t *testing.T) {
		out, _, code := svCall{env: []string{"SVWAIT=0"}}.run(t, b.ctl, "restart", "a")
		if code != 0 || out != "" {
			t.Errorf("SVWAIT=0 sv restart a: exit %d, %q; want no wait, no output", code, out)
		}
		waitFor(t, 5*time.Second, "a new pid after the restart", func() bool {
			st := b.statusJSON("a")
			return st.State == "run" && st.Pid != pid
		})
		start := time.Now()
		defer sv("stop", "never")
		out, errOut, code := svCall{env: []string{"SVWAIT=0.5"}}.run(t, b.ctl, "start", "never")
		if code != 1 || !strings.HasPrefix(out, "timeout: ") || !strings.Contains(out, "never") {
			t.Errorf("SVWAIT=0.5 sv start never (never ready): exit %d, %q %q; want 1 and timeout: ...", code, out, errOut)
		}
		// Without SVWAIT sv would wait its default 7 s: less proves SVWAIT
		// was used, and leaves a busy machine 6 s to start and run sv.
		if d := time.Since(start); d > 6500*time.Millisecond {
			t.Errorf("SVWAIT=0.5 waited %v", d)
		}
	})
	t.Run("once does not restart", func(t *testing.T) {
		if _, _, code := sv("once", "o"); code != 0 {
			t.Fatalf("sv once o: exit %d", code)
		}
		var st svStatus
		waitFor(t, 10*time.Second, "o to exit and stay down", func() bool {
			st = b.statusJSON("o")
			return st.LastExit != nil && st.State == "down"
		})
		if st.WantUp || st.LastExit.Code != 1 {
			t.Errorf("after once: %+v; want want_up false, last exit 1", st)
		}
		if data, _ := os.ReadFile(filepath.Join(b.dir, "o.runs")); string(data) != "ran\n" {
			t.Errorf("once ran %q, want one run", data)
		}
	})
	t.Run("json has every field", func(t *testing.T) {
		out, _, code := sv("--json", "status", "a")
		var list []map[string]any
		if err := json.Unmarshal([]byte(out), &list); err != nil || code != 0 || len(list) != 1 {
			t.Fatalf("sv --json status a: exit %d, %v: %q", code, err, out)
		}
		for _, k := range []string{"name", "state", "pid", "since", "ready", "want_up", "normally_up", "restarts", "last_exit"} {
			if _, ok := list[0][k]; !ok {
				t.Errorf("sv --json status a has no %q: %s", k, out)
			}
		}
		if list[0]["state"] != "run" || list[0]["ready"] != true {
			t.Errorf("json state: %s", out)
		}
	})
	t.Run("unknown service", func(t *testing.T) {
		for _, verb := range []string{"status", "stop", "hup", "check"} {
			out, errOut, code := sv(verb, "nope")
			if code != 1 || !strings.Contains(errOut, "nope") || !strings.Contains(errOut, "unknown service") {
				t.Errorf("sv %s nope: exit %d, stdout %q stderr %q; want 1 and unknown service", verb, code, out, errOut)
			}
		}
	})
	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{
			{"frobnicate", "a"}, {"stop"}, {"-w", "abc", "start", "a"}, {"--bogus", "status"},
			{"reload", "a"}, {"wait", "-t"}, {"start", "Bad/Name"}, {},
		} {
			_, errOut, code := sv(args...)
			if code != 2 || !strings.HasPrefix(errOut, "sv: ") {
				t.Errorf("sv %q: exit %d, stderr %q; want 2 and a one-line sv: error", args, code, errOut)
			}
		}
		if _, errOut, code := (svCall{env: []string{"SVWAIT=soon"}}).run(t, b.ctl, "start", "a"); code != 2 {
			t.Errorf("SVWAIT=soon: exit %d %q; want 2", code, errOut)
		}
	})
}

func TestSvWithoutSvinitSaysSoAndExits1(t *testing.T) {
	t.Parallel()
	sock := filepath.Join(t.TempDir(), "none.sock")
	for _, args := range [][]string{{"status"}, {"stop", "x"}, {"check"}} {
		out, errOut, code := svCall{}.run(t, sock, args...)
		if code != 1 || out != "" || !strings.Contains(errOut, "cannot reach svinit at "+sock) ||
			!strings.Contains(errOut, "is svinit running") {
			t.Errorf("sv %v with no svinit: exit %d, %q %q", args, code, out, errOut)
		}
	}
}

func TestReadinessGatesDependentsAndSvCheck(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"db":  {"manifest.yml": manifest(`command: [sleep, "100"]`, "ready:", "  file: ${T}/db.ready", "  interval: 20ms")},
		"web": {"manifest.yml": manifest(`command: [sh, -c, "touch $T/web.started; exec sleep 100"]`, "depends_on: [db]")},
		"never": {"manifest.yml": manifest(`command: [sleep, "100"]`,
			"ready:", "  file: ${T}/never.ready", "  interval: 20ms", "  timeout: 300ms")},
	}})
	sv := func(args ...string) (string, string, int) { return svCall{}.run(t, b.ctl, args...) }
	b.waitStatus("db", `^(starting|run): db: \(pid \d+\)`, 10*time.Second)
	if _, errOut, code := sv("check", "db"); code != 1 || !strings.Contains(errOut, "db: not ready") {
		t.Errorf("sv check db before ready: exit %d, %q; want 1 and db: not ready", code, errOut)
	}
	if _, _, code := sv("check"); code != 1 {
		t.Errorf("sv check (all) before ready: exit %d, want 1", code)
	}
	if st := b.statusJSON("web"); st.Pid != 0 || st.State == "run" {
		t.Errorf("web started before db was ready: %+v", st)
	}
	waitDone := make(chan [3]any, 1)
	go func() {
		out, errOut, code := sv("wait", "-t", "5", "db")
		waitDone <- [3]any{out, errOut, code}
	}()
	// sv wait must be blocked while db is not ready: once svinit has its request...
	b.waitLog(`control: peer pid \d+ uid 0: wait \[db\]`, 5*time.Second)
	select {
	case r := <-waitDone:
		t.Fatalf("sv wait returned before db was ready: %v", r)
	default:
	}
	if _, err := os.Stat(filepath.Join(b.dir, "web.started")); err == nil {
		t.Fatalf("web ran before db was ready")
	}
	writeFile(t, filepath.Join(b.dir, "db.ready"), "", false)
	select {
	case r := <-waitDone:
		if r[2].(int) != 0 || r[0] != "" || r[1] != "" {
			t.Errorf("sv wait -t 5 db: %v; want a quiet exit 0", r)
		}
	case <-time.After(8 * time.Second):
		t.Fatal("sv wait -t 5 db did not return")
	}
	if _, errOut, code := sv("check", "db"); code != 0 {
		t.Errorf("sv check db after ready: exit %d, %q", code, errOut)
	}
	b.waitStatus("web", `^run: web: \(pid \d+\)`, 5*time.Second)

	b.waitLog(`service never: .*not ready after 300ms.*; stopping it`, 10*time.Second)
	b.waitLog(`service never .*restarting in`, 10*time.Second)
	if _, _, code := sv("wait", "-t", "0.5", "never"); code != 1 {
		t.Errorf("sv wait for a never-ready service: exit %d, want 1", code)
	}
}

func TestControlRefusesOtherUsers(t *testing.T) {
	t.Parallel()
	b := boot(t, spec{services: map[string]map[string]string{
		"x": {"manifest.yml": manifest(`command: [sleep, "100"]`)},
	}})
	b.waitStatus("x", `^run: x: `, 10*time.Second)
	nobody := svCall{cred: &syscall.Credential{Uid: 65534, Gid: 65534}}
	runAs := func(args ...string) (string, string, int) { return nobody.run(t, b.ctl, args...) }

	// As shipped: the socket's folder is 0700, so nobody cannot connect.
	openPath(t, b.dir)
	for _, args := range [][]string{{"stop", "x"}, {"status", "x"}} {
		_, errOut, code := runAs(args...)
		if code != 1 || !strings.Contains(errOut, "permission denied") || !strings.Contains(errOut, "only root and svinit's own user") {
			t.Errorf("sv %v as nobody: exit %d, %q; want 1 and permission denied", args, code, errOut)
		}
	}

	// With the folder and socket opened up, svinit itself decides (SO_PEERCRED).
	if err := os.Chmod(filepath.Dir(b.ctl), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(b.ctl, 0o666); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runAs("stop", "x")
	if code != 1 || !strings.Contains(errOut, "permission denied") || !strings.Contains(errOut, "need root") {
		t.Errorf("sv stop x as nobody: exit %d, %q; want 1 and permission denied: need root", code, errOut)
	}
	b.waitLog(`control: peer pid \d+ uid 65534: `, 5*time.Second)
	if st := b.statusJSON("x"); st.State != "run" {
		t.Errorf("x is %s after a refused stop", st.State)
	}
	out, errOut, code := runAs("status", "x")
	if code != 0 || !strings.HasPrefix(out, "run: x: (pid ") {
		t.Errorf("sv status x as nobody: exit %d, %q %q; want the status", code, out, errOut)
	}
	if _, _, code := runAs("check", "x"); code != 0 {
		t.Errorf("sv check x as nobody: exit %d, want 0", code)
	}
}

// openPath makes dir and its parents up to the temp root searchable by
// anyone (t.TempDir makes 0700 folders).
func openPath(t *testing.T, dir string) {
	t.Helper()
	for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}
