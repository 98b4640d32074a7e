package syslogd

import (
	"alpine-server/internal/builtin"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
)

// maxFrameHeader is the longest RFC 6587 octet count we accept ("65536 ").
const maxFrameHeader = 6

// acceptStreams serves stream clients until ln is closed. Each client gets
// a goroutine (at most maxStreamConns), closed when ctx is done.
func (s *Server) acceptStreams(ctx context.Context, ln *net.UnixListener, wg *sync.WaitGroup, panicked func(error)) error {
	slots := make(chan struct{}, maxStreamConns)
	for {
		c, err := ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("syslog: accept on %s: %w", s.cfg.StreamSocket, err)
		}
		select {
		case slots <- struct{}{}:
		default:
			s.cfg.Log.Warnf("syslog: %s: more than %d stream clients, closing one", s.cfg.StreamSocket, maxStreamConns)
			c.Close()
			continue
		}
		wg.Go(func() {
			defer builtin.Recover(panicked)
			defer func() { <-slots }()
			s.serveStream(ctx, c)
		})
	}
}

// serveStream reads frames from one client until it hangs up or ctx is done.
func (s *Server) serveStream(ctx context.Context, c *net.UnixConn) {
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 4096), maxMessage+maxFrameHeader)
	sc.Split(new(framer).split)
	for sc.Scan() {
		s.handle(sc.Bytes(), false)
	}
	if err := sc.Err(); err != nil && !errors.Is(err, net.ErrClosed) {
		s.cfg.Log.Debugf("syslog: stream client on %s: %v", s.cfg.StreamSocket, err)
	}
}

// framer is a bufio.SplitFunc for syslog over a stream: RFC 6587 octet
// counting ("LEN MSG", chosen when the frame starts with a digit, as
// rsyslog does) or non-transparent framing, each message ended by a newline
// or a NUL (glibc's syslog(3) stream fallback sends the NUL). A message
// longer than maxMessage is split, never refused.
type framer struct {
	// searched is how much of the pending frame holds no delimiter, so a
	// client trickling bytes costs linear, not quadratic, time.
	searched int
}

func (f *framer) split(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if len(data) == 0 {
		return 0, nil, nil
	}
	if isDigit(data[0]) {
		if adv, tok, ok := octetFrame(data, atEOF); ok {
			return adv, tok, nil
		}
	}
	if i := bytes.IndexAny(data[f.searched:], "\n\x00"); i >= 0 && f.searched+i <= maxMessage {
		i += f.searched
		f.searched = 0
		return i + 1, data[:i], nil
	}
	if len(data) >= maxMessage || atEOF {
		n := min(len(data), maxMessage)
		f.searched = 0
		return n, data[:n], nil
	}
	f.searched = len(data)
	return 0, nil, nil
}

// octetFrame reads "LEN SP MSG". With ok true, advance 0 and no token
// mean "read more first". ok false means the front is not a valid count,
// and the caller falls back to newline framing.
func octetFrame(data []byte, atEOF bool) (advance int, token []byte, ok bool) {
	n, i := 0, 0
	for ; i < len(data) && i < maxFrameHeader && isDigit(data[i]); i++ {
		n = n*10 + int(data[i]-'0')
	}
	if i == len(data) && i < maxFrameHeader && !atEOF {
		return 0, nil, true // the count is not complete yet
	}
	if i == len(data) || data[i] != ' ' || data[0] == '0' || n > maxMessage {
		return 0, nil, false
	}
	end := i + 1 + n
	if end <= len(data) {
		return end, data[i+1 : end], true
	}
	if atEOF {
		return len(data), data[i+1:], true
	}
	return 0, nil, true
}
