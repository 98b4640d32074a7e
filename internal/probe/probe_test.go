package probe

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"alpine-server/internal/reaper"
)

// serve answers every connection on a loopback port with reply.
func serve(t *testing.T, reply string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			_, _ = c.Write([]byte(reply))
			c.Close()
		}
	}()
	return l.Addr().String()
}

func TestHTTP(t *testing.T) {
	tests := []struct {
		reply string
		ok    bool
	}{
		{"HTTP/1.1 200 OK\r\n\r\n", true},
		{"HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n", true},
		{"HTTP/1.1 503 Service Unavailable\r\n\r\n", false},
		{"SSH-2.0-dropbear\r\n", false},
		{"", false},
	}
	for _, tt := range tests {
		addr := serve(t, tt.reply)
		err := HTTP{Addr: addr, Path: "/health"}.Check(context.Background())
		if (err == nil) != tt.ok {
			t.Errorf("reply %q: err=%v, want ok=%v", tt.reply, err, tt.ok)
		}
	}
}

func TestTCPAndFile(t *testing.T) {
	addr := serve(t, "")
	if err := (TCP{Addr: addr}).Check(context.Background()); err != nil {
		t.Errorf("tcp to a listener: %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := l.Addr().String()
	l.Close()
	if err := (TCP{Addr: closed}).Check(context.Background()); err == nil {
		t.Errorf("tcp to a closed port: want an error")
	}
	path := filepath.Join(t.TempDir(), "app.pid")
	if err := (File{Path: path}).Check(context.Background()); err == nil {
		t.Errorf("missing file: want an error")
	}
	os.WriteFile(path, nil, 0o644)
	if err := (File{Path: path}).Check(context.Background()); err != nil {
		t.Errorf("existing file: %v", err)
	}
}

func TestExecAndWait(t *testing.T) {
	r := reaper.New(nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx)
	start := func(argv []string) (*reaper.Child, error) {
		return r.Start("/bin/sh", append([]string{"sh", "-c"}, argv...), &syscall.ProcAttr{
			Files: []uintptr{0, 1, 2}, Sys: &syscall.SysProcAttr{Setpgid: true}})
	}
	if err := (Exec{Argv: []string{"exit 0"}, Start: start}).Check(ctx); err != nil {
		t.Errorf("exit 0: %v", err)
	}
	err := Exec{Argv: []string{"exit 4"}, Start: start}.Check(ctx)
	if err == nil || err.Error() != "exited 4" {
		t.Errorf("exit 4: got %v", err)
	}
	// A hung probe is killed when its attempt ends, and Wait returns at
	// the caller's deadline.
	hung, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	defer stop()
	err = Wait(hung, Exec{Argv: []string{"sleep 60"}, Start: start}, 10*time.Millisecond, func(error) {})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hung probe: got %v, want the deadline", err)
	}
	// Each failed check reaches the caller, who says why it gave up.
	failing, stop2 := context.WithTimeout(ctx, 10*time.Second)
	defer stop2()
	var last error
	err = Wait(failing, Exec{Argv: []string{"exit 4"}, Start: start}, 5*time.Millisecond, func(e error) {
		last = e
		stop2()
	})
	if !errors.Is(err, context.Canceled) || last == nil || last.Error() != "exited 4" {
		t.Errorf("failing probe: got %v, last failure %v; want canceled and exited 4", err, last)
	}
	// A file that appears makes Wait succeed.
	path := filepath.Join(t.TempDir(), "ready")
	go func() { _ = os.WriteFile(path, nil, 0o644) }()
	if err := Wait(ctx, File{Path: path}, 5*time.Millisecond, func(error) {}); err != nil {
		t.Errorf("file appears: %v", err)
	}
}

// failTimes fails its first n checks, then passes.
type failTimes struct{ n, calls int }

func (f *failTimes) Check(context.Context) error {
	f.calls++
	if f.calls <= f.n {
		return errors.New("not yet")
	}
	return nil
}

func (f *failTimes) String() string { return "fail-times" }

// TestWaitRampsUpToTheInterval: a daemon that binds a few milliseconds
// after it starts is ready then, not one whole interval later (dependents
// waited 200 ms for every tcp-probed service, ssh included).
func TestWaitRampsUpToTheInterval(t *testing.T) {
	p := &failTimes{n: 3}
	start := time.Now()
	if err := Wait(context.Background(), p, 10*time.Second, func(error) {}); err != nil {
		t.Fatal(err)
	}
	// 5 + 10 + 20 ms of ramp; the old fixed cadence took 30 s.
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("ready after %v with 3 failed checks; want the first retries well inside the 10s interval", took)
	}
	if p.calls != 4 {
		t.Errorf("%d checks, want 4", p.calls)
	}
}
