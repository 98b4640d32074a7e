package logmux

import (
	"fmt"
	"time"
)

// run is the writer goroutine: the only code that writes to the outputs.
// It takes the whole queue at once and writes it in batches of whole lines.
func (m *Mux) run() {
	defer close(m.done)
	var spare []item
	buf := make([]byte, 0, pipeBuf)
	for {
		batch := m.next(spare)
		if batch == nil {
			return
		}
		buf = m.writeBatch(batch, buf)
		clear(batch) // let the lines be collected
		spare = batch[:0]
		m.reportDrops()
	}
}

// next waits for queued lines and takes them, leaving spare as the new
// queue. It returns nil once the Mux is closed and drained, or abandoned.
func (m *Mux) next(spare []item) []item {
	m.mu.Lock()
	defer m.mu.Unlock()
	for len(m.queue) == 0 {
		if m.closed || m.abandon.Load() {
			return nil
		}
		m.idle = true
		m.mu.Unlock()
		<-m.wake
		m.mu.Lock()
	}
	if m.abandon.Load() {
		return nil
	}
	batch := m.queue
	m.queue = spare
	m.last = time.Now()
	return batch
}

// writeBatch writes the lines of batch, packing consecutive lines of the
// same stream into writes of at most pipeBuf bytes; a longer line is
// written alone. Every line is in exactly one Write call.
func (m *Mux) writeBatch(batch []item, buf []byte) []byte {
	var stream Stream
	for _, it := range batch {
		if m.abandon.Load() {
			return buf[:0]
		}
		if len(buf) > 0 && (it.stream != stream || len(buf)+len(it.b) > pipeBuf) {
			m.emit(stream, buf, len(buf))
			buf = buf[:0]
		}
		if len(it.b) > pipeBuf {
			m.emit(it.stream, it.b, len(it.b))
			continue
		}
		stream = it.stream
		buf = append(buf, it.b...)
	}
	if len(buf) > 0 {
		m.emit(stream, buf, len(buf))
	}
	return buf[:0]
}

// emit writes b and records the progress: queuedBytes of the queue are
// free again, and waiting producers may retry.
func (m *Mux) emit(s Stream, b []byte, queuedBytes int) {
	// A failed write has nowhere to be reported: the lines are lost, and
	// the writer goes on so that producers are never stuck behind it.
	_, _ = m.out[s].Write(b)
	m.mu.Lock()
	m.queued -= queuedBytes
	m.last = time.Now()
	m.notifyLocked()
	m.mu.Unlock()
}

// reportDrops writes, after the writer has moved again, one warning with
// the number of lines dropped since the last report.
func (m *Mux) reportDrops() {
	m.mu.Lock()
	n := m.unreported
	m.unreported = 0
	m.mu.Unlock()
	if n == 0 || m.abandon.Load() {
		return
	}
	l := m.warn.Load()
	if l == nil {
		l = &Logger{m: m, source: "svinit", f: Prefix}
	}
	e := l.entry(Warn, fmt.Sprintf("dropped %d log lines (stdout too slow)", n))
	e.Source = "svinit"
	if it, ok := m.encode(&e); ok {
		m.emit(it.stream, it.b, 0)
	}
}
