package cron

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"alpine-server/internal/builtin"
	"alpine-server/internal/jsoncodec"
	"alpine-server/internal/jsoncodec/jsontest"
)

func TestEveryMinute(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "# every minute\nPATH=/opt/bin\n* * * * * echo hi\n"}, nil)
	h.start()
	for i, mm := range []int{1, 2, 3} {
		h.at(12, mm, 0)
		h.waitSpawns(i + 1)
		h.exit(i, 0)
	}
	j := h.spawn.proc(0).job
	if j.User != "root" || j.Line != 3 || j.Command != "echo hi" || j.Spec != "* * * * *" || j.Shell != "/bin/sh" ||
		j.File != filepath.Join(h.dir, "root") {
		t.Errorf("job = %+v", j)
	}
	for _, kv := range []string{"PATH=/opt/bin", "SNAP=1", "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh"} {
		if !slices.Contains(j.Env, kv) {
			t.Errorf("env lacks %s: %q", kv, j.Env)
		}
	}
	if slices.Contains(j.Env, "HOME=/snapshot") || slices.Contains(j.Env, "PATH=/usr/bin:/bin") {
		t.Errorf("env kept a value that should be overridden: %q", j.Env)
	}
}

func TestMissedTimesRunOnce(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "* * * * * tick\n"}, nil)
	h.start()
	h.at(13, 0, 5) // an hour later at once: the host slept
	h.waitSpawns(1)
	h.exit(0, 0)
	if next := status(h.cron).Jobs[0].NextRun; next == nil || !next.Equal(time.Date(2024, 1, 15, 13, 1, 0, 0, time.UTC)) {
		t.Errorf("next run = %v, want 13:01", next)
	}
}

func TestOverlapSkipped(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "* * * * * sleep 100\n"}, nil)
	h.start()
	h.at(12, 1, 0)
	h.waitSpawns(1)
	h.at(12, 2, 0)
	h.waitLog(`warn: cron: skipped root:1 "sleep 100": still running (pid 100)`)
	if got := status(h.cron).Jobs[0].RunningPid; got != 100 {
		t.Errorf("running pid = %d, want 100", got)
	}
	h.exit(0, 3)
	if h.log.count("warn: cron: root:1 exited 3 (pid 100)") != 1 {
		t.Errorf("nonzero exit not warned:\n%s", h.log)
	}
	h.at(12, 3, 0)
	h.waitSpawns(2)
}

func TestTimeoutTermThenKill(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "0 12 * * * hang\n"}, func(c *Config) {
		c.JobTimeout = 90 * time.Second
	})
	h.spawn.stubborn = true
	h.clock.Set(time.Date(2024, 1, 15, 11, 59, 30, 0, time.UTC))
	h.start()
	h.at(12, 0, 0)
	h.waitSpawns(1)
	p := h.spawn.proc(0)
	h.at(12, 1, 30)
	h.waitLog("warn: cron: root:1 timed out after 1m30s (pid 100), sending TERM")
	if got := p.signals(); !slices.Equal(got, []syscall.Signal{syscall.SIGTERM}) {
		t.Fatalf("signals = %v, want [TERM]", got)
	}
	h.at(12, 1, 35) // DefaultKillGrace later
	h.waitLog("warn: cron: root:1 still running 5s after TERM (pid 100), sending KILL")
	h.waitLog("warn: cron: root:1 exited 137 (pid 100)")
	if got := p.signals(); !slices.Equal(got, []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}) {
		t.Errorf("signals = %v, want [TERM KILL]", got)
	}
}

func TestTimeoutTermEnough(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "0 12 * * * polite\n"}, func(c *Config) {
		c.JobTimeout = time.Minute
	})
	h.clock.Set(time.Date(2024, 1, 15, 11, 59, 30, 0, time.UTC))
	h.start()
	h.at(12, 0, 0)
	h.waitSpawns(1)
	h.at(12, 1, 0)
	h.waitLog("exited 143")
	h.at(12, 2, 0)
	if got := h.spawn.proc(0).signals(); !slices.Equal(got, []syscall.Signal{syscall.SIGTERM}) {
		t.Errorf("signals = %v, want [TERM] only", got)
	}
}

