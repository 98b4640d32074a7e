// Package logmux writes every line of output (services, startup scripts,
// cron jobs, syslog, svinit itself) to the container's stdout and stderr,
// one whole line per write, never interleaved mid-line (SPEC §5).
//
// One writer goroutine owns the output. Producers format their line and
// put it on a queue bounded in bytes; when the queue is full, Write drops
// the line and WriteWait waits only while the writer is making progress, so
// a stuck stdout can never stall the supervisor or a service for ever.
// Drops are counted and reported once the writer moves again.
package logmux

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

const (
	defaultMaxBytes = 4 << 20
	defaultStall    = 2 * time.Second

	// pipeBuf is PIPE_BUF on Linux: a write of up to this many bytes to a
	// pipe is atomic (pipe(7)). The writer batches whole lines into writes
	// no bigger than this, so children in the inherit format, which write
	// to the same stdout directly, cannot land in the middle of our lines.
	pipeBuf = 4096
)

// Entry is one line from one source.
type Entry struct {
	Source string            // "svinit", "web", "startup/10-keys", "cron/root", "syslog"
	Stream Stream            // stream it was written to; Stderr entries go to Options.Stderr
	Format Format            // Prefix, Plain or JSON (Inherit/Discard never reach the mux)
	Line   string            // one line, no trailing newline
	Time   time.Time         // zero = now
	Fields map[string]string // extra JSON fields (syslog's parsed fields); ignored by prefix/plain
}

// Options configure a Mux. The zero value writes to os.Stdout and os.Stderr.
type Options struct {
	Stdout, Stderr io.Writer        // default os.Stdout / os.Stderr
	MaxBytes       int              // queued bytes bound, default 4 MiB
	StallTimeout   time.Duration    // how long WriteWait may wait while the writer makes progress; default 2s
	Now            func() time.Time // time stamps of JSON lines; default time.Now
}

// item is one formatted entry waiting for the writer.
type item struct {
	b      []byte
	stream Stream
}

// Mux serializes lines to stdout and stderr. Its methods are safe for
// concurrent use.
type Mux struct {
	out   [2]io.Writer // indexed by Stream
	max   int
	stall time.Duration
	now   func() time.Time

	width   atomic.Int64           // prefix width, in runes
	dropped atomic.Uint64          // lines dropped since New
	warn    atomic.Pointer[Logger] // format of the drop report
	abandon atomic.Bool            // Close's deadline passed: write nothing more

	mu         sync.Mutex
	queue      []item
	queued     int           // bytes in queue plus the batch being written
	unreported uint64        // drops not yet reported
	idle       bool          // the writer waits on wake
	closed     bool          // Close was called: accept nothing more
	waiters    int           // WriteWait calls waiting on progress
	progress   chan struct{} // closed and replaced when the writer frees room
	last       time.Time     // when the writer last made progress

	wake chan struct{}
	done chan struct{}
}

