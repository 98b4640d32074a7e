package logmux

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLineIntegrity: many producers, lines of many sizes (some longer than
// one pipe write); every output line must be one whole input line, and
// each producer's lines must come out in order.
func TestLineIntegrity(t *testing.T) {
	const producers, perProducer = 8, 300
	var out, errs recorder
	m := New(Options{Stdout: &out, Stderr: &errs, MaxBytes: 64 << 10, StallTimeout: movingStall})
	m.Register("p0")
	produce(producers, perProducer, func(p, i int) {
		e := Entry{Source: fmt.Sprintf("p%d", p), Line: integrityLine(p, i)}
		if i%3 == 0 {
			e.Stream = Stderr
		}
		if !m.WriteWait(e) {
			t.Errorf("producer %d line %d dropped", p, i)
		}
	})
	m.Close(soon())
	// Order is promised within a stream, not between stdout and stderr.
	seen := checkIntegrity(t, out.lines(), producers) + checkIntegrity(t, errs.lines(), producers)
	if seen != producers*perProducer {
		t.Errorf("got %d lines, want %d", seen, producers*perProducer)
	}
}

// movingStall is the StallTimeout of tests whose writer never stalls. The
// stall clock is wall time, so a writer that is merely not scheduled looks
// stuck: on a busy machine (go test -race ./internal/... beside the PID-1
// suite and stress-ng --cpu 2) it went unscheduled past the default 2s and
// WriteWait dropped lines ("producer 3 line 163 dropped"). Only a stuck
// writer could take this long.
const movingStall = 30 * time.Second

// produce runs producers goroutines, each calling write for its lines
// 0..perProducer-1 in order, and waits for them.
func produce(producers, perProducer int, write func(p, i int)) {
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				write(p, i)
			}
		}()
	}
	wg.Wait()
}

// integrityLine is line i of producer p: its length varies up to 9 KiB,
// and its body repeats its own identity so a torn line is detected.
func integrityLine(p, i int) string {
	id := fmt.Sprintf("<%d.%d>", p, i)
	return id + strings.Repeat(id, (i*37)%(9<<10)/len(id))
}

// checkIntegrity checks that lines are whole and in order per producer,
// and returns how many there are.
func checkIntegrity(t *testing.T, lines []string, producers int) int {
	t.Helper()
	next := make([]int, producers)
	seen := 0
	for _, l := range lines {
		var p, i int
		name, body, ok := strings.Cut(l, " | ")
		if !ok || len(name) != 2 {
			t.Fatalf("line without prefix: %.80q", l)
		}
		if _, err := fmt.Sscanf(body, "<%d.%d>", &p, &i); err != nil {
			t.Fatalf("line %.80q: %v", l, err)
		}
		if body != integrityLine(p, i) || name != fmt.Sprintf("p%d", p) {
			t.Fatalf("torn line %.80q... (len %d)", l, len(l))
		}
		if i < next[p] {
			t.Fatalf("producer %d: line %d after line %d", p, i, next[p])
		}
		next[p] = i
		seen++
	}
	return seen
}

// TestStalledWriter: with stdout stuck, neither Write nor WriteWait may
// block beyond StallTimeout, and once stalled WriteWait drops at once.
func TestStalledWriter(t *testing.T) {
	const stall = 200 * time.Millisecond
	gw := newGateWriter()
	defer close(gw.gate)
	m := New(Options{Stdout: gw, Stderr: io.Discard, MaxBytes: 100, StallTimeout: stall})
	defer m.Close(time.Now())
	line := Entry{Source: "w", Format: Plain, Line: "0123456789"}
	m.Write(line)
	<-gw.entered // the writer is now stuck in its first Write
	within(t, "Write on a full queue", stall/2, func() {
		for range 100 {
			m.Write(line)
		}
	})
	if m.Dropped() == 0 {
		t.Fatal("Write to a full queue dropped nothing")
	}
	within(t, "first WriteWait", stall+time.Second, func() {
		if m.WriteWait(line) {
			t.Error("WriteWait to a stalled writer succeeded")
		}
	})
	before := m.Dropped()
	within(t, "WriteWait once stalled", stall/2, func() {
		for range 10 {
			m.WriteWait(line)
		}
	})
	if got := m.Dropped() - before; got != 10 {
		t.Errorf("stalled WriteWait dropped %d lines, want 10", got)
	}
}