func TestReloadOnChange(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "* * * * * old\n"}, nil)
	h.start()
	h.write("root", "* * * * * new\n", t0) // a new mtime
	h.write("alice", "*/2 * * * * hers\n", t0)
	h.at(12, 1, 0)
	h.waitSpawns(1)
	h.exit(0, 0)
	h.at(12, 1, 30) // the rescan, a minute after start
	h.waitLog("info: cron: loaded 2 jobs from 2 crontabs in " + h.dir + " (crontabs changed)")
	h.at(12, 2, 0)
	h.waitSpawns(3)
	var cmds []string
	for i := range 2 {
		cmds = append(cmds, h.spawn.proc(i+1).job.User+":"+h.spawn.proc(i+1).job.Command)
	}
	slices.Sort(cmds)
	if want := []string{"alice:hers", "root:new"}; !slices.Equal(cmds, want) {
		t.Errorf("ran %v, want %v", cmds, want)
	}
	if h.log.count("crontabs changed") != 1 {
		t.Errorf("reloaded more than once:\n%s", h.log)
	}
}

func TestReloadOnHUPKeepsRunningJob(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "* * * * * long\n"}, nil)
	h.start()
	h.at(12, 1, 0)
	h.waitSpawns(1)
	h.write("root", "# a comment moves the line\n* * * * * long\n", t0)
	h.cron.Signal(syscall.SIGHUP)
	h.waitLog("loaded 1 jobs from 1 crontabs in " + h.dir + " (HUP)")
	h.cron.Signal(syscall.SIGUSR1) // ignored
	h.at(12, 2, 0)
	h.waitLog(`skipped root:2 "long": still running (pid 100)`)
	if h.spawn.count() != 1 {
		t.Errorf("the reloaded line started again while running")
	}
}

func TestBadLinesAndUnknownUser(t *testing.T) {
	h := newHarness(t, map[string]string{
		"root":    "* * * * * good\n61 * * * * bad\n*/5 * * * * good too\n",
		"mallory": "* * * * * nobody\n",
		".hidden": "* * * * * hidden\n",
		"root~":   "* * * * * backup\n",
	}, nil)
	h.start()
	root := filepath.Join(h.dir, "root")
	for _, want := range []string{
		"warn: cron: " + root + ":2: schedule \"61 * * * *\": end of range (61) above maximum (59)",
		"warn: cron: " + filepath.Join(h.dir, "mallory") + ": unknown user mallory, skipping the file",
		"info: cron: loaded 2 jobs from 1 crontabs",
	} {
		if h.log.count(want) != 1 {
			t.Errorf("log lacks %q:\n%s", want, h.log)
		}
	}
	got := status(h.cron).Jobs
	if len(got) != 2 || got[0].Line != 1 || got[1].Line != 3 {
		t.Errorf("jobs = %+v", got)
	}
}

func TestRebootOncePerBoot(t *testing.T) {
	boot := new(Boot)
	h := newHarness(t, map[string]string{"root": "@reboot echo boot\n"}, func(c *Config) { c.Boot = boot })
	h.start()
	h.waitSpawns(1)
	h.exit(0, 0)
	h.cron.Signal(syscall.SIGHUP)
	h.waitLog("(HUP)")
	h.stop()
	h.start() // the service restarted: same Cron, same boot
	h.stop()

	again, err := New(Config{Dir: h.dir, Spawn: h.spawn.spawn, Clock: h.clock, Boot: boot,
		LookupUser: lookupUsers(map[string]string{"root": "/root"})})
	if err != nil {
		t.Fatal(err)
	}
	h.cron = again // reconfigured: a new Cron, still the same boot
	h.start()
	h.at(13, 0, 0)
	h.stop()
	if n := h.spawn.count(); n != 1 {
		t.Fatalf("@reboot ran %d times, want once", n)
	}
	if s := status(again).Jobs[0]; s.Schedule != "@reboot" || s.NextRun != nil {
		t.Errorf("status = %+v", s)
	}
}

func TestSpawnErrorReported(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "* * * * * x\n"}, nil)
	h.spawn.fail = errors.New("fork: resource temporarily unavailable")
	h.start()
	h.at(12, 1, 0)
	h.waitLog(`warn: cron: root:1: start "x": fork: resource temporarily unavailable`)
	if s := status(h.cron).Jobs[0]; s.LastError == "" || s.LastRun == nil {
		t.Errorf("status = %+v", s)
	}
}

func TestStopTermsRunningJobs(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "* * * * * long\n"}, nil)
	h.start()
	h.at(12, 1, 0)
	h.waitSpawns(1)
	h.stop()
	if got := h.spawn.proc(0).signals(); !slices.Equal(got, []syscall.Signal{syscall.SIGTERM}) {
		t.Errorf("signals = %v, want [TERM]", got)
	}
}

