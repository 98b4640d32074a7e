package logmux

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// readBuf is the read buffer of each pipe. Lines longer than it are
// gathered in a separate buffer, so an idle pipe holds 4 KiB, not 64.
const readBuf = 4096

// A Pipe is the persistent output pipe of one source: its W end is given
// to each child (run, finish, cron job); a goroutine reads the other end,
// splits lines and writes them with WriteWait.
type Pipe struct {
	W *os.File // the write end, for the children's stdout or stderr

	r       *os.File
	once    sync.Once
	err     error
	drained chan struct{}
}

// Pipe creates the pipe of source and starts its reader. Lines are split
// at newlines; one trailing "\r" is removed (CRLF output); lines longer
// than 64 KiB are cut into 64 KiB pieces; a last line without a newline is
// still written at EOF. With the Discard format the lines are read and
// dropped, so children never block on a full pipe. Inherit needs no pipe
// and is an error.
func (m *Mux) Pipe(source string, stream Stream, f Format) (*Pipe, error) {
	if f == Inherit {
		return nil, fmt.Errorf("log pipe for %s: format inherit writes to svinit's stdout directly, not through a pipe", source)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("log pipe for %s: %w", source, err)
	}
	p := &Pipe{W: w, r: r, drained: make(chan struct{})}
	go p.read(m, source, stream, f)
	return p, nil
}

func (p *Pipe) read(m *Mux, source string, stream Stream, f Format) {
	defer close(p.drained)
	defer p.r.Close()
	// A read error other than EOF (the pipe's fds are ours alone) leaves
	// nothing to do but stop; Drained tells the integrator.
	_ = splitLines(p.r, maxLine, func(line string) {
		m.WriteWait(Entry{Source: source, Stream: stream, Format: f, Line: line})
	})
}

// Close closes svinit's copy of the write end. The reader stops at EOF,
// once every child holding W has exited too. Close may be called more
// than once; later calls return the first result.
func (p *Pipe) Close() error {
	p.once.Do(func() { p.err = p.W.Close() })
	return p.err
}

// Drained is closed when the reader has written the last line and
// stopped. At shutdown, close the pipe and wait for this with a deadline:
// a daemonized grandchild may hold W open for ever.
func (p *Pipe) Drained() <-chan struct{} { return p.drained }

// splitLines reads r to EOF and calls emit with each line, without its
// newline and one trailing "\r". Lines longer than max are cut into
// pieces of max bytes; a last line without newline is still emitted.
func splitLines(r io.Reader, max int, emit func(string)) error {
	br := bufio.NewReaderSize(r, min(max, readBuf))
	var long []byte // a line longer than the read buffer, being gathered
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = emitPieces(append(long, b...), max, emit)
			continue
		}
		line := b
		if len(long) > 0 {
			line = append(long, b...)
		}
		if len(line) > 0 {
			emitLast(line, max, emit)
		}
		long = long[:0]
		if cap(long) > 2*readBuf {
			long = nil // a long line once should not pin its buffer for ever
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read log pipe: %w", err)
		}
	}
}

// emitPieces emits max-byte pieces of the unfinished line b while more
// than max bytes remain, and returns the rest (never empty).
func emitPieces(b []byte, max int, emit func(string)) []byte {
	n := 0
	for len(b)-n > max {
		emit(string(b[n : n+max]))
		n += max
	}
	return b[:copy(b, b[n:])]
}

// emitLast emits the end of a line: b ends with its newline, or at EOF.
func emitLast(b []byte, max int, emit func(string)) {
	if b[len(b)-1] == '\n' {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && b[len(b)-1] == '\r' {
		b = b[:len(b)-1]
	}
	for len(b) > max {
		emit(string(b[:max]))
		b = b[max:]
	}
	emit(string(b))
}

// CloseAndDrain closes svinit's ends of pipes, then waits until deadline
// for their readers to write their last lines. A child that still holds a
// pipe (a daemon left behind) is not waited for past deadline. It reports
// whether every pipe drained.
func CloseAndDrain(deadline time.Time, pipes ...*Pipe) bool {
	for _, p := range pipes {
		p.Close()
	}
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for _, p := range pipes {
		select {
		case <-p.Drained():
		case <-t.C:
			return false
		}
	}
	return true
}

// Pipes are a child's stdout and stderr pipes into the mux, one source.
type Pipes struct{ out, err *Pipe }

// PipePair registers source and makes its stdout and stderr pipes (see
// Pipe for how lines are read). Inherit needs no pipe and is an error.
func (m *Mux) PipePair(source string, f Format) (*Pipes, error) {
	m.Register(source)
	out, err := m.Pipe(source, Stdout, f)
	if err != nil {
		return nil, err
	}
	errp, err := m.Pipe(source, Stderr, f)
	if err != nil {
		out.Close()
		return nil, err
	}
	return &Pipes{out: out, err: errp}, nil
}

// Fds are the write ends, for the child's fds 1 and 2.
func (p *Pipes) Fds() (out, err uintptr) { return p.out.W.Fd(), p.err.W.Fd() }

// Close closes svinit's write ends at once; the readers go on until every
// child holding them has exited. Call it right after the fork when the
// pipes serve one child (a cron job), so its last line comes out at its
// exit.
func (p *Pipes) Close() {
	p.out.Close()
	p.err.Close()
}

// CloseAndDrain closes svinit's write ends and waits until deadline for
// the last lines (see CloseAndDrain).
func (p *Pipes) CloseAndDrain(deadline time.Time) {
	CloseAndDrain(deadline, p.out, p.err)
}
