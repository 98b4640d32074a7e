package control

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"alpine-server/internal/sockfile"
)

// Logger is the part of svinit's logger the server uses;
// *logmux.Logger satisfies it.
type Logger interface {
	Debugf(format string, a ...any)
	Infof(format string, a ...any)
	Warnf(format string, a ...any)
}

// Server limits. An idle client never holds up another: until a
// connection has sent something it waits in the idle set (one epoll set
// for all, see idleSet), costing an fd and a few hundred bytes, not a
// goroutine. Open connections are bounded to fit the fd limit (maxOpen);
// at the bound the idle connection accepted first is dropped to make
// room, and when none is idle new clients wait in the kernel's listen
// queue until one closes (the socket is 0600 in a 0700 folder: only root
// and svinit's uid can queue there at all). Requests being read and
// answered are bounded too (maxConns goroutines); a readable connection
// beyond that waits its turn, first come first served.
const (
	defaultMaxConns     = 128
	defaultMaxOpen      = 256
	minOpen             = 16
	defaultReadTimeout  = 5 * time.Second
	defaultWriteTimeout = 5 * time.Second
	// readChunk is what one read takes of a request line: a request is
	// one short line.
	readChunk = 512
)

// maxOpenFor fits the open connection bound to the soft RLIMIT_NOFILE: a
// quarter of the fds, between minOpen and defaultMaxOpen.
func maxOpenFor(softNOFILE uint64) int {
	return int(min(max(softNOFILE/4, minOpen), defaultMaxOpen))
}

// nopLogger drops everything, for a nil Logger.
type nopLogger struct{}

func (nopLogger) Debugf(string, ...any) {}
func (nopLogger) Infof(string, ...any)  {}
func (nopLogger) Warnf(string, ...any)  {}

// server answers connections on one listener.
type server struct {
	h            Handler
	log          Logger
	uid          int // svinit's own uid, allowed to change state
	maxConns     int // requests read or answered at once
	maxOpen      int // open connections, idle ones included
	readTimeout  time.Duration
	writeTimeout time.Duration

	ctx context.Context // serve's: done when the server stops
	wg  sync.WaitGroup  // every goroutine serve started

	mu       sync.Mutex
	conns    map[*conn]struct{} // every open connection
	busy     int                // connections with a request goroutine
	queue    []*conn            // readable, waiting for busy < maxConns
	idle     *idleSet           // those that have sent nothing yet
	freed    chan struct{}      // a connection closed (capacity 1)
	drops    int                // idle connections dropped since lastWarn
	lastWarn time.Time
}

// conn is one client connection.
type conn struct {
	uc       *net.UnixConn
	fd       int    // uc's socket, for epoll and FIONREAD
	id       uint32 // its event id in the idle set
	accepted time.Time
	busy     bool // counted in server.busy (s.mu)
	reading  bool // reading its request (s.mu): woken at stop
}

// Serve listens on the unix socket path and answers requests with h until
// ctx is done; then it stops accepting, cancels the requests in flight and
// returns nil once they are answered. It returns an error naming path when
// the socket cannot be set up. h must not wait for Serve to return (a
// shutdown verb cancels ctx and returns its Response).
func Serve(ctx context.Context, path string, h Handler, log Logger) error {
	ln, err := listen(path)
	if err != nil {
		return err
	}
	if log == nil {
		log = nopLogger{}
	}
	s := &server{h: h, log: log, uid: os.Getuid(), maxConns: defaultMaxConns,
		readTimeout: defaultReadTimeout, writeTimeout: defaultWriteTimeout}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &lim) == nil {
		s.maxOpen = maxOpenFor(lim.Cur)
	}
	return s.serve(ctx, ln)
}