// New starts a Mux and its writer goroutine. Stop it with Close.
func New(o Options) *Mux {
	m := &Mux{
		out:      [2]io.Writer{o.Stdout, o.Stderr},
		max:      o.MaxBytes,
		stall:    o.StallTimeout,
		now:      o.Now,
		progress: make(chan struct{}),
		last:     time.Now(),
		wake:     make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	if m.out[Stdout] == nil {
		m.out[Stdout] = os.Stdout
	}
	if m.out[Stderr] == nil {
		m.out[Stderr] = os.Stderr
	}
	if m.max <= 0 {
		m.max = defaultMaxBytes
	}
	if m.stall <= 0 {
		m.stall = defaultStall
	}
	if m.now == nil {
		m.now = time.Now
	}
	go m.run()
	return m
}

// Register adds a name to those the prefix format pads to: the width of
// the NAME column is the longest registered name.
func (m *Mux) Register(name string) {
	n := int64(utf8.RuneCountInString(name))
	for {
		w := m.width.Load()
		if n <= w || m.width.CompareAndSwap(w, n) {
			return
		}
	}
}

// Dropped returns how many lines were dropped because the queue was full.
func (m *Mux) Dropped() uint64 { return m.dropped.Load() }

// Write queues e without ever blocking. It returns false when the line was
// dropped: the queue is full (counted) or the Mux is closed (not counted).
func (m *Mux) Write(e Entry) bool {
	it, ok := m.encode(&e)
	if !ok {
		return true
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return false
	}
	if !m.fitsLocked(len(it.b)) {
		m.dropLocked()
		m.mu.Unlock()
		return false
	}
	wake := m.pushLocked(it)
	m.mu.Unlock()
	m.signal(wake)
	return true
}

// WriteWait queues e, waiting for room while the writer makes progress, so
// a burst is lossless when stdout is merely slow. Once the writer has made
// no progress for StallTimeout it drops (counted) without waiting, until
// the writer moves again. It returns false when the line was dropped.
func (m *Mux) WriteWait(e Entry) bool {
	it, ok := m.encode(&e)
	if !ok {
		return true
	}
	var timer *time.Timer
	m.mu.Lock()
	for {
		if m.closed {
			m.mu.Unlock()
			return false
		}
		if m.fitsLocked(len(it.b)) {
			wake := m.pushLocked(it)
			m.mu.Unlock()
			m.signal(wake)
			return true
		}
		wait := m.stall - time.Since(m.last)
		if wait <= 0 {
			m.dropLocked()
			m.mu.Unlock()
			return false
		}
		timer = m.awaitProgress(timer, wait)
	}
}

// awaitProgress waits, with m.mu released, until the writer frees room or
// wait passes. It is called and returns with m.mu held.
func (m *Mux) awaitProgress(timer *time.Timer, wait time.Duration) *time.Timer {
	ch := m.progress
	m.waiters++
	m.mu.Unlock()
	if timer == nil {
		timer = time.NewTimer(wait)
	} else {
		timer.Reset(wait)
	}
	select {
	case <-ch:
		timer.Stop()
	case <-timer.C:
	}
	m.mu.Lock()
	m.waiters--
	return timer
}

// encode formats e; ok is false when e is to be discarded.
func (m *Mux) encode(e *Entry) (it item, ok bool) {
	it.stream = Stdout
	if e.Stream == Stderr {
		it.stream = Stderr
	}
	switch e.Format {
	case Discard:
		return it, false
	case JSON:
		t := e.Time
		if t.IsZero() {
			t = m.now()
		}
		it.b = appendJSON(make([]byte, 0, jsonSize(e)), t, e)
	case Prefix:
		w := int(m.width.Load())
		it.b = appendText(make([]byte, 0, len(e.Line)+max(w, len(e.Source))+4), true, e.Source, w, e.Line)
	default:
		it.b = appendText(make([]byte, 0, len(e.Line)+1), false, "", 0, e.Line)
	}
	return it, true
}

// fitsLocked reports whether n more bytes fit the queue. A line bigger
// than the whole bound still goes through when the queue is empty.
func (m *Mux) fitsLocked(n int) bool {
	return m.queued == 0 || m.queued+n <= m.max
}

func (m *Mux) dropLocked() {
	m.dropped.Add(1)
	m.unreported++
}

// pushLocked queues it and reports whether the writer must be woken.
func (m *Mux) pushLocked(it item) bool {
	m.queue = append(m.queue, it)
	m.queued += len(it.b)
	if !m.idle {
		return false
	}
	// The writer starts now: its stall clock must not count the idle time.
	m.idle = false
	m.last = time.Now()
	return true
}

func (m *Mux) signal(wake bool) {
	if wake {
		select {
		case m.wake <- struct{}{}:
		default:
		}
	}
}

// notifyLocked wakes the WriteWait calls waiting for progress.
func (m *Mux) notifyLocked() {
	if m.waiters > 0 {
		close(m.progress)
		m.progress = make(chan struct{})
	}
}

// Close stops accepting lines, lets the writer flush what is queued until
// deadline, and then stops it. A writer stuck in a Write past the deadline
// is abandoned (its goroutine stays blocked in that Write). Later writes
// are dropped silently. Close may be called more than once.
func (m *Mux) Close(deadline time.Time) {
	m.mu.Lock()
	m.closed = true
	m.notifyLocked()
	m.mu.Unlock()
	m.signal(true)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-m.done:
	case <-timer.C:
		m.abandon.Store(true)
		m.mu.Lock()
		m.queue, m.queued = nil, 0
		m.mu.Unlock()
	}
}
