package boot

import (
	"context"
	"errors"
	"time"

	"alpine-server/internal/control"
	"alpine-server/internal/reaper"
	"alpine-server/internal/supervisor"
)

// Handle answers one `sv` request on the services, once they are loaded.
// reload and shutdown never get here: bootHandler hands them to the boot
// loop, which decides them in every phase.
func (s *svinit) Handle(ctx context.Context, req control.Request) control.Response {
	switch req.Verb {
	case "status":
		st, unknown := s.sup.Status(req.Names)
		resp := control.Response{OK: len(unknown) == 0, Services: wireStatus(st, time.Now())}
		for _, n := range unknown {
			resp.Results = append(resp.Results, control.Result{Name: n, Error: supervisor.ErrUnknownService.Error()})
		}
		return resp
	}
	sreq, ok := supervisorRequest(req)
	if !ok {
		return control.Response{Error: "unknown verb " + req.Verb}
	}
	results := s.sup.Do(ctx, sreq)
	resp := control.Response{OK: true}
	var names []string
	for _, r := range results {
		w := control.Result{Name: r.Name, OK: r.Err == nil}
		if r.Err != nil {
			w.Error = r.Err.Error()
		}
		resp.OK = resp.OK && w.OK
		resp.Results = append(resp.Results, w)
		if !errors.Is(r.Err, supervisor.ErrUnknownService) {
			names = append(names, r.Name)
		}
	}
	st, _ := s.sup.Status(names)
	resp.Services = wireStatus(st, time.Now())
	return resp
}

var verbs = map[string]supervisor.Verb{
	"start": supervisor.VerbStart, "once": supervisor.VerbOnce, "stop": supervisor.VerbStop,
	"restart": supervisor.VerbRestart, "check": supervisor.VerbCheck, "wait": supervisor.VerbWait,
}

// supervisorRequest maps a canonical protocol verb onto the supervisor's.
func supervisorRequest(req control.Request) (supervisor.Request, bool) {
	r := supervisor.Request{Names: req.Names, Wait: time.Duration(req.Wait * float64(time.Second))}
	if v, ok := verbs[req.Verb]; ok {
		r.Verb = v
		return r, true
	}
	sig, ok := control.SignalFor(req.Verb)
	r.Verb, r.Signal = supervisor.VerbSignal, sig
	return r, ok
}

// wireStates are the names `sv status` prints for the supervisor's states;
// Cleanup (what is left of an exited process's group is being stopped)
// shows as stopping.
var wireStates = map[supervisor.State]string{
	supervisor.Down: control.StateDown, supervisor.Starting: control.StateStarting,
	supervisor.Running: control.StateRun, supervisor.Stopping: control.StateStopping,
	supervisor.Cleanup: control.StateStopping, supervisor.Finish: control.StateFinish,
	supervisor.Backoff: control.StateBackoff, supervisor.Fatal: control.StateFatal,
}

// wireStatus is the protocol's view of supervisor statuses at now: the
// time left before a restart, not the whole delay.
func wireStatus(list []supervisor.Status, now time.Time) []control.ServiceStatus {
	out := make([]control.ServiceStatus, 0, len(list))
	for _, st := range list {
		w := control.ServiceStatus{
			Name: st.Name, State: wireStates[st.State], Pid: st.Pid, Builtin: st.Builtin, Oneshot: st.Oneshot,
			Since: st.Since, Ready: st.Ready, WantUp: st.WantUp, NormallyUp: st.NormallyUp,
			Restarts: st.Restarts, Failures: st.Failures, StatusText: st.Text, Detail: st.Detail,
			Health: st.Health, Lines: jobLines(st.Value, now),
		}
		if st.State == supervisor.Backoff {
			w.RestartIn = max(st.RetryAt.Sub(now), 0).Seconds()
		}
		if x := st.LastExit; x != nil {
			w.LastExit = &control.ExitInfo{Code: x.Code, Time: x.Time}
			if x.Signaled {
				w.LastExit.Code, w.LastExit.Signal = -1, reaper.SignalName(x.Signal)
			}
		}
		out = append(out, w)
	}
	return out
}
