package control

import (
	"bytes"
	"context"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func TestServerBadRequests(t *testing.T) {
	h := newFakeHandler()
	path, log := testServer(t, h, nil)
	tests := []struct {
		name    string
		payload []byte
		want    string
	}{
		{"garbage", []byte("hello\n"), "invalid request: want an object, found 'h' (offset 0)"},
		{"binary", []byte{0, 1, 2, 0xff, '\n'}, "invalid request:"},
		{"unknown verb", []byte(`{"verb":"x"}` + "\n"), `unknown verb "x"`},
		{"empty object", []byte("{}\n"), `unknown verb ""`},
		{"unknown field", []byte(`{"verb":"status","nmes":["a"]}` + "\n"), `invalid request: unknown key "nmes" (offset 17)`},
		{"two objects", []byte(`{"verb":"status"}{"verb":"stop"}` + "\n"), "invalid request: data after the JSON value (offset 17)"},
		{"duplicate verb", []byte(`{"verb":"status","verb":"shutdown"}` + "\n"), `invalid request: duplicate key "verb" (offset 17)`},
		{"missing names", []byte(`{"verb":"stop"}` + "\n"), "stop needs at least one service name"},
		{"bad name", []byte(`{"verb":"stop","names":["../etc"]}` + "\n"), `invalid service name "../etc"`},
		{"negative wait", []byte(`{"verb":"start","names":["a"],"wait":-1}` + "\n"), "wait -1 out of range"},
		{"huge wait", []byte(`{"verb":"wait","names":["a"],"wait":1e300}` + "\n"), "out of range"},
		{"names for reload", []byte(`{"verb":"reload","names":["a"]}` + "\n"), "reload takes no service names"},
		{"eof before line", []byte(""), "connection closed before a request line"},
		{"1 MiB line", append(bytes.Repeat([]byte("x"), 1<<20), '\n'), "request too large (max 65536 bytes)"},
		{"64 KiB without newline", bytes.Repeat([]byte(" "), MaxRequestBytes+1), "request too large (max 65536 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := exchange(t, path, tt.payload)
			if resp.OK || !strings.Contains(resp.Error, tt.want) {
				t.Errorf("answer = %+v, want error containing %q", resp, tt.want)
			}
			waitLog(t, log, "warn: control: peer pid ", "uid 0", tt.want)
		})
	}
	if n := h.count(); n != 0 {
		t.Errorf("handler called %d times for bad requests", n)
	}
}

func TestServerRequestWithoutNewlineBeforeEOF(t *testing.T) {
	path, _ := testServer(t, newFakeHandler(), nil)
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte(`{"verb":"status"}`))
	c.(*net.UnixConn).CloseWrite()
	var resp Response
	if err := decodeLine(c, &resp); err != nil || !resp.OK {
		t.Fatalf("answer %+v, %v; want ok", resp, err)
	}
}

func TestServerIdleClientTimesOut(t *testing.T) {
	path, log := testServer(t, newFakeHandler(), func(s *server) { s.readTimeout = 50 * time.Millisecond })
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var resp Response
	if err := decodeLine(c, &resp); err != nil {
		t.Fatal(err)
	}
	if want := "no complete request line in time"; !strings.Contains(resp.Error, want) {
		t.Errorf("error %q, want %q", resp.Error, want)
	}
	waitLog(t, log, "warn:", "uid 0", "in time")
}

func TestServerBoundsConnections(t *testing.T) {
	const limit, clients = 4, 20
	release := make(chan struct{})
	var inFlight, most atomic.Int32
	h := handlerFunc(func(ctx context.Context, req Request) Response {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		return Response{OK: true}
	})
	path, _ := testServer(t, h, func(s *server) { s.maxConns = limit })
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			resp, err := Call(path, Request{Verb: "status"})
			if err == nil && !resp.OK {
				err = io.ErrUnexpectedEOF
			}
			errs <- err
		})
	}
	eventually(t, func() bool { return inFlight.Load() == limit }, "%d requests in flight", limit)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if m := most.Load(); m > limit {
		t.Errorf("%d requests in flight at once, limit %d", m, limit)
	}
}

