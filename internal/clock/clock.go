// Package clock is the time source that cron and the supervisor take
// injected, so schedules, backoff, kill escalation and readiness timeouts
// are tested in microseconds (Fake) instead of seconds.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time and wakes a waiter at a time.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the clock reaches t
	// (at once when t has passed).
	At(t time.Time) <-chan time.Time
}

// Real is the wall clock; Now, when set, replaces time.Now.
type Real struct{ NowFunc func() time.Time }

// Now is the current time.
func (c Real) Now() time.Time {
	if c.NowFunc != nil {
		return c.NowFunc()
	}
	return time.Now()
}

// At is time.After until t. A channel nobody reads any more is collected
// with its timer (Go 1.23 timers), so waiters may simply be dropped.
func (c Real) At(t time.Time) <-chan time.Time { return time.After(t.Sub(c.Now())) }

// Fake is a Clock a test moves by hand.
type Fake struct {
	mu      sync.Mutex
	now     time.Time
	waiters []waiter
	added   chan struct{} // closed and replaced when a waiter is added
}

type waiter struct {
	at time.Time
	ch chan time.Time
}

// NewFake returns a Fake clock reading t.
func NewFake(t time.Time) *Fake { return &Fake{now: t, added: make(chan struct{})} }

// Now is the fake time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// At returns a channel that receives when Set or Add reaches t.
func (f *Fake) At(t time.Time) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan time.Time, 1)
	if !t.After(f.now) {
		ch <- f.now
		return ch
	}
	f.waiters = append(f.waiters, waiter{at: t, ch: ch})
	close(f.added)
	f.added = make(chan struct{})
	return ch
}

// Set moves the clock to t (forward or back) and fires the waiters due.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
	kept := f.waiters[:0]
	for _, w := range f.waiters {
		if !w.at.After(t) {
			w.ch <- t
			continue
		}
		kept = append(kept, w)
	}
	f.waiters = kept
}

// Jump sets the clock to t and fires every waiter, as real timers do when
// the wall clock is stepped while they run.
func (f *Fake) Jump(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
	for _, w := range f.waiters {
		w.ch <- t
	}
	f.waiters = nil
}

// Add moves the clock forward by d.
func (f *Fake) Add(d time.Duration) { f.Set(f.Now().Add(d)) }

// Next is the earliest pending wake-up, and whether there is one.
func (f *Fake) Next() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var next time.Time
	for _, w := range f.waiters {
		if next.IsZero() || w.at.Before(next) {
			next = w.at
		}
	}
	return next, !next.IsZero()
}

// Added returns a channel closed when the next waiter is added.
func (f *Fake) Added() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.added
}
