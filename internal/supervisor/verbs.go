package supervisor

import (
	"context"
	"errors"
	"syscall"
	"time"

	"alpine-server/internal/control"
)

// Do applies a canonical `sv` verb to the named services and, when wait is
// positive, waits up to wait for each to reach the verb's goal (runit's
// `sv -w`). Signal verbs carry their signal in sig.
func (s *Supervisor) Do(ctx context.Context, req control.Request) []control.Result {
	wait := time.Duration(req.Wait * float64(time.Second))
	names := req.Names
	if req.Verb == "check" && len(names) == 0 {
		names = s.AutoStart()
	}
	results := make([]control.Result, 0, len(names))
	for _, n := range names {
		results = append(results, s.doOne(ctx, req.Verb, n, wait))
	}
	return results
}

func (s *Supervisor) doOne(ctx context.Context, verb, name string, wait time.Duration) control.Result {
	r := control.Result{Name: name, OK: true}
	u := s.unit(name)
	if u == nil {
		r.OK, r.Error = false, "unknown service"
		return r
	}
	var err error
	switch verb {
	case "check":
		if !u.status().Ready {
			err = errors.New("not ready")
		}
	case "wait":
		err = s.waitFor(ctx, wait, func() (bool, error) { return u.readyOrFailed() })
	case "start", "once", "stop", "restart":
		err = s.change(ctx, u, verb, wait)
	default:
		sig, ok := control.SignalFor(verb)
		if !ok {
			err = errors.New("unknown verb " + verb)
			break
		}
		err = u.send(command{kind: cmdSignal, sig: sig})
	}
	if err != nil {
		r.OK, r.Error = false, err.Error()
	}
	return r
}

var verbCommands = map[string]cmdKind{"start": cmdStart, "once": cmdOnce, "stop": cmdStop, "restart": cmdRestart}

// change sends start/once/stop/restart, then waits for its goal: ready
// (or, for restart, ready after a new start), or down.
func (s *Supervisor) change(ctx context.Context, u *unit, verb string, wait time.Duration) error {
	u.mu.Lock()
	startsBefore := u.starts
	u.mu.Unlock()
	if err := u.send(command{kind: verbCommands[verb]}); err != nil {
		return err
	}
	if wait <= 0 {
		return nil
	}
	return s.waitFor(ctx, wait, func() (bool, error) {
		st := u.status()
		switch verb {
		case "stop":
			return State(st.State) == Down || State(st.State) == Fatal, nil
		case "restart":
			u.mu.Lock()
			restarted := u.starts > startsBefore
			u.mu.Unlock()
			if !restarted {
				return false, nil
			}
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
	case State(st.State) == Fatal:
		return true, errors.New("fatal")
	case State(st.State) == Down && !st.WantUp:
		return true, errors.New("down")
	}
	return false, nil
}

// waitFor polls done on every state change until it says so, wait passes
// (0 = no limit), or ctx ends.
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
			return errors.New("timeout")
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
			_ = u.send(command{kind: cmdSignal, sig: sig})
		}
	}
}
