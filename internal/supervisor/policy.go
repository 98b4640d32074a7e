package supervisor

import (
	"slices"
	"time"
)

// The restart policy of SPEC §4, as numbers.
const (
	firstBackoff = 100 * time.Millisecond
	maxBackoff   = 30 * time.Second
	stableAfter  = 10 * time.Second // up this long: the next crash starts over at firstBackoff
	FatalCount   = 10               // this many failures...
	FatalWindow  = 60 * time.Second // ...within this window: fatal
)

// restartPolicy tracks one service's recent failures. It is pure: the
// caller passes the clock's readings, so tests run in microseconds.
type restartPolicy struct {
	delay    time.Duration // the delay of the last restart, 0 before any
	failures []time.Time   // failure times within FatalWindow
}

// fail records a failure at now of a run that lasted uptime, and returns
// how long to wait before the next start, or fatal when the service has
// failed FatalCount times within FatalWindow.
func (p *restartPolicy) fail(now time.Time, uptime time.Duration) (delay time.Duration, fatal bool) {
	keep := p.failures[:0]
	for _, t := range p.failures {
		if now.Sub(t) < FatalWindow {
			keep = append(keep, t)
		}
	}
	p.failures = append(keep, now)
	if len(p.failures) >= FatalCount {
		return 0, true
	}
	switch {
	case p.delay == 0 || uptime >= stableAfter:
		p.delay = firstBackoff
	default:
		p.delay = min(p.delay*2, maxBackoff)
	}
	return p.delay, false
}

// count is the number of failures within the window ending at now.
func (p *restartPolicy) count(now time.Time) int {
	n := 0
	for _, t := range p.failures {
		if now.Sub(t) < FatalWindow {
			n++
		}
	}
	return n
}

// clone is a copy that shares nothing with p.
func (p restartPolicy) clone() restartPolicy {
	p.failures = slices.Clone(p.failures)
	return p
}

// reset forgets every failure: `sv start` and reload clear fatal.
func (p *restartPolicy) reset() { *p = restartPolicy{} }