func TestStopKillsStubbornJobs(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "* * * * * stubborn\n"}, nil)
	h.spawn.stubborn = true
	h.start()
	h.at(12, 1, 0)
	h.waitSpawns(1)
	h.cancel()
	h.cancel = nil
	waitFor(t, func() string { return "TERM" }, func() bool { return len(h.spawn.proc(0).signals()) == 1 })
	h.at(12, 1, 5)
	if err := <-h.done; err != nil {
		t.Fatal(err)
	}
	if got := h.spawn.proc(0).signals(); !slices.Equal(got, []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL}) {
		t.Errorf("signals = %v, want [TERM KILL]", got)
	}
}

func TestClockStepsBack(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "* * * * * tick\n"}, nil)
	h.start()
	h.at(12, 1, 0)
	h.waitSpawns(1)
	h.exit(0, 0)
	// Jump wakes the waiters there are: wait until the loop waits for its
	// next minute, or the jump could come first and wake nobody.
	ran := time.Date(2024, 1, 15, 12, 1, 0, 0, time.UTC)
	waitFor(t, func() string { return "cron to wait for its next time" }, func() bool {
		at, ok := h.clock.Next()
		return ok && at.After(ran)
	})
	// The timer runs out (Go timers are monotonic) while the wall clock went back.
	h.clock.Jump(time.Date(2024, 1, 15, 11, 0, 0, 0, time.UTC))
	h.waitLog("clock went back")
	h.at(11, 1, 0)
	h.waitSpawns(2)
}

