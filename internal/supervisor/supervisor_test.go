package supervisor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"alpine-server/internal/builtin"
	"alpine-server/internal/clock"
	"alpine-server/internal/jsoncodec"
	"alpine-server/internal/logmux"
	"alpine-server/internal/manifest"
	"alpine-server/internal/plan"
	"alpine-server/internal/reaper"
)

// fake is a built-in driven by the test: it panics, fails or becomes ready
// on command, and records its life in a shared journal.
type fake struct {
	name    string
	journal *journal
	mode    string // "ready", "panic", "fail", "wait" (ready when gate closes)
	gate    chan struct{}
}

func (f *fake) Run(ctx context.Context, ready func()) error {
	f.journal.add("run " + f.name)
	switch f.mode {
	case "panic":
		panic("boom in " + f.name)
	case "fail":
		return errors.New("cannot bind")
	case "eacces":
		return &os.PathError{Op: "listen", Path: "/dev/log", Err: syscall.EACCES}
	case "wait":
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil
		}
	}
	ready()
	<-ctx.Done()
	f.journal.add("stop " + f.name)
	return nil
}

func (f *fake) Signal(sig syscall.Signal) { f.journal.add("signal " + f.name + " " + sig.String()) }
func (f *fake) Status() jsoncodec.Value   { return fakeStatus(f.name) }

// fakeStatus is a built-in's status: {"fake":NAME}.
type fakeStatus string

func (s fakeStatus) AppendJSON(w *jsoncodec.Writer) {
	w.Open()
	w.String("fake", string(s), jsoncodec.Always)
	w.Close()
}

type journal struct {
	mu      sync.Mutex
	entries []string
}

func (j *journal) add(e string) {
	j.mu.Lock()
	j.entries = append(j.entries, e)
	j.mu.Unlock()
}

func (j *journal) list() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.entries...)
}

func (j *journal) count(e string) int {
	n := 0
	for _, x := range j.list() {
		if x == e {
			n++
		}
	}
	return n
}

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type harness struct {
	t       *testing.T
	sup     *Supervisor
	journal *journal
	out     *lockedBuf
	modesMu sync.Mutex
	modes   map[string]string
	gates   map[string]chan struct{}
	failed  chan int
}

// newHarness builds a supervisor over built-in services described by
// manifest bodies (name → extra manifest lines); modes picks each fake's
// behaviour.
func newHarness(t *testing.T, services map[string]string, modes map[string]string) *harness {
	return newHarnessAs(t, services, modes, false)
}

// setMode changes how the next runs of a fake behave.
func (h *harness) setMode(name, mode string) {
	h.modesMu.Lock()
	h.modes[name] = mode
	h.modesMu.Unlock()
}

func (h *harness) mode(name string) string {
	h.modesMu.Lock()
	defer h.modesMu.Unlock()
	return h.modes[name]
}

