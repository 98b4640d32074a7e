// Package probe answers "is this service ready?" for the four readiness
// checks of a manifest: tcp, http, exec and file.
//
// The HTTP check is a few lines over package net on purpose: importing
// net/http would add about 4 MB to svinit, and in a container the binary's
// pages are charged as memory (SPEC §12).
package probe

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"alpine-server/internal/reaper"
)

// Probe is one readiness check; Check returns nil when the service is ready.
type Probe interface {
	Check(ctx context.Context) error
	String() string
}

// TCP is ready when a connection to Addr (host:port) is accepted.
type TCP struct{ Addr string }

// Check dials once.
func (p TCP) Check(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// String names the probe in log lines.
func (p TCP) String() string { return "tcp " + p.Addr }

// HTTP is ready when GET Path on Addr (host:port) answers a 2xx or 3xx
// status. The manifest package has already split and checked the URL.
type HTTP struct {
	Addr string // host:port to dial, also the Host header
	Path string // request target, "/" at least
}

// Check sends one HTTP/1.0 GET and reads the status line.
func (p HTTP) Check(ctx context.Context) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", p.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		if err := c.SetDeadline(dl); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: svinit-probe\r\nConnection: close\r\n\r\n", p.Path, p.Addr); err != nil {
		return err
	}
	return checkStatusLine(bufio.NewReader(c))
}

// String names the probe in log lines.
func (p HTTP) String() string { return "http " + p.Addr + p.Path }

// checkStatusLine accepts "HTTP/1.x 2xx|3xx ...".
func checkStatusLine(r *bufio.Reader) error {
	line, err := r.ReadString('\n')
	if err != nil && line == "" {
		return fmt.Errorf("no http status line: %w", err)
	}
	f := strings.Fields(line)
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") || len(f[1]) != 3 {
		return fmt.Errorf("bad http status line %q", strings.TrimSpace(line))
	}
	if f[1][0] != '2' && f[1][0] != '3' {
		return fmt.Errorf("http status %s", f[1])
	}
	return nil
}

// File is ready when Path exists.
type File struct{ Path string }

// Check stats the path.
func (p File) Check(context.Context) error {
	_, err := os.Stat(p.Path)
	return err
}

// String names the probe in log lines.
func (p File) String() string { return "file " + p.Path }

// Starter starts the exec probe's command the way the service's own
// processes are started (environment, user, own process group).
type Starter func(argv []string) (*reaper.Child, error)

// Exec is ready when Argv exits 0.
type Exec struct {
	Argv  []string
	Start Starter
}

// Check runs the command; at ctx's end its process group is killed.
func (p Exec) Check(ctx context.Context) error {
	c, err := p.Start(p.Argv)
	if err != nil {
		return err
	}
	select {
	case e := <-c.Done:
		if e.Code != 0 {
			return errors.New(e.String())
		}
		return nil
	case <-ctx.Done():
		if err := reaper.KillGroup(c.Pid, syscall.SIGKILL); err != nil {
			// Not waited for: a group we cannot signal may never end.
			return fmt.Errorf("%s: %w; kill process group %d: %v", strings.Join(p.Argv, " "), ctx.Err(), c.Pid, err)
		}
		<-c.Done
		return fmt.Errorf("%s: %w", strings.Join(p.Argv, " "), ctx.Err())
	}
}

// String names the probe in log lines.
func (p Exec) String() string { return "exec " + strings.Join(p.Argv, " ") }

// firstRetry is the first pause after a failed readiness check. Pauses
// double up to the interval: a daemon that binds its port a few
// milliseconds after it starts is ready then, not a whole interval later,
// and a slow one is still checked only every interval.
const firstRetry = 5 * time.Millisecond

// Wait checks p until it passes (nil) or ctx ends (ctx.Err()): at once,
// then after 5 ms, 10 ms, 20 ms... and from then on every interval. Each
// failed check is handed to failed, so the caller can say why when it
// gives up. Each attempt is bounded by the interval (at least 1s) so a
// hung peer cannot hold the loop. The overall bound (ready.timeout) is the
// caller's.
func Wait(ctx context.Context, p Probe, interval time.Duration, failed func(error)) error {
	pause := min(firstRetry, interval)
	t := time.NewTimer(pause)
	t.Stop()
	defer t.Stop()
	for {
		attempt, stop := context.WithTimeout(ctx, max(interval, time.Second))
		err := p.Check(attempt)
		stop()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		failed(err)
		t.Reset(pause)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		pause = min(pause*2, interval)
	}
}
