package supervisor

import (
	"os/exec"
	"testing"
	"time"
)

func TestWatchPidfd(t *testing.T) {
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	exit, stop, err := watchPidfd(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	select {
	case x := <-exit:
		t.Fatalf("exit %v while it runs", x)
	case <-time.After(50 * time.Millisecond):
	}
	cmd.Process.Kill()
	select {
	case x := <-exit:
		if x.Pid != pid || !x.Unknown || x.Code != 1 || x.String() != "exited (code unknown)" {
			t.Errorf("exit %+v", x)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10s after KILL")
	}
	cmd.Wait()

	// Gone before it is watched (ESRCH): exited at once.
	exit, stop, err = watchPidfd(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	select {
	case x := <-exit:
		if !x.Unknown {
			t.Errorf("exit %+v", x)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a pid already gone: no exit")
	}
}

func TestWatchPidfdStop(t *testing.T) {
	cmd := exec.Command("sleep", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	exit, stop, err := watchPidfd(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	stop()
	cmd.Process.Kill()
	select {
	case x := <-exit:
		t.Fatalf("exit %v after stop", x)
	case <-time.After(200 * time.Millisecond):
	}
}
