package reaper

import (
	"os"
	"sync"
	"testing"
	"time"
)

// The exit-before-register race: a child that exits before its owner is
// recorded would be reaped as an orphan and its owner would wait for ever.
// Many goroutines start children at once; half exit at once (true), half
// block on a pipe and all exit together when it closes, while the other
// goroutines are still forking. Every exit must reach its owner.
func TestManyConcurrentExitsAllReachTheirOwners(t *testing.T) {
	r := startReaper(t)
	null, err := r.Null()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 16, 24
	var wg sync.WaitGroup
	children := make(chan *Child, goroutines*each)
	errs := make(chan error, goroutines*each)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				argv := []string{"/bin/true"}
				if (g+i)%2 == 0 {
					argv = []string{"/bin/cat"} // exits when pw closes
				}
				c, err := r.Launch(Spec{Argv: argv, Files: []uintptr{pr.Fd(), null, null}})
				if err != nil {
					errs <- err
					continue
				}
				children <- c
			}
		}()
	}
	wg.Wait()
	pr.Close()
	pw.Close() // every cat sees EOF at once
	close(children)
	close(errs)
	for err := range errs {
		t.Fatalf("launch: %v", err)
	}
	deadline := time.After(30 * time.Second)
	n := 0
	for c := range children {
		select {
		case e := <-c.Done:
			if e.Code != 0 || e.Pid != c.Pid {
				t.Errorf("pid %d: %+v, want exit 0 of its own pid", c.Pid, e)
			}
		case <-deadline:
			t.Fatalf("pid %d: its exit never reached its owner (%d of %d did)", c.Pid, n, goroutines*each)
		}
		n++
	}
	if o := r.Orphans(); o != 0 {
		t.Errorf("%d children counted as orphans", o)
	}
	if got := r.Started(); len(got) != 0 {
		t.Errorf("still registered after every exit: %v", got)
	}
}
