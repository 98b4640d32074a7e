package control

import (
	"alpine-server/internal/sockfile"
	"bufio"
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
)

// Logger is the part of svinit's logger the server uses;
// *logmux.Logger satisfies it.
type Logger interface {
	Debugf(format string, a ...any)
	Infof(format string, a ...any)
	Warnf(format string, a ...any)
}

// Server limits. A connection holds a slot from accept to close; when all
// slots are taken the server stops accepting and clients queue in the
// kernel's backlog (the socket is 0600 in a 0700 folder, so only root and
// svinit's uid can queue there at all).
const (
	defaultMaxConns     = 32
	defaultReadTimeout  = 5 * time.Second
	defaultWriteTimeout = 5 * time.Second
)

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
	maxConns     int
	readTimeout  time.Duration
	writeTimeout time.Duration
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
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	context.AfterFunc(ctx, func() { ln.Close() })
	slots := make(chan struct{}, s.maxConns)
	backoff := 5 * time.Millisecond
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return nil
		}
		conn, err := ln.AcceptUnix()
		if err != nil {
			<-slots
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
		wg.Go(func() {
			defer func() { <-slots }()
			s.conn(ctx, conn)
		})
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

// conn answers one connection: one request line, one response line.
func (s *server) conn(ctx context.Context, c *net.UnixConn) {
	defer c.Close()
	peer, err := peerCred(c)
	if err != nil {
		s.log.Warnf("control: peer credentials: %v", err)
		s.reply(c, peer, Response{Error: "cannot read peer credentials"})
		return
	}
	req, err := s.readRequest(c)
	if err != nil {
		s.log.Warnf("control: %s: %v", peer, err)
		s.reply(c, peer, Response{Error: err.Error()})
		return
	}
	if err := s.allow(peer, req); err != nil {
		s.log.Warnf("control: %s: %s refused: %v", peer, req.Verb, err)
		s.reply(c, peer, Response{Error: err.Error()})
		return
	}
	s.log.Debugf("control: %s: %s %v", peer, req.Verb, req.Names)
	ctx, cancel := context.WithCancel(withPeer(ctx, peer))
	defer cancel()
	go cancelOnHangup(c, cancel)
	s.reply(c, peer, s.handle(ctx, peer, req))
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

// readRequest reads and decodes one line within the read deadline.
func (s *server) readRequest(c *net.UnixConn) (Request, error) {
	if err := c.SetReadDeadline(time.Now().Add(s.readTimeout)); err != nil {
		return Request{}, fmt.Errorf("set read deadline: %w", err)
	}
	line, err := readLine(bufio.NewReader(c), MaxRequestBytes)
	if err != nil {
		return Request{}, err
	}
	return decodeRequest(line)
}

// errTooLarge is the answer to a line over MaxRequestBytes.
var errTooLarge = fmt.Errorf("request too large (max %d bytes)", MaxRequestBytes)

// readLine reads up to and including '\n', at most max bytes in all. A last
// line without '\n' before EOF counts (for hand-made clients such as
// `printf ... | socat`).
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		chunk, err := r.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > max {
			return nil, errTooLarge
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
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

// cancelOnHangup cancels a request whose client closed its end: anything
// the client sends after the request line is ignored, and EOF means it left
// (a waiting handler then stops waiting). It returns when the server closes
// the connection.
func cancelOnHangup(c *net.UnixConn, cancel context.CancelFunc) {
	if c.SetReadDeadline(time.Time{}) == nil {
		io.Copy(io.Discard, c)
	}
	cancel()
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
