package reaper

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// A run's mark is a soft RLIMIT_LOCKS of MarkBase+run. Linux has not
// enforced RLIMIT_LOCKS since 2.4.25, so the value changes nothing for
// the process; it is inherited across fork, exec, setsid(), a change of
// user and a cleared environment, and nothing rewrites it the way
// PostgreSQL and nginx overwrite their argv and environ areas for their
// process titles. /proc/PID/limits shows it to anyone ("Max file locks").
// MarkBase is far above any real limit on file locks.
const MarkBase = 0x5356 << 32 // "SV"

// markSelf sets svinit's own soft RLIMIT_LOCKS to run's mark for the fork
// that follows, and returns what restores it. Call it with r.mu held: a
// concurrent fork would inherit the mark. When the hard limit is below
// the mark, nothing is marked (the group is all svinit can find then).
func markSelf(run uint64) (restore func()) {
	var old unix.Rlimit
	if unix.Prlimit(0, unix.RLIMIT_LOCKS, nil, &old) != nil {
		return func() {}
	}
	lim := unix.Rlimit{Cur: MarkBase + run, Max: old.Max}
	if lim.Cur > old.Max || unix.Prlimit(0, unix.RLIMIT_LOCKS, &lim, nil) != nil {
		return func() {}
	}
	return func() { _ = unix.Prlimit(0, unix.RLIMIT_LOCKS, &old, nil) }
}

// Marked lists svinit's live descendants that carry run's mark (a soft
// RLIMIT_LOCKS of MarkBase+run), whatever their process group: a
// daemon's children that called setsid() inherit it. Call it only when
// OwnProc says /proc is svinit's own. It reads /proc/PID/stat of every
// process and /proc/PID/limits of svinit's descendants; a process that
// vanishes meanwhile, a zombie or one whose limits cannot be read is left
// out.
func Marked(run uint64) []Proc { return scanMarked("/proc", os.Getpid(), MarkBase+run) }

func scanMarked(root string, self int, mark uint64) []Proc {
	var out []Proc
	for _, s := range below(scanStats(root), self) {
		if s.state == 'Z' || locksLimit(root, s.Pid) != mark {
			continue
		}
		// The pid may have been reused between the two reads: keep it only
		// if it is still the process whose start time we read.
		if again, ok := readStat(root, s.Pid); ok && again.Start == s.Start {
			out = append(out, s.Proc)
		}
	}
	return out
}

var locksLine = []byte("\nMax file locks ")

// locksLimit is the soft limit on the "Max file locks" line of
// root/PID/limits; 0 when it is unlimited, unreadable or gone.
func locksLimit(root string, pid int) uint64 {
	b, err := os.ReadFile(root + "/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, locksLine)
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+len(locksLine):])
	if len(f) == 0 {
		return 0
	}
	n, err := strconv.ParseUint(string(f[0]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// Alive: p still runs — its pid has the same start time and is no zombie.
func Alive(p Proc) bool {
	s, ok := readStat("/proc", p.Pid)
	return ok && s.Start == p.Start && s.state != 'Z'
}

// SignalProc sends sig to p, and only to p: a pidfd is opened first and
// the start time checked through /proc, so a pid reused since the scan
// is never signalled. A process already gone is not an error.
func SignalProc(p Proc, sig syscall.Signal) error {
	fd, err := unix.PidfdOpen(p.Pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil { // no pidfd (Linux < 5.3): check, then kill; the window is tiny
		if !Alive(p) {
			return nil
		}
		return ignoreESRCH(unix.Kill(p.Pid, sig))
	}
	defer unix.Close(fd)
	if s, ok := readStat("/proc", p.Pid); !ok || s.Start != p.Start {
		return nil // the pid is another process's now
	}
	return ignoreESRCH(unix.PidfdSendSignal(fd, sig, nil, 0))
}

func ignoreESRCH(err error) error {
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}
