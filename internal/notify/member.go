package notify

import (
	"golang.org/x/sys/unix"

	"alpine-server/internal/reaper"
)

// Member reports whether pid is one of the processes of the service whose
// process group is pgid (its main process's pid): pgid itself, a process
// of that group (a shell's `systemd-notify --ready`), or a descendant that
// moved to a group or session of its own (a daemon's setsid; found in
// /proc, the slow path, only for such senders). The caller decides while
// the sender still exists: systemd-notify waits for its barrier, sd_notify
// callers are the daemon itself. A pid that is gone reads as not a
// member, never as one.
func Member(pid, pgid int) bool {
	if pid <= 0 || pgid <= 0 {
		return false
	}
	if pid == pgid {
		return true
	}
	if g, err := unix.Getpgid(pid); err != nil {
		return false
	} else if g == pgid {
		return true
	}
	for _, p := range reaper.Descendants(pgid) {
		if p.Pid == pid {
			return true
		}
	}
	return false
}
