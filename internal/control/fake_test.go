package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets a test re-run this binary as an sv client (under another
// uid, for the permission test).
func TestMain(m *testing.M) {
	if os.Getenv("CONTROL_TEST_SV") == "1" {
		os.Exit(SvMain(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// fakeHandler plays the supervisor. Names drive the answers:
// "missing" is unknown, "slow" times out, "notready" is not ready,
// "block" waits for the request's context to end.
type fakeHandler struct {
	mu        sync.Mutex
	reqs      []Request
	peers     []Peer
	cancelled chan string // "block" requests whose ctx ended
}

func newFakeHandler() *fakeHandler {
	return &fakeHandler{cancelled: make(chan string, 16)}
}

func (f *fakeHandler) Handle(ctx context.Context, req Request) Response {
	p, _ := PeerFrom(ctx)
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.peers = append(f.peers, p)
	f.mu.Unlock()
	names := req.Names
	if req.Verb == "status" && len(names) == 0 {
		names = []string{"ssh", "web"}
	}
	resp := Response{OK: true}
	if req.Verb == "metrics" {
		resp.Text = "svinit_up 1\n"
	}
	for _, n := range names {
		if n == "block" {
			<-ctx.Done()
			f.cancelled <- req.Verb
			return Response{Error: "cancelled"}
		}
		r, s := f.result(req, n)
		resp.Results = append(resp.Results, r)
		if s != nil {
			resp.Services = append(resp.Services, *s)
		}
		resp.OK = resp.OK && r.OK
	}
	return resp
}

// result is the fake outcome for one name.
func (f *fakeHandler) result(req Request, n string) (Result, *ServiceStatus) {
	s := &ServiceStatus{Name: n, State: "run", Pid: 23, Since: time.Now(), WantUp: true, NormallyUp: true, Ready: true}
	switch n {
	case "missing":
		return Result{Name: n, Error: "unknown service"}, nil
	case "slow":
		s.State, s.Ready = "starting", false
		return Result{Name: n, Error: "timeout"}, s
	case "notready":
		s.State, s.Ready = "starting", false
		return Result{Name: n, Error: "not ready"}, s
	case "sick":
		s.Health = "unhealthy"
		return Result{Name: n, Error: "unhealthy"}, s
	case "cron":
		s.Pid, s.Builtin = 0, true
		s.Lines = []string{"job 3f2a9c1b root @daily backup: never run, next in 5h0m0s", "job 0d1e2f3a alice * * * * * \x1b[2Jx: never run"}
	}
	if req.Verb == "stop" {
		s.State, s.Pid, s.WantUp, s.Ready = "down", 0, false, false
	}
	return Result{Name: n, OK: true}, s
}

// last returns the last request and its peer.
func (f *fakeHandler) last(t *testing.T) (Request, Peer) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.reqs) == 0 {
		t.Fatal("handler was not called")
	}
	return f.reqs[len(f.reqs)-1], f.peers[len(f.peers)-1]
}

// count is the number of requests handled.
func (f *fakeHandler) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

// fakeLog records log lines.
type fakeLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *fakeLog) add(level, format string, a []any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, level+": "+fmt.Sprintf(format, a...))
}

func (l *fakeLog) Debugf(format string, a ...any) { l.add("debug", format, a) }
func (l *fakeLog) Infof(format string, a ...any)  { l.add("info", format, a) }
func (l *fakeLog) Warnf(format string, a ...any)  { l.add("warn", format, a) }

// has says whether a line contains all of parts.
func (l *fakeLog) has(parts ...string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
next:
	for _, line := range l.lines {
		for _, p := range parts {
			if !strings.Contains(line, p) {
				continue next
			}
		}
		return true
	}
	return false
}

// waitLog polls for a log line with all of parts.
func waitLog(t *testing.T, l *fakeLog, parts ...string) {
	t.Helper()
	eventually(t, func() bool { return l.has(parts...) }, "log line with %q; have %q", parts, l.lines)
}

// eventually polls cond for up to 5 s.
func eventually(t *testing.T, cond func() bool, format string, a ...any) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for "+format, a...)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// testServer runs a server for h on a fresh socket; tweak adjusts its limits.
// It stops the server at the end of the test and checks Serve's result.
func testServer(t *testing.T, h Handler, tweak func(*server)) (string, *fakeLog) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run", "svinit", "control.sock")
	log := &fakeLog{}
	s := &server{h: h, log: log, uid: os.Getuid(), maxConns: defaultMaxConns,
		readTimeout: defaultReadTimeout, writeTimeout: defaultWriteTimeout}
	if tweak != nil {
		tweak(s)
	}
	ln, err := listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("serve did not return after cancel")
		}
	})
	return path, log
}

// exchange sends raw bytes as a client and decodes the answer. The write
// runs aside: the server may answer (and close) before reading it all.
func exchange(t *testing.T, path string, payload []byte) Response {
	t.Helper()
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		c.Write(payload)
		c.(*net.UnixConn).CloseWrite()
	}()
	var resp Response
	if err := decodeLine(c, &resp); err != nil {
		t.Fatalf("read answer: %v", err)
	}
	return resp
}

// decodeLine reads bytes up to '\n' from c and decodes them. A reset after
// the answer (the server closed with our data unread) is fine.
func decodeLine(c net.Conn, v any) error {
	var buf []byte
	b := make([]byte, 4096)
	for !strings.Contains(string(buf), "\n") {
		n, err := c.Read(b)
		buf = append(buf, b[:n]...)
		if err != nil && !strings.Contains(string(buf), "\n") {
			return errors.Join(err, fmt.Errorf("got %q", buf))
		}
	}
	return json.Unmarshal(buf, v)
}