// TestDropReport: drops are counted, and after the writer recovers one
// "dropped N" line reports them, in the Logger's format.
func TestDropReport(t *testing.T) {
	tests := []struct {
		name   string
		logger Format
		want   string
	}{
		{"no logger", -1, "svinit | warn: dropped %d log lines (stdout too slow)\n"},
		{"prefix logger", Prefix, "svinit | warn: dropped %d log lines (stdout too slow)\n"},
		{"plain logger", Plain, "warn: dropped %d log lines (stdout too slow)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gw := newGateWriter()
			var errs recorder
			m := New(Options{Stdout: gw, Stderr: &errs, MaxBytes: 100, StallTimeout: time.Hour})
			if tt.logger >= 0 {
				m.Logger("svinit", Info, tt.logger)
			}
			line := Entry{Source: "svinit", Format: Plain, Line: "0123456789"}
			m.Write(line)
			<-gw.entered
			var dropped uint64
			for range 50 {
				if !m.Write(line) {
					dropped++
				}
			}
			if dropped == 0 || m.Dropped() != dropped {
				t.Fatalf("dropped %d lines, Dropped() = %d", dropped, m.Dropped())
			}
			if errs.String() != "" {
				t.Fatalf("drop reported while still stalled: %q", errs.String())
			}
			close(gw.gate)
			want := fmt.Sprintf(tt.want, dropped)
			waitFor(t, "drop report", func() bool { return errs.String() == want })
			m.Close(soon())
			if got := len(gw.lines()); uint64(got) != 51-dropped {
				t.Errorf("stdout got %d lines, want %d", got, 51-dropped)
			}
		})
	}
}

// TestSlowWriterBurstLossless: a burst of 10,000 lines into a tiny queue
// loses nothing while stdout is slow but moving.
func TestSlowWriterBurstLossless(t *testing.T) {
	const producers, perProducer = 4, 2500
	sw := &slowWriter{delay: 20 * time.Microsecond}
	m := New(Options{Stdout: sw, Stderr: sw, MaxBytes: 1024, StallTimeout: movingStall})
	m.Register("p0")
	produce(producers, perProducer, func(p, i int) {
		if !m.WriteWait(Entry{Source: fmt.Sprintf("p%d", p), Line: fmt.Sprintf("<%d.%d>", p, i)}) {
			t.Errorf("producer %d line %d dropped", p, i)
		}
	})
	m.Close(soon())
	if m.Dropped() != 0 {
		t.Errorf("dropped %d lines from a slow, moving writer", m.Dropped())
	}
	if got := len(sw.lines()); got != producers*perProducer {
		t.Errorf("got %d lines, want %d", got, producers*perProducer)
	}
}

func TestCloseFlushes(t *testing.T) {
	var out recorder
	m := New(Options{Stdout: &out})
	for i := range 1000 {
		m.Write(Entry{Format: Plain, Line: fmt.Sprint(i)})
	}
	m.Close(soon())
	if got := len(out.lines()); got != 1000 {
		t.Errorf("after Close: %d lines, want 1000", got)
	}
}

// TestCloseStuckWriter: Close returns by its deadline even when stdout is
// stuck, and every write after it is dropped without a panic or a wait.
func TestCloseStuckWriter(t *testing.T) {
	gw := newGateWriter()
	defer close(gw.gate)
	m := New(Options{Stdout: gw, StallTimeout: time.Hour})
	m.Write(Entry{Format: Plain, Line: "stuck"})
	<-gw.entered
	m.Write(Entry{Format: Plain, Line: "queued"})
	within(t, "Close", 500*time.Millisecond, func() {
		m.Close(time.Now().Add(100 * time.Millisecond))
	})
	within(t, "writes after Close", 100*time.Millisecond, func() {
		if m.Write(Entry{Line: "late"}) || m.WriteWait(Entry{Line: "late"}) {
			t.Error("a write after Close succeeded")
		}
		m.Logger("svinit", Debug, Prefix).Errorf("late")
		m.Close(time.Now())
	})
}

// TestCloseWakesWaiters: a WriteWait waiting for room returns when the Mux
// is closed.
func TestCloseWakesWaiters(t *testing.T) {
	gw := newGateWriter()
	defer close(gw.gate)
	m := New(Options{Stdout: gw, MaxBytes: 10, StallTimeout: time.Hour})
	m.Write(Entry{Format: Plain, Line: "0123456789"})
	<-gw.entered
	m.Write(Entry{Format: Plain, Line: "0123456789"})
	done := make(chan bool)
	go func() { done <- m.WriteWait(Entry{Format: Plain, Line: "waits"}) }()
	waitFor(t, "WriteWait to wait", func() bool {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.waiters == 1
	})
	m.Close(time.Now().Add(10 * time.Millisecond))
	select {
	case ok := <-done:
		if ok {
			t.Error("WriteWait succeeded on a closed Mux")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("WriteWait still blocked after Close")
	}
}

// BenchmarkWrite measures the syslog path: formatted lines through the
// queue and the writer to io.Discard, lossless (WriteWait).
func BenchmarkWrite(b *testing.B) {
	for _, f := range []Format{Prefix, JSON} {
		b.Run(f.String(), func(b *testing.B) {
			m := New(Options{Stdout: io.Discard, Stderr: io.Discard})
			m.Register("syslog")
			e := Entry{Source: "syslog", Format: f,
				Line:   "sshd[23]: Accepted publickey for root from 10.0.0.1 port 51234 ssh2",
				Fields: map[string]string{"facility": "auth", "severity": "info"}}
			b.ReportAllocs()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					m.WriteWait(e)
				}
			})
			m.Close(time.Now().Add(time.Minute))
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "lines/s")
			if m.Dropped() != 0 {
				b.Errorf("dropped %d lines", m.Dropped())
			}
		})
	}
}