func TestServerManyClients(t *testing.T) {
	h := newFakeHandler()
	path, _ := testServer(t, h, nil)
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 200 {
		wg.Go(func() {
			resp, err := Call(path, Request{Verb: "status"})
			if err != nil || !resp.OK || len(resp.Services) != 2 {
				failed.Add(1)
				t.Logf("answer %+v, %v", resp, err)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of 200 clients failed", n)
	}
}

// TestServerCancelsOnHangup: a waiting handler stops when its client
// closes its end, also after a half-close (which alone is no hang-up).
func TestServerCancelsOnHangup(t *testing.T) {
	for _, halfCloseFirst := range []bool{false, true} {
		h := newFakeHandler()
		path, _ := testServer(t, h, nil)
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(`{"verb":"wait","names":["block"],"wait":60}` + "\n"))
		if halfCloseFirst {
			c.CloseWrite()
		}
		eventually(t, func() bool { return h.count() == 1 }, "the handler to get the request")
		c.Close()
		select {
		case v := <-h.cancelled:
			if v != "wait" {
				t.Errorf("cancelled %q", v)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("handler context not cancelled after the client hung up (half-closed first: %v)", halfCloseFirst)
		}
	}
}

func TestServerStopCancelsHandlers(t *testing.T) {
	h := newFakeHandler()
	path := filepath.Join(t.TempDir(), "control.sock")
	stop := serveInBackground(t, path, h)
	answer := make(chan Response, 1)
	before := h.count()
	go func() {
		resp, _ := Call(path, Request{Verb: "wait", Names: []string{"block"}, Wait: 60})
		answer <- resp
	}()
	eventually(t, func() bool { return h.count() == before+1 }, "the handler to get the request")
	stop()
	if resp := <-answer; resp.Error != "cancelled" {
		t.Errorf("answer %+v, want the handler's cancelled answer", resp)
	}
	if _, err := os.Lstat(path); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

func TestServerRecoversHandlerPanic(t *testing.T) {
	h := handlerFunc(func(context.Context, Request) Response { panic("boom") })
	path, log := testServer(t, h, nil)
	resp, err := Call(path, Request{Verb: "status"})
	if err != nil || resp.OK || resp.Error != "internal error in status: boom" {
		t.Errorf("answer %+v, %v", resp, err)
	}
	waitLog(t, log, "warn:", "status panicked: boom")
}

func TestServerUnencodableAnswer(t *testing.T) {
	h := handlerFunc(func(context.Context, Request) Response {
		return Response{OK: true, Services: []ServiceStatus{{Name: "web", RestartIn: math.NaN()}}}
	})
	path, log := testServer(t, h, nil)
	resp, err := Call(path, Request{Verb: "status"})
	if err != nil || resp.OK || resp.Error != `encode response: field "restart_in": unsupported value NaN` {
		t.Errorf("answer %+v, %v", resp, err)
	}
	waitLog(t, log, "warn:", "encode response")
}

func TestServeModesAndStaleSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "svinit")
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "control.sock")
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false) // leave the file behind, as a crashed svinit would
	stale.Close()
	stop := serveInBackground(t, path, newFakeHandler())
	defer stop()
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", p, fi.Mode().Perm(), want)
		}
	}
	if resp, err := Call(path, Request{Verb: "status"}); err != nil || !resp.OK {
		t.Errorf("status after replacing the stale socket: %+v, %v", resp, err)
	}
}

// serveInBackground runs Serve on path until the returned stop is called.
func serveInBackground(t *testing.T, path string, h Handler) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, path, h, &fakeLog{}) }()
	eventually(t, func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve: %v", err)
		default:
		}
		_, err := Call(path, Request{Verb: "status"})
		return err == nil
	}, "the server at %s", path)
	return func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}
}

