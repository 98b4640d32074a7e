package metrics

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxConns     = 8
	DefaultReadTimeout  = 5 * time.Second
	DefaultWriteTimeout = 10 * time.Second
	// maxRequest bounds the request line and headers of one request.
	maxRequest = 8 << 10
	// lingerTime bounds the wait for a client to hang up after its answer.
	lingerTime = time.Second
)

// ParseAddr checks SVINIT_METRICS_ADDR: "[HOST]:PORT" as net.Listen takes
// it (":9100", "127.0.0.1:9100", "[::1]:9100"), a port from 1 to 65535.
// "" means off and returns "".
func ParseAddr(v string) (string, error) {
	if v == "" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return "", errors.New("want [HOST]:PORT like :9100 or 127.0.0.1:9100 ([::1]:9100 for IPv6)")
	}
	if strings.ContainsAny(host, " \t/") {
		return "", fmt.Errorf("bad host %q", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q: want a number from 1 to 65535", port)
	}
	return v, nil
}

// Logger is where the server's debug lines go (*logmux.Logger fits).
type Logger interface {
	Debugf(format string, a ...any)
}

// Options tune Serve; the zero value takes the defaults.
type Options struct {
	MaxConns     int           // connections served at once; more are closed at once
	ReadTimeout  time.Duration // to read a request's head
	WriteTimeout time.Duration // to write the response
	Log          Logger        // nil: none
}

// Serve answers `GET /metrics` on ln with render's output until ctx ends,
// then closes ln and every open connection. Each connection has its own
// goroutine and deadlines, so a client that connects and sends nothing
// delays no one else; at most MaxConns are served at once, so clients
// cannot pile up goroutines (more are closed unanswered). One request per connection (Connection:
// close); HEAD is served as GET without the body, other methods on
// /metrics get 405, other paths 404, a malformed request 400.
func Serve(ctx context.Context, ln net.Listener, render func() []byte, o Options) error {
	s := &server{render: render, o: o.withDefaults(), conns: map[net.Conn]struct{}{}}
	s.slots = make(chan struct{}, s.o.MaxConns)
	stop := context.AfterFunc(ctx, func() { ln.Close(); s.closeAll() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			s.wg.Wait()
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("metrics: accept: %w", err)
		}
		select {
		case s.slots <- struct{}{}:
		default:
			s.refuse(c)
			continue
		}
		if !s.track(c) {
			<-s.slots
			continue
		}
		s.wg.Add(1)
		go s.serve(c)
	}
}

func (o Options) withDefaults() Options {
	if o.MaxConns <= 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = DefaultReadTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	return o
}

type server struct {
	render func() []byte
	o      Options
	slots  chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// track registers c so that the end of Serve closes it; false (and c
// closed) when Serve is already ending.
func (s *server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		c.Close()
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
}

// refuse closes a connection over MaxConns at once. No 503: answering
// well means reading the request first (else the close resets the
// answer away), and the accept loop must not wait for anyone.
func (s *server) refuse(c net.Conn) {
	c.Close()
	s.debugf("metrics: refused %s: %d connections already open", c.RemoteAddr(), s.o.MaxConns)
}

func (s *server) serve(c net.Conn) {
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		c.Close()
		<-s.slots
	}()
	_ = c.SetReadDeadline(time.Now().Add(s.o.ReadTimeout))
	method, path, err := readRequest(bufio.NewReaderSize(io.LimitReader(c, maxRequest), 1024))
	_ = c.SetWriteDeadline(time.Now().Add(s.o.WriteTimeout))
	var resp []byte
	switch {
	case err != nil:
		s.debugf("metrics: %s: %v", c.RemoteAddr(), err)
		if errors.Is(err, errBadRequest) {
			resp = response("400 Bad Request", "text/plain; charset=utf-8", "", []byte(err.Error()+"\n"), true)
		}
	case path != "/metrics":
		resp = response("404 Not Found", "text/plain; charset=utf-8", "", []byte("not found: try /metrics\n"), method != "HEAD")
	case method != "GET" && method != "HEAD":
		resp = response("405 Method Not Allowed", "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n", []byte("method not allowed\n"), true)
	default:
		resp = response("200 OK", ContentType, "", s.render(), method == "GET")
	}
	if resp == nil {
		return // timed out or gone: nobody to answer
	}
	if _, err := c.Write(resp); err != nil {
		s.debugf("metrics: %s: write: %v", c.RemoteAddr(), err)
		return
	}
	linger(c)
}

// linger ends the response and reads what the client still sends, for a
// moment, before the close: closing a socket with unread input makes the
// kernel send a reset, which can destroy the response before the client
// reads it (a request head over the bound, a body nobody asked for).
func linger(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = c.SetReadDeadline(time.Now().Add(lingerTime))
	_, _ = io.CopyN(io.Discard, c, 256<<10)
}

func (s *server) debugf(format string, a ...any) {
	if s.o.Log != nil {
		s.o.Log.Debugf(format, a...)
	}
}

// errBadRequest marks what deserves a 400 (not a timeout or a hang-up).
var errBadRequest = errors.New("bad request")

// readRequest reads a request's line and headers (which are ignored: no
// body is read, none is expected) and returns its method and path, the
// query cut off.
func readRequest(r *bufio.Reader) (method, path string, err error) {
	line, err := readLine(r)
	if err != nil {
		return "", "", err
	}
	parts := strings.Split(line, " ")
	if len(parts) != 3 || parts[0] == "" || !strings.HasPrefix(parts[1], "/") || !strings.HasPrefix(parts[2], "HTTP/1.") {
		return "", "", fmt.Errorf("%w: request line %q", errBadRequest, clip(line))
	}
	for {
		h, err := readLine(r)
		if err != nil {
			return "", "", err
		}
		if h == "" {
			break
		}
	}
	path, _, _ = strings.Cut(parts[1], "?")
	return parts[0], path, nil
}

// readLine reads one CRLF- (or LF-) terminated line; the 8 KiB bound on
// the whole head shows as a 400.
func readLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	switch {
	case err == io.EOF && len(line) > 0:
		return "", fmt.Errorf("%w: request head over %d bytes or cut short", errBadRequest, maxRequest)
	case err != nil:
		return "", err
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

// response is a whole HTTP/1.1 response; withBody false (HEAD) keeps the
// headers, Content-Length included, and drops the body.
func response(status, contentType, extra string, body []byte, withBody bool) []byte {
	b := make([]byte, 0, 160+len(body))
	b = append(b, "HTTP/1.1 "...)
	b = append(b, status...)
	b = append(b, "\r\nContent-Type: "...)
	b = append(b, contentType...)
	b = append(b, "\r\nContent-Length: "...)
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, "\r\nConnection: close\r\n"...)
	b = append(b, extra...)
	b = append(b, "\r\n"...)
	if withBody {
		b = append(b, body...)
	}
	return b
}

// clip shortens a request line quoted in a message.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Listen opens SVINIT_METRICS_ADDR's TCP listener; its error names the
// variable (a port in use, an address not on this host).
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("SVINIT_METRICS_ADDR=%q: %w", addr, err)
	}
	return ln, nil
}
