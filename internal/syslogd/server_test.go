package syslogd

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"alpine-server/internal/builtin"
	"alpine-server/internal/jsoncodec/jsontest"
	"alpine-server/internal/logmux"
)

const waitLimit = 10 * time.Second

// lineWriter is a stdout that records lines and wakes waiters on each write.
type lineWriter struct {
	mu      sync.Mutex
	buf     []byte
	changed chan struct{}
}

func newLineWriter() *lineWriter { return &lineWriter{changed: make(chan struct{})} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

func (w *lineWriter) snapshot() ([]string, chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := strings.TrimSuffix(string(w.buf), "\n")
	if s == "" {
		return nil, w.changed
	}
	return strings.Split(s, "\n"), w.changed
}

// waitLines waits until at least n lines were written and returns them.
func (w *lineWriter) waitLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		lines, changed := w.snapshot()
		if len(lines) >= n {
			return lines
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("got %d lines, want %d: %q", len(lines), n, lines)
		}
	}
}

// poll waits until cond holds, failing the test after waitLimit.
func poll(t *testing.T, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(waitLimit)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("condition not met in time")
		}
	}
}

// blockWriter is a stdout nobody reads: every Write blocks until release.
type blockWriter struct{ release chan struct{} }

func (w blockWriter) Write(p []byte) (int, error) {
	<-w.release
	return len(p), nil
}

// recLogger records svinit's messages about the server.
type recLogger struct {
	mu    sync.Mutex
	lines []string
}

func (l *recLogger) Debugf(format string, a ...any) { l.add("debug: "+format, a) }
func (l *recLogger) Warnf(format string, a ...any)  { l.add("warn: "+format, a) }
func (l *recLogger) add(format string, a []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, a...))
}

// run starts srv and returns once it is ready; stop cancels it and
// returns Run's error.
func run(t *testing.T, srv *Server) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Run before ready: %v", err)
	case <-time.After(waitLimit):
		t.Fatal("server never became ready")
	}
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(waitLimit):
				err = fmt.Errorf("Run did not return %v after cancel", waitLimit)
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// newMux returns a mux writing stdout to w, closed when the test ends.
func newMux(t *testing.T, o logmux.Options) *logmux.Mux {
	if o.Stderr == nil {
		o.Stderr = newLineWriter() // the mux's drop reports
	}
	m := logmux.New(o)
	t.Cleanup(func() { m.Close(time.Now().Add(time.Second)) })
	return m
}

// startServer runs a server on a fresh socket with a real mux writing to
// a lineWriter, in format f.
func startServer(t *testing.T, f logmux.Format) (sock string, srv *Server, out *lineWriter) {
	t.Helper()
	sock = filepath.Join(t.TempDir(), "log")
	out = newLineWriter()
	srv, err := New(Config{Socket: sock, Sink: newMux(t, logmux.Options{Stdout: out}), Format: f})
	if err != nil {
		t.Fatal(err)
	}
	run(t, srv)
	return sock, srv, out
}

func dial(t *testing.T, sock string) *net.UnixConn {
	t.Helper()
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func send(t *testing.T, c *net.UnixConn, msgs ...string) {
	t.Helper()
	for _, m := range msgs {
		if _, err := c.Write([]byte(m)); err != nil {
			t.Fatalf("send %.40q: %v", m, err)
		}
	}
}

func needLogger(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("logger"); err != nil {
		t.Skip("util-linux logger not installed")
	}
}

func TestServerRealLogger(t *testing.T) {
	needLogger(t)
	sock, _, out := startServer(t, logmux.Prefix)
	cmd := exec.Command("logger", "-u", sock, "-d", "-i", "-t", "myapp", "-p", "daemon.warning", "hello\nsvinit | info: forged")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("logger: %v: %s", err, b)
	}
	want := fmt.Sprintf(`syslog | daemon.warning myapp[%d]: hello\nsvinit | info: forged`, cmd.Process.Pid)
	if lines := out.waitLines(t, 1); len(lines) != 1 || lines[0] != want {
		t.Errorf("lines = %q, want [%q]", lines, want)
	}
}

