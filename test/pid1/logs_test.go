package pid1

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestStuckStdoutDoesNotStopSupervision(t *testing.T) {
	t.Parallel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	// Registered before boot, so it runs after svinit is gone.
	t.Cleanup(func() { r.Close() })
	b := boot(t, spec{
		stdout: w, // a pipe nobody reads until later
		services: map[string]map[string]string{
			"chatty": {"manifest.yml": manifest(`command: [sh, -c, "while :; do seq 100000; sleep 0.01; done"]`)},
			"other":  {"manifest.yml": manifest(`command: [sleep, "100"]`)},
		},
	})
	w.Close() // svinit has its own copy
	// svinit's own info lines go to the stuck stdout: ask sv, not the log.
	pid := pidIn(t, b.waitStatus("other", `^run: other: \(pid \d+\)`, 10*time.Second))
	waitFor(t, 20*time.Second, "the stdout pipe to be full", func() bool { return pipeFull(r) })

	// Keep stdout stuck past svinit's stall timeout (2s), when lines start
	// to be dropped; supervision must go on all along.
	stuck := time.Now()
	var slowest time.Duration
	for i := 0; time.Since(stuck) < 3*time.Second || i < 3; i++ {
		start := time.Now()
		out, errOut, code := svCall{}.run(t, b.ctl, "-w", "5", "restart", "other")
		if code != 0 || !strings.HasPrefix(out, "ok: run: other: (pid ") {
			t.Fatalf("sv restart other with a stuck stdout: exit %d %q %q", code, out, errOut)
		}
		if n := pidIn(t, out); n == pid {
			t.Fatalf("restart kept pid %d", n)
		} else {
			pid = n
		}
		slowest = max(slowest, time.Since(start))
	}
	t.Logf("slowest sv -w 5 restart with stdout stuck: %v", slowest)
	if st := b.statusJSON("chatty"); st.State != "run" {
		t.Errorf("chatty is %s", st.State)
	}
	if !pipeFull(r) {
		t.Fatalf("stdout was not stuck all along")
	}

	go func() { _, _ = io.Copy(io.Discard, r) }()
	line := b.waitLog(`warn: dropped \d+ log lines`, 20*time.Second)
	t.Logf("after draining: %s", line)
}

// pipeFull says whether the pipe's 64 KiB buffer is half full: with a
// chatty service and no reader, it is full a moment later (how full "full"
// is varies with how writes share pages).
func pipeFull(r *os.File) bool {
	rc, err := r.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	_ = rc.Control(func(fd uintptr) { n, err = unix.IoctlGetInt(int(fd), unix.TIOCINQ) })
	return err == nil && n >= 32<<10
}

func TestJSONLogFormat(t *testing.T) {
	t.Parallel()
	stdout, stderr := &lines{}, &lines{}
	b := boot(t, spec{
		env:    []string{"SVINIT_LOG_FORMAT=json"},
		stdout: stdout, stderr: stderr,
		services: map[string]map[string]string{
			"hello": {"manifest.yml": manifest("oneshot: true", `command: [sh, -c, "echo 'hello \"out\"'; echo hello err >&2"]`)},
		},
	})
	waitFor(t, 10*time.Second, "the oneshot to finish", func() bool { return stdout.index(`service hello done`) >= 0 })
	b.signal(syscall.SIGTERM)
	b.wait(20 * time.Second)
	type entry struct {
		Time    string `json:"time"`
		Service string `json:"service"`
		Stream  string `json:"stream"`
		Msg     string `json:"msg"`
	}
	seen := map[entry]bool{}
	for name, l := range map[string]*lines{"stdout": stdout, "stderr": stderr} {
		for _, line := range strings.Split(strings.TrimSuffix(l.String(), "\n"), "\n") {
			var e entry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Errorf("%s line is not JSON (%v): %q", name, err, line)
				continue
			}
			if _, err := time.Parse(time.RFC3339Nano, e.Time); err != nil || e.Service == "" {
				t.Errorf("%s line lacks time or service: %q", name, line)
			}
			if e.Stream != name {
				t.Errorf("line with stream %q on %s: %q", e.Stream, name, line)
			}
			seen[entry{Service: e.Service, Stream: e.Stream, Msg: e.Msg}] = true
		}
	}
	for _, want := range []entry{
		{Service: "hello", Stream: "stdout", Msg: `hello "out"`},
		{Service: "hello", Stream: "stderr", Msg: "hello err"},
	} {
		if !seen[want] {
			t.Errorf("no JSON line %+v in\n%s\n%s", want, stdout.String(), stderr.String())
		}
	}
	if stdout.index(`"service":"svinit"`) < 0 {
		t.Errorf("svinit's own messages are not JSON lines")
	}
}

func TestPerServiceLogModesAndPrefixPadding(t *testing.T) {
	t.Parallel()
	stdout, stderr := &lines{}, &lines{}
	oneshot := func(log, cmd string) map[string]string {
		m := manifest("oneshot: true", "command: [sh, -c, '"+cmd+"']")
		if log != "" {
			m += "log: " + log + "\n"
		}
		return map[string]string{"manifest.yml": m}
	}
	b := boot(t, spec{
		stdout: stdout, stderr: stderr,
		services: map[string]map[string]string{
			"a":          oneshot("", "echo from-a; echo a-err >&2"),
			"longername": oneshot("", "echo from-long"),
			"plainsvc":   oneshot("plain", "echo plain-line; echo plain-err >&2"),
			"disc":       oneshot("discard", "echo discarded-line; echo discarded-err >&2"),
			// inherit: the child's fd 1 is svinit's own fd 1, not a pipe to svinit.
			"inh": {"manifest.yml": manifest("oneshot: true", "log: inherit"),
				"run": "#!/bin/sh\ntest \"$(readlink /proc/$$/fd/1)\" = \"$(readlink /proc/1/fd/1)\" && echo inherited-ok\n"},
		},
	})
	for _, n := range []string{"a", "longername", "plainsvc", "inh"} {
		waitFor(t, 10*time.Second, n+" to finish", func() bool { return stdout.index(`service `+n+` done`) >= 0 })
	}
	waitFor(t, 10*time.Second, "disc to finish", func() bool { return b.statusJSON("disc").LastExit != nil })
	discExit := b.statusJSON("disc").LastExit.Code
	b.signal(syscall.SIGTERM)
	b.wait(20 * time.Second)
	out, errs := "\n"+stdout.String(), "\n"+stderr.String()
	for _, want := range []string{
		"\na          | from-a\n", // padded to "longername"
		"\nlongername | from-long\n",
		"\nplain-line\n",
		"\ninherited-ok\n",
		"\nsvinit     | info: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	for _, want := range []string{"\na          | a-err\n", "\nplain-err\n"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(out, "a-err") || strings.Contains(errs, "from-a") {
		t.Errorf("stdout and stderr of a service are mixed up")
	}
	if strings.Contains(out+errs, "discarded") {
		t.Errorf("log: discard printed its lines")
	}
	// A discarded line is still written successfully: the service must not see an error.
	if discExit != 0 {
		t.Errorf("a service with log: discard exited %d: its writes must succeed", discExit)
	}
}
