package supervisor

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"alpine-server/internal/reaper"
)

// followed is the process a service's MAINPID= named, while svinit
// watches it as the run's main process.
type followed struct {
	pid  int
	exit <-chan reaper.Exit
	stop func()
}

// watchPidfd reports the end of pid, which need not be svinit's child (a
// daemon's fork, re-parented or not), through a pidfd: it is readable once
// the process has exited. Its code is not ours to read, so the exit is
// "code unknown" (Code 1: a failure for the restart policy). A pid already
// gone (ESRCH: it exited before we looked) has exited at once. stop ends
// the watch; no exit is sent after it.
func watchPidfd(pid int) (<-chan reaper.Exit, func(), error) {
	ch := make(chan reaper.Exit, 1)
	gone := reaper.Exit{Pid: pid, Code: 1, Unknown: true}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, syscall.ESRCH) {
		ch <- gone
		return ch, func() {}, nil
	}
	if err != nil {
		return nil, nil, os.NewSyscallError("pidfd_open", err)
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	go func() {
		waited := false
		// The first call waits for readiness; the second is after it.
		err := rc.Read(func(uintptr) bool { w := waited; waited = true; return w })
		if err == nil {
			ch <- gone
		}
		f.Close()
	}()
	return ch, func() { f.Close() }, nil
}

// followMain makes the process MAINPID= named the run's main process:
// its exit, not the started process's, ends the run. Naming the started
// process again goes back to it.
func (u *unit) followMain(pid int) {
	p, ok := u.run.(procRunner)
	if !ok {
		return
	}
	if pid == p.pgid && p.exit != nil {
		u.stopFollow()
		p.main = 0
		u.run = p
		return
	}
	exit, stop, err := u.sup.sys.watchPid(pid)
	if err != nil { // the one watched so far stays the main process
		u.log.Warnf("service %s: cannot watch MAINPID=%d: %v", u.name, pid, err)
		return
	}
	u.stopFollow()
	u.follow, p.main = &followed{pid: pid, exit: exit, stop: stop}, pid
	u.run = p
	u.followPid.Store(int64(pid))
}

func (u *unit) stopFollow() {
	if u.follow != nil {
		u.follow.stop()
		u.follow = nil
		u.followPid.Store(0)
	}
}

// startedExited: the process svinit started exited while the one its
// MAINPID= named runs on. The run goes on with that one; its group (and,
// from now on, the run's processes outside it) get the signals.
func (u *unit) startedExited(x reaper.Exit) event {
	p := u.run.(procRunner)
	p.exit = nil
	u.run, u.pgid = p, p.pgid
	return event{kind: evExit, exit: x, mainLives: true}
}

// startedGone: the started process is no longer there to signal, only
// its group (and its strays): it exited, or MAINPID= took over after it.
func (u *unit) startedGone() bool {
	if u.run == nil {
		return true
	}
	p, ok := u.run.(procRunner)
	return ok && p.exit == nil
}

// ofRun: pid is a process of the run whose group is pgid, or of the
// MAINPID= process followed (a daemon in a session of its own, whose
// starter has exited, and what it forks).
func (u *unit) ofRun(pid, pgid int) bool {
	if u.sup.sys.member(pid, pgid) {
		return true
	}
	f := int(u.followPid.Load())
	return f > 0 && u.sup.sys.member(pid, f)
}