// listen makes the socket's folder private (0700, even if it existed),
// replaces a stale socket and listens with mode 0600. The socket is briefly
// umask-moded between bind and chmod; the 0700 folder covers that window.
func listen(path string) (*net.UnixListener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("control socket %s: create folder: %w", path, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("control socket %s: chmod folder: %w", path, err)
	}
	if err := sockfile.RemoveStale("unix", path); err != nil {
		return nil, fmt.Errorf("control socket %w", err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: chmod: %w", path, err)
	}
	return ln, nil
}

// serve runs the accept loop until ctx is done.
func (s *server) serve(ctx context.Context, ln *net.UnixListener) error {
	idle, err := newIdleSet()
	if err != nil {
		ln.Close()
		return fmt.Errorf("control socket %s: epoll: %w", ln.Addr(), err)
	}
	if s.maxOpen <= 0 {
		s.maxOpen = defaultMaxOpen
	}
	ctx, cancel := context.WithCancel(ctx)
	defer s.wg.Wait()
	defer cancel()
	s.ctx, s.conns, s.idle, s.freed = ctx, map[*conn]struct{}{}, idle, make(chan struct{}, 1)
	context.AfterFunc(ctx, func() {
		ln.Close()
		s.stop()
	})
	s.wg.Go(s.watchIdle)
	backoff := 5 * time.Millisecond
	for {
		uc, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// EMFILE and friends: log, back off, keep serving (as net/http).
			s.log.Warnf("control: accept: %v", err)
			if !sleepCtx(ctx, backoff) {
				return nil
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		c := &conn{uc: uc, accepted: time.Now()}
		if raw, err := uc.SyscallConn(); err == nil {
			raw.Control(func(fd uintptr) { c.fd = int(fd) })
		}
		if !s.admit(c) {
			uc.Close()
			return nil
		}
		if err := s.idle.add(c); err != nil {
			s.release(c)
			uc.Close()
			if ctx.Err() == nil {
				s.log.Warnf("control: watch connection: %v", err)
			}
		}
	}
}

// admit counts c in: below maxOpen at once; at the bound by dropping the
// idle connection accepted first; when none is idle, once one closes.
// False when ctx ended first.
func (s *server) admit(c *conn) bool {
	for {
		s.mu.Lock()
		if len(s.conns) < s.maxOpen {
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			return true
		}
		s.mu.Unlock()
		if victim := s.idle.takeIdlest(); victim != nil {
			s.drop(victim)
			continue
		}
		select {
		case <-s.freed:
		case <-s.ctx.Done():
			return false
		}
	}
}

// droppedLine is the answer to a connection dropped while idle, encoded
// once: a flood of drops costs no goroutine and no allocation each.
var droppedLine = func() []byte {
	b, _ := encodeResponse(&Response{Error: errDropped})
	return append(b, '\n')
}()

// drop closes an idle connection, telling its client why. Its socket has
// sent nothing and been sent nothing, so a non-blocking write of one short
// line fits its buffer; if not, the client just sees the close.
func (s *server) drop(c *conn) {
	unix.Write(c.fd, droppedLine)
	c.uc.Close()
	s.mu.Lock()
	delete(s.conns, c)
	s.drops++
	if now := time.Now(); now.Sub(s.lastWarn) >= time.Minute {
		s.log.Warnf("control: %d connections open, the limit; dropping the idlest (%d since the last such warning)", s.maxOpen, s.drops)
		s.lastWarn, s.drops = now, 0
	}
	s.mu.Unlock()
}

// dispatch gives c, which has something to read, a goroutine, or queues
// it while maxConns requests are being answered.
func (s *server) dispatch(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.busy >= s.maxConns {
		s.queue = append(s.queue, c)
		return
	}
	s.startLocked(c)
}

// startLocked runs c's goroutine, counted in s.busy. s.mu is held.
func (s *server) startLocked(c *conn) {
	s.busy++
	c.busy = true
	s.wg.Go(func() {
		defer s.release(c)
		s.conn(s.ctx, c)
	})
}

// watchIdle dispatches each idle connection once it has something to read
// or its read timeout passed; at stop it hands over the rest, which are
// told svinit is stopping.
func (s *server) watchIdle() {
	next := time.Duration(-1)
	for s.ctx.Err() == nil {
		ready, err := s.idle.wait(next)
		if err != nil {
			s.log.Warnf("control: epoll_wait: %v", err)
			sleepCtx(s.ctx, time.Second)
		}
		// Expired ones meet their read deadline at once, and say so.
		expired, oldest := s.idle.takeExpired(time.Now().Add(-s.readTimeout))
		for _, c := range append(ready, expired...) {
			s.dispatch(c)
		}
		next = -1
		if !oldest.IsZero() {
			next = max(time.Until(oldest.Add(s.readTimeout)), 0)
		}
	}
	for _, c := range s.idle.close() {
		s.dispatch(c)
	}
}

// release forgets c once its goroutine is done, starts the next queued
// connection, and lets a waiting admit go.
func (s *server) release(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	if c.busy {
		s.busy--
		c.busy = false
	}
	if len(s.queue) > 0 && s.busy < s.maxConns {
		next := s.queue[0]
		s.queue = s.queue[1:]
		s.startLocked(next)
	}
	s.mu.Unlock()
	select {
	case s.freed <- struct{}{}:
	default:
	}
}

// stop wakes the idle set and every connection still reading its
// request: svinit is stopping and will answer no more.
func (s *server) stop() {
	s.idle.wakeUp()
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.reading {
			c.uc.SetReadDeadline(time.Now())
		}
	}
}

// sleepCtx waits d or until ctx is done; false when ctx is done.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// errDropped answers a connection dropped while it sent nothing.
const errDropped = "connection dropped: it sent no request while the connection limit was reached"

// conn answers one connection: one request line, one response line.
func (s *server) conn(ctx context.Context, c *conn) {
	defer c.uc.Close()
	peer, err := peerCred(c.uc)
	if err != nil {
		s.log.Warnf("control: peer credentials: %v", err)
		s.reply(c.uc, peer, Response{Error: "cannot read peer credentials"})
		return
	}
	line, err := s.readRequest(ctx, c)
	var req Request
	if err == nil {
		req, err = decodeRequest(line)
	}
	if err != nil && ctx.Err() != nil {
		s.reply(c.uc, peer, Response{Error: "svinit is stopping"})
		return
	}
	if err != nil {
		s.log.Warnf("control: %s: %v", peer, err)
		s.reply(c.uc, peer, Response{Error: err.Error()})
		return
	}
	if err := s.allow(peer, req); err != nil {
		s.log.Warnf("control: %s: %s refused: %v", peer, req.Verb, err)
		s.reply(c.uc, peer, Response{Error: err.Error()})
		return
	}
	s.log.Debugf("control: %s: %s %v", peer, req.Verb, req.Names)
	ctx, cancel := context.WithCancel(withPeer(ctx, peer))
	defer cancel()
	go cancelOnHangup(c.uc, cancel)
	s.reply(c.uc, peer, s.handle(ctx, peer, req))
}

// handle calls the handler, turning a panic into an error answer: a bug in
// one verb must not take down PID 1.
func (s *server) handle(ctx context.Context, p Peer, req Request) (resp Response) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Warnf("control: %s: %s panicked: %v\n%s", p, req.Verb, r, debug.Stack())
			resp = Response{Error: fmt.Sprintf("internal error in %s: %v", req.Verb, r)}
		}
	}()
	return s.h.Handle(ctx, req)
}

