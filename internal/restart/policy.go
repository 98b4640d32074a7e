// Package restart is the restart policy of SPEC §4 — backoff from 100 ms
// doubling to 30 s, reset after 10 s up, fatal after 10 failures within
// 60 s — as numbers and one pure type, so the supervisor applies it and
// `sv status` names it from the same place.
package restart

import (
	"slices"
	"time"
)

// The restart policy of SPEC §4, as numbers.
const (
	FirstBackoff = 100 * time.Millisecond
	MaxBackoff   = 30 * time.Second
	StableAfter  = 10 * time.Second // up this long: the next crash starts over at FirstBackoff
	FatalCount   = 10               // this many failures...
	FatalWindow  = 60 * time.Second // ...within this window: fatal
)

// Policy tracks one service's recent failures. It is pure: the
// caller passes the clock's readings, so tests run in microseconds.
type Policy struct {
	delay    time.Duration // the delay of the last restart, 0 before any
	failures []time.Time   // failure times within FatalWindow
}

// Fail records a failure at now of a run that lasted uptime, and returns
// how long to wait before the next start, or fatal when the service has
// failed FatalCount times within FatalWindow.
func (p *Policy) Fail(now time.Time, uptime time.Duration) (delay time.Duration, fatal bool) {
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
	case p.delay == 0 || uptime >= StableAfter:
		p.delay = FirstBackoff
	default:
		p.delay = min(p.delay*2, MaxBackoff)
	}
	return p.delay, false
}

// Count is the number of failures within the window ending at now.
func (p *Policy) Count(now time.Time) int {
	n := 0
	for _, t := range p.failures {
		if now.Sub(t) < FatalWindow {
			n++
		}
	}
	return n
}

// Clone is a copy that shares nothing with p.
func (p Policy) Clone() Policy {
	p.failures = slices.Clone(p.failures)
	return p
}

// Reset forgets every failure: `sv start` and reload clear fatal.
func (p *Policy) Reset() { *p = Policy{} }