// waitLog polls the log until it contains want.
func (h *harness) waitLog(want string) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(h.out.String(), want) {
		if time.Now().After(deadline) {
			h.t.Fatalf("log lacks %q:\n%s", want, h.out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newHarnessAs is newHarness with svinit running as root or not.
func newHarnessAs(t *testing.T, services map[string]string, modes map[string]string, rootless bool) *harness {
	t.Helper()
	return newHarnessWith(t, harnessOpts{services: services, modes: modes, rootless: rootless,
		head: "command: [builtin, syslog]\n"})
}

// harnessOpts: manifest bodies after a common head, fake modes, and
// optionally a fake clock and fake processes.
type harnessOpts struct {
	services map[string]string
	head     string
	modes    map[string]string
	rootless bool
	clock    *clock.Fake
	sys      *fakeSys
	environ  func() []string // the snapshot; nil = empty
}

func newHarnessWith(t *testing.T, o harnessOpts) *harness {
	t.Helper()
	services, modes := o.services, o.modes
	dir := t.TempDir()
	set := &manifest.Set{Dir: dir, Services: map[string]*manifest.Service{}}
	for name, body := range services {
		file := filepath.Join(dir, name, "manifest.yml")
		os.MkdirAll(filepath.Dir(file), 0o755)
		text := "enabled: true\nauto_start: true\n" + o.head + body
		os.WriteFile(file, []byte(text), 0o644)
		svc, err := manifest.Parse(file, []byte(text), func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatalf("manifest %s: %v", name, err)
		}
		set.Services[name] = svc
	}
	p, err := plan.Build(set)
	if err != nil {
		t.Fatal(err)
	}
	if modes == nil {
		modes = map[string]string{}
	}
	h := &harness{t: t, journal: &journal{}, out: &lockedBuf{}, modes: modes,
		gates: map[string]chan struct{}{}, failed: make(chan int, 1)}
	for n := range services {
		h.gates[n] = make(chan struct{})
	}
	mux := logmux.New(logmux.Options{Stdout: h.out, Stderr: h.out})
	t.Cleanup(func() { mux.Close(time.Now().Add(time.Second)) })
	notifyDir := t.TempDir()
	environ := o.environ
	if environ == nil {
		environ = func() []string { return nil }
	}
	var c clock.Clock
	if o.clock != nil {
		c = o.clock
	}
	h.sup = New(Config{
		Clock: c, Reaper: reaper.New(nil), Mux: mux, Log: mux.Logger("svinit", logmux.Debug, logmux.Prefix), Format: logmux.Prefix,
		Environ: environ,
		Builtins: func(_ string, d builtin.Deps) (builtin.Service, error) {
			return &fake{name: d.Name, journal: h.journal, mode: h.mode(d.Name), gate: h.gates[d.Name]}, nil
		},
		EssentialFailed: func(name string, code int) { h.failed <- code },
		NotifyDir:       func() (string, error) { return notifyDir, nil },
	})
	h.sup.rootless = o.rootless
	if o.sys != nil {
		h.sup.sys = o.sys
	}
	if err := h.sup.Start(p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.sup.Shutdown(time.Now().Add(5 * time.Second)) })
	return h
}

func (h *harness) waitState(name string, want State, ready bool) Status {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ch := h.sup.changed()
		st, _ := h.sup.Status([]string{name})
		if len(st) == 1 && st[0].State == want && st[0].Ready == ready {
			return st[0]
		}
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
			h.t.Fatalf("%s: want %s (ready %v), have %+v\nlog:\n%s", name, want, ready, st, h.out.String())
		}
	}
}

func (h *harness) do(verb Verb, names ...string) []Result {
	return h.sup.Do(context.Background(), Request{Verb: verb, Names: names, Wait: 5 * time.Second})
}

func (h *harness) signal(sig syscall.Signal, names ...string) []Result {
	return h.sup.Do(context.Background(), Request{Verb: VerbSignal, Signal: sig, Names: names})
}

func TestPanickingBuiltinIsRecoveredAndRestarted(t *testing.T) {
	h := newHarness(t, map[string]string{"crashy": ""}, map[string]string{"crashy": "panic"})
	deadline := time.Now().Add(10 * time.Second)
	for h.journal.count("run crashy") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the panicking built-in was not restarted: %v\n%s", h.journal.list(), h.out.String())
		}
		<-h.sup.changed()
	}
	log := h.out.String()
	for _, want := range []string{"service crashy panicked: boom in crashy", "goroutine ", "service crashy exited 2, restarting in 100ms"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	// The fix: the built-in stops panicking; sv start brings it up for good.
	h.setMode("crashy", "")
	st := h.waitState("crashy", Running, true)
	if st.Restarts < 2 || !st.Builtin {
		t.Errorf("status %+v: want restarts ≥ 2 and builtin", st)
	}
}

