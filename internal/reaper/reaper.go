// Package reaper owns every child exit of svinit.
//
// It is the only code that forks and the only code that calls wait4. A child
// is registered under the same lock that forks it, so the wait4(-1) loop can
// never reap an exit before its owner is known (the race go-reaper, go-init
// and supercronic document when os/exec's Wait competes with a reaper; see
// containerd's pkg/sys/reaper for the same design). Processes nobody started
// — orphans re-parented to us as PID 1 or subreaper — are reaped and counted.
package reaper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exit is how a child ended.
type Exit struct {
	Pid      int
	Code     int // exit code, or 128+N when killed by signal N
	Signaled bool
	Signal   syscall.Signal // when Signaled
	Unknown  bool           // it ended but was not ours to wait for: Code 1, the real code unknown
}

// String says how the child ended, in the words of svinit's log lines.
func (e Exit) String() string {
	if e.Signaled {
		return "killed by SIG" + SignalName(e.Signal)
	}
	if e.Unknown {
		return "exited (code unknown)"
	}
	return fmt.Sprintf("exited %d", e.Code)
}

// Child is a started process; Done receives its Exit once, then is closed.
type Child struct {
	Pid  int
	Done <-chan Exit
}

// Reaper forks children and reaps every process that ends up as our child.
type Reaper struct {
	log     func(format string, args ...any)
	sigchld chan os.Signal
	orphans atomic.Uint64
	null    nullFile // Null's shared /dev/null

	mu      sync.Mutex
	owners  map[int]chan Exit
	empty   chan struct{} // closed while we have no children at all
	isEmpty bool
}

// New subscribes to SIGCHLD at once, so no exit between New and Run is lost.
// log receives debug lines about reaped orphans; it may be nil.
func New(log func(format string, args ...any)) *Reaper {
	if log == nil {
		log = func(string, ...any) {}
	}
	r := &Reaper{
		log:     log,
		sigchld: make(chan os.Signal, 1),
		owners:  make(map[int]chan Exit),
		empty:   make(chan struct{}),
	}
	signal.Notify(r.sigchld, syscall.SIGCHLD)
	return r
}

// Start forks and execs path. attr.Sys carries Setpgid, Credential, Setctty.
func (r *Reaper) Start(path string, argv []string, attr *syscall.ProcAttr) (*Child, error) {
	return r.start(path, argv, attr, 0)
}

// start is Start with the child marked as run (0: not marked).
func (r *Reaper) start(path string, argv []string, attr *syscall.ProcAttr, run uint64) (*Child, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if run != 0 {
		defer markSelf(run)() // restored before the lock is released
	}
	pid, err := syscall.ForkExec(path, argv, attr)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	done := make(chan Exit, 1)
	r.owners[pid] = done
	if r.isEmpty {
		r.isEmpty = false
		r.empty = make(chan struct{})
	}
	return &Child{Pid: pid, Done: done}, nil
}

// Run reaps on every SIGCHLD until ctx is done.
func (r *Reaper) Run(ctx context.Context) {
	defer signal.Stop(r.sigchld)
	for {
		r.reapAll()
		select {
		case <-ctx.Done():
			return
		case <-r.sigchld:
		}
	}
}

// Empty returns a channel that is closed once svinit has no child left.
// Only Start can add a child again (an orphan needs a living descendant).
func (r *Reaper) Empty() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.empty
}

// Orphans counts reaped processes that nobody had started.
func (r *Reaper) Orphans() uint64 { return r.orphans.Load() }

// reapAll collects every exited child. Signals coalesce, so one SIGCHLD may
// stand for many exits: loop until wait4 has nothing more. Orphans are
// logged once per burst: nothing is formatted per exit.
func (r *Reaper) reapAll() {
	var orphans int
	var last Exit
	defer func() {
		switch {
		case orphans == 1:
			r.log("reaped orphan pid %d (%s)", last.Pid, last)
		case orphans > 1:
			r.log("reaped %d orphans (the last: pid %d, %s)", orphans, last.Pid, last)
		}
	}()
	for {
		var ws unix.WaitStatus
		pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, nil)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ECHILD):
			r.markEmpty()
			return
		case err != nil:
			r.log("wait4: %v", err)
			return
		case pid <= 0:
			return
		}
		if e, orphan := r.dispatch(pid, ws); orphan {
			orphans, last = orphans+1, e
		}
	}
}

// dispatch hands the exit to its owner, or counts an orphan.
func (r *Reaper) dispatch(pid int, ws unix.WaitStatus) (e Exit, orphan bool) {
	if !ws.Exited() && !ws.Signaled() {
		return e, false // stopped/continued: only reported with WUNTRACED/WCONTINUED
	}
	e = Exit{Pid: pid, Code: ws.ExitStatus()}
	if ws.Signaled() {
		e.Signaled, e.Signal, e.Code = true, ws.Signal(), 128+int(ws.Signal())
	}
	r.mu.Lock()
	done, ok := r.owners[pid]
	delete(r.owners, pid)
	r.mu.Unlock()
	if !ok {
		r.orphans.Add(1)
		return e, true
	}
	done <- e
	close(done)
	return e, false
}

func (r *Reaper) markEmpty() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.isEmpty && len(r.owners) == 0 {
		r.isEmpty = true
		close(r.empty)
	}
}
