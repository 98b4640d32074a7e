package notify

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"alpine-server/internal/sockfile"
)

// maxFds is how many descriptors one message may carry into svinit's
// buffer; the kernel closes any beyond it (MSG_CTRUNC), so none can leak.
const maxFds = 16

// Sender is who sent a message, as the kernel stamped it (SCM_CREDENTIALS;
// the pid is as seen from svinit's PID namespace).
type Sender struct{ Pid, Uid, Gid int }

// Stats counts a socket's messages since Listen.
type Stats struct {
	Accepted  uint64 // parsed, from the service, handed on
	Foreign   uint64 // from a process that is not the service's, or without credentials
	Malformed uint64 // refused by Parse
	Oversized uint64 // longer than MaxMessage
}

// Ignored is every message that was not accepted.
func (s Stats) Ignored() uint64 { return s.Foreign + s.Malformed + s.Oversized }

// Socket is one service's notify socket: give Path to the service as
// NOTIFY_SOCKET, then Serve.
type Socket struct {
	path string
	conn *net.UnixConn

	accepted, foreign, malformed, oversized atomic.Uint64
}

// Listen binds a datagram socket at path (its folder must exist), turns on
// SO_PASSCRED and makes the file writable by anyone: a service that drops
// privileges (postgres, a daemon that setuids) must still reach it, so, as
// systemd's /run/systemd/notify, who may speak is decided per message by
// its credentials, not by file modes. A stale socket of an earlier run is
// replaced (sockfile's rule); anything else at path is an error.
func Listen(path string) (*Socket, error) {
	if err := sockfile.RemoveStale("unixgram", path); err != nil {
		return nil, fmt.Errorf("notify socket %w", err)
	}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, fmt.Errorf("notify socket %s: %w", path, err)
	}
	s := &Socket{path: path, conn: conn}
	if err := s.passCred(); err != nil {
		s.Close()
		return nil, fmt.Errorf("notify socket %s: SO_PASSCRED: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		s.Close()
		return nil, fmt.Errorf("notify socket %s: chmod: %w", path, err)
	}
	return s, nil
}

func (s *Socket) passCred() error {
	raw, err := s.conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1)
	}); err != nil {
		return err
	}
	return serr
}

// Path is the socket's file, the value of NOTIFY_SOCKET.
func (s *Socket) Path() string { return s.path }

// Stats returns the counts so far.
func (s *Socket) Stats() Stats {
	return Stats{Accepted: s.accepted.Load(), Foreign: s.foreign.Load(),
		Malformed: s.malformed.Load(), Oversized: s.oversized.Load()}
}

// CountForeign counts, as foreign, part of an accepted message that its
// receiver ignored: a MAINPID= naming a process that is not the service's.
func (s *Socket) CountForeign() { s.foreign.Add(1) }

// Close stops Serve and removes the socket file.
func (s *Socket) Close() error {
	err := s.conn.Close()
	if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
		err = rerr
	}
	return err
}

// Serve reads messages until Close. For each one it asks accept whether
// the sender is one of the service's processes (called at once, while a
// client such as systemd-notify still waits for its barrier); handle gets
// every accepted, well-formed message in the order sent. The descriptors a
// message carried are closed after handle returns, so a BARRIER=1 client
// is released only once everything it sent before was handled. log gets
// one debug line per ignored message (nil: none).
func (s *Socket) Serve(accept func(Sender) bool, handle func(Message, Sender), log func(format string, args ...any)) error {
	if log == nil {
		log = func(string, ...any) {}
	}
	buf := make([]byte, MaxMessage)
	oob := make([]byte, unix.CmsgSpace(unix.SizeofUcred)+unix.CmsgSpace(4*maxFds))
	for {
		n, oobn, flags, _, err := s.conn.ReadMsgUnix(buf, oob)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("notify socket %s: %w", s.path, err)
		}
		from, fds, ok := control(oob[:oobn])
		s.one(buf[:n], flags, from, ok, accept, handle, log)
		for _, fd := range fds {
			_ = unix.Close(fd) // net set MSG_CMSG_CLOEXEC: no child saw it
		}
	}
}

// one judges and hands on one received message. An ignored message is
// logged before it is counted: whoever sees the count sees the line.
func (s *Socket) one(b []byte, flags int, from Sender, cred bool, accept func(Sender) bool, handle func(Message, Sender), log func(string, ...any)) {
	switch {
	case !cred:
		log("notify %s: ignored a message without sender credentials", s.path)
		s.foreign.Add(1)
		return
	case !accept(from):
		log("notify %s: ignored a message from pid %d (uid %d): not a process of the service", s.path, from.Pid, from.Uid)
		s.foreign.Add(1)
		return
	case flags&unix.MSG_TRUNC != 0:
		log("notify %s: ignored a message from pid %d: over %d bytes", s.path, from.Pid, MaxMessage)
		s.oversized.Add(1)
		return
	}
	m, err := Parse(b)
	if err != nil {
		log("notify %s: ignored a message from pid %d: %v", s.path, from.Pid, err)
		s.malformed.Add(1)
		return
	}
	s.accepted.Add(1)
	handle(m, from)
}

// control reads the ancillary data: the sender's credentials and every
// descriptor passed (each of which the caller must close).
func control(oob []byte) (from Sender, fds []int, cred bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return from, nil, false
	}
	for i := range msgs {
		m := &msgs[i]
		if m.Header.Level != unix.SOL_SOCKET {
			continue
		}
		switch m.Header.Type {
		case unix.SCM_RIGHTS:
			if got, err := unix.ParseUnixRights(m); err == nil {
				fds = append(fds, got...)
			}
		case unix.SCM_CREDENTIALS:
			if uc, err := unix.ParseUnixCredentials(m); err == nil {
				from, cred = Sender{Pid: int(uc.Pid), Uid: int(uc.Uid), Gid: int(uc.Gid)}, true
			}
		}
	}
	return from, fds, cred
}