func TestServerJSON(t *testing.T) {
	needLogger(t)
	sock, _, out := startServer(t, logmux.JSON)
	if b, err := exec.Command("logger", "-u", sock, "-d", "--rfc5424", "--msgid", "ID7", "-t", "app5", "json msg").CombinedOutput(); err != nil {
		t.Fatalf("logger: %v: %s", err, b)
	}
	var got map[string]string
	if err := json.Unmarshal([]byte(out.waitLines(t, 1)[0]), &got); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"service": "syslog", "stream": "stdout", "msg": "json msg", "facility": "user",
		"severity": "notice", "tag": "app5", "msgid": "ID7", "syntax": "rfc5424"} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q (in %v)", k, got[k], v, got)
		}
	}
	if got["hostname"] == "" || got["timestamp"] == "" {
		t.Errorf("hostname or timestamp missing in %v", got)
	}
}

// TestServerBurst sends 10,000 datagrams as fast as possible: with stdout
// being read, every one arrives, in order.
func TestServerBurst(t *testing.T) {
	const n = 10000
	sock, srv, out := startServer(t, logmux.Plain)
	c := dial(t, sock)
	sent := make(chan error, 1)
	go func() {
		for i := range n {
			if _, err := c.Write([]byte("<14>burst: " + strconv.Itoa(i))); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	lines := out.waitLines(t, n)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	for i, l := range lines {
		if want := "user.info burst: " + strconv.Itoa(i); l != want {
			t.Fatalf("line %d = %q, want %q", i, l, want)
		}
	}
	if st := srv.Status().(Stats); st.Received != n || st.Dropped != 0 || st.ParseFailures != 0 {
		t.Errorf("status = %+v, want %d received, none dropped", st, n)
	}
}

// TestServerStalledStdout: when nobody reads stdout, the mux drops (and
// counts) instead of the sender blocking for ever.
func TestServerStalledStdout(t *testing.T) {
	const n = 2000
	stuck := blockWriter{release: make(chan struct{})}
	mux := newMux(t, logmux.Options{Stdout: stuck, MaxBytes: 4096, StallTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { close(stuck.release) }) // runs before the mux is closed
	srv, err := New(Config{Socket: filepath.Join(t.TempDir(), "log"), Sink: mux, Format: logmux.Prefix})
	if err != nil {
		t.Fatal(err)
	}
	run(t, srv)
	c := dial(t, srv.cfg.Socket)
	if err := c.SetWriteDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if _, err := c.Write([]byte("<13>stall: message " + strconv.Itoa(i))); err != nil {
			t.Fatalf("sender blocked at message %d: %v", i, err)
		}
	}
	poll(t, func() bool { return srv.Status().(Stats).Received == n })
	st := srv.Status().(Stats)
	if st.Dropped == 0 || mux.Dropped() < st.Dropped {
		t.Errorf("dropped: server %d, mux %d; want both > 0", st.Dropped, mux.Dropped())
	}
}

func TestServerOversizedGarbageEmpty(t *testing.T) {
	sock, srv, out := startServer(t, logmux.Plain)
	c := dial(t, sock)
	if err := c.SetWriteBuffer(1 << 20); err != nil {
		t.Fatal(err)
	}
	big := "<13>big: " + strings.Repeat("x", 70000)
	send(t, c, "", "\n\x00", big, "\xff\x00garbage\n", "<13>t: marker")
	lines := out.waitLines(t, 3)
	wantBig := ("user.notice big: " + strings.Repeat("x", maxMessage))[:maxLine-len(truncatedMark)] + truncatedMark
	if lines[0] != wantBig {
		t.Errorf("oversized line: %d bytes ending %q, want %d bytes", len(lines[0]), lines[0][len(lines[0])-20:], len(wantBig))
	}
	if want := `user.notice \xff\x00garbage`; lines[1] != want {
		t.Errorf("garbage line = %q, want %q", lines[1], want)
	}
	if want := "user.notice t: marker"; lines[2] != want {
		t.Errorf("last line = %q, want %q", lines[2], want)
	}
	want := Stats{Received: 5, ParseFailures: 1, Truncated: 1}
	if st := srv.Status().(Stats); st != want {
		t.Errorf("status = %+v, want %+v", st, want)
	}
}

func TestServerStream(t *testing.T) {
	needLogger(t)
	dir := t.TempDir()
	out := newLineWriter()
	srv, err := New(Config{Socket: filepath.Join(dir, "log"), StreamSocket: filepath.Join(dir, "log.stream"),
		Sink: newMux(t, logmux.Options{Stdout: out}), Format: logmux.Plain})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, srv)
	// An idle client must not keep Run from returning.
	idle, err := net.Dial("unix", srv.cfg.StreamSocket)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	for i, args := range [][]string{{"-t", "st", "stream one"}, {"--octet-count", "-t", "oc", "stream two"}} {
		cmd := exec.Command("logger", append([]string{"-u", srv.cfg.StreamSocket, "-T"}, args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("logger %q: %v: %s", args, err, b)
		}
		out.waitLines(t, i+1) // one client at a time keeps the order
	}
	lines := out.waitLines(t, 2)
	want := []string{"user.notice st: stream one", "user.notice oc: stream two"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Errorf("lines = %q, want %q", lines, want)
	}
	if err := stop(); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
}

func TestServerSocketFile(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "sub", "log")
	// A stale socket left by a crash: bound, closed, file still there.
	if err := os.MkdirAll(filepath.Dir(sock), 0o755); err != nil {
		t.Fatal(err)
	}
	old, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	old.Close()
	srv, err := New(Config{Socket: sock, Sink: newMux(t, logmux.Options{Stdout: newLineWriter()})})
	if err != nil {
		t.Fatal(err)
	}
	stop := run(t, srv)
	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o666 {
		t.Errorf("socket mode = %v, want socket 0666", fi.Mode())
	}
	if err := stop(); err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket still there after stop: %v", err)
	}
}

func TestServerPathNotSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	if err := os.WriteFile(path, []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Socket: path, Sink: newMux(t, logmux.Options{Stdout: newLineWriter()})})
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Run(context.Background(), func() { t.Error("ready called") })
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Run = %v, want an error naming %s", err, path)
	}
	if b, _ := os.ReadFile(path); string(b) != "data" {
		t.Errorf("file at %s changed to %q", path, b)
	}
}

func TestNew(t *testing.T) {
	sink := newMux(t, logmux.Options{Stdout: newLineWriter()})
	if _, err := New(Config{}); err == nil {
		t.Error("New without a sink succeeded")
	}
	if _, err := New(Config{Sink: sink, StreamSocket: DefaultSocket}); err == nil {
		t.Error("New with both sockets at one path succeeded")
	}
	srv, err := New(Config{Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	if srv.cfg.Socket != DefaultSocket || srv.cfg.Source != DefaultSource {
		t.Errorf("defaults = %q %q", srv.cfg.Socket, srv.cfg.Source)
	}
	cfg := ConfigFromEnv(map[string]string{EnvSocket: "/run/log", EnvStreamSocket: "/run/log.s"})
	if cfg.Socket != "/run/log" || cfg.StreamSocket != "/run/log.s" {
		t.Errorf("ConfigFromEnv = %+v", cfg)
	}
}

func TestSignalHUP(t *testing.T) {
	log := &recLogger{}
	srv, err := New(Config{Sink: newMux(t, logmux.Options{Stdout: newLineWriter()}), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	srv.Signal(syscall.SIGHUP)
	if len(log.lines) != 1 || !strings.HasPrefix(log.lines[0], "debug: syslog: hangup") {
		t.Errorf("log = %q, want one debug line about the hangup", log.lines)
	}
}

func TestNewService(t *testing.T) {
	if _, err := NewService("syslog", builtin.Deps{}); err == nil {
		t.Error("NewService without a mux succeeded")
	}
	out := newLineWriter()
	mux := newMux(t, logmux.Options{Stdout: out})
	sock := filepath.Join(t.TempDir(), "log")
	svc, err := NewService("mylog", builtin.Deps{Env: map[string]string{EnvSocket: sock}, Mux: mux, Format: logmux.Inherit})
	if err != nil {
		t.Fatal(err)
	}
	srv := svc.(*Server)
	run(t, srv)
	send(t, dial(t, sock), "<13>t: via factory")
	if got := out.waitLines(t, 1); got[0] != "user.notice t: via factory" {
		t.Errorf("line = %q", got[0])
	}
	if srv.cfg.Source != "mylog" {
		t.Errorf("source = %q, want the service name", srv.cfg.Source)
	}
}

// TestStatsAppendJSON: the counters in `sv --json status` are what
// encoding/json writes from their tags.
func TestStatsAppendJSON(t *testing.T) {
	jsontest.Same(t, Stats{})
}
