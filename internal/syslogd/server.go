package syslogd

import (
	"alpine-server/internal/builtin"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"

	"alpine-server/internal/jsoncodec"
	"alpine-server/internal/logmux"
)

// Settings read from the service's environment (SPEC §4).
const (
	EnvSocket       = "SYSLOG_SOCKET"        // datagram socket path
	EnvStreamSocket = "SYSLOG_STREAM_SOCKET" // optional stream socket path
	DefaultSocket   = "/dev/log"
	DefaultSource   = "syslog"
)

const (
	// maxMessage bounds one message; longer datagrams are truncated and
	// marked, longer stream lines split. rsyslog's default is 8 KiB and
	// busybox reads 256 bytes, so 64 KiB loses nothing real.
	maxMessage = 64 << 10
	// rcvBuf is asked for so bursts queue in the kernel rather than push
	// back on senders; without CAP_NET_ADMIN it is capped at rmem_max.
	rcvBuf = 4 << 20
	// maxStreamConns bounds the goroutines (and 64 KiB buffers) that
	// stream clients can make us hold.
	maxStreamConns = 64
)

// Sink receives the formatted lines; *logmux.Mux is one.
type Sink interface {
	WriteWait(e logmux.Entry) bool
}

// Logger is where the server reports on itself; *logmux.Logger is one.
type Logger interface {
	Debugf(format string, a ...any)
	Warnf(format string, a ...any)
}

// Config is everything a Server needs. Only Sink is required.
type Config struct {
	Socket       string        // datagram socket path; "" = DefaultSocket
	StreamSocket string        // stream socket path; "" = no stream socket
	Sink         Sink          // where each message goes, one line each
	Format       logmux.Format // Prefix/Plain: "user.notice tag[pid]: msg"; JSON: msg plus parsed fields
	Source       string        // the lines' source name; "" = DefaultSource
	Log          Logger        // svinit's own logger; nil = silent
}

// ConfigFromEnv returns a Config with the socket paths taken from env
// (SYSLOG_SOCKET, SYSLOG_STREAM_SOCKET); the caller sets the rest.
func ConfigFromEnv(env map[string]string) Config {
	return Config{Socket: env[EnvSocket], StreamSocket: env[EnvStreamSocket]}
}

// Stats are the counters reported by Status.
type Stats struct {
	Received      uint64 `json:"received"`       // datagrams and stream frames read
	ParseFailures uint64 `json:"parse_failures"` // messages that were neither RFC 3164 nor RFC 5424 (passed through raw)
	Truncated     uint64 `json:"truncated"`      // messages cut: datagrams over 64 KiB, lines escaped past 64 KiB
	Dropped       uint64 `json:"dropped"`        // lines the mux dropped because stdout stalled
}

// AppendJSON writes st as encoding/json would from its tags (the test
// compares them). A new counter is its field and one line here.
func (st Stats) AppendJSON(w *jsoncodec.Writer) {
	w.Open()
	w.Uint("received", st.Received, jsoncodec.Always)
	w.Uint("parse_failures", st.ParseFailures, jsoncodec.Always)
	w.Uint("truncated", st.Truncated, jsoncodec.Always)
	w.Uint("dropped", st.Dropped, jsoncodec.Always)
	w.Close()
}

// Server is the built-in syslog daemon. It implements the builtin.Service
// methods Run, Signal and Status.
type Server struct {
	cfg Config

	received, unparsed, truncated, dropped atomic.Uint64
}

// New checks cfg and fills in its defaults. Nothing is opened until Run.
func New(cfg Config) (*Server, error) {
	if cfg.Sink == nil {
		return nil, errors.New("syslog: no sink for the lines")
	}
	if cfg.Socket == "" {
		cfg.Socket = DefaultSocket
	}
	if cfg.Socket == cfg.StreamSocket {
		return nil, fmt.Errorf("syslog: %s and %s are both %s", EnvSocket, EnvStreamSocket, cfg.Socket)
	}
	if cfg.Source == "" {
		cfg.Source = DefaultSource
	}
	if cfg.Log == nil {
		cfg.Log = nopLogger{}
	}
	return &Server{cfg: cfg}, nil
}

