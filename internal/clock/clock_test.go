package clock

import (
	"testing"
	"time"
)

func fired(ch <-chan time.Time) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestFakeFiresWaitersWhenDue(t *testing.T) {
	t0 := time.Unix(1000, 0)
	f := NewFake(t0)
	if !fired(f.At(t0)) {
		t.Error("a waiter for now did not fire at once")
	}
	added := f.Added()
	soon, later := f.At(t0.Add(time.Second)), f.At(t0.Add(time.Minute))
	select {
	case <-added:
	default:
		t.Error("Added not closed by a new waiter")
	}
	if next, ok := f.Next(); !ok || !next.Equal(t0.Add(time.Second)) {
		t.Errorf("Next = %v %v", next, ok)
	}
	f.Add(time.Second - 1)
	if fired(soon) {
		t.Error("fired early")
	}
	f.Add(1)
	if !fired(soon) || fired(later) {
		t.Error("Set fired the wrong waiters")
	}
	f.Jump(t0) // a step back fires every waiter, as real timers do
	if !fired(later) || !f.Now().Equal(t0) {
		t.Error("Jump did not fire the rest")
	}
}

func TestRealUsesNowFunc(t *testing.T) {
	t0 := time.Unix(1000, 0)
	c := Real{NowFunc: func() time.Time { return t0 }}
	if !c.Now().Equal(t0) {
		t.Errorf("Now = %v", c.Now())
	}
	if !fired(waitFor(c.At(t0.Add(-time.Second)))) {
		t.Error("a past time did not fire")
	}
}

// waitFor gives a real timer for a past time a moment to fire.
func waitFor(ch <-chan time.Time) <-chan time.Time {
	out := make(chan time.Time, 1)
	select {
	case v := <-ch:
		out <- v
	case <-time.After(5 * time.Second):
	}
	return out
}