func TestBuiltinStopStartSignalAndDetail(t *testing.T) {
	h := newHarness(t, map[string]string{"syslog": ""}, nil)
	h.waitState("syslog", Running, true)
	if r := h.signal(syscall.SIGHUP, "syslog"); r[0].Err != nil {
		t.Errorf("hup: %+v", r)
	}
	if h.journal.count("signal syslog hangup") != 1 {
		t.Errorf("HUP did not reach the built-in: %v", h.journal.list())
	}
	st, _ := h.sup.Status([]string{"syslog"})
	if got := string(st[0].Detail); got != `{"fake":"syslog"}` {
		t.Errorf("built-in detail in status %s, want {\"fake\":\"syslog\"}", got)
	}
	if r := h.do(VerbStop, "syslog"); r[0].Err != nil {
		t.Fatalf("stop: %+v", r)
	}
	h.waitState("syslog", Down, false)
	if r := h.signal(syscall.SIGHUP, "syslog"); r[0].Err == nil || r[0].Err.Error() != "not running" {
		t.Errorf("hup of a stopped service: %+v", r)
	}
	if r := h.do(VerbStart, "syslog"); r[0].Err != nil {
		t.Fatalf("start: %+v", r)
	}
	h.waitState("syslog", Running, true)
	if r := h.do(VerbStart, "nope"); r[0].Err != ErrUnknownService {
		t.Errorf("unknown service: %+v", r)
	}
}

func TestDependentWaitsForReadinessAndStopsFirst(t *testing.T) {
	h := newHarness(t, map[string]string{"db": "", "web": "depends_on: [db]\n"},
		map[string]string{"db": "wait"})
	h.waitState("db", Starting, false)
	if n := h.journal.count("run web"); n != 0 {
		t.Fatalf("web started before db was ready")
	}
	if r := h.sup.Do(context.Background(), Request{Verb: VerbCheck}); r[0].Err == nil || r[1].Err == nil {
		t.Errorf("check before ready: %+v", r)
	}
	close(h.gates["db"])
	h.waitState("web", Running, true)
	if r := h.sup.Do(context.Background(), Request{Verb: VerbCheck}); r[0].Err != nil || r[1].Err != nil {
		t.Errorf("check after ready: %+v", r)
	}
	h.sup.Shutdown(time.Now().Add(5 * time.Second))
	j := strings.Join(h.journal.list(), ",")
	if !strings.Contains(j, "stop web,stop db") {
		t.Errorf("want web stopped before db, journal: %s", j)
	}
}

func TestEssentialBuiltinFailureStopsTheContainer(t *testing.T) {
	h := newHarness(t, map[string]string{"core": "essential: true\nrestart: never\n"},
		map[string]string{"core": "fail"})
	select {
	case code := <-h.failed:
		if code != 1 {
			t.Errorf("essential failure code %d, want 1", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("EssentialFailed not called\n%s", h.out.String())
	}
}

func TestRestartWaitsForANewStart(t *testing.T) {
	h := newHarness(t, map[string]string{"svc": ""}, nil)
	h.waitState("svc", Running, true)
	if r := h.do(VerbRestart, "svc"); r[0].Err != nil {
		t.Fatalf("restart: %+v\n%s", r, h.out.String())
	}
	if n := h.journal.count("run svc"); n != 2 {
		t.Errorf("runs after restart -w: %d, want 2", n)
	}
	if r := h.do(VerbOnce, "svc"); r[0].Err != nil {
		t.Errorf("once: %+v", r)
	}
}

func TestPermissionFailureSkipsServiceAndDependentsWhenRootless(t *testing.T) {
	// As under docker run --user 1000: syslog cannot bind /dev/log.
	h := newHarnessAs(t, map[string]string{"syslog": "", "ssh": "depends_on: [syslog]\n"},
		map[string]string{"syslog": "eacces"}, true)
	h.waitLog("service ssh skipped: it depends on syslog, which was skipped")
	h.waitLog("service syslog skipped: listen /dev/log: permission denied")
	if n := h.journal.count("run syslog"); n != 1 {
		t.Errorf("syslog ran %d times: a skipped service must not crash-loop", n)
	}
	if n := h.journal.count("run ssh"); n != 0 {
		t.Errorf("ssh ran although its dependency was skipped")
	}
}