// Run binds the sockets, calls ready, and turns every message into a line
// until ctx is done (nil) or a socket fails (the error). The socket files
// are removed on return.
func (s *Server) Run(ctx context.Context, ready func()) error {
	dg, err := listenDatagram(s.cfg.Socket, s.cfg.Log)
	if err != nil {
		return err
	}
	defer removeSocket(s.cfg.Socket)
	defer dg.Close()
	var ln *net.UnixListener
	if s.cfg.StreamSocket != "" {
		if ln, err = listenStream(s.cfg.StreamSocket); err != nil {
			return err
		}
		defer removeSocket(s.cfg.StreamSocket)
		defer ln.Close()
	}
	ready()
	return s.serve(ctx, dg, ln)
}

// serve runs the readers until ctx is done or one of them fails; either
// way all of them have returned when it does.
func (s *Server) serve(ctx context.Context, dg *net.UnixConn, ln *net.UnixListener) error {
	inner, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(inner, func() {
		dg.Close()
		if ln != nil {
			ln.Close()
		}
	})
	defer stop()
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	// A panic in any goroutine of ours ends Run with a *builtin.PanicError
	// (the supervisor restarts syslog); unrecovered, it would kill PID 1.
	var once sync.Once
	panicked := func(err error) { once.Do(func() { errs <- err }); cancel() }
	wg.Go(func() {
		defer builtin.Recover(panicked)
		errs <- s.readDatagrams(dg)
		cancel()
	})
	if ln != nil {
		wg.Go(func() {
			defer builtin.Recover(panicked)
			errs <- s.acceptStreams(inner, ln, &wg, panicked)
			cancel()
		})
	}
	wg.Wait()
	close(errs)
	var first error
	for err := range errs {
		var p *builtin.PanicError
		if errors.As(err, &p) {
			return err // even when stopping: a panic is a crash
		}
		if first == nil {
			first = err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return first
}

// readDatagrams reads until the socket is closed. Reading one datagram at a
// time and waiting in WriteWait keeps the order and, while stdout moves,
// pushes back on senders through the kernel queue instead of losing lines.
func (s *Server) readDatagrams(c *net.UnixConn) error {
	buf := make([]byte, maxMessage+1)
	for {
		n, _, flags, _, err := c.ReadMsgUnix(buf, nil)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("syslog: read %s: %w", s.cfg.Socket, err)
		}
		truncated := n > maxMessage || flags&syscall.MSG_TRUNC != 0
		s.handle(buf[:min(n, maxMessage)], truncated)
	}
}

// handle parses one message and hands its line to the sink. Empty messages
// are counted and dropped: they carry nothing to show.
func (s *Server) handle(b []byte, truncated bool) {
	s.received.Add(1)
	if truncated {
		s.truncated.Add(1)
	}
	if len(bytes.TrimRight(b, "\n\r\x00")) == 0 {
		return
	}
	m := Parse(b)
	if testHook != nil {
		testHook(&m)
	}
	if m.Kind == Raw {
		s.unparsed.Add(1)
	}
	e, cut := s.entry(&m, truncated)
	if cut && !truncated {
		s.truncated.Add(1)
	}
	if !s.cfg.Sink.WriteWait(e) {
		s.dropped.Add(1)
	}
}

// entry formats m for the configured log format: the text line, or for
// JSON the message alone with the parsed parts as fields. cut reports
// whether the line is marked truncated.
func (s *Server) entry(m *Message, truncated bool) (e logmux.Entry, cut bool) {
	e = logmux.Entry{Source: s.cfg.Source, Stream: logmux.Stdout, Format: s.cfg.Format}
	var line []byte
	if s.cfg.Format == logmux.JSON {
		line, e.Fields = appendEscaped(make([]byte, 0, len(m.Text)+8), m.Text), m.fields()
	} else {
		line = m.appendLine(make([]byte, 0, len(m.Text)+40))
	}
	line, cut = capLine(line, truncated)
	if cut && e.Fields != nil {
		e.Fields["truncated"] = "true"
	}
	e.Line = string(line)
	return e, cut
}

// Signal handles sv hup and friends: the server has no configuration
// file, so there is nothing to reload.
func (s *Server) Signal(sig syscall.Signal) {
	s.cfg.Log.Debugf("syslog: %v: nothing to reload", sig)
}

// Status returns the counters as a Stats value.
func (s *Server) Status() jsoncodec.Value {
	return Stats{
		Received:      s.received.Load(),
		ParseFailures: s.unparsed.Load(),
		Truncated:     s.truncated.Load(),
		Dropped:       s.dropped.Load(),
	}
}

type nopLogger struct{}

func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Warnf(string, ...any)  {}