func TestServeRefusesToReplace(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file.sock")
	os.WriteFile(file, []byte("keep me"), 0o644)
	live := filepath.Join(dir, "live.sock")
	defer serveInBackground(t, live, newFakeHandler())()
	tests := []struct{ path, want string }{
		{file, "control socket " + file + ": exists and is not a socket"},
		{live, "control socket " + live + ": another process is listening on it"},
		{filepath.Join(file, "x.sock"), "control socket " + filepath.Join(file, "x.sock") + ": create folder:"},
	}
	for _, tt := range tests {
		err := Serve(context.Background(), tt.path, newFakeHandler(), nil)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Serve(%s) = %v, want %q", tt.path, err, tt.want)
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "keep me" {
		t.Errorf("regular file clobbered: %q", b)
	}
}

// TestPermissionDenied runs sv as uid 65534 against a root server: state
// changes are refused with a clear error and a warn log naming the peer,
// reads still work.
func TestPermissionDenied(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	dir, err := os.MkdirTemp("", "control-perm-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := copyTestBinary(t, dir)
	h := newFakeHandler()
	path, log := testServer(t, h, nil)
	loosen(t, path) // let uid 65534 reach the socket at all
	run := func(args ...string) (string, int) {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"CONTROL_TEST_SV=1", "SVINIT_CONTROL=" + path}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState == nil {
			t.Fatalf("run %s: %v", bin, err)
		}
		// A -cover build of the test binary adds a GOCOVERDIR warning.
		lines := strings.SplitAfter(string(out), "\n")
		kept := lines[:0]
		for _, l := range lines {
			if !strings.HasPrefix(l, "warning: GOCOVERDIR") {
				kept = append(kept, l)
			}
		}
		return strings.Join(kept, ""), cmd.ProcessState.ExitCode()
	}
	out, code := run("stop", "web")
	want := "sv: permission denied: uid 65534 may only read status (state changes need root)\n"
	if code != 1 || out != want {
		t.Errorf("stop as uid 65534: exit %d, output %q; want 1, %q", code, out, want)
	}
	waitLog(t, log, "warn: control: peer pid", "uid 65534: stop refused: permission denied")
	if n := h.count(); n != 0 {
		t.Fatalf("handler called %d times for a refused request", n)
	}
	out, code = run("status")
	if code != 0 || !strings.HasPrefix(out, "run: ssh: (pid 23)") {
		t.Errorf("status as uid 65534: exit %d, output %q", code, out)
	}
	if _, p := h.last(t); p.Uid != 65534 || p.Gid != 65534 || p.Pid <= 0 {
		t.Errorf("peer %+v, want uid/gid 65534 and a pid", p)
	}
}

// copyTestBinary copies this test binary where uid 65534 may run it.
func copyTestBinary(t *testing.T, dir string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "control.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return bin
}

// loosen opens the socket and every folder above it to everyone, undoing
// Serve's 0700/0600 for the test only.
func loosen(t *testing.T, path string) {
	t.Helper()
	if err := os.Chmod(path, 0o666); err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(path); d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// handlerFunc adapts a function to Handler.
type handlerFunc func(context.Context, Request) Response

func (f handlerFunc) Handle(ctx context.Context, req Request) Response { return f(ctx, req) }

func TestAllow(t *testing.T) {
	tests := []struct {
		serverUid, peerUid int
		verb, want         string
	}{
		{0, 0, "shutdown", ""},
		{0, 1000, "status", ""},
		{0, 1000, "check", ""},
		{0, 1000, "wait", ""},
		{0, 1000, "start", "permission denied: uid 1000 may only read status (state changes need root)"},
		{1000, 1000, "stop", ""},
		{1000, 0, "kill", ""},
		{1000, 1001, "hup", "permission denied: uid 1001 may only read status (state changes need root or uid 1000)"},
	}
	for _, tt := range tests {
		s := &server{uid: tt.serverUid}
		err := s.allow(Peer{Pid: 1, Uid: tt.peerUid}, Request{Verb: tt.verb})
		if errText(err) != tt.want {
			t.Errorf("svinit uid %d, peer uid %d, %s: %v, want %q", tt.serverUid, tt.peerUid, tt.verb, err, tt.want)
		}
	}
}