func TestStatusJSON(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "*/15 * * * * report\n"}, nil)
	h.start()
	h.at(12, 15, 0)
	h.waitSpawns(1)
	h.exit(0, 2)
	b, err := json.Marshal(h.cron.Status())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"dir":"` + h.dir + `","jobs":[{"user":"root","file":"` + filepath.Join(h.dir, "root") +
		`","line":1,"schedule":"*/15 * * * *","command":"report","last_run":"2024-01-15T12:15:00Z",` +
		`"last_exit":2,"last_duration":0,"id":"fef6e4fa","runs":1,"failures":1,"next_run":"2024-01-15T12:30:00Z"}]}`
	if string(b) != want {
		t.Errorf("status\n got %s\nwant %s", b, want)
	}
	if got := jsoncodec.Encode(h.cron.Status()); string(got) != want {
		t.Errorf("status by hand\n got %s\nwant %s", got, want)
	}
}

// TestStatusAppendJSONCoversEveryField: the hand encoding of cron's status
// is encoding/json's, with every field set and with none.
func TestStatusAppendJSONCoversEveryField(t *testing.T) {
	jsontest.Same(t, StatusReport{})
	jsontest.Same(t, StatusReport{Dir: "d", Jobs: []JobStatus{{}}})
}

func TestReadyWithoutCrontabs(t *testing.T) {
	h := newHarness(t, nil, func(c *Config) { c.Dir = filepath.Join(c.Dir, "missing") })
	h.start()
	h.waitLog("loaded 0 jobs from 0 crontabs")
}

func TestNewValidates(t *testing.T) {
	spawn := (&fakeSpawner{}).spawn
	users := lookupUsers(nil)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"no spawn", Config{LookupUser: users}, "Spawn is required"},
		{"no lookup", Config{Spawn: spawn}, "LookupUser is required"},
		{"negative timeout", Config{Spawn: spawn, LookupUser: users, JobTimeout: -1}, "negative"},
	} {
		if _, err := New(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestApplyEnv(t *testing.T) {
	var cfg Config
	err := ApplyEnv(&cfg, map[string]string{"CRONTABS_DIR": "/x", "CRON_JOB_TIMEOUT": "300", "TZ": "UTC"})
	if err != nil || cfg.Dir != "/x" || cfg.JobTimeout != 5*time.Minute || cfg.Location != time.UTC {
		t.Errorf("cfg = %+v, err = %v", cfg, err)
	}
	for in, want := range map[string]time.Duration{"0": 0, "90s": 90 * time.Second, " 1h ": time.Hour} {
		if got, err := ParseJobTimeout(in); err != nil || got != want {
			t.Errorf("ParseJobTimeout(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"-5s", "soon", "-1"} {
		if _, err := ParseJobTimeout(bad); err == nil || !strings.Contains(err.Error(), "CRON_JOB_TIMEOUT") {
			t.Errorf("ParseJobTimeout(%q) err = %v", bad, err)
		}
	}
}

func TestScanDirSkips(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"root", "alice", ".root.swp", "root.swp", "root~", "root.apk-new"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "bob"), 0o700); err != nil {
		t.Fatal(err)
	}
	// ConfigMap-style: the crontab is a symlink to a regular file.
	if err := os.Symlink("alice", filepath.Join(dir, "carol")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("nowhere", filepath.Join(dir, "dave")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "erin"), 0o600); err != nil {
		t.Fatal(err)
	}
	files, skipped, bad, err := scanDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n, sig := range files {
		if sig.size != notRegular {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if want := []string{"alice", "carol", "root"}; !slices.Equal(names, want) {
		t.Errorf("crontabs = %v, want %v", names, want)
	}
	if len(skipped) != 4 {
		t.Errorf("skipped = %q, want 4", skipped)
	}
	// A crontab that is not a regular file is an error naming it (SPEC §4).
	var got []string
	for _, err := range bad {
		got = append(got, strings.TrimPrefix(err.Error(), dir+"/"))
	}
	want := []string{"bob: not a regular file (a folder), skipping it", "dave: dangling symlink to nowhere, skipping it", "erin: not a regular file (a FIFO), skipping it"}
	if !slices.Equal(got, want) {
		t.Errorf("bad = %q\nwant %q", got, want)
	}
}

// TestCheckRefusesAFIFOPromptly: `svinit check` never blocks on a FIFO
// named like a crontab, and neither on a FIFO given as CRONTABS_DIR.
func TestCheckRefusesAFIFOPromptly(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(dir, "root"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ dir, want string }{
		{dir, filepath.Join(dir, "root") + ": not a regular file (a FIFO), skipping it"},
		{filepath.Join(dir, "root"), "crontabs folder " + filepath.Join(dir, "root") + ": not a folder (a FIFO)"},
	} {
		done := make(chan []error, 1)
		go func() { done <- Check(tt.dir, time.UTC, lookupUsers(map[string]string{"root": "/root"})) }()
		select {
		case errs := <-done:
			if len(errs) != 1 || errs[0].Error() != tt.want {
				t.Errorf("Check(%s) = %q, want %q", tt.dir, errs, tt.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Check(%s) blocked", tt.dir)
		}
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "root"), []byte("* * * * * ok\nbogus\n@every 5m x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ghost"), []byte("* * * * * ok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errs := Check(dir, time.UTC, lookupUsers(map[string]string{"root": "/root"}))
	var got []string
	for _, err := range errs {
		got = append(got, strings.TrimPrefix(err.Error(), dir+"/"))
	}
	want := []string{
		"ghost: unknown user ghost, skipping the file: no such user",
		`root:2: not a job or NAME=value line: "bogus"`,
		`root:3: unknown schedule "@every" (want @reboot, @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or 5 fields)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("Check =\n%q\nwant\n%q", got, want)
	}
}

func status(c *Cron) StatusReport { return c.Status().(StatusReport) }

// panicProc panics when its watcher asks for its exit.
type panicProc struct{ fakeProc }

func (p *panicProc) Done() <-chan int { panic("boom in a job watcher") }

func TestPanicInAWatcherEndsRunWithPanicError(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "* * * * * x\n"}, func(c *Config) {
		c.Spawn = func(Job) (Process, error) { return &panicProc{}, nil }
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done, ready := make(chan error, 1), make(chan struct{})
	go func() { done <- h.cron.Run(ctx, func() { close(ready) }) }()
	<-ready
	h.at(12, 1, 0)
	select {
	case err := <-done:
		var p *builtin.PanicError
		if !errors.As(err, &p) || p.Value != "boom in a job watcher" || len(p.Stack) == 0 {
			t.Fatalf("Run returned %v, want a *builtin.PanicError with its stack", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run went on after a watcher panicked")
	}
}

// TestRescanWarnsAboutANewFIFO: a crontab that turns up as a FIFO (or any
// other file that is not regular) is warned about at the next rescan,
// naming it, and never opened.
func TestRescanWarnsAboutANewFIFO(t *testing.T) {
	h := newHarness(t, map[string]string{"root": "* * * * * x\n"}, nil)
	h.start()
	if err := syscall.Mkfifo(filepath.Join(h.dir, "alice"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.at(12, 1, 30) // the rescan, a minute after start
	h.waitLog("warn: cron: " + filepath.Join(h.dir, "alice") + ": not a regular file (a FIFO), skipping it")
	h.waitLog("(crontabs changed)")
}
