package control

import (
	"syscall"
	"testing"
	"time"
)

// A client held up between starting its call and connecting (a loaded
// machine starves it; seen: "cannot reach svinit at ...: i/o timeout" with
// svinit alive) still gets its answer: connecting to a listening unix
// socket never waits, so the only bound is the call's own (wait + slack).
func TestCallSurvivesAStalledConnect(t *testing.T) {
	path, _ := testServer(t, newFakeHandler(), nil)
	saved := dialer
	t.Cleanup(func() { dialer = saved })
	dialer.Control = func(string, string, syscall.RawConn) error {
		time.Sleep(2500 * time.Millisecond) // past the old 2 s dial timeout
		return nil
	}
	resp, err := Call(path, Request{Verb: "status", Names: []string{"web"}})
	if err != nil || !resp.OK {
		t.Fatalf("status after a stalled connect: %+v, %v", resp, err)
	}
}
