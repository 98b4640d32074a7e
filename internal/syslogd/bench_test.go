package syslogd

import (
	"bytes"
	"context"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"alpine-server/internal/logmux"
)

// countWriter counts the lines written to it and closes done at want.
type countWriter struct {
	n, want atomic.Int64
	done    chan struct{}
}

func (w *countWriter) Write(p []byte) (int, error) {
	if w.n.Add(int64(bytes.Count(p, []byte{'\n'}))) >= w.want.Load() {
		select {
		case <-w.done:
		default:
			close(w.done)
		}
	}
	return len(p), nil
}

// BenchmarkServerThroughput is the path `make bench` measures, minus
// docker: datagrams on /dev/log → parse → format → mux → stdout.
func BenchmarkServerThroughput(b *testing.B) {
	sock := filepath.Join(b.TempDir(), "log")
	out := &countWriter{done: make(chan struct{})}
	out.want.Store(int64(b.N))
	mux := logmux.New(logmux.Options{Stdout: out, Stderr: &countWriter{done: make(chan struct{})}})
	defer mux.Close(time.Now().Add(time.Second))
	srv, err := New(Config{Socket: sock, Sink: mux, Format: logmux.Prefix})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, func() { close(ready) }) }()
	<-ready
	// The sender blocks in the kernel like another process would (a
	// blocking socket, its own thread), not in Go's netpoller.
	fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := syscall.Connect(fd, &syscall.SockaddrUnix{Name: sock}); err != nil {
		b.Fatal(err)
	}
	msg := []byte("<13>Dec  1 09:40:00 bench: BENCHsvinit0 ")
	sent := make(chan error, 1)
	b.ResetTimer()
	go func() {
		runtime.LockOSThread()
		for i := 0; i < b.N; i++ {
			if _, err := syscall.Write(fd, strconv.AppendInt(msg, int64(i), 10)); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	if err := <-sent; err != nil {
		b.Fatal(err)
	}
	select {
	case <-out.done:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d lines after a minute", out.n.Load(), b.N)
	}
	b.StopTimer()
	cancel()
	<-done
}