// String names the peer in log lines.
func (p Peer) String() string {
	return fmt.Sprintf("peer pid %d uid %d", p.Pid, p.Uid)
}

// peerCred asks the kernel who is at the other end (SO_PEERCRED): the
// credentials of the process that connected, which the client cannot forge.
func peerCred(c *net.UnixConn) (Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return Peer{Pid: -1, Uid: -1, Gid: -1}, err
	}
	var cred *unix.Ucred
	var serr error
	err = raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	})
	if err == nil {
		err = serr
	}
	if err != nil {
		return Peer{Pid: -1, Uid: -1, Gid: -1}, fmt.Errorf("getsockopt SO_PEERCRED: %w", err)
	}
	return Peer{Pid: int(cred.Pid), Uid: int(cred.Uid), Gid: int(cred.Gid)}, nil
}

// readRequest reads one line within the read timeout, counted from the
// accept, readChunk bytes at a time.
func (s *server) readRequest(ctx context.Context, c *conn) ([]byte, error) {
	// Under s.mu, so stop either sees c reading (and moves the deadline
	// to now after this) or has run already (and ctx is done).
	s.mu.Lock()
	c.reading = true
	err := c.uc.SetReadDeadline(c.accepted.Add(s.readTimeout))
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		c.reading = false
		s.mu.Unlock()
	}()
	switch {
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		return nil, fmt.Errorf("set read deadline: %w", err)
	}
	return readLine(c.uc, MaxRequestBytes)
}

