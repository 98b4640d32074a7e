package control

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// dialIdle opens n connections that send nothing.
func dialIdle(t *testing.T, path string, n int) []*net.UnixConn {
	t.Helper()
	conns := make([]*net.UnixConn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatalf("dial idle connection %d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	return conns
}

// TestServerIdleClientsDoNotDelayOthers: idle connections beyond the bound
// are dropped idlest first, so a real request is answered at once (issue
// 8, item 8: 33 idle clients used to delay every sv by 5 s).
func TestServerIdleClientsDoNotDelayOthers(t *testing.T) {
	const limit, idle = 8, 100
	path, log := testServer(t, newFakeHandler(), func(s *server) { s.maxOpen = limit })
	conns := dialIdle(t, path, idle)
	start := time.Now()
	resp, err := Call(path, Request{Verb: "status"})
	took := time.Since(start)
	if err != nil || !resp.OK {
		t.Fatalf("status with %d idle connections open: %+v, %v", idle, resp, err)
	}
	t.Logf("status answered in %v with %d idle connections open (limit %d)", took, idle, limit)
	if took > 2*time.Second {
		t.Errorf("status took %v with idle connections open", took)
	}
	// The oldest was dropped, with a reason; the newest is still open.
	conns[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	var dropped Response
	if err := decodeLine(conns[0], &dropped); err != nil || !strings.Contains(dropped.Error, "dropped") {
		t.Errorf("the idlest connection got %+v, %v; want an error saying it was dropped", dropped, err)
	}
	if resp, err := parseResponse(droppedLine); err != nil || resp.OK || resp.Error != errDropped {
		t.Errorf("sv reads the dropped answer as %+v, %v", resp, err)
	}
	newest := conns[idle-1]
	newest.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if n, err := newest.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the newest idle connection was closed or answered (%d bytes, %v); the idlest go first", n, err)
	}
	eventually(t, func() bool { return log.has("warn: control: ", "dropping the idlest") }, "a warning about dropping")
}

// TestServerHalfCloseGetsTheAnswer: a client that shuts down its write side
// after the request (printf ... | socat) still gets the answer of a waiting
// verb, as PROTOCOL.md promises; only a full close cancels it.
func TestServerHalfCloseGetsTheAnswer(t *testing.T) {
	release := make(chan struct{})
	h := handlerFunc(func(ctx context.Context, req Request) Response {
		select {
		case <-release:
			return Response{OK: true}
		case <-ctx.Done():
			return Response{Error: context.Cause(ctx).Error()}
		}
	})
	path, _ := testServer(t, h, nil)
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(`{"verb":"wait","names":["web"],"wait":30}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// No answer may come before the wait ends: the half-close is no hang-up.
	c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	var early Response
	if err := decodeLine(c, &early); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("answer before the wait ended: %+v, %v", early, err)
	}
	close(release)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var resp Response
	if err := decodeLine(c, &resp); err != nil || !resp.OK {
		t.Fatalf("answer after a half-close: %+v, %v; want ok", resp, err)
	}
}

// TestServerStopDoesNotWaitForIdleClients: stopping the server ends the
// connections still waiting for a request line at once, not after their
// read timeout.
func TestServerStopDoesNotWaitForIdleClients(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := listen(path)
	if err != nil {
		t.Fatal(err)
	}
	s := &server{h: newFakeHandler(), log: &fakeLog{}, maxConns: defaultMaxConns,
		readTimeout: time.Minute, writeTimeout: defaultWriteTimeout}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln) }()
	conns := dialIdle(t, path, 10)
	if _, err := Call(path, Request{Verb: "status"}); err != nil { // all ten accepted by now
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve still waiting for idle clients 5s after it was stopped")
	}
	conns[0].SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conns[0].Read(make([]byte, 512)); err == nil && n == 0 {
		t.Errorf("idle connection still open after stop")
	}
}

func TestMaxOpenFitsTheFileLimit(t *testing.T) {
	for _, tt := range []struct{ soft, want uint64 }{
		{20, minOpen}, {64, minOpen}, {256, 64}, {1024, defaultMaxOpen}, {4096, defaultMaxOpen}, {1 << 20, defaultMaxOpen},
	} {
		if got := maxOpenFor(tt.soft); got != int(tt.want) {
			t.Errorf("maxOpenFor(%d) = %d, want %d", tt.soft, got, tt.want)
		}
	}
}

// TestIdleConnectionsCostNoGoroutine: PID 1's memory budget. An idle
// connection waits in the idle set (an fd, a few hundred bytes), not in a
// goroutine of its own with a stack of several KiB.
func TestIdleConnectionsCostNoGoroutine(t *testing.T) {
	path, _ := testServer(t, newFakeHandler(), nil)
	if _, err := Call(path, Request{Verb: "status"}); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	dialIdle(t, path, 200)
	// Accepts are in order: once this is answered, all 200 were accepted.
	if _, err := Call(path, Request{Verb: "status"}); err != nil {
		t.Fatal(err)
	}
	if after := runtime.NumGoroutine(); after-before > 20 {
		t.Errorf("%d goroutines for 200 idle connections (%d before, %d after)", after-before, before, after)
	}
}
