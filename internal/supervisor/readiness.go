package supervisor

import (
	"context"
	"fmt"
	"sync"

	"alpine-server/internal/manifest"
	"alpine-server/internal/probe"
	"alpine-server/internal/reaper"
)

// watchReady starts the readiness source of start generation gen. Every
// source ends in one evReady carrying gen, so a result for an earlier
// start (or for leftovers of one) is never taken for the current process.
// Built-ins call their ready callback; a oneshot is ready when it exits
// 0; `started` is ready at once; a probe polls until it passes. The
// ready.timeout is the unit's timer, not the source's.
func (u *unit) watchReady(gen int) {
	u.cancelProbe()
	if u.svc.Builtin != "" || u.svc.Oneshot {
		return
	}
	r := u.svc.Ready
	switch r.Kind {
	case manifest.ReadyStarted:
		u.pending = append(u.pending, event{kind: evReady, gen: gen, who: u.who()})
		return
	case manifest.ReadyNotify:
		u.probeWhy = func() string { return fmt.Sprintf("no READY=1 on its NOTIFY_SOCKET after %s", r.Timeout) }
		return // the socket is the source: loop gets its messages
	case manifest.ReadyFD:
		u.watchFD(gen)
		return
	}
	p := u.probeOf(r)
	if p == nil {
		// A kind this supervisor has no source for: no result comes, and
		// ready.timeout (if any) fails the start.
		u.log.Warnf("service %s: readiness %q is not supported here; it will not become ready", u.name, r.Kind)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var last error
	u.probeStop = cancel
	u.probeWhy = func() string {
		mu.Lock()
		defer mu.Unlock()
		if last == nil {
			return fmt.Sprintf("%s not ready after %s", p, r.Timeout)
		}
		return fmt.Sprintf("%s not ready after %s: %v", p, r.Timeout, last)
	}
	go func() {
		err := probe.Wait(ctx, p, r.Interval, func(err error) {
			mu.Lock()
			last = err
			mu.Unlock()
		})
		if err == nil {
			u.sendReady(gen, "")
		}
	}()
}

func (u *unit) sendReady(gen int, err string) {
	select {
	case u.readyC <- readyMsg{gen, err}:
	case <-u.quit:
	}
}

// probeOf is the probe of a ready: or health: mapping; an exec probe
// runs as the service's processes do, its output to /dev/null.
func (u *unit) probeOf(r manifest.Ready) probe.Probe {
	return probeFor(r, func(argv []string) (*reaper.Child, error) {
		return u.spawn(argv, [3]uintptr{u.stdio[0], u.stdio[0], u.stdio[0]})
	})
}

// probeFor is the probe of the kinds tcp, http, file and exec (started
// with start); nil for the kinds that are no probe.
func probeFor(r manifest.Ready, start probe.Starter) probe.Probe {
	switch r.Kind {
	case manifest.ReadyTCP:
		return probe.TCP{Addr: r.HostPort}
	case manifest.ReadyHTTP:
		return probe.HTTP{Addr: r.HostPort, Path: r.Path}
	case manifest.ReadyFile:
		return probe.File{Path: r.Addr}
	case manifest.ReadyExec:
		return probe.Exec{Argv: r.Exec, Start: start}
	}
	return nil
}

// probeName names a probe in log lines ("file /run/alive").
func probeName(r manifest.Ready) string {
	if p := probeFor(r, nil); p != nil {
		return p.String()
	}
	return string(r.Kind)
}

// cancelProbe ends the readiness source and the health: probe of the run.
func (u *unit) cancelProbe() {
	if u.probeStop != nil {
		u.probeStop()
		u.probeStop, u.probeWhy = nil, nil
	}
	u.probeWhy = nil
	if u.healthStop != nil {
		u.healthStop()
		u.healthStop = nil
	}
}
