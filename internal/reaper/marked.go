package reaper

import (
	"bytes"
	"errors"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// Marked lists svinit's live descendants whose environment holds the entry
// mark exactly ("SVINIT_RUN=17"), whatever their process group: a
// daemon's children that called setsid() still carry the environment
// their parent was started with. Call it only when OwnProc says /proc is
// svinit's own. It reads /proc/PID/stat of every process and
// /proc/PID/environ of svinit's descendants; a process that vanishes
// meanwhile, a zombie, or one whose environ cannot be read (EACCES when
// svinit is not root) is left out.
func Marked(mark string) []Proc { return scanMarked("/proc", os.Getpid(), mark) }

func scanMarked(root string, self int, mark string) []Proc {
	want := []byte(mark)
	var out []Proc
	for _, s := range below(scanStats(root), self) {
		if s.state == 'Z' || !hasEntry(root, s.Pid, want) {
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

// hasEntry: root/PID/environ has the NUL-terminated entry want.
func hasEntry(root string, pid int, want []byte) bool {
	b, err := os.ReadFile(root + "/" + strconv.Itoa(pid) + "/environ")
	if err != nil {
		return false
	}
	for len(b) > 0 {
		entry, rest, _ := bytes.Cut(b, []byte{0})
		if bytes.Equal(entry, want) {
			return true
		}
		b = rest
	}
	return false
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
