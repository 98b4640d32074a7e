package supervisor

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"alpine-server/internal/manifest"
	"alpine-server/internal/notify"
	"alpine-server/internal/reaper"
)

// notifyMsg is a message of the service's, on its way to the loop; done is
// closed once the loop has applied it (systemd-notify's barrier waits for
// that: its fd is closed only then).
type notifyMsg struct {
	msg  notify.Message
	gen  int
	from int
	done chan struct{}
}

// notifyTarget is whose messages count: the process group of start
// generation gen.
type notifyTarget struct{ pgid, gen int }

// openNotify binds the service's notify socket (ready: {notify: systemd}).
// It lives as long as the unit, across restarts; a message counts only if
// its sender is a process of the current start.
func (u *unit) openNotify() error {
	if u.svc.Ready.Kind != manifest.ReadyNotify {
		return nil
	}
	if u.sup.cfg.NotifyDir == nil {
		return fmt.Errorf("%s: ready: notify: svinit has no folder for notify sockets", u.svc.Pos("ready"))
	}
	dir, err := u.sup.cfg.NotifyDir()
	if err != nil {
		return fmt.Errorf("service %s: %w", u.name, err)
	}
	s, err := notify.Listen(filepath.Join(dir, u.name))
	if err != nil {
		return fmt.Errorf("service %s: %w", u.name, err)
	}
	u.notify = s
	go func() {
		if err := s.Serve(u.acceptNotify, u.deliverNotify, u.log.Debugf); err != nil {
			u.log.Warnf("service %s: %v", u.name, err)
		}
	}()
	return nil
}

func (u *unit) closeNotify() {
	if u.notify != nil {
		u.notify.Close()
	}
}

// acceptNotify: the sender is a process of the current start, or of the
// MAINPID= process it named (the notify socket's goroutine asks, while the
// sender still waits for its barrier).
func (u *unit) acceptNotify(from notify.Sender) bool {
	// A daemon may announce itself before Launch has returned its pid to
	// the loop: wait for the spawn in flight, as the reaper registers a
	// child under the lock it forks with.
	u.spawnMu.Lock()
	t := u.target.Load()
	u.spawnMu.Unlock()
	u.accepted = t // for deliverNotify, on this same goroutine
	return t != nil && u.ofRun(from.Pid, t.pgid)
}

// deliverNotify hands an accepted message to the loop and waits until it
// is applied, or the unit is gone. Its MAINPID= counts only if it names a
// process of the same run (else it is dropped and counted as foreign).
func (u *unit) deliverNotify(m notify.Message, from notify.Sender) {
	if m.MainPID > 0 && !u.ofRun(m.MainPID, u.accepted.pgid) {
		u.log.Debugf("service %s: ignored MAINPID=%d from pid %d: not a process of the service", u.name, m.MainPID, from.Pid)
		u.notify.CountForeign()
		m.MainPID = 0
	}
	n := notifyMsg{msg: m, gen: u.accepted.gen, from: from.Pid, done: make(chan struct{})}
	select {
	case u.notifyC <- n:
		<-n.done
	case <-u.quit:
	}
}

// spawnMain starts the service's main process: with NOTIFY_SOCKET (and
// WATCHDOG_USEC) for a notify service, with the write end of a fresh pipe
// as fd N for `ready: {fd: N}`. Variables of those names that svinit
// itself inherited (it may run under systemd) never reach a service. It
// is marked as run.
func (u *unit) spawnMain(argv []string, run uint64) (*reaper.Child, error) {
	var env []string
	files := u.stdio[:]
	r := u.svc.Ready
	switch r.Kind {
	case manifest.ReadyNotify:
		env = append(env, "NOTIFY_SOCKET="+u.notify.Path())
		if u.svc.Watchdog > 0 {
			env = append(env, "WATCHDOG_USEC="+strconv.FormatInt(u.svc.Watchdog.Microseconds(), 10))
		}
	case manifest.ReadyFD:
		f, err := notify.NewFD()
		if err != nil {
			return nil, err
		}
		files = make([]uintptr, r.FD+1)
		copy(files, u.stdio[:])
		for i := len(u.stdio); i < r.FD; i++ {
			files[i] = ^uintptr(0) // closed in the child
		}
		files[r.FD] = f.W.Fd()
		u.closeFD()
		u.fd = f
	}
	if u.notify != nil {
		u.spawnMu.Lock()
		defer u.spawnMu.Unlock()
	}
	c, err := u.spawnWith(argv, files, env, run)
	if u.fd != nil {
		u.fd.W.Close() // the child has its copy: its close is our EOF
		if err != nil {
			u.closeFD()
		}
	}
	if err == nil && u.notify != nil {
		u.target.Store(&notifyTarget{pgid: c.Pid, gen: u.m.gen})
	}
	return c, err
}

func (u *unit) closeFD() {
	if u.fd != nil {
		u.fd.Close()
		u.fd = nil
	}
}

// withoutNotifyEnv drops the notify variables svinit may have inherited.
func withoutNotifyEnv(env []string) []string {
	out := env[:0:0]
	for _, kv := range env {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID":
		default:
			out = append(out, kv)
		}
	}
	return out
}

// watchFD waits for the newline of `ready: {fd: N}` on the pipe of start
// gen. EOF without one fails the start at once (the service closed its
// fd: it will never say it is ready).
func (u *unit) watchFD(gen int) {
	f := u.fd
	u.fd = nil
	if f == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.probeStop = cancel
	fd := u.svc.Ready.FD
	u.probeWhy = func() string { return fmt.Sprintf("no newline on fd %d after %s", fd, u.svc.Ready.Timeout) }
	go func() {
		defer f.Close()
		err := f.Wait(ctx)
		switch {
		case ctx.Err() != nil:
		case err != nil:
			u.sendReady(gen, fmt.Sprintf("fd %d: %v", fd, err))
		default:
			u.sendReady(gen, "")
		}
	}()
}

// extend pushes the pending timer (ready.timeout, or the KILL of a stop)
// to at, if that is later, but never past the shutdown deadline; with no
// timer pending there is no bound to extend.
func (u *unit) extend(at time.Time) {
	if !u.deadline.IsZero() && u.deadline.Before(at) {
		at = u.deadline
	}
	if u.timerC != nil && u.timerAt.Before(at) {
		u.arm(at)
	}
}

// watchHealth runs the health: probe of start gen every interval, each
// attempt bounded by its timeout, and hands each result to the loop.
func (u *unit) watchHealth(gen int) {
	h := u.svc.Health
	p := u.probeOf(h.Ready)
	if p == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	u.healthStop = cancel
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-u.sup.clock.At(u.sup.now().Add(h.Interval)):
			}
			attempt, stop := context.WithTimeout(ctx, h.Timeout)
			err := p.Check(attempt)
			stop()
			if ctx.Err() != nil {
				return
			}
			r := readyMsg{gen: gen}
			if err != nil {
				r.err = err.Error()
			}
			select {
			case u.healthC <- r:
			case <-ctx.Done():
				return
			case <-u.quit:
				return
			}
		}
	}()
}
