package supervisor

import (
	"context"
	"errors"
	"syscall"
	"time"
)

// Verb is what `sv` asks of services; boot maps the protocol's verbs onto
// these.
type Verb int

// The verbs on services.
const (
	VerbStart   Verb = iota // want up; start now (clears fatal)
	VerbOnce                // start, do not restart
	VerbStop                // want down; stop_signal, KILL at stop_timeout
	VerbRestart             // stop, then start
	VerbSignal              // send Request.Signal to the service's group
	VerbCheck               // ready? (no names: every auto-start service)
	VerbWait                // wait until ready or failed
)

// Request is one verb on some services.
type Request struct {
	Verb   Verb
	Signal syscall.Signal // VerbSignal
	Names  []string
	Wait   time.Duration // start/once/stop/restart: wait this long for the goal (sv -w); wait: the bound (0 = none)
}

// Result is the outcome of a verb for one service; Err nil is success.
type Result struct {
	Name string
	Err  error
}

// ErrUnknownService is the Result of a verb on a name no service has.
var ErrUnknownService = errors.New("unknown service")

var (
	errNotReady  = errors.New("not ready")
	errUnhealthy = errors.New("unhealthy")
	errTimeout   = errors.New("timeout")
)

// Do applies a verb to the named services and, when req.Wait is positive,
// waits up to it for each to reach the verb's goal (runit's `sv -w`).
func (s *Supervisor) Do(ctx context.Context, req Request) []Result {
	names := req.Names
	if req.Verb == VerbCheck && len(names) == 0 {
		names = s.AutoStart()
	}
	results := make([]Result, 0, len(names))
	for _, n := range names {
		results = append(results, Result{Name: n, Err: s.doOne(ctx, req, n)})
	}
	return results
}

var verbEvents = map[Verb]eventKind{VerbStart: evStart, VerbOnce: evOnce, VerbStop: evStop, VerbRestart: evRestart}

func (s *Supervisor) doOne(ctx context.Context, req Request, name string) error {
	u := s.unit(name)
	if u == nil {
		return ErrUnknownService
	}
	switch req.Verb {
	case VerbCheck:
		switch st := u.status(); {
		case !st.Ready:
			return errNotReady
		case st.Health == unhealthy:
			return errUnhealthy
		}
		return nil
	case VerbWait:
		return s.waitFor(ctx, req.Wait, u.readyOrFailed)
	case VerbSignal:
		return u.send(command{kind: evSignal, sig: req.Signal})
	}
	return s.change(ctx, u, req.Verb, req.Wait)
}

// change sends start/once/stop/restart, then waits for its goal: ready
// (or, for restart, ready after a new start), or down.
func (s *Supervisor) change(ctx context.Context, u *unit, verb Verb, wait time.Duration) error {
	startsBefore := u.status().Starts
	if err := u.send(command{kind: verbEvents[verb]}); err != nil {
		return err
	}
	if wait <= 0 {
		return nil
	}
	return s.waitFor(ctx, wait, func() (bool, error) {
		st := u.status()
		switch {
		case verb == VerbStop:
			return st.State == Down || st.State == Fatal, nil
		case verb == VerbRestart && st.Starts == startsBefore:
			return false, nil
		}
		return u.readyOrFailed()
	})
}

// readyOrFailed: done waiting for readiness, with an error when the service
// will not become ready without help.
func (u *unit) readyOrFailed() (bool, error) {
	st := u.status()
	switch {
	case st.Ready:
		return true, nil
	case st.State == Fatal:
		return true, errors.New("fatal")
	case st.State == Down && !st.WantUp:
		return true, errors.New("down")
	}
	return false, nil
}

// waitFor polls done on every state change until it says so, wait passes
// (0 = no limit), or ctx ends. The wait is the client's, in real time.
func (s *Supervisor) waitFor(ctx context.Context, wait time.Duration, done func() (bool, error)) error {
	var timeout <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		timeout = t.C
	}
	for {
		changed := s.changed()
		if ok, err := done(); ok {
			return err
		}
		select {
		case <-changed:
		case <-timeout:
			return errTimeout
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitReady waits until every named service is ready, or one of them
// cannot become ready, or ctx ends.
func (s *Supervisor) WaitReady(ctx context.Context, names []string) error {
	for _, n := range names {
		u := s.unit(n)
		if u == nil {
			continue
		}
		if err := s.waitFor(ctx, 0, u.readyOrFailed); err != nil {
			return errors.New("service " + n + ": " + err.Error())
		}
	}
	return nil
}

// SignalBuiltins sends sig to every running built-in (a reload tells cron
// to re-read its crontabs).
func (s *Supervisor) SignalBuiltins(sig syscall.Signal) {
	for _, n := range s.Names() {
		if u := s.unit(n); u != nil && u.svc.Builtin != "" && u.status().Pid == 0 {
			// A built-in that is not running answers "not running": nothing to tell.
			if err := u.send(command{kind: evSignal, sig: sig}); err != nil && !errors.Is(err, errNotRunning) {
				s.cfg.Log.Warnf("service %s: %v", n, err)
			}
		}
	}
}

// Drain marks every service not ready at once; they keep running
// (SVINIT_STOP_DELAY: load balancers stop sending work before the stop).
func (s *Supervisor) Drain() {
	for _, n := range s.Names() {
		if u := s.unit(n); u != nil {
			if err := u.send(command{kind: evDrain}); err != nil {
				s.cfg.Log.Debugf("drain %s: %v", n, err)
			}
		}
	}
}
