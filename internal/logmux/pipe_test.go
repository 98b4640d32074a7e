package logmux

import (
	"io"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"
)

func TestSplitLines(t *testing.T) {
	const max = 20 // bufio's smallest buffer is 16: lines cross it and max
	long := strings.Repeat("a", max)
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty input", "", nil},
		{"one line", "hello\n", []string{"hello"}},
		{"partial last line", "a\nb\npartial", []string{"a", "b", "partial"}},
		{"empty lines", "\n\nx\n", []string{"", "", "x"}},
		{"crlf stripped once", "a\r\nb\r\r\nc\r", []string{"a", "b\r", "c"}},
		{"exactly max", long + "\n", []string{long}},
		{"max plus one", long + "b\n", []string{long, "b"}},
		{"twice max", long + long + "\n", []string{long, long}},
		{"twice max plus tail", long + long + "xyz\nnext\n", []string{long, long, "xyz", "next"}},
		{"long partial at eof", long + "tail", []string{long, "tail"}},
		{"long crlf", long + "\r\n", []string{long}},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
	}
	for _, tt := range tests {
		for rname, wrap := range readers {
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				var got []string
				err := splitLines(wrap(strings.NewReader(tt.in)), max, func(l string) { got = append(got, l) })
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			})
		}
	}
}

func TestSplitLinesReadError(t *testing.T) {
	var got []string
	err := splitLines(iotest.TimeoutReader(strings.NewReader("a\nb")), 100, func(l string) { got = append(got, l) })
	if err == nil || !strings.Contains(err.Error(), "read log pipe") {
		t.Errorf("err = %v, want a read log pipe error", err)
	}
}

// TestPipe drives a real pipe: lines, CRLF, a partial last line, and a
// line longer than 64 KiB, written after the write end is shared.
func TestPipe(t *testing.T) {
	var out, errs recorder
	m := New(Options{Stdout: &out, Stderr: &errs})
	m.Register("web")
	p, err := m.Pipe("web", Stderr, Prefix)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", maxLine)
	child, err := dupFile(p.W) // what a child would hold after fork
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(child, "one\r\ntwo\n"+long+"yz\n"+long+"\npartial"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Drained():
		t.Fatal("reader stopped while a child still holds the write end")
	default:
	}
	child.Close()
	waitDrained(t, p)
	m.Close(soon())
	want := []string{"web | one", "web | two", "web | " + long, "web | yz", "web | " + long, "web | partial"}
	if got := errs.lines(); !reflect.DeepEqual(got, want) {
		t.Errorf("stderr lines differ (%d lines, want %d)", len(got), len(want))
	}
	if out.String() != "" {
		t.Errorf("stdout = %q, want nothing", out.String())
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestPipeJSON(t *testing.T) {
	var out recorder
	at := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	m := New(Options{Stdout: &out, Now: func() time.Time { return at }})
	p, err := m.Pipe("cron/root", Stdout, JSON)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(p.W, "tab\there")
	p.Close()
	waitDrained(t, p)
	m.Close(soon())
	want := `{"time":"2024-01-02T03:04:05Z","service":"cron/root","stream":"stdout","msg":"tab\there"}` + "\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

func TestPipeDiscardDrains(t *testing.T) {
	var out recorder
	m := New(Options{Stdout: &out})
	p, err := m.Pipe("quiet", Stdout, Discard)
	if err != nil {
		t.Fatal(err)
	}
	// More than a pipe's 64 KiB kernel buffer: a writer would block if
	// nobody read.
	io.WriteString(p.W, strings.Repeat("noise\n", 50000))
	p.Close()
	waitDrained(t, p)
	m.Close(soon())
	if out.String() != "" {
		t.Errorf("discard wrote %q", out.String())
	}
}

func TestPipeInheritIsAnError(t *testing.T) {
	m := New(Options{Stdout: io.Discard})
	defer m.Close(soon())
	_, err := m.Pipe("web", Stdout, Inherit)
	if err == nil || !strings.Contains(err.Error(), "web") {
		t.Errorf("err = %v, want an error naming the source", err)
	}
}

// TestPipeAfterClose: a pipe outliving the Mux still drains, so children
// never block writing to it.
func TestPipeAfterClose(t *testing.T) {
	m := New(Options{Stdout: io.Discard})
	p, err := m.Pipe("web", Stdout, Prefix)
	if err != nil {
		t.Fatal(err)
	}
	m.Close(soon())
	io.WriteString(p.W, strings.Repeat("late\n", 50000))
	p.Close()
	waitDrained(t, p)
}

func dupFile(f *os.File) (*os.File, error) {
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "child"), nil
}

func waitDrained(t *testing.T, p *Pipe) {
	t.Helper()
	select {
	case <-p.Drained():
	case <-time.After(5 * time.Second):
		t.Fatal("pipe reader not drained after the write end closed")
	}
}

func TestCloseAndDrain(t *testing.T) {
	m := New(Options{Stdout: io.Discard, Stderr: io.Discard})
	defer m.Close(time.Now().Add(time.Second))
	a, err := m.Pipe("a", Stdout, Plain)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Pipe("b", Stdout, Plain)
	if err != nil {
		t.Fatal(err)
	}
	if !CloseAndDrain(time.Now().Add(5*time.Second), a, b) {
		t.Errorf("pipes nobody else holds did not drain")
	}
	// A pipe a "child" still holds (a dup of W) cannot drain: the deadline ends the wait.
	c, err := m.Pipe("c", Stdout, Plain)
	if err != nil {
		t.Fatal(err)
	}
	held, err := dupFile(c.W)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	start := time.Now()
	if CloseAndDrain(time.Now().Add(50*time.Millisecond), c) {
		t.Errorf("a pipe still held reported drained")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("waited %v past a 50ms deadline", took)
	}
}
