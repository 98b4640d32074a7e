package logmux

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an io.Writer that keeps what it got, safe for concurrent use.
type recorder struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	writes int
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writes++
	return r.buf.Write(p)
}

func (r *recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.buf.String()
}

// lines returns the complete lines written so far.
func (r *recorder) lines() []string {
	s := r.String()
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// gateWriter blocks every Write until gate is closed: a stalled stdout.
type gateWriter struct {
	recorder
	gate    chan struct{}
	entered chan struct{} // gets a token each time a Write starts
}

func newGateWriter() *gateWriter {
	return &gateWriter{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
}

func (g *gateWriter) Write(p []byte) (int, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	return g.recorder.Write(p)
}

// slowWriter is a stdout that is slow but always moving.
type slowWriter struct {
	recorder
	delay time.Duration
}

func (s *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(s.delay) // simulates a slow reader; not waiting for a state
	return s.recorder.Write(p)
}

// waitFor polls cond until it holds or a 5s deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// within fails the test if f takes longer than limit.
func within(t *testing.T, what string, limit time.Duration, f func()) time.Duration {
	t.Helper()
	start := time.Now()
	done := make(chan struct{})
	go func() { f(); close(done) }()
	select {
	case <-done:
	case <-time.After(limit + 5*time.Second):
		t.Fatalf("%s: still blocked after %v", what, limit+5*time.Second)
	}
	took := time.Since(start)
	if took > limit {
		t.Errorf("%s took %v, want at most %v", what, took, limit)
	}
	return took
}

func soon() time.Time { return time.Now().Add(5 * time.Second) }