// errTooLarge is the answer to a line over MaxRequestBytes.
var errTooLarge = fmt.Errorf("request too large (max %d bytes)", MaxRequestBytes)

// readLine reads up to and including '\n', at most max bytes in all.
// Bytes after the '\n' are dropped (a client sends one line). A last line
// without '\n' before EOF counts (for hand-made clients such as
// `printf ... | socat`).
func readLine(r io.Reader, max int) ([]byte, error) {
	var line []byte
	chunk := make([]byte, readChunk)
	for {
		n, err := r.Read(chunk)
		if n > 0 {
			if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
				n = i + 1
				err = nil
			}
			line = append(line, chunk[:n]...)
			if len(line) > max {
				return nil, errTooLarge
			}
			if line[len(line)-1] == '\n' {
				return line, nil
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		case errors.Is(err, io.EOF):
			return nil, errors.New("invalid request: connection closed before a request line")
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, errors.New("invalid request: no complete request line in time")
		default:
			return nil, fmt.Errorf("read request: %w", err)
		}
	}
}

// allow refuses state changes to anyone but root and svinit's own uid.
func (s *server) allow(p Peer, req Request) error {
	if !Mutates(req.Verb) || p.Uid == 0 || p.Uid == s.uid {
		return nil
	}
	who := "root"
	if s.uid != 0 {
		who = fmt.Sprintf("root or uid %d", s.uid)
	}
	return fmt.Errorf("permission denied: uid %d may only read status (state changes need %s)", p.Uid, who)
}

// cancelOnHangup cancels a request whose client has gone: it closed its
// end of the connection entirely. A half-close (shutdown(SHUT_WR), what
// `printf ... | socat` does) is not a hang-up: the client still reads the
// answer. Anything the client sends after its request is discarded. It
// returns when the server closes the connection.
func cancelOnHangup(c *net.UnixConn, cancel context.CancelFunc) {
	defer cancel()
	raw, err := c.SyscallConn()
	if err != nil || c.SetReadDeadline(time.Time{}) != nil {
		return
	}
	var buf [readChunk]byte
	eof := false
	// raw.Read calls the function again each time the socket becomes
	// readable (edge-triggered), until it returns true or c is closed.
	// After EOF the next edge is the peer's full close: both directions
	// shut down, which poll reports as POLLHUP (net/unix/af_unix.c,
	// unix_release_sock sets SHUTDOWN_MASK on the peer).
	raw.Read(func(fd uintptr) bool {
		for !eof {
			n, err := unix.Read(int(fd), buf[:])
			switch {
			case n > 0 || err == unix.EINTR:
			case err == unix.EAGAIN:
				return false
			case err != nil:
				return true // ECONNRESET: the client is gone
			default:
				eof = true
			}
		}
		return peerGone(int(fd))
	})
}

// peerGone reports POLLHUP on fd: the other end closed entirely.
func peerGone(fd int) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(p, 0)
	return err == nil && n > 0 && p[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
}

// reply writes resp as one line within the write deadline.
func (s *server) reply(c *net.UnixConn, p Peer, resp Response) {
	resp.OK = resp.OK && resp.Error == ""
	b, err := encodeResponse(&resp)
	if err != nil {
		s.log.Warnf("control: %s: encode response: %v", p, err)
		b, _ = encodeResponse(&Response{Error: "encode response: " + err.Error()})
	}
	err = c.SetWriteDeadline(time.Now().Add(s.writeTimeout))
	if err == nil {
		_, err = c.Write(append(b, '\n'))
	}
	if err != nil {
		s.log.Debugf("control: %s: write response: %v", p, err)
	}
}
