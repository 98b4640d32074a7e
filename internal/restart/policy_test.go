package restart

import (
	"testing"
	"time"
)

func TestBackoffDoublesCapsAndResets(t *testing.T) {
	var p Policy
	now := time.Unix(1000, 0)
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600}
	for i, w := range want {
		now = now.Add(time.Minute) // spread out: never fatal
		d, fatal := p.Fail(now, time.Second)
		if fatal || d != w*time.Millisecond {
			t.Fatalf("failure %d: delay %v fatal %v, want %v", i+1, d, fatal, w*time.Millisecond)
		}
	}
	now = now.Add(time.Minute)
	if d, _ := p.Fail(now, time.Second); d != MaxBackoff {
		t.Errorf("capped delay = %v, want %v", d, MaxBackoff)
	}
	now = now.Add(time.Minute)
	if d, _ := p.Fail(now, StableAfter); d != FirstBackoff {
		t.Errorf("after %v up: delay %v, want %v", StableAfter, d, FirstBackoff)
	}
}

func TestFatalAfterTenFailuresInSixtySeconds(t *testing.T) {
	var p Policy
	now := time.Unix(1000, 0)
	for i := 1; i < FatalCount; i++ {
		if _, fatal := p.Fail(now, 0); fatal {
			t.Fatalf("fatal after %d failures", i)
		}
		now = now.Add(5 * time.Second)
	}
	if _, fatal := p.Fail(now, 0); !fatal {
		t.Fatalf("not fatal after %d failures in %v", FatalCount, 45*time.Second)
	}
	p.Reset()
	if p.Count(now) != 0 {
		t.Errorf("reset kept failures")
	}
	// Ten failures spread over more than the window never go fatal.
	for i := 0; i < 3*FatalCount; i++ {
		now = now.Add(7 * time.Second)
		if _, fatal := p.Fail(now, 0); fatal {
			t.Fatalf("fatal with failures 7s apart, at %d", i)
		}
	}
}
